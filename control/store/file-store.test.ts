import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, appendFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { FileStore } from './file-store.ts';
import type { FileStoreOptions } from './file-store.ts';
import { StoreError } from './object-store.ts';
import { runStoreConformance } from './conformance.ts';

const root = mkdtempSync(join(tmpdir(), 'netsim-filestore-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `s${n++}`);
const quiet = { onWarning: () => {} } satisfies FileStoreOptions;
const code = (c: string) => (e: unknown): boolean => e instanceof StoreError && e.code === c;
const walFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('wal-')).sort();

runStoreConformance('FileStore', ({ historyWindow }) => FileStore.open({ dir: freshDir(), historyWindow, ...quiet }));

describe('FileStore durability and recovery', () => {
  test('a precondition lost to a write still in flight is reported after that write is readable', async () => {
    const s = await FileStore.open({ dir: freshDir(), ...quiet });
    const a = await s.create('/registry/pods/a', '{"a":1}');
    const pending = s.update('/registry/pods/a', '{"a":2}', a.modRevision);
    // Planned against the in-flight write: it loses, but the rejection waits for the commit,
    // so a caller that re-reads at once sees the winner rather than the same old value.
    const lost = s.delete('/registry/pods/a', a.modRevision).then(() => 'resolved', async (e: unknown) => [code('STORE_CONFLICT')(e), (await s.get('/registry/pods/a'))?.value]);
    const lostCreate = s.create('/registry/pods/a', '{}').then(() => 'resolved', async (e: unknown) => [code('STORE_ALREADY_EXISTS')(e), (await s.get('/registry/pods/a'))?.value]);
    await pending;
    assert.deepEqual(await lost, [true, '{"a":2}']);
    assert.deepEqual(await lostCreate, [true, '{"a":2}']);
    await s.close();
  });

  test('reopen restores keys, revisions and createRevision; new writes continue the revision sequence', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    await s.create('/registry/pods/a', '{"a":1}');
    await s.create('/registry/pods/b', '{"b":1}');
    await s.update('/registry/pods/a', '{"a":2}');
    await s.delete('/registry/pods/b');
    await s.close();
    const r = await FileStore.open({ dir, ...quiet });
    assert.equal(r.revision(), 4);
    assert.equal(r.openReport.replayedRecords, 4);
    assert.deepEqual(await r.get('/registry/pods/a'), { key: '/registry/pods/a', value: '{"a":2}', createRevision: 1, modRevision: 3 });
    assert.equal(await r.get('/registry/pods/b'), undefined);
    // Replayed events are in the watch window.
    const seen: number[] = [];
    r.watch('/registry/', 2, (ev) => seen.push(ev.revision));
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(seen, [3, 4]);
    assert.equal((await r.create('/registry/pods/c', '{}')).modRevision, 5);
    await r.close();
  });

  test('the WAL is checksummed JSON lines', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    await s.create('/k', '{"x":"ü"}');
    await s.close();
    const text = readFileSync(join(dir, walFiles(dir)[0] as string), 'utf8');
    assert.match(text, /^[0-9a-f]{8} \{"rev":1,"op":"put","key":"\/k","value":"\{\\"x\\":\\"ü\\"\}"\}\n$/);
  });

  test('torn last record is truncated with a warning; acknowledged records survive', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    await s.create('/a', '1');
    await s.create('/b', '2');
    await s.close();
    const wal = join(dir, walFiles(dir)[0] as string);
    const good = statSync(wal).size;
    const torn = '1234abcd {"rev":3,"op":"put","key":"/c","va';
    appendFileSync(wal, torn);
    const warnings: string[] = [];
    const r = await FileStore.open({ dir, onWarning: (m) => warnings.push(m) });
    assert.equal(r.openReport.truncatedBytes, Buffer.byteLength(torn));
    assert.equal(statSync(wal).size, good);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /torn last record at byte offset \d+/);
    assert.equal(r.revision(), 2);
    assert.equal((await r.create('/c', '3')).modRevision, 3);
    await r.close();
    const again = await FileStore.open({ dir, ...quiet });
    assert.equal(again.revision(), 3);
    assert.equal(again.openReport.truncatedBytes, 0);
    await again.close();
  });

  test('a complete last line with a bad checksum is also a torn tail', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    await s.create('/a', '1');
    await s.close();
    const wal = join(dir, walFiles(dir)[0] as string);
    appendFileSync(wal, '00000000 {"rev":2,"op":"put","key":"/b","value":"2"}\n');
    const r = await FileStore.open({ dir, ...quiet });
    assert.equal(r.revision(), 1);
    assert.equal(await r.get('/b'), undefined);
    await r.close();
  });

  test('corruption in the middle of the log is STORE_CORRUPT naming the file and byte offset', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    for (let i = 0; i < 5; i++) await s.create(`/k${i}`, 'value');
    await s.close();
    const wal = join(dir, walFiles(dir)[0] as string);
    const buf = readFileSync(wal);
    const lineStarts = [0];
    for (let i = 0; i < buf.length - 1; i++) if (buf[i] === 0x0a) lineStarts.push(i + 1);
    const third = lineStarts[2] as number;
    buf[third + 20] = (buf[third + 20] as number) ^ 0x01; // flip one bit in record 3 of 5
    writeFileSync(wal, buf);
    await assert.rejects(FileStore.open({ dir, ...quiet }), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, 'STORE_CORRUPT');
      assert.ok(e.message.includes(wal), e.message);
      assert.ok(e.message.includes(`byte offset ${third}`), e.message);
      return true;
    });
    // A failed open releases the lock.
    assert.equal(existsSync(join(dir, 'LOCK')), false);
  });

  test('a revision gap in the log is STORE_CORRUPT', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    await s.create('/a', '1');
    await s.create('/b', '2');
    await s.create('/c', '3');
    await s.close();
    const wal = join(dir, walFiles(dir)[0] as string);
    const lines = readFileSync(wal, 'utf8').split('\n');
    writeFileSync(wal, [lines[0], lines[2], ''].join('\n'));
    await assert.rejects(FileStore.open({ dir, ...quiet }), (e: unknown) => e instanceof StoreError && e.code === 'STORE_CORRUPT' && /revision 3 follows 1/.test(e.message));
  });

  test('compaction: snapshot + new segment, old segments removed, reopen equals before', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, snapshotEveryRecords: 50, ...quiet });
    for (let i = 0; i < 120; i++) await s.create(`/registry/pods/p${String(i).padStart(3, '0')}`, JSON.stringify({ i }));
    for (let i = 0; i < 30; i++) await s.delete(`/registry/pods/p${String(i).padStart(3, '0')}`);
    await s.compact();
    const before = await s.list('/');
    assert.ok(s.stats().snapshots >= 3, `snapshots: ${s.stats().snapshots}`);
    await s.close();
    assert.deepEqual(walFiles(dir), ['wal-0000000000000151.jsonl']);
    assert.ok(existsSync(join(dir, 'snapshot.jsonl')));
    const r = await FileStore.open({ dir, ...quiet });
    assert.equal(r.openReport.snapshotRevision, 150);
    assert.equal(r.openReport.replayedRecords, 0);
    assert.deepEqual(await r.list('/'), before);
    assert.throws(() => r.watch('/', 149, () => {}), code('STORE_EXPIRED'));
    assert.equal((await r.create('/x', '1')).modRevision, 151);
    await r.close();
  });

  test('crash between snapshot rename and segment cleanup: stale segments are skipped and removed', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    for (let i = 0; i < 10; i++) await s.create(`/k${i}`, String(i));
    await s.close();
    const oldWal = readFileSync(join(dir, walFiles(dir)[0] as string));
    const s2 = await FileStore.open({ dir, ...quiet });
    await s2.compact();
    await s2.update('/k1', 'new');
    await s2.close();
    // Put back the segment the compaction deleted, as if the crash hit before the unlink.
    writeFileSync(join(dir, 'wal-0000000000000001.jsonl'), oldWal);
    const r = await FileStore.open({ dir, ...quiet });
    assert.equal(r.revision(), 11);
    assert.equal((await r.get('/k1'))?.value, 'new');
    await r.close();
    assert.deepEqual(walFiles(dir), ['wal-0000000000000011.jsonl']);
  });

  test('a corrupt snapshot is STORE_CORRUPT', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    await s.create('/a', '1');
    await s.compact();
    await s.close();
    const snap = join(dir, 'snapshot.jsonl');
    writeFileSync(snap, readFileSync(snap, 'utf8').replace('"value":"1"', '"value":"2"'));
    await assert.rejects(FileStore.open({ dir, ...quiet }), (e: unknown) => e instanceof StoreError && e.code === 'STORE_CORRUPT' && e.message.includes('snapshot.jsonl') && /checksum mismatch/.test(e.message));
  });

  test('group commit: 64 concurrent writes share few fsyncs; all acknowledged in revision order', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    const kvs = await Promise.all(Array.from({ length: 64 }, (_, i) => s.create(`/g/${i}`, String(i))));
    assert.deepEqual(kvs.map((kv) => kv.modRevision), Array.from({ length: 64 }, (_, i) => i + 1));
    const st = s.stats();
    assert.equal(st.records, 64);
    assert.ok(st.batches <= 4, `batches: ${st.batches}`);
    await s.close();
  });

  test('preconditions see writes still in flight (create then update in the same tick)', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    const c = s.create('/k', '1');
    const u = s.update('/k', '2', 1);
    const dup = assert.rejects(s.create('/k', 'x'), code('STORE_ALREADY_EXISTS'));
    assert.equal((await c).modRevision, 1);
    assert.equal((await u).modRevision, 2);
    await dup;
    assert.equal(s.revision(), 2);
    await s.close();
  });

  test('a failed WAL write rejects the batch and later writes with STORE_UNAVAILABLE; reads keep working', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    await s.create('/ok', '1');
    // Pull the log's file descriptor out from under the store: the next append fails (EBADF).
    await (s as unknown as { wal: { close(): Promise<void> } }).wal.close();
    await assert.rejects(s.create('/lost', '1'), code('STORE_UNAVAILABLE'));
    await assert.rejects(s.update('/ok', '2'), (e: unknown) => e instanceof StoreError && e.code === 'STORE_UNAVAILABLE' && /read-only until reopened/.test(e.message));
    assert.equal((await s.get('/ok'))?.value, '1');
    assert.equal(await s.get('/lost'), undefined);
    assert.equal(s.revision(), 1);
    await s.close();
    const r = await FileStore.open({ dir, ...quiet });
    assert.equal(r.revision(), 1);
    await r.close();
  });

  test('close waits for writes in flight; writes after close fail', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    const p = s.create('/k', '1');
    const closing = s.close();
    await assert.rejects(s.create('/j', '1'), code('STORE_CLOSED'));
    assert.equal((await p).modRevision, 1);
    await closing;
    await s.close();
    const r = await FileStore.open({ dir, ...quiet });
    assert.equal((await r.get('/k'))?.value, '1');
    await r.close();
  });

  test('single writer: second open in this process and a live foreign owner are refused; a dead owner is taken over', async () => {
    const dir = freshDir();
    const s = await FileStore.open({ dir, ...quiet });
    await assert.rejects(FileStore.open({ dir, ...quiet }), (e: unknown) => e instanceof StoreError && e.code === 'STORE_UNAVAILABLE' && /already open in this process/.test(e.message));
    await s.close();
    assert.equal(existsSync(join(dir, 'LOCK')), false);

    // A live process (our parent) holds it.
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid, start: null }));
    await assert.rejects(FileStore.open({ dir, ...quiet }), (e: unknown) => e instanceof StoreError && e.code === 'STORE_UNAVAILABLE' && e.message.includes(`pid ${process.ppid}`));

    // A process that has exited.
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = child.pid as number;
    await new Promise((res) => child.on('exit', res));
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: deadPid, start: null }));
    const warnings: string[] = [];
    const r = await FileStore.open({ dir, onWarning: (m) => warnings.push(m) });
    assert.equal(r.openReport.staleLockPid, deadPid);
    assert.match(warnings.join('\n'), new RegExp(`dead process pid ${deadPid}`));
    assert.equal(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid, process.pid);
    await r.close();

    // A live pid whose start time differs: the pid was reused, the lock is stale.
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid, start: '1' }));
    const r2 = await FileStore.open({ dir, ...quiet });
    assert.equal(r2.openReport.staleLockPid, process.ppid);
    await r2.close();
  });
});

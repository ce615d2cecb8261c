import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from './memory-store.ts';
import { StoreError } from './object-store.ts';
import type { StoreWatchEvent } from './object-store.ts';
import { runStoreConformance } from './conformance.ts';
import fc from 'fast-check';

const code = (c: string) => (e: unknown): boolean => e instanceof StoreError && e.code === c;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('MemoryStore', () => {
  test('revisions: empty store is 0; create/update/delete each take the next revision', async () => {
    const s = new MemoryStore();
    assert.equal(s.revision(), 0);
    const a = await s.create('/registry/pods/default/a', '{"v":1}');
    assert.deepEqual(a, { key: '/registry/pods/default/a', value: '{"v":1}', createRevision: 1, modRevision: 1 });
    const b = await s.create('/registry/pods/default/b', '{}');
    assert.equal(b.modRevision, 2);
    const a2 = await s.update('/registry/pods/default/a', '{"v":2}', 1);
    assert.deepEqual(a2, { key: '/registry/pods/default/a', value: '{"v":2}', createRevision: 1, modRevision: 3 });
    const d = await s.delete('/registry/pods/default/a');
    assert.deepEqual(d, { key: '/registry/pods/default/a', value: '{"v":2}', createRevision: 1, modRevision: 4 });
    assert.equal(s.revision(), 4);
    assert.equal(await s.get('/registry/pods/default/a'), undefined);
  });

  test('failed writes do not take a revision', async () => {
    const s = new MemoryStore();
    await s.create('/k', '1');
    await assert.rejects(s.create('/k', '2'), code('STORE_ALREADY_EXISTS'));
    await assert.rejects(s.update('/k', '2', 7), code('STORE_CONFLICT'));
    await assert.rejects(s.update('/nope', '2'), code('STORE_NOT_FOUND'));
    await assert.rejects(s.delete('/k', 9), code('STORE_CONFLICT'));
    assert.equal(s.revision(), 1);
    assert.equal((await s.get('/k'))?.value, '1');
  });

  test('bad arguments are programmer errors (TypeError), not store errors', async () => {
    const s = new MemoryStore();
    await assert.rejects(s.create('', '{}'), TypeError);
    await assert.rejects(s.create('/k', 5 as unknown as string), TypeError);
    assert.equal(s.revision(), 0);
  });

  test('history window: events older than the window expire for watch and for reads at old revisions', async () => {
    const s = new MemoryStore({ historyWindow: 5 });
    for (let i = 1; i <= 12; i++) await s.create(`/k/${String(i).padStart(2, '0')}`, String(i));
    assert.equal(s.compactedRevision(), 7);
    assert.throws(() => s.watch('/k/', 6, () => {}), code('STORE_EXPIRED'));
    await assert.rejects(s.list('/k/', { revision: 6 }), code('STORE_EXPIRED'));
    const seen: number[] = [];
    const h = s.watch('/k/', 7, (ev) => seen.push(ev.revision));
    await tick();
    assert.deepEqual(seen, [8, 9, 10, 11, 12]);
    h.cancel();
    const at7 = await s.list('/k/', { revision: 7 });
    assert.equal(at7.items.length, 7);
    assert.equal(at7.revision, 7);
  });

  test('history window of 0 keeps no events: only watches from the current revision', async () => {
    const s = new MemoryStore({ historyWindow: 0 });
    await s.create('/a', '1');
    assert.throws(() => s.watch('/', 0, () => {}), code('STORE_EXPIRED'));
    const seen: number[] = [];
    s.watch('/', 1, (ev) => seen.push(ev.revision));
    await tick();
    await s.create('/b', '2');
    assert.deepEqual(seen, [2]);
  });

  test('list at an older revision undoes later creates, updates and deletes', async () => {
    const s = new MemoryStore();
    await s.create('/p/a', 'a1'); // 1
    await s.create('/p/b', 'b1'); // 2
    await s.create('/q/x', 'x1'); // 3
    await s.update('/p/a', 'a2'); // 4
    await s.delete('/p/b'); // 5
    await s.create('/p/c', 'c1'); // 6
    const at3 = await s.list('/p/', { revision: 3 });
    assert.deepEqual(at3.items.map((kv) => [kv.key, kv.value, kv.modRevision]), [['/p/a', 'a1', 1], ['/p/b', 'b1', 2]]);
    const at4 = await s.list('/p/', { revision: 4, limit: 1 });
    assert.deepEqual(at4.items.map((kv) => kv.value), ['a2']);
    assert.equal(at4.more, true);
    const at4b = await s.list('/p/', { revision: 4, limit: 1, startAfter: '/p/a' });
    assert.deepEqual(at4b.items.map((kv) => kv.value), ['b1']);
    assert.equal(at4b.more, false);
    await assert.rejects(s.list('/p/', { revision: 99 }), code('STORE_UNAVAILABLE'));
  });

  test('watch: live events synchronously after commit; replay in a microtask; cancel stops delivery', async () => {
    const s = new MemoryStore();
    await s.create('/a', '1');
    const seen: string[] = [];
    const h = s.watch('/', 0, (ev) => seen.push(`${ev.type}${ev.kv.key}@${ev.revision}`));
    assert.deepEqual(seen, [], 'replay is not synchronous inside watch()');
    await tick();
    assert.deepEqual(seen, ['PUT/a@1']);
    const p = s.update('/a', '2');
    assert.deepEqual(seen, ['PUT/a@1', 'PUT/a@2'], 'delivered before the write promise is awaited');
    await p;
    h.cancel();
    h.cancel();
    await s.delete('/a');
    assert.equal(seen.length, 2);
  });

  test('a watcher that throws breaks neither the writer nor other watchers', async () => {
    const errors: unknown[] = [];
    const s = new MemoryStore({ onWatcherError: (e) => errors.push(e) });
    const good: number[] = [];
    s.watch('/', 0, () => { throw new Error('boom'); });
    s.watch('/', 0, (ev) => good.push(ev.revision));
    await tick();
    await s.create('/a', '1');
    await s.create('/b', '1');
    assert.deepEqual(good, [1, 2]);
    assert.equal(errors.length, 2);
    assert.equal(s.revision(), 2);
  });

  test('a watcher that writes re-entrantly does not reorder events for later watchers', async () => {
    const s = new MemoryStore();
    const order: number[] = [];
    s.watch('/a', 0, (ev) => {
      if (ev.kv.key === '/a1') void s.create('/a2', 'x');
    });
    s.watch('/a', 0, (ev) => order.push(ev.revision));
    await tick();
    await s.create('/a1', 'x');
    assert.deepEqual(order, [1, 2]);
  });

  test('a watch created during a dispatch sees each event exactly once', async () => {
    const s = new MemoryStore();
    const late: number[] = [];
    s.watch('/', 0, (ev) => {
      if (ev.revision === 1) s.watch('/', 0, (e) => late.push(e.revision));
    });
    await tick();
    await s.create('/a', '1');
    await tick();
    await s.create('/b', '1');
    assert.deepEqual(late, [1, 2]);
  });

  test('DELETE events carry the deleted value and prevKv with its last modRevision', async () => {
    const s = new MemoryStore();
    const evs: StoreWatchEvent[] = [];
    s.watch('/', 0, (ev) => evs.push(ev));
    await tick();
    await s.create('/a', 'v');
    await s.delete('/a');
    const del = evs[1];
    assert.equal(del?.type, 'DELETE');
    assert.equal(del?.kv.value, 'v');
    assert.equal(del?.kv.modRevision, 2);
    assert.equal(del?.prevKv?.modRevision, 1);
  });

  test('closed store rejects operations with STORE_CLOSED and stops watchers', async () => {
    const s = new MemoryStore();
    const seen: number[] = [];
    s.watch('/', 0, (ev) => seen.push(ev.revision));
    await s.close();
    await assert.rejects(s.get('/a'), code('STORE_CLOSED'));
    await assert.rejects(s.create('/a', '1'), code('STORE_CLOSED'));
    assert.throws(() => s.watch('/', 0, () => {}), code('STORE_CLOSED'));
    await tick();
    assert.deepEqual(seen, []);
  });

  test('100 000 keys: list of one prefix page is fast (sorted index, not a scan)', async () => {
    const s = new MemoryStore({ historyWindow: 100 });
    for (let i = 0; i < 100_000; i++) await s.create(`/registry/pods/ns${i % 10}/p${i}`, '{}');
    const t0 = process.hrtime.bigint();
    const page = await s.list('/registry/pods/ns3/', { limit: 500 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(page.items.length, 500);
    assert.equal(page.more, true);
    assert.ok(page.items.every((kv) => kv.key.startsWith('/registry/pods/ns3/')));
    assert.ok(ms < 50, `page took ${ms} ms`);
  });
});

runStoreConformance('MemoryStore', async ({ historyWindow }) => new MemoryStore({ historyWindow }));

test('property: list at every retained revision, with any prefix/limit/startAfter, equals a naive model', async () => {
  const keyArb = fc.constantFrom('/a', '/a/1', '/a/2', '/a/10', '/ab', '/b/1', '/b/2', '/b', '/c');
  const opArb = fc.oneof(
    fc.record({ kind: fc.constant('create' as const), key: keyArb, value: fc.string({ maxLength: 3 }) }),
    fc.record({ kind: fc.constant('update' as const), key: keyArb, value: fc.string({ maxLength: 3 }) }),
    fc.record({ kind: fc.constant('delete' as const), key: keyArb }),
  );
  await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.integer({ min: 0, max: 12 }), async (ops, window) => {
    const s = new MemoryStore({ historyWindow: window });
    const snapshots: Array<Map<string, string>> = [new Map()];
    for (const op of ops) {
      const cur = new Map(snapshots.at(-1));
      try {
        if (op.kind === 'create') await s.create(op.key, op.value);
        else if (op.kind === 'update') await s.update(op.key, op.value);
        else await s.delete(op.key);
      } catch (e) {
        assert.ok(e instanceof StoreError);
        continue;
      }
      if (op.kind === 'delete') cur.delete(op.key);
      else cur.set(op.key, op.value);
      snapshots.push(cur);
    }
    assert.equal(s.revision(), snapshots.length - 1);
    // revision 0 (or absent) means "latest", as in etcd; every later revision is addressable.
    for (let r = 1; r < snapshots.length; r++) {
      for (const prefix of ['', '/a', '/a/', '/b/']) {
        for (const [limit, startAfter] of [[0, undefined], [2, undefined], [1, '/a/1'], [3, '/a']] as const) {
          const opts = { revision: r, limit, ...(startAfter !== undefined ? { startAfter } : {}) };
          if (r < s.compactedRevision()) {
            await assert.rejects(s.list(prefix, opts), (e: unknown) => e instanceof StoreError && e.code === 'STORE_EXPIRED');
            continue;
          }
          const all = [...(snapshots[r] as Map<string, string>)].filter(([k]) => k.startsWith(prefix) && (startAfter === undefined || k > startAfter)).sort(([a], [b]) => (a < b ? -1 : 1));
          const want = limit > 0 ? all.slice(0, limit) : all;
          const got = await s.list(prefix, opts);
          assert.deepEqual(got.items.map((kv) => [kv.key, kv.value]), want);
          assert.equal(got.more, limit > 0 && all.length > limit);
        }
      }
    }
  }), { numRuns: 150 });
});

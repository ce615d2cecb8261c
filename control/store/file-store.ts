/**
 * FileStore: the embedded default ObjectStore, durable across `kill -9`.
 *
 * On disk (one directory, default `.netsim/store/` under the working directory):
 *
 *   LOCK                           {"pid":…,"start":…} of the one process that has it open
 *   snapshot.jsonl                 the key space at one revision (atomically replaced)
 *   wal-<first revision>.jsonl     append-only write-ahead log segments
 *
 * Files are created 0600 and a new directory 0700: the store holds every object, Secrets included.
 * Every file is JSON lines framed as `<crc32 of the JSON, 8 hex digits> <JSON>\n`, so a
 * store can be read with `cut -c10- wal-*.jsonl | jq` and every record is checksummed.
 * A WAL record is `{"rev":7,"op":"put","key":…,"value":…}` or `{"rev":8,"op":"del","key":…}`;
 * a snapshot is a header `{"snapshot":1,"revision":R,"count":N}` and N lines of
 * `{"key","value","createRevision","modRevision"}`.
 *
 * Durability: a write is planned against the committed state plus the writes still in
 * flight (so preconditions see them), appended to the WAL, and `fsync`ed before it is
 * applied in memory, published to watchers and acknowledged. Writes that arrive while an
 * fsync runs are group-committed: the next batch is one write() and one fsync.
 * If the WAL write or fsync fails the store stops accepting writes (STORE_UNAVAILABLE):
 * whether the failed batch reached the disk is unknown, as with an etcd timeout.
 *
 * Opening replays snapshot + WAL. A torn last record (crash mid-append: no newline, bad
 * checksum or bad JSON with nothing valid after it, in the newest segment) is truncated
 * with a warning; a bad record anywhere else, a revision gap, or a bad snapshot is
 * STORE_CORRUPT naming the file and byte offset — never silently skipped.
 *
 * Compaction: after `snapshotEveryRecords` records or `snapshotEveryBytes` bytes of WAL,
 * the writer rotates to a new segment (between batches) and writes a snapshot of the
 * state at the rotation revision in the background (temp file, fsync, rename, fsync of
 * the directory), then deletes the older segments. A crash at any point leaves either the
 * old snapshot + all segments, or the new snapshot + segments whose older records are
 * skipped on replay.
 *
 * Watch history after a restart starts at the snapshot's revision (events in the WAL
 * after it are replayed into the window); older resourceVersions get STORE_EXPIRED and
 * informers relist — as after a kube-apiserver restart.
 *
 * Single writer: the LOCK file holds the owner's pid and (on Linux) its start time from
 * /proc, so a lock left by a dead process — or by a dead process whose pid was reused —
 * is taken over, while a live owner gives STORE_UNAVAILABLE naming its pid. Opening the
 * same directory twice in one process is refused the same way. The take-over is not
 * atomic against two processes taking over the same stale lock at the same instant.
 */
import fs from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { StoreError } from './object-store.ts';
import type { KeyValue, ListOptions, ListResult, ObjectStore, StoreWatchEvent, WatchHandle } from './object-store.ts';
import { MvccState, planWrite } from './mvcc.ts';
import type { MvccOptions, WriteOp } from './mvcc.ts';

export const DEFAULT_STORE_DIR = '.netsim/store';
/** Snapshot after this many WAL records (bounds replay time after a crash). */
export const DEFAULT_SNAPSHOT_EVERY_RECORDS = 100_000;
/** …or after this many WAL bytes. */
export const DEFAULT_SNAPSHOT_EVERY_BYTES = 64 * 1024 * 1024;

/** The store holds every object, Secrets included: only its owner may read it (kube's etcd data dir is 0700). */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const LOCK_FILE = 'LOCK';
const SNAPSHOT_FILE = 'snapshot.jsonl';
const SNAPSHOT_TMP = 'snapshot.jsonl.tmp';
const SEGMENT_RE = /^wal-(\d{16})\.jsonl$/;
const segmentName = (firstRev: number): string => `wal-${String(firstRev).padStart(16, '0')}.jsonl`;

export interface FileStoreOptions extends MvccOptions {
  /** Store directory, created if missing. Default `.netsim/store` (relative to the working directory). */
  readonly dir?: string;
  readonly snapshotEveryRecords?: number;
  readonly snapshotEveryBytes?: number;
  /** Recoverable problems found on open (torn tail truncated, stale lock taken over). Default console.warn. */
  readonly onWarning?: (message: string) => void;
}

export interface FileStoreOpenReport {
  readonly dir: string;
  readonly snapshotRevision: number;
  readonly replayedRecords: number;
  /** Bytes cut from the end of the newest WAL segment (a torn record). */
  readonly truncatedBytes: number;
  /** Pid of the dead process whose lock was taken over. */
  readonly staleLockPid?: number;
  readonly warnings: readonly string[];
}

export interface FileStoreStats {
  /** Records appended since open. */
  readonly records: number;
  /** Group commits (one write + one fsync each). */
  readonly batches: number;
  readonly snapshots: number;
  readonly walRecordsSinceSnapshot: number;
  readonly walBytesSinceSnapshot: number;
}

interface WalRecord {
  readonly rev: number;
  readonly op: 'put' | 'del';
  readonly key: string;
  readonly value?: string;
}

interface PendingWrite {
  readonly ev: StoreWatchEvent;
  readonly line: string;
  readonly resolve: (kv: KeyValue) => void;
  readonly reject: (err: unknown) => void;
}

function frame(obj: unknown): string {
  const json = JSON.stringify(obj);
  return `${(crc32(json) >>> 0).toString(16).padStart(8, '0')} ${json}\n`;
}

type Unframed = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

function unframe(line: Buffer): Unframed {
  if (line.length < 10 || line[8] !== 0x20) return { ok: false, reason: 'not a framed record' };
  const hex = line.toString('latin1', 0, 8);
  if (!/^[0-9a-f]{8}$/.test(hex)) return { ok: false, reason: 'bad checksum field' };
  const json = line.subarray(9);
  if ((crc32(json) >>> 0) !== parseInt(hex, 16)) return { ok: false, reason: 'checksum mismatch' };
  try {
    return { ok: true, value: JSON.parse(json.toString('utf8')) as unknown };
  } catch {
    return { ok: false, reason: 'bad JSON' };
  }
}

interface Line { readonly offset: number; readonly bytes: Buffer; readonly terminated: boolean }

function* splitLines(buf: Buffer): IterableIterator<Line> {
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) {
      yield { offset: pos, bytes: buf.subarray(pos), terminated: false };
      return;
    }
    yield { offset: pos, bytes: buf.subarray(pos, nl), terminated: true };
    pos = nl + 1;
  }
}

function asWalRecord(v: unknown): WalRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.rev !== 'number' || !Number.isSafeInteger(r.rev) || r.rev < 1) return undefined;
  if (typeof r.key !== 'string' || r.key.length === 0) return undefined;
  if (r.op === 'put' && typeof r.value === 'string') return { rev: r.rev, op: 'put', key: r.key, value: r.value };
  if (r.op === 'del') return { rev: r.rev, op: 'del', key: r.key };
  return undefined;
}

function asKeyValue(v: unknown): KeyValue | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.key !== 'string' || typeof r.value !== 'string' || typeof r.createRevision !== 'number' || typeof r.modRevision !== 'number') return undefined;
  return { key: r.key, value: r.value, createRevision: r.createRevision, modRevision: r.modRevision };
}

const corrupt = (file: string, offset: number, reason: string): StoreError =>
  new StoreError('STORE_CORRUPT', `${file}: corrupt record at byte offset ${offset}: ${reason}`);

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function writeAll(h: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await h.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

// ---------------------------------------------------------------- lock

/** Linux process start time (clock ticks since boot, /proc/PID/stat field 22); undefined elsewhere. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start !== undefined) {
    const now = processStart(pid);
    if (now !== undefined && now !== start) return false; // the pid was reused
  }
  return true;
}

/** Directories this process has open (the LOCK file cannot tell our own stores apart). */
const openInProcess = new Set<string>();

async function acquireLock(dir: string, warn: (m: string) => void): Promise<number | undefined> {
  if (openInProcess.has(dir)) throw new StoreError('STORE_UNAVAILABLE', `store ${dir} is already open in this process (pid ${process.pid})`);
  const path = join(dir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, start: processStart(process.pid) ?? null }) + '\n';
  let stalePid: number | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    // Write the content first, then link() it into place: the lock never exists half-written.
    const tmp = join(dir, `${LOCK_FILE}.${process.pid}.tmp`);
    await writeFile(tmp, mine, { mode: FILE_MODE });
    try {
      await link(tmp, path);
      const now = await readFile(path, 'utf8').catch(() => '');
      if (now === mine) {
        openInProcess.add(dir);
        return stalePid;
      }
      continue; // lost a take-over race; look again
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await unlink(tmp).catch(() => {});
    }
    let owner: { pid?: unknown; start?: unknown } = {};
    try {
      owner = JSON.parse(await readFile(path, 'utf8')) as typeof owner;
    } catch {
      // Unreadable or half-written lock (its writer died between create and write): stale.
    }
    const pid = typeof owner.pid === 'number' ? owner.pid : undefined;
    const start = typeof owner.start === 'string' ? owner.start : undefined;
    if (pid !== undefined && pid !== process.pid && isAlive(pid, start)) {
      throw new StoreError('STORE_UNAVAILABLE', `store ${dir} is locked by running process pid ${pid} (${path}); stop it or use another directory`);
    }
    stalePid = pid;
    warn(`store ${dir}: taking over the stale lock of ${pid === undefined ? 'an unknown process' : `dead process pid ${pid}`}`);
    await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
  }
  throw new StoreError('STORE_UNAVAILABLE', `store ${dir}: could not acquire ${path}`);
}

async function releaseLock(dir: string): Promise<void> {
  openInProcess.delete(dir);
  const path = join(dir, LOCK_FILE);
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown };
    if (owner.pid === process.pid) await unlink(path);
  } catch {
    // Already gone or not ours: nothing to release.
  }
}

// ---------------------------------------------------------------- store

export class FileStore implements ObjectStore {
  private readonly state: MvccState;
  private wal!: FileHandle;
  private readonly segments: number[] = [];
  private pending: PendingWrite[] = [];
  /** Latest planned-but-unacknowledged event per key. */
  private readonly overlay = new Map<string, StoreWatchEvent>();
  private plannedRev = 0;
  /** Serialises every WAL file operation (batches, rotation). */
  private chain: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private snapshotting: Promise<void> | undefined;
  private compactionQueued = false;
  private failure: StoreError | undefined;
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private walRecords = 0;
  private walBytes = 0;
  private counters = { records: 0, batches: 0, snapshots: 0 };
  private readonly everyRecords: number;
  private readonly everyBytes: number;
  private readonly warn: (m: string) => void;
  openReport!: FileStoreOpenReport;

  private constructor(readonly dir: string, opts: FileStoreOptions) {
    this.state = new MvccState(opts);
    this.everyRecords = opts.snapshotEveryRecords ?? DEFAULT_SNAPSHOT_EVERY_RECORDS;
    this.everyBytes = opts.snapshotEveryBytes ?? DEFAULT_SNAPSHOT_EVERY_BYTES;
    this.warn = opts.onWarning ?? ((m) => console.warn(`netsim store: ${m}`));
  }

  /** Open (creating if needed) the store in `opts.dir`, replaying snapshot and WAL. */
  static async open(opts: FileStoreOptions = {}): Promise<FileStore> {
    const dir = resolve(opts.dir ?? DEFAULT_STORE_DIR);
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const store = new FileStore(dir, opts);
    const warnings: string[] = [];
    const warn = (m: string): void => { warnings.push(m); store.warn(m); };
    const staleLockPid = await acquireLock(dir, warn);
    try {
      const { snapshotRevision, replayed, truncated } = await store.recover(warn);
      store.openReport = { dir, snapshotRevision, replayedRecords: replayed, truncatedBytes: truncated, warnings, ...(staleLockPid !== undefined ? { staleLockPid } : {}) };
    } catch (e) {
      await releaseLock(dir);
      throw e;
    }
    return store;
  }

  private async recover(warn: (m: string) => void): Promise<{ snapshotRevision: number; replayed: number; truncated: number }> {
    await unlink(join(this.dir, SNAPSHOT_TMP)).catch(() => {});
    let snapshotRevision = 0;
    const snapPath = join(this.dir, SNAPSHOT_FILE);
    if (fs.existsSync(snapPath)) {
      const buf = await readFile(snapPath);
      const kvs: KeyValue[] = [];
      let count = -1;
      for (const line of splitLines(buf)) {
        if (!line.terminated) throw corrupt(snapPath, line.offset, 'truncated record');
        const u = unframe(line.bytes);
        if (!u.ok) throw corrupt(snapPath, line.offset, u.reason);
        if (count < 0) {
          const h = u.value as { snapshot?: unknown; revision?: unknown; count?: unknown };
          if (h.snapshot !== 1 || typeof h.revision !== 'number' || typeof h.count !== 'number') throw corrupt(snapPath, line.offset, 'bad snapshot header');
          snapshotRevision = h.revision;
          count = h.count;
          continue;
        }
        const kv = asKeyValue(u.value);
        if (kv === undefined || kv.modRevision > snapshotRevision) throw corrupt(snapPath, line.offset, 'bad key/value record');
        kvs.push(kv);
      }
      if (kvs.length !== count) throw corrupt(snapPath, buf.length, `snapshot has ${kvs.length} records, header says ${count}`);
      this.state.load(kvs, snapshotRevision);
    }

    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    let replayed = 0;
    let truncated = 0;
    const obsolete: string[] = [];
    for (let si = 0; si < names.length; si++) {
      const name = names[si] as string;
      const path = join(this.dir, name);
      const first = Number((SEGMENT_RE.exec(name) as RegExpExecArray)[1]);
      const next = names[si + 1];
      if (next !== undefined && Number((SEGMENT_RE.exec(next) as RegExpExecArray)[1]) <= snapshotRevision + 1) {
        // Every record here is also in the snapshot (a cleanup interrupted by a crash).
        obsolete.push(path);
        continue;
      }
      const isLast = si === names.length - 1;
      const buf = await readFile(path);
      const lines = [...splitLines(buf)];
      for (let li = 0; li < lines.length; li++) {
        const line = lines[li] as Line;
        const u = line.terminated ? unframe(line.bytes) : ({ ok: false, reason: 'no newline' } as const);
        if (!u.ok) {
          const laterValid = lines.slice(li + 1).some((l) => l.terminated && unframe(l.bytes).ok);
          if (!isLast || laterValid) throw corrupt(path, line.offset, u.reason);
          truncated = buf.length - line.offset;
          warn(`${path}: torn last record at byte offset ${line.offset} (${truncated} bytes: ${u.reason}) truncated — a write that was never acknowledged`);
          await truncate(path, line.offset);
          const h = await open(path, 'r+');
          try { await h.sync(); } finally { await h.close(); }
          break;
        }
        const rec = asWalRecord(u.value);
        if (rec === undefined) throw corrupt(path, line.offset, 'not a WAL record');
        if (li === 0 && rec.rev !== first) throw corrupt(path, line.offset, `segment named for revision ${first} starts at revision ${rec.rev}`);
        if (rec.rev <= this.state.revision) continue; // already in the snapshot
        if (rec.rev !== this.state.revision + 1) throw corrupt(path, line.offset, `revision ${rec.rev} follows ${this.state.revision}`);
        const current = this.state.get(rec.key);
        if (rec.op === 'put') {
          const kv: KeyValue = { key: rec.key, value: rec.value as string, createRevision: current?.createRevision ?? rec.rev, modRevision: rec.rev };
          this.state.apply(current === undefined ? { type: 'PUT', kv, revision: rec.rev } : { type: 'PUT', kv, prevKv: current, revision: rec.rev });
        } else {
          if (current === undefined) throw corrupt(path, line.offset, `delete of absent key ${rec.key}`);
          this.state.apply({ type: 'DELETE', kv: { ...current, modRevision: rec.rev }, prevKv: current, revision: rec.rev });
        }
        replayed++;
        this.walRecords++;
        this.walBytes += line.bytes.length + 1;
      }
      this.segments.push(first);
    }
    if (this.segments.length > 0 && (this.segments[0] as number) > snapshotRevision + 1) {
      throw corrupt(join(this.dir, segmentName(this.segments[0] as number)), 0, `WAL starts at revision ${this.segments[0]} but the snapshot ends at ${snapshotRevision}`);
    }
    for (const p of obsolete) await unlink(p);
    this.plannedRev = this.state.revision;
    const last = this.segments.at(-1);
    if (last === undefined) {
      this.wal = await open(join(this.dir, segmentName(this.state.revision + 1)), 'a', FILE_MODE);
      this.segments.push(this.state.revision + 1);
      await this.wal.sync();
      await fsyncDir(this.dir);
    } else {
      this.wal = await open(join(this.dir, segmentName(last)), 'a');
      if (obsolete.length > 0) await fsyncDir(this.dir);
    }
    return { snapshotRevision, replayed, truncated };
  }

  // ------------------------------------------------------------ reads

  private readable(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'store is closed');
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.readable();
    return this.state.get(key);
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    this.readable();
    return this.state.list(prefix, opts);
  }

  watch(prefix: string, afterRevision: number, onEvent: (ev: StoreWatchEvent) => void, onError?: (err: StoreError) => void): WatchHandle {
    this.readable();
    return this.state.watch(prefix, afterRevision, onEvent, onError);
  }

  /** The latest acknowledged (durable) revision. */
  revision(): number {
    return this.state.revision;
  }

  stats(): FileStoreStats {
    return { ...this.counters, walRecordsSinceSnapshot: this.walRecords, walBytesSinceSnapshot: this.walBytes };
  }

  // ------------------------------------------------------------ writes

  create(key: string, value: string): Promise<KeyValue> {
    return this.write({ kind: 'create', key, value });
  }

  update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.write({ kind: 'update', key, value, expectedModRevision });
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.write({ kind: 'delete', key, expectedModRevision });
  }

  private write(op: WriteOp): Promise<KeyValue> {
    try {
      if (this.closed || this.closing) throw new StoreError('STORE_CLOSED', 'store is closed');
      if (this.failure !== undefined) throw this.failure;
      const o = this.overlay.get(op.key);
      const current = o !== undefined ? (o.type === 'PUT' ? o.kv : undefined) : this.state.get(op.key);
      let ev: StoreWatchEvent;
      try {
        ev = planWrite(op, current, this.plannedRev + 1);
      } catch (e) {
        // A precondition that fails only against a write still in flight is reported once
        // that write is committed: reads see committed state, so a caller that re-reads and
        // retries at once (the registry's GuaranteedUpdate) would otherwise read the same
        // old value and lose the same race until it gave up.
        if (o !== undefined && e instanceof StoreError) return this.chain.then(() => Promise.reject(e));
        throw e;
      }
      const rec: WalRecord = ev.type === 'PUT' ? { rev: ev.revision, op: 'put', key: ev.kv.key, value: ev.kv.value } : { rev: ev.revision, op: 'del', key: ev.kv.key };
      const line = frame(rec);
      this.plannedRev = ev.revision;
      this.overlay.set(op.key, ev);
      return new Promise<KeyValue>((resolve, reject) => {
        this.pending.push({ ev, line, resolve, reject });
        this.scheduleFlush();
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => {});
    return p;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    void this.serial(async () => {
      this.flushQueued = false;
      await this.flush();
    });
  }

  /** Group commit: everything pending becomes one append and one fsync; repeat until drained. */
  private async flush(): Promise<void> {
    while (this.pending.length > 0 && this.failure === undefined) {
      const batch = this.pending;
      this.pending = [];
      const data = Buffer.from(batch.map((b) => b.line).join(''), 'utf8');
      try {
        await writeAll(this.wal, data);
        await this.wal.sync();
      } catch (e) {
        this.fail(e, batch);
        return;
      }
      this.counters.batches++;
      this.counters.records += batch.length;
      this.walRecords += batch.length;
      this.walBytes += data.length;
      for (const b of batch) {
        this.state.apply(b.ev);
        if (this.overlay.get(b.ev.kv.key) === b.ev) this.overlay.delete(b.ev.kv.key);
      }
      for (const b of batch) b.resolve(b.ev.kv);
      if ((this.walRecords >= this.everyRecords || this.walBytes >= this.everyBytes) && !this.compactionQueued && this.snapshotting === undefined) {
        this.compactionQueued = true;
        void this.serial(() => this.rotate());
      }
    }
  }

  private fail(e: unknown, batch: PendingWrite[]): void {
    this.failure = new StoreError('STORE_UNAVAILABLE', `store ${this.dir}: WAL write failed, store is read-only until reopened (${(e as Error).message}); the outcome of the failed writes is unknown`);
    const all = [...batch, ...this.pending];
    this.pending = [];
    this.overlay.clear();
    for (const b of all) b.reject(this.failure);
  }

  /**
   * Start a new WAL segment at the next revision and snapshot the state at the current one
   * in the background. Runs inside the serial chain, so no batch is in flight.
   */
  private async rotate(): Promise<void> {
    this.compactionQueued = false;
    if (this.failure !== undefined || this.snapshotting !== undefined) return;
    const at = this.state.revision;
    const next = at + 1;
    if (this.segments.at(-1) !== next) {
      const h = await open(join(this.dir, segmentName(next)), 'ax', FILE_MODE);
      await h.sync();
      await fsyncDir(this.dir);
      const old = this.wal;
      this.wal = h;
      this.segments.push(next);
      await old.close();
    }
    this.walRecords = 0;
    this.walBytes = 0;
    const entries = [...this.state.entries()];
    this.snapshotting = this.writeSnapshot(entries, at)
      .then(() => this.dropSegmentsBefore(next))
      .then(() => { this.counters.snapshots++; })
      .catch((e: unknown) => this.warn(`store ${this.dir}: snapshot at revision ${at} failed (the WAL still has everything): ${(e as Error).message}`))
      .finally(() => { this.snapshotting = undefined; });
  }

  private async writeSnapshot(entries: KeyValue[], revision: number): Promise<void> {
    const tmp = join(this.dir, SNAPSHOT_TMP);
    const h = await open(tmp, 'w', FILE_MODE);
    try {
      await writeAll(h, Buffer.from(frame({ snapshot: 1, revision, count: entries.length })));
      for (let i = 0; i < entries.length; i += 1000) {
        const chunk = entries.slice(i, i + 1000).map((kv) => frame({ key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision }));
        await writeAll(h, Buffer.from(chunk.join(''), 'utf8'));
      }
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, join(this.dir, SNAPSHOT_FILE));
    await fsyncDir(this.dir);
  }

  private async dropSegmentsBefore(first: number): Promise<void> {
    while (this.segments.length > 0 && (this.segments[0] as number) < first) {
      await unlink(join(this.dir, segmentName(this.segments[0] as number)));
      this.segments.shift();
    }
    await fsyncDir(this.dir);
  }

  /** Snapshot now and drop the WAL before it (also runs by itself as the WAL grows). */
  async compact(): Promise<void> {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'store is closed');
    await this.snapshotting;
    await this.serial(() => this.rotate());
    await this.snapshotting;
  }

  /** Waits for acknowledged-to-be writes in flight and a running snapshot, then releases the lock. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    // Drain: batches in flight, a rotation they queued, and a background snapshot.
    while (true) {
      const tail = this.chain;
      await tail;
      await this.snapshotting;
      if (tail === this.chain && this.snapshotting === undefined) break;
    }
    this.closed = true;
    await this.wal.close().catch(() => {});
    this.state.cancelAll(new StoreError('STORE_CLOSED', 'store closed'));
    await releaseLock(this.dir);
  }
}

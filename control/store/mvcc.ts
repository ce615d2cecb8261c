/**
 * The in-memory MVCC core shared by the memory and file stores: the committed key
 * space (a Map plus a sorted key array for prefix ranges), the global revision, a
 * bounded ring of recent events (the watch window) and the watchers.
 *
 * Every write is exactly one event with revision = previous revision + 1 (there are no
 * multi-key transactions), so the retained events are a contiguous revision range
 * `compacted+1 .. revision` and the event for revision r sits at a computable ring slot.
 *
 * Reads at an older revision are answered by undoing the retained events newer than it
 * (each event carries the value before it), so any revision >= `compacted` is readable;
 * older ones fail with STORE_EXPIRED, like etcd after a compaction.
 *
 * Internal to control/store: the durable stores drive it through `apply()`.
 */
import { StoreError } from './object-store.ts';
import type { KeyValue, ListOptions, ListResult, StoreWatchEvent, WatchHandle } from './object-store.ts';
import { SortedKeys } from './sorted-keys.ts';

/** kube-apiserver's watch cache keeps a bounded window of events; ours defaults to this many. */
export const DEFAULT_HISTORY_WINDOW = 10_000;

export interface MvccOptions {
  /** Events retained for watch resume and reads at old revisions (default 10 000). */
  readonly historyWindow?: number;
  /**
   * Called when a watcher's callback throws. The exception never reaches the writer or
   * other watchers, and the watcher stays registered. Default: console.error.
   */
  readonly onWatcherError?: (err: unknown, ev: StoreWatchEvent) => void;
}

/** A write before it is planned against the current state. */
export type WriteOp =
  | { readonly kind: 'create'; readonly key: string; readonly value: string }
  | { readonly kind: 'update'; readonly key: string; readonly value: string; readonly expectedModRevision?: number | undefined }
  | { readonly kind: 'delete'; readonly key: string; readonly expectedModRevision?: number | undefined };

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError(`store key must be a non-empty string, got ${JSON.stringify(key)}`);
}

function checkValue(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`store value must be a string (JSON text), got ${typeof value}`);
}

/**
 * Turn an operation into the event it produces at `revision`, given the key's current
 * value (committed or pending). Throws StoreError for the precondition failures.
 */
export function planWrite(op: WriteOp, current: KeyValue | undefined, revision: number): StoreWatchEvent {
  checkKey(op.key);
  const key = op.key;
  if (op.kind === 'create') {
    checkValue(op.value);
    if (current !== undefined) throw new StoreError('STORE_ALREADY_EXISTS', `key ${key} already exists (modRevision ${current.modRevision})`, key);
    const kv: KeyValue = { key, value: op.value, createRevision: revision, modRevision: revision };
    return { type: 'PUT', kv, revision };
  }
  if (op.kind === 'update') checkValue(op.value);
  if (current === undefined) throw new StoreError('STORE_NOT_FOUND', `key ${key} not found`, key);
  if (op.expectedModRevision !== undefined && current.modRevision !== op.expectedModRevision) {
    throw new StoreError('STORE_CONFLICT', `key ${key} has modRevision ${current.modRevision}, expected ${op.expectedModRevision}`, key);
  }
  const value = op.kind === 'update' ? op.value : current.value;
  const kv: KeyValue = { key, value, createRevision: current.createRevision, modRevision: revision };
  return { type: op.kind === 'update' ? 'PUT' : 'DELETE', kv, prevKv: current, revision };
}

interface Watcher {
  readonly prefix: string;
  readonly onEvent: (ev: StoreWatchEvent) => void;
  readonly onError: ((err: StoreError) => void) | undefined;
  /** Live events at or below this revision were already in the replay. */
  readonly liveAfter: number;
  /** Replay and any live events that arrived before the replay ran. */
  queue: StoreWatchEvent[];
  ready: boolean;
  cancelled: boolean;
}

export class MvccState {
  private readonly map = new Map<string, KeyValue>();
  /** All live keys, sorted by UTF-16 code units (= etcd byte order for keys without astral characters). */
  private keys = new SortedKeys();
  private rev = 0;
  /** Highest revision whose event is no longer retained. */
  private compacted = 0;
  private readonly window: number;
  private ring: Array<StoreWatchEvent | undefined>;
  private ringStart = 0;
  private ringCount = 0;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly pendingDispatch: StoreWatchEvent[] = [];
  private dispatching = false;
  private readonly onWatcherError: (err: unknown, ev: StoreWatchEvent) => void;

  constructor(opts: MvccOptions = {}) {
    const w = opts.historyWindow ?? DEFAULT_HISTORY_WINDOW;
    if (!Number.isInteger(w) || w < 0) throw new RangeError(`historyWindow must be a non-negative integer, got ${w}`);
    this.window = w;
    this.ring = new Array<StoreWatchEvent | undefined>(Math.min(w, 1024));
    this.onWatcherError = opts.onWatcherError ?? ((err, ev) => {
      console.error(`store: watcher callback threw on ${ev.type} ${ev.kv.key}@${ev.revision}:`, err);
    });
  }

  get revision(): number { return this.rev; }
  /** Highest revision that can no longer be watched from or read at (0: none). */
  get compactedRevision(): number { return this.compacted; }
  get size(): number { return this.map.size; }
  get historyWindow(): number { return this.window; }

  get(key: string): KeyValue | undefined {
    return this.map.get(key);
  }

  /** Replace the whole state (snapshot load). History restarts empty at `revision`. */
  load(kvs: Iterable<KeyValue>, revision: number): void {
    this.map.clear();
    for (const kv of kvs) this.map.set(kv.key, kv);
    this.keys = SortedKeys.from([...this.map.keys()].sort());
    this.rev = revision;
    this.compacted = revision;
    this.ring = new Array<StoreWatchEvent | undefined>(Math.min(this.window, 1024));
    this.ringStart = 0;
    this.ringCount = 0;
  }

  /** Committed key/values in key order (for snapshots). */
  *entries(): IterableIterator<KeyValue> {
    for (const k of this.keys) yield this.map.get(k) as KeyValue;
  }

  /** Commit one planned event (its revision must be the next one) and notify watchers. */
  apply(ev: StoreWatchEvent): void {
    if (ev.revision !== this.rev + 1) throw new Error(`mvcc: event revision ${ev.revision} is not the next revision ${this.rev + 1}`);
    const key = ev.kv.key;
    if (ev.type === 'PUT') {
      if (!this.map.has(key)) this.keys.insert(key);
      this.map.set(key, ev.kv);
    } else {
      if (this.map.delete(key)) this.keys.remove(key);
    }
    this.rev = ev.revision;
    this.remember(ev);
    this.publish(ev);
  }

  private remember(ev: StoreWatchEvent): void {
    if (this.window === 0) {
      this.compacted = ev.revision;
      return;
    }
    if (this.ringCount < this.window) {
      if (this.ringCount === this.ring.length) {
        // Grow (only while below the window): unroll into a larger array.
        const bigger = new Array<StoreWatchEvent | undefined>(Math.min(this.window, this.ring.length * 2));
        for (let i = 0; i < this.ringCount; i++) bigger[i] = this.ring[(this.ringStart + i) % this.ring.length];
        this.ring = bigger;
        this.ringStart = 0;
      }
      this.ring[(this.ringStart + this.ringCount) % this.ring.length] = ev;
      this.ringCount++;
    } else {
      this.ring[this.ringStart] = ev;
      this.ringStart = (this.ringStart + 1) % this.ring.length;
      this.compacted++;
    }
  }

  /** Retained event with this revision (compacted < r <= revision). */
  private eventAt(r: number): StoreWatchEvent {
    const i = r - this.compacted - 1;
    return this.ring[(this.ringStart + i) % this.ring.length] as StoreWatchEvent;
  }

  private expired(r: number, what: string): StoreError {
    return new StoreError('STORE_EXPIRED', `${what} revision ${r} is older than the retained history (oldest retained event ${this.compacted + 1}, current ${this.rev}; window ${this.window} events)`);
  }

  list(prefix: string, opts: ListOptions = {}): ListResult {
    if (typeof prefix !== 'string') throw new TypeError('list prefix must be a string');
    const at = opts.revision !== undefined && opts.revision > 0 ? opts.revision : this.rev;
    if (at > this.rev) throw new StoreError('STORE_UNAVAILABLE', `revision ${at} is a future revision (current ${this.rev})`);
    if (at < this.compacted) throw this.expired(at, 'list at');
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : Infinity;
    const startAfter = opts.startAfter !== undefined && opts.startAfter >= prefix ? opts.startAfter : undefined;
    const items: KeyValue[] = [];
    const keys = startAfter === undefined ? this.keys.from(prefix) : this.keys.from(startAfter, true);
    if (at === this.rev) {
      for (const k of keys) {
        if (!k.startsWith(prefix)) break;
        if (items.length === limit) return { items, revision: at, more: true };
        items.push(this.map.get(k) as KeyValue);
      }
      return { items, revision: at, more: false };
    }
    // Undo the events after `at`: for each touched key, its value before the oldest such event.
    const before = new Map<string, KeyValue | null>();
    for (let r = this.rev; r > at; r--) {
      const ev = this.eventAt(r);
      const k = ev.kv.key;
      if (!k.startsWith(prefix) || (startAfter !== undefined && k <= startAfter)) continue;
      before.set(k, ev.prevKv ?? null);
    }
    const touched = [...before.keys()].sort();
    let j = 0;
    const nextCurrent = (): string | undefined => {
      const n = keys.next();
      return n.done === true || !n.value.startsWith(prefix) ? undefined : n.value;
    };
    let cur = nextCurrent();
    while (true) {
      const tk = touched[j];
      if (cur === undefined && tk === undefined) return { items, revision: at, more: false };
      let k: string;
      if (tk === undefined || (cur !== undefined && cur < tk)) { k = cur as string; cur = nextCurrent(); }
      else if (cur === tk) { k = cur; cur = nextCurrent(); j++; }
      else { k = tk; j++; }
      const kv = before.has(k) ? before.get(k) : this.map.get(k);
      if (kv === null || kv === undefined) continue;
      if (items.length === limit) return { items, revision: at, more: true };
      items.push(kv);
    }
  }

  watch(prefix: string, afterRevision: number, onEvent: (ev: StoreWatchEvent) => void, onError?: (err: StoreError) => void): WatchHandle {
    if (typeof prefix !== 'string') throw new TypeError('watch prefix must be a string');
    if (typeof onEvent !== 'function') throw new TypeError('watch callback must be a function');
    const after = Math.max(0, Math.floor(afterRevision));
    if (after < this.compacted) throw this.expired(after, 'watch from');
    const w: Watcher = { prefix, onEvent, onError, liveAfter: Math.max(after, this.rev), queue: [], ready: false, cancelled: false };
    for (let r = after + 1; r <= this.rev; r++) {
      const ev = this.eventAt(r);
      if (ev.kv.key.startsWith(prefix)) w.queue.push(ev);
    }
    let set = this.watchers.get(prefix);
    if (set === undefined) this.watchers.set(prefix, (set = new Set()));
    set.add(w);
    // The replay runs in a microtask so the caller holds the handle before the first callback.
    queueMicrotask(() => this.drain(w));
    return {
      cancel: () => {
        if (w.cancelled) return;
        w.cancelled = true;
        w.queue = [];
        const s = this.watchers.get(prefix);
        if (s !== undefined) {
          s.delete(w);
          if (s.size === 0) this.watchers.delete(prefix);
        }
      },
    };
  }

  /** Number of registered watchers (for tests and metrics). */
  get watcherCount(): number {
    let n = 0;
    for (const s of this.watchers.values()) n += s.size;
    return n;
  }

  /** End every watcher (store close), telling each through its onError. */
  cancelAll(err: StoreError): void {
    const all = [...this.watchers.values()].flatMap((s) => [...s]);
    this.watchers.clear();
    for (const w of all) {
      w.cancelled = true;
      w.queue = [];
      try { w.onError?.(err); } catch { /* a consumer's bug must not stop the close */ }
    }
  }

  private drain(w: Watcher): void {
    while (!w.cancelled && w.queue.length > 0) this.call(w, w.queue.shift() as StoreWatchEvent);
    w.ready = true;
  }

  private call(w: Watcher, ev: StoreWatchEvent): void {
    try {
      w.onEvent(ev);
    } catch (err) {
      try { this.onWatcherError(err, ev); } catch { /* the reporter itself must not break the store */ }
    }
  }

  /**
   * Deliver in revision order even when a callback writes (re-entrantly): events produced
   * during a dispatch are queued behind the one being delivered.
   */
  private publish(ev: StoreWatchEvent): void {
    if (this.watchers.size === 0 && !this.dispatching) return;
    this.pendingDispatch.push(ev);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.pendingDispatch.length > 0) {
        const e = this.pendingDispatch.shift() as StoreWatchEvent;
        const key = e.kv.key;
        for (const [prefix, set] of this.watchers) {
          if (!key.startsWith(prefix)) continue;
          for (const w of set) {
            if (w.cancelled || e.revision <= w.liveAfter) continue;
            if (w.ready) this.call(w, e);
            else w.queue.push(e);
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }
}

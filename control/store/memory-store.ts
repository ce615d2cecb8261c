/**
 * MemoryStore: the ObjectStore with no durability — for unit tests, benchmarks and
 * throwaway clusters. Semantics are exactly those of the durable stores (same MVCC
 * core): each create/update/delete takes the next revision; lists can be read at any
 * revision still inside the history window (older: STORE_EXPIRED; newer than the
 * current revision: STORE_UNAVAILABLE, kube's "Too large resource version"); watchers
 * get live events synchronously after the commit, in revision order, and a watch's
 * replay of retained history runs in a microtask right after `watch()` returns.
 */
import { StoreError } from './object-store.ts';
import type { KeyValue, ListOptions, ListResult, ObjectStore, StoreWatchEvent, WatchHandle } from './object-store.ts';
import { MvccState, planWrite } from './mvcc.ts';
import type { MvccOptions, WriteOp } from './mvcc.ts';

export type MemoryStoreOptions = MvccOptions;

export class MemoryStore implements ObjectStore {
  private readonly state: MvccState;
  private closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.state = new MvccState(opts);
  }

  private open(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'store is closed');
  }

  private write(op: WriteOp): KeyValue {
    this.open();
    const ev = planWrite(op, this.state.get(op.key), this.state.revision + 1);
    this.state.apply(ev);
    return ev.kv;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.open();
    return this.state.get(key);
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    this.open();
    return this.state.list(prefix, opts);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.write({ kind: 'create', key, value });
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.write({ kind: 'update', key, value, expectedModRevision });
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.write({ kind: 'delete', key, expectedModRevision });
  }

  watch(prefix: string, afterRevision: number, onEvent: (ev: StoreWatchEvent) => void, onError?: (err: StoreError) => void): WatchHandle {
    this.open();
    return this.state.watch(prefix, afterRevision, onEvent, onError);
  }

  revision(): number {
    return this.state.revision;
  }

  /** Highest revision no longer retained: watches from and reads at older revisions fail STORE_EXPIRED. */
  compactedRevision(): number {
    return this.state.compactedRevision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state.cancelAll(new StoreError('STORE_CLOSED', 'store closed'));
  }
}

/**
 * A {@link LeaseKV} over an asynchronous etcd-shaped store (the control plane's
 * ObjectStore, or etcd): the composition root opens one per node (or per cluster)
 * and hands it to a KvSubnetManager.
 *
 * Reads are served from a local copy kept current by the store's watch (flannel's
 * kube subnet manager works from an informer cache the same way); writes apply to
 * the copy at once — so flanneld's work stays inside the virtual-clock event that
 * made it — and go on to the store in order, per key. TTLs run on the virtual clock
 * here (the store has none): when one runs out the key is deleted locally and in
 * the store, and every other mirror sees the DELETE. Changes made by others arrive
 * when the store delivers them.
 *
 * `AsyncKvStore` is the structural subset of control/store's ObjectStore this needs;
 * cni/ does not import the store (lint).
 */
import type { Duration, Scheduler, TimerId } from '../../netsim/time/scheduler.ts';
import type { LeaseKV, LeaseKvEntry, LeaseKvEvent } from './lease-kv.ts';

export interface AsyncKvStore {
  list(prefix: string): Promise<{ readonly items: ReadonlyArray<{ readonly key: string; readonly value: string }>; readonly revision: number }>;
  create(key: string, value: string): Promise<unknown>;
  update(key: string, value: string): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  watch(prefix: string, afterRevision: number, onEvent: (ev: { readonly type: 'PUT' | 'DELETE'; readonly kv: { readonly key: string; readonly value: string } }) => void): { cancel(): void };
}

export class MirroredLeaseKV implements LeaseKV {
  private readonly data = new Map<string, { value: string; timer: TimerId | undefined }>();
  private readonly watchers = new Set<{ prefix: string; fn: (ev: LeaseKvEvent) => void }>();
  private readonly queues = new Map<string, Promise<void>>();
  private handle: { cancel(): void } | undefined;

  private constructor(private readonly store: AsyncKvStore, private readonly clock: Scheduler, private readonly onError: (e: unknown, key: string) => void) {}

  /** List `prefix` from the store, then follow it. */
  static async open(store: AsyncKvStore, prefix: string, clock: Scheduler, opts: { onError?: (e: unknown, key: string) => void } = {}): Promise<MirroredLeaseKV> {
    const kv = new MirroredLeaseKV(store, clock, opts.onError ?? (() => {}));
    const snap = await store.list(prefix);
    for (const it of snap.items) kv.data.set(it.key, { value: it.value, timer: undefined });
    kv.handle = store.watch(prefix, snap.revision, (ev) => kv.remote(ev.type, ev.kv.key, ev.kv.value));
    return kv;
  }

  close(): void {
    this.handle?.cancel();
    for (const e of this.data.values()) if (e.timer !== undefined) this.clock.cancel(e.timer);
  }

  /** Resolves when every write handed to the store so far has finished. */
  async flush(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }

  get(key: string): string | undefined {
    return this.data.get(key)?.value;
  }

  list(prefix: string): LeaseKvEntry[] {
    return [...this.data].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, e]) => ({ key, value: e.value }));
  }

  put(key: string, value: string, opts: { readonly ttl?: Duration; readonly create?: boolean } = {}): boolean {
    const old = this.data.get(key);
    if (old !== undefined && opts.create === true) return false;
    if (old?.timer !== undefined) this.clock.cancel(old.timer);
    const timer = opts.ttl === undefined ? undefined : this.clock.after(opts.ttl, () => this.delete(key));
    this.data.set(key, { value, timer });
    this.emit({ type: 'put', key, value });
    this.enqueue(key, () => (old === undefined ? this.store.create(key, value) : this.store.update(key, value)));
    return true;
  }

  delete(key: string): boolean {
    const old = this.data.get(key);
    if (old === undefined) return false;
    if (old.timer !== undefined) this.clock.cancel(old.timer);
    this.data.delete(key);
    this.emit({ type: 'delete', key, value: old.value });
    this.enqueue(key, () => this.store.delete(key));
    return true;
  }

  watch(prefix: string, onEvent: (ev: LeaseKvEvent) => void): () => void {
    const w = { prefix, fn: onEvent };
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }

  private enqueue(key: string, write: () => Promise<unknown>): void {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(write).then(() => undefined, (e: unknown) => this.onError(e, key));
    this.queues.set(key, next);
  }

  /** A change from the store: echoes of our own writes change nothing. */
  private remote(type: 'PUT' | 'DELETE', key: string, value: string): void {
    const cur = this.data.get(key);
    if (type === 'PUT') {
      if (cur?.value === value) return;
      this.data.set(key, { value, timer: cur?.timer });
      this.emit({ type: 'put', key, value });
    } else {
      if (cur === undefined) return;
      // Our own pending write of this key wins over a stale delete echo.
      if (this.queues.has(key) && cur.timer !== undefined) return;
      this.data.delete(key);
      this.emit({ type: 'delete', key, value: cur.value });
    }
  }

  private emit(ev: LeaseKvEvent): void {
    for (const w of [...this.watchers]) if (ev.key.startsWith(w.prefix)) w.fn(ev);
  }
}

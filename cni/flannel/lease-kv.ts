/**
 * The key/value store flannel's leases live in, reduced to what flannel asks of etcd:
 * get, put (optionally create-only, optionally with a TTL on the virtual clock),
 * delete, list a prefix, watch a prefix. The composition root adapts the control
 * plane's store (or etcd) to it; {@link MemoryLeaseKV} is the in-process one.
 *
 * The interface is synchronous on purpose: flanneld runs inside events of the virtual
 * clock, and a promise would let its work escape to the microtask queue, outside
 * virtual time and its ordering. An adapter over an asynchronous store (the control
 * plane's, etcd) keeps a watch-fed local copy for reads and writes through, as
 * flannel's own kube subnet manager does with informers.
 */
import type { Duration, Scheduler, TimerId } from '../../netsim/time/scheduler.ts';

export interface LeaseKvEntry {
  readonly key: string;
  readonly value: string;
}

export interface LeaseKvEvent {
  /** 'delete' also for a key whose TTL ran out. */
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The new value (put) or the last value (delete). */
  readonly value: string;
}

export interface LeaseKV {
  get(key: string): string | undefined;
  /**
   * Write `value`. `create: true` fails (returns false) when the key exists; `ttl`
   * makes the key disappear after that much virtual time unless written again.
   */
  put(key: string, value: string, opts?: { readonly ttl?: Duration; readonly create?: boolean }): boolean;
  delete(key: string): boolean;
  list(prefix: string): LeaseKvEntry[];
  /** Every change under `prefix` from now on; returns a cancel function. */
  watch(prefix: string, onEvent: (ev: LeaseKvEvent) => void): () => void;
}

export class MemoryLeaseKV implements LeaseKV {
  private readonly data = new Map<string, { value: string; timer: TimerId | undefined }>();
  private readonly watchers = new Set<{ prefix: string; fn: (ev: LeaseKvEvent) => void }>();

  constructor(private readonly clock: Scheduler) {}

  get(key: string): string | undefined {
    return this.data.get(key)?.value;
  }

  put(key: string, value: string, opts: { readonly ttl?: Duration; readonly create?: boolean } = {}): boolean {
    const old = this.data.get(key);
    if (old !== undefined && opts.create === true) return false;
    if (old?.timer !== undefined) this.clock.cancel(old.timer);
    const timer = opts.ttl === undefined ? undefined : this.clock.after(opts.ttl, () => this.expire(key));
    this.data.set(key, { value, timer });
    this.emit({ type: 'put', key, value });
    return true;
  }

  delete(key: string): boolean {
    const old = this.data.get(key);
    if (old === undefined) return false;
    if (old.timer !== undefined) this.clock.cancel(old.timer);
    this.data.delete(key);
    this.emit({ type: 'delete', key, value: old.value });
    return true;
  }

  list(prefix: string): LeaseKvEntry[] {
    return [...this.data].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, v]) => ({ key, value: v.value }));
  }

  watch(prefix: string, onEvent: (ev: LeaseKvEvent) => void): () => void {
    const w = { prefix, fn: onEvent };
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }

  private expire(key: string): void {
    const cur = this.data.get(key);
    if (cur === undefined) return;
    this.data.delete(key);
    this.emit({ type: 'delete', key, value: cur.value });
  }

  private emit(ev: LeaseKvEvent): void {
    for (const w of [...this.watchers]) if (ev.key.startsWith(w.prefix)) w.fn(ev);
  }
}

/**
 * The storage contract of the control plane: an etcd-shaped key/value store.
 *
 * Keys are paths (`/registry/pods/default/nginx-1`, `/coreos.com/network/config`),
 * values are JSON text. Every successful write advances one global revision;
 * the API server uses an object's `modRevision` as its `resourceVersion`, exactly
 * as kube-apiserver does over etcd. Implementations: the embedded file-backed
 * default (durable across `kill -9` for every acknowledged write) and etcd v3.
 *
 * Not modelled: transactions over several keys, leases/TTL on keys (flannel's
 * lease TTL runs on the emulation's virtual clock above this layer).
 *
 * Implementations: memory-store.ts, file-store.ts, etcd-store.ts; choose one through the
 * `stores` registry in index.ts. conformance.ts is the executable form of this contract.
 * Invalid arguments (empty key, non-string value) are programmer errors: TypeError, not
 * StoreError.
 */

/** One stored key, as etcd's mvccpb.KeyValue. */
export interface KeyValue {
  readonly key: string;
  /** JSON text of the object. */
  readonly value: string;
  /** Revision of the write that created the key (etcd create_revision). */
  readonly createRevision: number;
  /** Revision of the last write to the key (etcd mod_revision) = resourceVersion. */
  readonly modRevision: number;
}

export interface ListOptions {
  /** At most this many items (0 or absent: no limit). */
  readonly limit?: number;
  /** Start after this key (exclusive), for paging with `continue`. */
  readonly startAfter?: string;
  /**
   * Read at this revision (for consistent paging); absent or 0: latest. Older than the
   * retained history: STORE_EXPIRED; newer than the store's revision: STORE_UNAVAILABLE
   * (kube's "Too large resource version").
   */
  readonly revision?: number;
}

export interface ListResult {
  readonly items: KeyValue[];
  /** Store revision the list reflects (the list's resourceVersion). */
  readonly revision: number;
  /** True when `limit` cut the result and more keys follow. */
  readonly more: boolean;
}

export type WatchEventType = 'PUT' | 'DELETE';

export interface StoreWatchEvent {
  readonly type: WatchEventType;
  /** For PUT the new value; for DELETE the value just before deletion (modRevision = the delete's revision). */
  readonly kv: KeyValue;
  /** For PUT of an existing key, the value before the write; for DELETE, the deleted value with its own modRevision. */
  readonly prevKv?: KeyValue;
  /** Revision of this event. */
  readonly revision: number;
}

export type StoreErrorCode = 'STORE_NOT_FOUND' | 'STORE_ALREADY_EXISTS' | 'STORE_CONFLICT' | 'STORE_EXPIRED' | 'STORE_CORRUPT' | 'STORE_CLOSED' | 'STORE_UNAVAILABLE';

/** Stable-coded store failure; the API server maps it to a Kubernetes Status. */
export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string, readonly key?: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface WatchHandle {
  /** Stop delivering events. Idempotent. */
  cancel(): void;
}

export interface ObjectStore {
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys with this prefix in lexical order. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Fails with STORE_ALREADY_EXISTS if the key exists. Resolves after the write is durable. */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Replace a key's value. With `expectedModRevision`, fails with STORE_CONFLICT unless the
   * key's current modRevision equals it; fails with STORE_NOT_FOUND if the key is absent.
   */
  update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Returns the deleted value as the DELETE watch event carries it: the last value and
   * createRevision, with modRevision = the delete's own revision. STORE_NOT_FOUND if absent;
   * STORE_CONFLICT on a revision mismatch.
   */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Deliver every event on keys with `prefix` whose revision is > `afterRevision`, in revision
   * order, first the retained history then live events. Throws StoreError STORE_EXPIRED when
   * `afterRevision` is older than the retained history window (the API answers 410 Expired).
   *
   * `onError` (optional) reports a failure after the watch was set up; the watch is over
   * once it is called (no further events). Remote stores learn of a compacted revision only
   * from the server, so for them STORE_EXPIRED may arrive here instead of being thrown;
   * STORE_UNAVAILABLE when the connection is lost; STORE_CLOSED when the store is closed.
   */
  watch(prefix: string, afterRevision: number, onEvent: (ev: StoreWatchEvent) => void, onError?: (err: StoreError) => void): WatchHandle;
  /** The latest revision (0 for an empty store). */
  revision(): number;
  close(): Promise<void>;
}

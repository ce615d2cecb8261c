/**
 * control/store — where the control plane keeps its objects: an etcd-shaped key/value
 * store (see object-store.ts for the contract).
 *
 * Contract
 * - Keys are paths (`/registry/pods/<ns>/<name>`, `/coreos.com/network/subnets/…`), values
 *   JSON text. Keys order lexically; a prefix is matched literally, so `/registry/pods/`
 *   never matches `/registry/podsx/`.
 * - One global revision. Every create/update/delete takes exactly the next revision (a
 *   failed precondition takes none); an object's modRevision is its resourceVersion and
 *   createRevision tells one life of a key from the next.
 * - Optimistic concurrency: update/delete with an expected modRevision fail STORE_CONFLICT
 *   unless it matches; create fails STORE_ALREADY_EXISTS; absent keys STORE_NOT_FOUND.
 * - list(prefix, {limit, startAfter, revision}) pages in key order; pinning `revision` to the
 *   first page's revision gives a consistent snapshot across pages (kube's `continue`).
 *   `revision` 0/absent = latest; older than the retained history = STORE_EXPIRED; newer
 *   than the store = STORE_UNAVAILABLE (kube's "Too large resource version").
 * - watch(prefix, afterRevision) delivers every later event on the prefix in revision order:
 *   retained history first, then live. History is a bounded window (default 10 000 events,
 *   like kube-apiserver's watch cache); resuming from before it is STORE_EXPIRED (410).
 *   Embedded stores call watchers synchronously after the commit (the replay of history
 *   runs in a microtask after watch() returns); etcd delivers asynchronously. A watcher
 *   that throws is reported (onWatcherError) and affects neither the write nor others.
 * - Writes resolve only once durable: FileStore after fsync of its write-ahead log
 *   (group-committed), EtcdStore after etcd's raft commit.
 *
 * Implementations (registry `stores`, chosen by `StoreKind`, no import side effects)
 * - memory: no durability; tests, benchmarks, throwaway clusters.
 * - file (default): one directory (`.netsim/store/`), checksummed JSON-lines WAL + snapshot,
 *   survives `kill -9` without losing an acknowledged write; single-writer lock file.
 * - etcd: a real etcd v3 server (3.4+). It speaks etcd's built-in gRPC-gateway — JSON over
 *   HTTP (`/v3/kv/range|put|deleterange|txn|compaction`, streaming `/v3/watch`) — with
 *   Node's own fetch. Chosen over `etcd3` (a gRPC client with protobufjs/grpc-js and four
 *   transitive packages, last released 2023) and over vendoring etcd's .proto files for
 *   @grpc/grpc-js: no dependency, the wire format is documented and stable across 3.4–3.5,
 *   and the operations we need are five endpoints. The cost is JSON/base64 overhead and
 *   one HTTP stream per watch instead of multiplexed gRPC watch streams.
 *
 * Not modelled
 * - Multi-key transactions, leases/TTL on keys (flannel's lease TTL runs on the emulation's
 *   virtual clock above this layer), etcd auth/TLS, multi-member clusters, quotas.
 * - Watch progress notifications/bookmarks (the API server synthesises bookmarks from
 *   `revision()`), and automatic re-watch after an etcd stream breaks (callers re-watch
 *   from their last revision, as informers do).
 * - After a FileStore restart the watch window starts at its last snapshot; older
 *   resourceVersions get 410 and clients relist, as after a kube-apiserver restart.
 */
import type { ObjectStore } from './object-store.ts';
import { MemoryStore } from './memory-store.ts';
import { FileStore, DEFAULT_STORE_DIR } from './file-store.ts';
import { EtcdStore } from './etcd-store.ts';

export type { KeyValue, ListOptions, ListResult, ObjectStore, StoreErrorCode, StoreWatchEvent, WatchEventType, WatchHandle } from './object-store.ts';
export { StoreError } from './object-store.ts';
export { DEFAULT_HISTORY_WINDOW } from './mvcc.ts';
export type { MvccOptions } from './mvcc.ts';
export { MemoryStore } from './memory-store.ts';
export type { MemoryStoreOptions } from './memory-store.ts';
export { FileStore, DEFAULT_STORE_DIR, DEFAULT_SNAPSHOT_EVERY_BYTES, DEFAULT_SNAPSHOT_EVERY_RECORDS } from './file-store.ts';
export type { FileStoreOptions, FileStoreOpenReport, FileStoreStats } from './file-store.ts';
export { EtcdStore } from './etcd-store.ts';
export type { EtcdStoreOptions } from './etcd-store.ts';

export type StoreKind = 'memory' | 'file' | 'etcd';

export const STORE_KINDS: readonly StoreKind[] = ['memory', 'file', 'etcd'];

/** What a caller (the CLI, the cluster builder) knows when it asks for a store. */
export interface StoreConfig {
  /** file: the store directory (default `.netsim/store`). */
  readonly dir?: string;
  /** etcd: client URL, e.g. `http://127.0.0.1:2379` (required for etcd). */
  readonly endpoint?: string;
  /** etcd: key prefix isolating this cluster's keys (like `--etcd-prefix`). */
  readonly namespace?: string;
  /** Events retained for watch resume (default 10 000). */
  readonly historyWindow?: number;
  /** Recoverable problems found when opening (file store). Default console.warn. */
  readonly onWarning?: (message: string) => void;
}

export type StoreFactory = (config: StoreConfig) => Promise<ObjectStore>;

const historyOpt = (c: StoreConfig): { historyWindow?: number } => (c.historyWindow !== undefined ? { historyWindow: c.historyWindow } : {});

export const stores = {
  memory: async (c) => new MemoryStore(historyOpt(c)),
  file: (c) => FileStore.open({ dir: c.dir ?? DEFAULT_STORE_DIR, ...historyOpt(c), ...(c.onWarning !== undefined ? { onWarning: c.onWarning } : {}) }),
  etcd: (c) => {
    if (c.endpoint === undefined) return Promise.reject(new TypeError('the etcd store needs an endpoint (e.g. http://127.0.0.1:2379)'));
    return EtcdStore.connect({ endpoint: c.endpoint, ...historyOpt(c), ...(c.namespace !== undefined ? { namespace: c.namespace } : {}) });
  },
} satisfies Record<StoreKind, StoreFactory>;

export function isStoreKind(s: string): s is StoreKind {
  return (STORE_KINDS as readonly string[]).includes(s);
}

/** Open a store of the given kind (the default for `netsim up` is 'file'). */
export function openStore(kind: StoreKind, config: StoreConfig = {}): Promise<ObjectStore> {
  return stores[kind](config);
}

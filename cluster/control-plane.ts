/**
 * The emulated cluster's control plane, in process: the API server (fastify app,
 * served on a socket only by `netsim up`), its store, and the controllers. The
 * controllers are not run on wall-clock timers: the cluster's driver calls
 * `reconcile()` at virtual-time boundaries, so a run is deterministic. Timestamps
 * come from the virtual clock (`epochMs` + virtual time) and uids from the run's Rng.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../control/server/app.ts';
import type { BuildAppOptions } from '../control/server/app.ts';
import type { Registry } from '../control/server/registry.ts';
import { ApiError } from '../control/server/errors.ts';
import type { ObjectStore } from '../control/store/object-store.ts';
import { MemoryStore } from '../control/store/memory-store.ts';
import { nextWake, RegistryControlApi, standardControllers } from '../control/controllers/index.ts';
import type { Controller, ControlApi } from '../control/controllers/index.ts';
import { resourceForKind } from '../control/resources/index.ts';
import type { ResourceInfo } from '../control/api/index.ts';
import type { Rng } from '../netsim/time/rng.ts';
import { manifestLocation } from './spec.ts';
import { CodedError } from '../netsim/errors.ts';

/** 2026-01-01T00:00:00Z: virtual time 0 as the control plane's wall clock. */
export const DEFAULT_EPOCH_MS = Date.UTC(2026, 0, 1);

/** A version-4-shaped uuid from the run's Rng (deterministic per seed). */
export function seededUid(rng: Rng): () => string {
  return () => {
    const h = (n: number): string => rng.nextU32().toString(16).padStart(8, '0').slice(0, n);
    return `${h(8)}-${h(4)}-4${h(3)}-${((rng.nextU32() & 0x3) | 0x8).toString(16)}${h(3)}-${h(8)}${h(4)}`;
  };
}

export interface ControlPlaneOptions {
  readonly store?: ObjectStore;
  readonly serviceCIDR: string;
  readonly clusterCIDR: string;
  /** Virtual-time wall clock for timestamps. */
  readonly clock: () => Date;
  readonly uid: () => string;
  /** Address pool of the emulated load-balancer controller (spec `network.loadBalancerPool`); undefined: none. */
  readonly loadBalancerPool?: readonly string[];
  /** Run controllers at all (default true; false: a node partition other than the first, whose controllers run elsewhere). */
  readonly controllers?: boolean;
  /** Extra controllers run after the standard set. */
  readonly extraControllers?: (api: ControlApi) => Controller[];
  /** Where the API server is reachable in the emulated network (the control-plane node): `default/kubernetes`'s endpoint. */
  readonly advertiseAddress?: string;
  /** How the API server serves a socket (`netsim up`): bearer token and TLS. In-process callers need neither. */
  readonly serving?: ApiServing;
}

/** The API server's security when it listens: its bearer token (absent: anonymous) and TLS key/certificate. */
export type ApiServing = Pick<BuildAppOptions, 'token' | 'https'>;

/** kubectl's name for an object in apply output: `deployment.apps/web`, `service/web`. */
export function manifestLabel(r: ResourceInfo, name: string): string {
  return `${r.kind.toLowerCase()}${r.group !== '' ? `.${r.group}` : ''}/${name}`;
}

export class ManifestError extends CodedError {
  readonly code = 'NETSIM_ERR_MANIFEST';
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

export class ControlPlane {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  readonly api: RegistryControlApi;
  readonly store: ObjectStore;
  private readonly controllers: Controller[];

  private constructor(app: FastifyInstance, store: ObjectStore, controllers: (api: RegistryControlApi) => Controller[]) {
    this.app = app;
    this.store = store;
    this.registry = app.registry;
    this.api = new RegistryControlApi(app.registry);
    this.controllers = controllers(this.api);
  }

  static async start(opts: ControlPlaneOptions): Promise<ControlPlane> {
    const store = opts.store ?? new MemoryStore();
    // Bookmarks tick on wall-clock timers inside the server; they only matter to watchers over a socket.
    const app = buildApp({ store, clock: opts.clock, uid: opts.uid, serviceCIDR: opts.serviceCIDR, gracefulPodDeletion: true, ...(opts.advertiseAddress !== undefined ? { advertiseAddress: opts.advertiseAddress } : {}), ...opts.serving });
    await app.ready();
    return new ControlPlane(app, store, (api) => opts.controllers === false ? [] : [
      ...standardControllers(api, { clock: opts.clock, clusterCIDR: opts.clusterCIDR, ...(opts.loadBalancerPool !== undefined ? { loadBalancerPool: opts.loadBalancerPool } : {}) }),
      ...(opts.extraControllers?.(api) ?? []),
    ]);
  }

  /** The store's revision: unchanged means nothing was written. */
  revision(): number {
    return this.store.revision();
  }

  /** The earliest time (epoch ms, virtual wall clock) a controller wants a pass although nothing changed. */
  nextWakeMs(): number | undefined {
    return nextWake(this.controllers);
  }

  /** One pass of every controller; the number of writes. */
  async runControllers(): Promise<number> {
    let writes = 0;
    for (const c of this.controllers) writes += await c.sync();
    return writes;
  }

  /**
   * `kubectl apply --server-side --force-conflicts` of one manifest: created if absent,
   * merged if present. Returns "kind/name created|configured|unchanged".
   */
  async apply(obj: Record<string, unknown>, fieldManager = 'netsim'): Promise<string> {
    const apiVersion = obj['apiVersion'];
    const kind = obj['kind'];
    const meta = (obj['metadata'] ?? {}) as { name?: unknown; namespace?: unknown };
    const at = manifestLocation(obj);
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') throw new ManifestError(`${at}manifest has no apiVersion/kind`);
    const r = resourceForKind(apiVersion, kind);
    if (r === undefined) throw new ManifestError(`${at}no matches for kind "${kind}" in version "${apiVersion}"`);
    if (typeof meta.name !== 'string' || meta.name === '') throw new ManifestError(`${at}${kind}: metadata.name is required`);
    const ns = r.namespaced ? (typeof meta.namespace === 'string' ? meta.namespace : 'default') : undefined;
    const label = manifestLabel(r, meta.name);
    const before = await this.registry.getOrUndefined(r, ns, meta.name);
    try {
      const { obj: after, created } = await this.registry.patch(r, ns, meta.name, 'apply', obj, { fieldManager, force: true });
      if (created) return `${label} created`;
      return `${label} ${after.metadata?.resourceVersion === before?.metadata?.resourceVersion ? 'unchanged' : 'configured'}`;
    } catch (e) {
      // The manifest's fault (4xx) names it; a server-side failure (a 503 from a store that timed out) is not the manifest's.
      if (e instanceof ApiError && e.code < 500) throw new ManifestError(`${at}${label}: ${e.message}`);
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.store.close();
  }
}

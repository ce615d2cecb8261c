/**
 * The kube-proxy process of one node: informer events in (core/v1 Services,
 * discovery/v1 EndpointSlices), syncs out, paced on the virtual clock like
 * upstream's BoundedFrequencyRunner — a change asks for a sync, which runs at once
 * unless the last one was less than minSyncPeriod ago (then it runs when that
 * period is up); a sync also runs every syncPeriod; every fullSyncPeriod (and after a
 * failed sync) it is a full one. Nothing syncs until both informers have synced.
 * Modes are an explicit registry: `PROXY_MODES satisfies Record<ProxyMode, ProxierFactory>`.
 */
import type { EndpointSlice, Service } from '../control/api/service.ts';
import type { Scheduler, TimerId } from '../netsim/time/scheduler.ts';
import { MS } from '../netsim/time/scheduler.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from './service-port.ts';
import type { SharedProxyObjects } from './shared-objects.ts';
import type { EndpointSliceInfo, ServiceInfo } from './service-port.ts';
import type { Proxier, ProxyMode, SyncResult } from './proxier.ts';
import type { ConntrackCleaner } from './conntrack-cleanup.ts';
import { IptablesProxier } from './iptables/proxier.ts';
import type { IptablesBackend } from './iptables/proxier.ts';
import type { IptablesRulesOptions } from './iptables/rules.ts';
import { IpvsProxier, RS_CHECK_DELETE_INTERVAL_MS } from './ipvs/proxier.ts';
import type { IpsetInterface, IpvsInterface, NetlinkHandle } from './ipvs/interfaces.ts';
import { nodePortDestinations } from './iptables/rules.ts';
import type { Node } from '../control/api/types.ts';
import { HEALTHZ_PORT, ProxyHealthServer } from './healthcheck/proxy-health.ts';
import { ServiceHealthServer } from './healthcheck/service-health.ts';
import type { HealthListen, HealthListener } from './healthcheck/service-health.ts';
import { NftablesProxier } from './nftables/proxier.ts';
import type { NftablesBackend } from './nftables/backend.ts';

/** What the composition root hands kube-proxy for one node. */
export interface KubeProxyNode {
  readonly iptables: IptablesBackend;
  readonly ipvs?: IpvsInterface;
  readonly ipset?: IpsetInterface;
  readonly netlink?: NetlinkHandle;
  /** The node's nf_tables (nftables mode). */
  readonly nftables?: NftablesBackend;
  readonly conntrack?: ConntrackCleaner;
  /** `sysctl -w KEY=VALUE` on the node (proxyutil.EnsureSysctl), e.g. net/ipv4/conf/all/route_localnet. */
  readonly sysctl?: (key: string, value: number) => void;
  /** An HTTP server on the node's `address:port` ("0.0.0.0": every address), for the healthz and health-check servers; throws when the port is taken. */
  readonly serveHttp?: HealthListen;
  /** The node's tools, for the views (each optional). */
  readonly views?: {
    iptablesSave?(): string;
    /** `iptables -t TABLE -L -n -v`. */
    iptablesList?(table: string): string;
    conntrackList?(): string;
  };
}

export interface KubeProxyConfig extends IptablesRulesOptions {
  readonly mode: ProxyMode;
  readonly nodeName: string;
  /** The cluster's Service CIDRs (nftables mode drops traffic to unallocated ClusterIPs in them). */
  readonly serviceCIDRs?: readonly string[];
  /** --ipvs-scheduler. */
  readonly scheduler?: string;
  /** --iptables-min-sync-period (default 1 s). */
  readonly minSyncPeriodMs?: number;
  /** --iptables-sync-period (default 30 s). */
  readonly syncPeriodMs?: number;
  /** proxyutil.FullSyncPeriod (1 h). */
  readonly fullSyncPeriodMs?: number;
  /** iptables mode: create and count into the nfacct counters (IptablesProxierOptions.nfacct). */
  readonly nfacct?: boolean;
  /** --healthz-bind-address's port (default 10256; 0: no healthz server). */
  readonly healthzPort?: number;
  /** Wall-clock time (Unix ms) at virtual time zero, for the health servers' timestamps (default 0). */
  readonly epochMs?: number;
  /** Proxier.quietSyncs (default true: a sync with nothing to do skips the rebuild). */
  readonly quietSyncs?: boolean;
  /** Proxier.partialSyncs (default true: IPVS mode reconciles only the changed service ports). */
  readonly partialSyncs?: boolean;
}

export type ProxierFactory = (node: KubeProxyNode, config: KubeProxyConfig, nowMs: () => number, shared?: SharedProxyObjects) => Proxier;

export const PROXY_MODES = {
  iptables: (node, config, nowMs, shared) => new IptablesProxier(node.iptables, config, {
    ...(node.conntrack !== undefined ? { conntrack: node.conntrack } : {}), ...(node.sysctl !== undefined ? { sysctl: node.sysctl } : {}), nowMs,
    ...(shared !== undefined ? { fragments: shared.ruleFragments } : {}),
  }),
  ipvs: (node, config) => {
    if (node.ipvs === undefined || node.ipset === undefined || node.netlink === undefined) throw new Error('kube-proxy: IPVS mode needs the node\'s ipvs, ipset and netlink handles');
    return new IpvsProxier({ ipvs: node.ipvs, ipset: node.ipset, netlink: node.netlink, iptables: node.iptables, ...(node.conntrack !== undefined ? { conntrack: node.conntrack } : {}) }, config);
  },
  nftables: (node, config, nowMs) => {
    if (node.nftables === undefined) throw new Error('kube-proxy: nftables mode needs the node\'s nftables handle');
    return new NftablesProxier(node.nftables, config, { ...(node.conntrack !== undefined ? { conntrack: node.conntrack } : {}), nowMs });
  },
} satisfies Record<ProxyMode, ProxierFactory>;

/** What an informer offers (control/client Informer.on). */
export interface InformerLike<T> {
  on(h: { add?(o: T): void; update?(a: T, b: T): void; delete?(o: T): void }): unknown;
}

export class KubeProxy {
  readonly proxier: Proxier;
  private servicesSynced = false;
  private slicesSynced = false;
  private lastSyncAt = Number.NEGATIVE_INFINITY;
  private lastFullSyncAt = Number.NEGATIVE_INFINITY;
  private pendingTimer: TimerId | undefined;
  private periodicTimer: TimerId | undefined;
  private housekeepingTimer: TimerId | undefined;
  private running = false;
  /** Recent sync results, newest last (bounded). */
  readonly syncs: SyncResult[] = [];
  /** Failed syncs (the node refused the rules). */
  readonly errors: Error[] = [];
  /** Its own health (/healthz, /livez), whether or not a server answers on the node. */
  readonly healthz: ProxyHealthServer;
  /** The health-check node port servers of externalTrafficPolicy Local LoadBalancers. */
  readonly serviceHealth: ServiceHealthServer;
  private healthzListener: HealthListener | undefined;

  /** Converts the informers' objects (`shared`: once for every node of the cluster). */
  private readonly serviceInfo: (svc: Service) => ServiceInfo;
  private readonly sliceInfo: (slice: EndpointSlice) => EndpointSliceInfo | undefined;

  constructor(private readonly clock: Scheduler, private readonly node: KubeProxyNode, readonly config: KubeProxyConfig, shared?: SharedProxyObjects) {
    this.serviceInfo = shared !== undefined ? (s) => shared.service(s) : serviceInfoFromApi;
    this.sliceInfo = shared !== undefined ? (s) => shared.slice(s) : endpointSliceInfoFromApi;
    this.proxier = PROXY_MODES[config.mode](node, config, () => clock.now() / MS, shared);
    if (config.quietSyncs === false && this.proxier.quietSyncs !== undefined) this.proxier.quietSyncs = false;
    if (config.partialSyncs === false && this.proxier.partialSyncs !== undefined) this.proxier.partialSyncs = false;
    const epochNs = BigInt(config.epochMs ?? 0) * 1_000_000n;
    // server.go: the health timeout is twice the sync period.
    this.healthz = new ProxyHealthServer(2 * (config.syncPeriodMs ?? 30_000) * MS, (v) => epochNs + BigInt(Math.round(v)));
    const np = nodePortDestinations(config);
    const listen: HealthListen = node.serveHttp ?? (() => ({ close: () => {} }));
    this.serviceHealth = new ServiceHealthServer(listen, np.matchAll ? ['0.0.0.0'] : np.ips, () => this.healthz.health(this.clock.now()).healthy);
  }

  /** The Node object kube-proxy watches (its eligibility shows in /healthz); undefined when deleted. */
  syncNode(node: Node | undefined): void {
    this.healthz.syncNode(node);
  }

  // ----------------------------------------------------------------- informer sinks

  onServiceAdd(svc: Service): void {
    if (this.proxier.onServiceUpdate(undefined, this.serviceInfo(svc))) this.requestSync();
  }
  onServiceUpdate(old: Service, svc: Service): void {
    if (this.proxier.onServiceUpdate(this.serviceInfo(old), this.serviceInfo(svc))) this.requestSync();
  }
  onServiceDelete(svc: Service): void {
    if (this.proxier.onServiceUpdate(this.serviceInfo(svc), undefined)) this.requestSync();
  }
  onEndpointSliceAdd(s: EndpointSlice): void {
    this.slice(s, false);
  }
  onEndpointSliceUpdate(_old: EndpointSlice, s: EndpointSlice): void {
    this.slice(s, false);
  }
  onEndpointSliceDelete(s: EndpointSlice): void {
    this.slice(s, true);
  }
  private slice(s: EndpointSlice, remove: boolean): void {
    const info = this.sliceInfo(s);
    if (info !== undefined && this.proxier.onEndpointSliceUpdate(info, remove)) this.requestSync();
  }
  /** OnServiceSynced / OnEndpointSlicesSynced: the first sync runs once both have happened. */
  onServicesSynced(): void {
    this.servicesSynced = true;
    if (this.slicesSynced) this.syncNow();
  }
  onEndpointSlicesSynced(): void {
    this.slicesSynced = true;
    if (this.servicesSynced) this.syncNow();
  }

  /** Wire two informers' handlers to this proxy. */
  watch(services: InformerLike<Service>, slices: InformerLike<EndpointSlice>): void {
    services.on({ add: (o) => this.onServiceAdd(o), update: (a, b) => this.onServiceUpdate(a, b), delete: (o) => this.onServiceDelete(o) });
    slices.on({ add: (o) => this.onEndpointSliceAdd(o), update: (a, b) => this.onEndpointSliceUpdate(a, b), delete: (o) => this.onEndpointSliceDelete(o) });
  }

  // ----------------------------------------------------------------- sync pacing

  /** Start the periodic syncs (and IPVS graceful-deletion checks). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const port = this.config.healthzPort ?? HEALTHZ_PORT;
    if (port !== 0 && this.node.serveHttp !== undefined && this.healthzListener === undefined) {
      this.healthzListener = this.node.serveHttp('0.0.0.0', port, (_m, path) => this.healthz.route(this.clock.now(), path));
    }
    this.schedulePeriodic();
    if (this.proxier.housekeeping !== undefined) this.scheduleHousekeeping();
  }

  /** The process ends: its timers stop and its HTTP servers close (their ports answer RST). */
  stop(): void {
    this.running = false;
    this.healthzListener?.close();
    this.healthzListener = undefined;
    this.serviceHealth.closeAll();
    for (const t of [this.pendingTimer, this.periodicTimer, this.housekeepingTimer]) if (t !== undefined) this.clock.cancel(t);
    this.pendingTimer = this.periodicTimer = this.housekeepingTimer = undefined;
  }

  private get initialized(): boolean {
    return this.servicesSynced && this.slicesSynced;
  }

  /** BoundedFrequencyRunner.Run: sync now, or as soon as minSyncPeriod allows. */
  requestSync(): void {
    if (!this.initialized) return;
    const now = this.clock.now();
    // Proxier.Sync: a change is queued for the health server before the runner is asked.
    this.healthz.queuedUpdate(now);
    if (this.pendingTimer !== undefined) return;
    const next = this.lastSyncAt + (this.config.minSyncPeriodMs ?? 1000) * MS;
    if (next <= now) this.syncNow();
    else this.pendingTimer = this.clock.at(next, () => {
      this.pendingTimer = undefined;
      this.syncNow();
    });
  }

  /** Run a sync immediately (full when due). */
  syncNow(): SyncResult | undefined {
    if (!this.initialized) return undefined;
    const now = this.clock.now();
    const full = now - this.lastFullSyncAt >= (this.config.fullSyncPeriodMs ?? 3_600_000) * MS;
    this.lastSyncAt = now;
    try {
      const r = this.proxier.sync({ full });
      if (r.full) this.lastFullSyncAt = now;
      // After a successful sync: Updated, then the health-check servers follow the service and endpoint maps.
      this.healthz.updated(now);
      this.serviceHealth.syncServices(this.proxier.svcPortMap.healthCheckNodePorts());
      this.serviceHealth.syncEndpoints(this.proxier.endpointsMap.localReadyEndpoints());
      this.syncs.push(r);
      if (this.syncs.length > 64) this.syncs.shift();
      return r;
    } catch (e) {
      this.errors.push(e instanceof Error ? e : new Error(String(e)));
      return undefined;
    } finally {
      if (this.running) this.schedulePeriodic();
    }
  }

  private schedulePeriodic(): void {
    if (this.periodicTimer !== undefined) this.clock.cancel(this.periodicTimer);
    this.periodicTimer = this.clock.after((this.config.syncPeriodMs ?? 30_000) * MS, () => {
      this.periodicTimer = undefined;
      this.syncNow();
    });
  }

  private scheduleHousekeeping(): void {
    this.housekeepingTimer = this.clock.after(RS_CHECK_DELETE_INTERVAL_MS * MS, () => {
      this.proxier.housekeeping?.();
      if (this.running) this.scheduleHousekeeping();
    });
  }

  // ----------------------------------------------------------------- views

  /** `iptables-save` of the node (falls back to the last restore input written). */
  iptablesSave(): string {
    return this.node.views?.iptablesSave?.() ?? this.node.iptables.save?.() ?? this.syncs.at(-1)?.iptablesText ?? '';
  }
  /** `iptables -t nat -L -n -v`. */
  iptablesList(table = 'nat'): string {
    return this.node.views?.iptablesList?.(table) ?? '';
  }
  /** `ipvsadm -Ln`. */
  ipvsadm(): string {
    return this.node.ipvs?.list?.() ?? '';
  }
  /** `ipset list`. */
  ipsetList(): string {
    return this.node.ipset?.list?.() ?? '';
  }
  /** `conntrack -L`. */
  conntrackList(): string {
    return this.node.views?.conntrackList?.() ?? '';
  }
}

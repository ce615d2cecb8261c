/**
 * kube-proxy in IPVS mode on one node (upstream pkg/proxy/ipvs): a sync computes the
 * desired state — kube-ipvs0 addresses for ClusterIPs, external IPs and LoadBalancer
 * IPs, a virtual server per (VIP, port, protocol) and per node IP for NodePorts, real
 * servers from the endpoints (weight 1), the ipsets, and the constant iptables rules —
 * and reconciles the node to it: all of it in a full sync, only the changed service
 * ports' part in a partial one (same ops on the node, see partialSync). A real server that goes
 * away is removed gracefully (weight 0, deleted by housekeeping once it has no
 * connections; UDP at once), as graceful_termination.go does. ClientIP affinity is
 * IPVS persistence with the affinity timeout.
 */
import type { EndpointInfo, EndpointSliceInfo, ServiceInfo, ServicePortInfo } from '../service-port.ts';
import type { UpdateEndpointsMapResult, UpdateServiceMapResult } from '../change-tracker.ts';
import { byServicePort, EndpointsChangeTracker, EndpointsMap, ServiceChangeTracker, ServicePortMap } from '../change-tracker.ts';
import type { ConntrackCleaner } from '../conntrack-cleanup.ts';
import { applyConntrackDeletions, staleConntrackDeletions } from '../conntrack-cleanup.ts';
import type { Proxier, SyncResult } from '../proxier.ts';
import type { IptablesBackend } from '../iptables/proxier.ts';
import { parseSave } from '../iptables/proxier.ts';
import { jumpRulesRestore, cidrContains, nodePortDestinations } from '../iptables/rules.ts';
import type { IpsetInterface, IpvsInterface, IpvsProtocol, NetlinkHandle, VirtualServerSpec } from './interfaces.ts';
import { IPSETS, ipsetRestore, ipsetRestoreDiff, KUBE_IPVS_IPS } from './ipsets.ts';
import type { DesiredOptions, DesiredServer, PortDesired, VsKey } from './desired.ts';
import { portDesired, splitToken, vsKey } from './desired.ts';
import type { IpvsRulesOptions } from './rules.ts';
import { buildIpvsRuleset, IPVS_JUMP_RULES } from './rules.ts';

/** upstream defaultDummyDevice. */
export const DUMMY_DEVICE = 'kube-ipvs0';
/** upstream rsCheckDeleteInterval: graceful deletions are re-checked every minute. */
export const RS_CHECK_DELETE_INTERVAL_MS = 60_000;

export interface IpvsProxierOptions extends IpvsRulesOptions {
  readonly nodeName: string;
  /** --ipvs-scheduler (default rr). */
  readonly scheduler?: string;
  /** The node IP (LoadBalancer source ranges containing it admit the LB IP as a source). */
  readonly nodeIP?: string;
  /** --ipvs-exclude-cidrs: virtual servers inside them belong to someone else; stale-service cleanup leaves them alone. */
  readonly excludeCIDRs?: readonly string[];
  /** --nodeport-addresses: NodePort virtual servers only on the node addresses inside these CIDRs (default every address). */
  readonly nodePortAddresses?: readonly string[];
}

export interface IpvsProxierDeps {
  readonly ipvs: IpvsInterface;
  readonly ipset: IpsetInterface;
  readonly netlink: NetlinkHandle;
  readonly iptables: IptablesBackend;
  readonly conntrack?: ConntrackCleaner;
}

export class IpvsProxier implements Proxier {
  readonly mode = 'ipvs' as const;
  readonly serviceChanges = new ServiceChangeTracker();
  readonly endpointsChanges: EndpointsChangeTracker;
  readonly svcPortMap = new ServicePortMap();
  readonly endpointsMap = new EndpointsMap();
  /** Real servers being drained: "vsKey|ip:port", with the service port whose virtual server it is. */
  readonly gracefulDeletes = new Map<string, { vs: VirtualServerSpec; address: string; port: number; owner: string }>();
  private initialSync = true;
  lastText = '';
  /**
   * What the last complete sync saw of the node and left there: its NodePort addresses,
   * the ipsets' and the IPVS table's generations after it. Undefined before the first
   * sync and while a sync runs (one that throws leaves the next to do the whole reconcile).
   */
  private synced: { readonly nodeIPs: string; readonly ipsetGeneration: number | undefined; ipvsGeneration: number | undefined } | undefined;
  /**
   * How many service ports beyond the first want each ipset entry (`set entry`), for the
   * entries more than one wants; whether one wants it at all is the set's own membership.
   */
  private readonly extraWants = new Map<string, number>();
  /** Entries per set after the last sync (which constant rules are written). */
  private readonly setSizes = new Map<string, number>();
  /** Virtual servers the last full sync found wanted by two service ports (the partial sync then stands aside). */
  private sharedServers = 0;
  /** Skip the reconcile of a sync with nothing to do ({@link quietSync}); false: every sync reconciles (differential tests). */
  quietSyncs = true;
  /** Reconcile only the changed service ports ({@link partialSync}); false: every change reconciles all (differential tests). */
  partialSyncs = true;

  constructor(private readonly deps: IpvsProxierDeps, readonly opts: IpvsProxierOptions) {
    this.endpointsChanges = new EndpointsChangeTracker(opts.nodeName);
  }

  onServiceUpdate(previous: ServiceInfo | undefined, current: ServiceInfo | undefined): boolean {
    return this.serviceChanges.update(previous, current);
  }

  onEndpointSliceUpdate(slice: EndpointSliceInfo, remove: boolean): boolean {
    return this.endpointsChanges.endpointSliceUpdate(slice, remove);
  }

  private get desiredOptions(): DesiredOptions {
    return { scheduler: this.opts.scheduler ?? 'rr', nodeIP: this.opts.nodeIP };
  }

  sync(opts: { full?: boolean } = {}): SyncResult {
    const { ipvs, ipset, netlink } = this.deps;
    const svcResult = this.svcPortMap.update(this.serviceChanges);
    const epResult = this.endpointsMap.update(this.endpointsChanges);
    netlink.ensureDummyDevice(DUMMY_DEVICE);
    const nodeIPs = this.nodePortIPs(netlink.nodeAddresses(DUMMY_DEVICE));
    const quiet = this.quietSync(opts, svcResult.updatedServices.size + epResult.updatedServices.size, nodeIPs);
    if (quiet !== undefined) return quiet;
    const partial = this.partialSync(opts, svcResult, epResult, nodeIPs);
    this.synced = undefined;
    const text = partial?.() ?? this.fullSync(nodeIPs);
    this.initialSync = false;
    this.synced = { nodeIPs: nodeIPs.join(','), ipsetGeneration: ipset.generation?.(), ipvsGeneration: ipvs.generation?.() };

    const conntrack = staleConntrackDeletions(this.svcPortMap, svcResult, epResult);
    const conntrackDeleted = applyConntrackDeletions(this.deps.conntrack, conntrack);
    const updated = new Set([...svcResult.updatedServices, ...epResult.updatedServices]);
    return { mode: 'ipvs', full: partial === undefined, updatedServices: [...updated].sort(), iptablesText: text, conntrack, conntrackDeleted };
  }

  /** The whole desired state from every service port, reconciled with the node (upstream syncProxyRules). Returns the iptables text. */
  private fullSync(nodeIPs: readonly string[]): string {
    const { ipvs, ipset, netlink } = this.deps;
    const wants = new Map<string, number>();
    const activeVS = new Map<VsKey, DesiredServer & { readonly owner: string }>();
    let shared = 0;
    const dopts = this.desiredOptions;
    for (const [key, sp] of this.svcPortMap.sorted()) {
      const d = portDesired(sp, this.endpointsMap.get(key) ?? [], nodeIPs, dopts);
      for (const t of d.entries) wants.set(t, (wants.get(t) ?? 0) + 1);
      for (const [k, s] of d.servers) {
        // Two service ports wanting one virtual server: the later one's real servers win, at the first one's place.
        if (activeVS.has(k)) shared++;
        activeVS.set(k, { ...s, owner: key });
      }
    }
    const entries = new Map<string, Set<string>>(IPSETS.map((s) => [s.name, new Set<string>()]));
    this.extraWants.clear();
    for (const [t, n] of wants) {
      const [set, e] = splitToken(t);
      entries.get(set)?.add(e);
      if (n > 1) this.extraWants.set(t, n - 1);
    }
    this.sharedServers = shared;
    this.setSizes.clear();
    for (const [set, es] of entries) this.setSizes.set(set, es.size);
    const activeBind = entries.get(KUBE_IPVS_IPS) as Set<string>;
    // ipsets first: the iptables rules below name them.
    ipset.restore(ipsetRestore(entries, ipset.save()));
    const text = this.writeIptables();

    // Virtual servers and their real servers.
    for (const [k, s] of activeVS) this.program(k, s, s.owner, activeBind.has(s.vs.address));
    for (const vs of ipvs.listVirtualServers()) {
      if (activeVS.has(vsKey(vs))) continue;
      // upstream cleanLegacyService: addresses in --ipvs-exclude-cidrs are not kube-proxy's.
      if (this.excluded(vs.address)) continue;
      this.deleteServer(vs);
    }
    for (const a of netlink.boundAddresses(DUMMY_DEVICE)) if (!activeBind.has(a)) netlink.unbindAddress(a, DUMMY_DEVICE);
    return text;
  }

  /**
   * The partial sync: upstream rebuilds the whole desired state every sync and hands the
   * kernel only the differences (ipset restore of the changed entries, ipvsadm ops on the
   * virtual servers that differ); here the rebuild, too, covers only the service ports
   * that changed. A service port's wants are a pure function of it, its endpoints and the
   * node's NodePort addresses ({@link portDesired}), so its wants before the change (from
   * what the maps held) and after give the differences exactly, in the full sync's order
   * (service ports sorted; deletions and unbindings, whose order leaves nothing
   * different, after). The node's sets and table are the record of what is wanted: an
   * entry or virtual server is there iff some service port wants it, and
   * {@link extraWants} counts the second and further wanters.
   *
   * Stands aside (undefined: the full sync runs) when that record cannot be trusted or
   * the order could differ: a forced full sync, the first one, a node address moved, the
   * ipsets or IPVS table changed since the last sync by someone else, a virtual server
   * two ports want, one in --ipvs-exclude-cidrs, or an address newly bound that a
   * NodePort virtual server also uses. Returns the step that applies it (and the
   * iptables text) once it has checked everything, before changing anything.
   */
  private partialSync(opts: { full?: boolean }, svcResult: UpdateServiceMapResult, epResult: UpdateEndpointsMapResult, nodeIPs: readonly string[]): (() => string) | undefined {
    const { ipvs, ipset } = this.deps;
    const last = this.synced;
    const hasVS = ipvs.hasVirtualServer?.bind(ipvs);
    const testEntry = ipset.testEntry?.bind(ipset);
    if (!this.partialSyncs || last === undefined || opts.full === true || this.sharedServers > 0 || hasVS === undefined || testEntry === undefined) return undefined;
    const ipsetGen = ipset.generation?.();
    const ipvsGen = ipvs.generation?.();
    if (ipsetGen === undefined || ipsetGen !== last.ipsetGeneration || ipvsGen === undefined || ipvsGen !== last.ipvsGeneration || nodeIPs.join(',') !== last.nodeIPs) return undefined;

    const dopts = this.desiredOptions;
    const desired = (sp: ServicePortInfo | undefined, eps: readonly EndpointInfo[] | undefined): PortDesired => (sp === undefined ? NOTHING : portDesired(sp, eps ?? [], nodeIPs, dopts));
    const entryDelta = new Map<string, number>();
    const serverDelta = new Map<VsKey, number>();
    const bump = (m: Map<string, number>, k: string, by: number): void => void m.set(k, (m.get(k) ?? 0) + by);
    const now = new Map<string, { readonly sp: ServicePortInfo; readonly d: PortDesired }>();
    for (const key of new Set([...svcResult.previousPorts.keys(), ...epResult.previousEndpoints.keys()])) {
      const before = desired(svcResult.previousPorts.has(key) ? svcResult.previousPorts.get(key) : this.svcPortMap.get(key), epResult.previousEndpoints.has(key) ? epResult.previousEndpoints.get(key) : this.endpointsMap.get(key));
      const sp = this.svcPortMap.get(key);
      const after = desired(sp, this.endpointsMap.get(key));
      if (sp !== undefined) now.set(key, { sp, d: after });
      for (const t of before.entries) if (!after.entries.has(t)) bump(entryDelta, t, -1);
      for (const t of after.entries) if (!before.entries.has(t)) bump(entryDelta, t, 1);
      for (const [k, s] of before.servers) {
        if (this.excluded(s.vs.address)) return undefined;
        if (!after.servers.has(k)) bump(serverDelta, k, -1);
      }
      for (const [k, s] of after.servers) {
        if (this.excluded(s.vs.address)) return undefined;
        if (!before.servers.has(k)) bump(serverDelta, k, 1);
      }
    }
    const gone: Array<Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>> = [];
    for (const [k, by] of serverDelta) {
      if (by === 0) continue;
      const had = hasVS(parseVsKey(k)) ? 1 : 0;
      const wanted = had + by;
      if (wanted < 0 || wanted > 1) return undefined;
      if (wanted === 0) gone.push(parseVsKey(k));
    }
    const dels = new Map<string, string[]>();
    const adds = new Map<string, string[]>();
    const extra = new Map<string, number>();
    for (const [t, by] of entryDelta) {
      if (by === 0) continue;
      const [set, e] = splitToken(t);
      const had = testEntry(set, e) ? 1 + (this.extraWants.get(t) ?? 0) : 0;
      const wanted = had + by;
      if (wanted < 0) return undefined;
      extra.set(t, Math.max(0, wanted - 1));
      if (had === 0 && wanted > 0) {
        // An address newly bound that a NodePort virtual server of another port also has: the full sync would bind it there, earlier.
        if (set === KUBE_IPVS_IPS && nodeIPs.includes(e)) return undefined;
        pushTo(adds, set, e);
      } else if (had > 0 && wanted === 0) pushTo(dels, set, e);
    }
    // Service ports with real servers draining are re-checked, as the full sync re-checks every virtual server.
    for (const g of this.gracefulDeletes.values()) {
      if (now.has(g.owner)) continue;
      const sp = this.svcPortMap.get(g.owner);
      if (sp === undefined) return undefined;
      now.set(g.owner, { sp, d: desired(sp, this.endpointsMap.get(g.owner)) });
    }

    return () => {
      const { netlink } = this.deps;
      for (const [t, n] of extra) {
        if (n > 0) this.extraWants.set(t, n);
        else this.extraWants.delete(t);
      }
      for (const [set, es] of dels) this.setSizes.set(set, (this.setSizes.get(set) ?? 0) - es.length);
      for (const [set, es] of adds) this.setSizes.set(set, (this.setSizes.get(set) ?? 0) + es.length);
      ipset.restore(ipsetRestoreDiff(dels, adds));
      const text = this.writeIptables();
      const unbound = new Set(dels.get(KUBE_IPVS_IPS) ?? []);
      const bound = (a: string): boolean => !unbound.has(a) && (adds.get(KUBE_IPVS_IPS)?.includes(a) === true || testEntry(KUBE_IPVS_IPS, a));
      for (const [key, { d }] of [...now].sort(([, a], [, b]) => byServicePort(a.sp, b.sp))) for (const [k, s] of d.servers) this.program(k, s, key, bound(s.vs.address));
      for (const vs of gone.sort((a, b) => (vsKey(a) < vsKey(b) ? -1 : 1))) this.deleteServer(vs);
      for (const a of unbound) netlink.unbindAddress(a, DUMMY_DEVICE);
      return text;
    };
  }

  /** The hook jumps, then the constant ruleset (its set-matching rules present while their sets have entries). Returns the ruleset's text. */
  private writeIptables(): string {
    const { iptables } = this.deps;
    const saved = iptables.save !== undefined ? parseSave(iptables.save()) : undefined;
    if (saved !== undefined || this.initialSync) {
      const jt = jumpRulesRestore(IPVS_JUMP_RULES, { hasChain: (t, ch) => saved?.get(t)?.chains.has(ch) ?? false, hasRule: (t, ch, spec) => saved?.get(t)?.rules.has(`-A ${ch} ${spec}`) ?? false });
      if (jt !== '') iptables.restore(jt, { noflush: true });
    }
    const text = buildIpvsRuleset((s) => (this.setSizes.get(s) ?? 0) > 0, this.opts);
    iptables.restore(text, { noflush: true, counters: true });
    this.lastText = text;
    return text;
  }

  /** One wanted virtual server onto the node: created or edited, its address bound, its real servers synced. */
  private program(k: VsKey, s: DesiredServer, owner: string, bind: boolean): void {
    this.deps.ipvs.ensureVirtualServer(s.vs);
    if (bind) this.deps.netlink.ensureAddressBind(s.vs.address, DUMMY_DEVICE);
    this.syncRealServers(k, s.vs, s.reals, owner);
  }

  private deleteServer(vs: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>): void {
    this.deps.ipvs.deleteVirtualServer(vs);
    for (const g of [...this.gracefulDeletes.keys()]) if (g.startsWith(`${vsKey(vs)}|`)) this.gracefulDeletes.delete(g);
  }

  private excluded(address: string): boolean {
    return (this.opts.excludeCIDRs ?? []).some((c) => cidrContains(c, address));
  }

  /**
   * A periodic sync with nothing to do (upstream's syncProxyRules recomputes and
   * re-applies everything each time; an IPVS cluster of 20 000 Services spent 78 s of
   * wall time on 31 s of idle virtual time so): when no Service or endpoint changed, no
   * node address moved, no real server is draining and the ipsets are as the last sync
   * left them, the desired virtual servers, real servers, bindings and ipsets are what
   * the node holds, and only what the sync changes observably is redone — the hook jumps
   * and the constant ruleset's restore (which zeroes its rules' counters, as a real
   * restore does). A forced full sync (hourly) does the whole reconcile, repairing drift.
   * Only kube-proxy writes a node's IPVS table here; without the ipsets' generation the
   * sync is never quiet.
   */
  private quietSync(opts: { full?: boolean }, changes: number, nodeIPs: readonly string[]): SyncResult | undefined {
    const last = this.synced;
    const gen = this.deps.ipset.generation?.();
    if (!this.quietSyncs || last === undefined || opts.full === true || changes > 0 || this.gracefulDeletes.size > 0 || gen === undefined || gen !== last.ipsetGeneration || nodeIPs.join(',') !== last.nodeIPs) return undefined;
    const { iptables } = this.deps;
    const saved = iptables.save !== undefined ? parseSave(iptables.save()) : undefined;
    if (saved !== undefined) {
      const jt = jumpRulesRestore(IPVS_JUMP_RULES, { hasChain: (t, ch) => saved.get(t)?.chains.has(ch) ?? false, hasRule: (t, ch, spec) => saved.get(t)?.rules.has(`-A ${ch} ${spec}`) ?? false });
      if (jt !== '') iptables.restore(jt, { noflush: true });
    }
    iptables.restore(this.lastText, { noflush: true, counters: true });
    return { mode: 'ipvs', full: true, updatedServices: [], iptablesText: this.lastText, conntrack: [], conntrackDeleted: 0, quiet: true };
  }

  /**
   * The addresses NodePort virtual servers go on: every node address, or those inside
   * --nodeport-addresses (upstream NodePortAddresses.GetNodeIPs, then isValidForSet,
   * which keeps loopback out either way).
   */
  private nodePortIPs(local: readonly string[]): string[] {
    const d = nodePortDestinations({ nodeIPs: local, ...(this.opts.nodePortAddresses !== undefined ? { nodePortAddresses: this.opts.nodePortAddresses } : {}), ...(this.opts.nodeIP !== undefined ? { nodeIP: this.opts.nodeIP } : {}) });
    return d.matchAll ? [...local] : d.ips;
  }

  private syncRealServers(k: VsKey, vs: VirtualServerSpec, want: readonly EndpointInfo[], owner: string): void {
    const { ipvs } = this.deps;
    const cur = ipvs.listRealServers(vs);
    const wantKeys = new Set(want.map((e) => e.key));
    for (const e of want) {
      const g = `${k}|${e.key}`;
      const have = cur.find((r) => r.address === e.ip && r.port === e.port);
      if (have !== undefined && have.weight === 1 && !this.gracefulDeletes.has(g)) continue;
      // New, coming back from a graceful deletion, or (first sync) with a stale weight.
      this.gracefulDeletes.delete(g);
      ipvs.ensureRealServer(vs, e.ip, e.port, 1);
    }
    for (const r of cur) {
      const key = `${r.address}:${r.port}`;
      if (wantKeys.has(key)) continue;
      const g = `${k}|${key}`;
      if (vs.protocol === 'UDP') {
        // UDP (and SCTP) real servers go at once; expire_nodest_conn drops their connections.
        ipvs.deleteRealServer(vs, r.address, r.port);
        this.gracefulDeletes.delete(g);
      } else if (r.activeConn + r.inactConn === 0) {
        // GracefulDeleteRS tries the deletion first: a TCP real server without connections goes at once.
        ipvs.deleteRealServer(vs, r.address, r.port);
        this.gracefulDeletes.delete(g);
      } else if (!this.gracefulDeletes.has(g)) {
        ipvs.ensureRealServer(vs, r.address, r.port, 0);
        this.gracefulDeletes.set(g, { vs, address: r.address, port: r.port, owner });
      }
    }
  }

  /** The graceful-termination check (every {@link RS_CHECK_DELETE_INTERVAL_MS}): drained real servers with no connections are deleted. */
  housekeeping(): void {
    const { ipvs } = this.deps;
    // Its own deletions leave the table as the partial sync's record says.
    const ours = this.synced !== undefined && ipvs.generation?.() === this.synced.ipvsGeneration;
    for (const [g, d] of [...this.gracefulDeletes]) {
      const rs = ipvs.listRealServers(d.vs).find((r) => r.address === d.address && r.port === d.port);
      if (rs === undefined) {
        this.gracefulDeletes.delete(g);
        continue;
      }
      if (rs.activeConn + rs.inactConn === 0) {
        ipvs.deleteRealServer(d.vs, d.address, d.port);
        this.gracefulDeletes.delete(g);
      }
    }
    if (ours && this.synced !== undefined) this.synced.ipvsGeneration = ipvs.generation?.();
  }
}

/** The wants of a service port that is not there. */
const NOTHING: PortDesired = { entries: new Set(), servers: new Map() };

function parseVsKey(k: VsKey): Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'> {
  const slash = k.indexOf('/');
  const colon = k.lastIndexOf(':');
  return { protocol: k.slice(0, slash) as IpvsProtocol, address: k.slice(slash + 1, colon), port: Number(k.slice(colon + 1)) };
}

function pushTo(m: Map<string, string[]>, k: string, v: string): void {
  const l = m.get(k);
  if (l === undefined) m.set(k, [v]);
  else l.push(v);
}

export type { IpvsProtocol };

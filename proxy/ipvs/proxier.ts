/**
 * kube-proxy in IPVS mode on one node (upstream pkg/proxy/ipvs): every sync
 * computes the whole desired state — kube-ipvs0 addresses for ClusterIPs, external
 * IPs and LoadBalancer IPs, a virtual server per (VIP, port, protocol) and per node
 * IP for NodePorts, real servers from the endpoints (weight 1), the ipsets, and the
 * constant iptables rules — and reconciles the node to it. A real server that goes
 * away is removed gracefully (weight 0, deleted by housekeeping once it has no
 * connections; UDP at once), as graceful_termination.go does. ClientIP affinity is
 * IPVS persistence with the affinity timeout.
 */
import type { EndpointInfo, EndpointSliceInfo, ServiceInfo, ServicePortInfo } from '../service-port.ts';
import { categorizeEndpoints } from '../service-port.ts';
import { EndpointsChangeTracker, EndpointsMap, ServiceChangeTracker, ServicePortMap } from '../change-tracker.ts';
import type { ConntrackCleaner } from '../conntrack-cleanup.ts';
import { applyConntrackDeletions, staleConntrackDeletions } from '../conntrack-cleanup.ts';
import type { Proxier, SyncResult } from '../proxier.ts';
import type { IptablesBackend } from '../iptables/proxier.ts';
import { parseSave } from '../iptables/proxier.ts';
import { jumpRulesRestore, cidrContains, nodePortDestinations } from '../iptables/rules.ts';
import type { IpsetInterface, IpvsInterface, IpvsProtocol, NetlinkHandle, VirtualServerSpec } from './interfaces.ts';
import { IPSETS, ipsetRestore, KUBE_CLUSTER_IP, KUBE_EXTERNAL_IP, KUBE_EXTERNAL_IP_LOCAL, KUBE_HEALTH_CHECK_NODE_PORT, KUBE_IPVS_IPS, KUBE_LOAD_BALANCER, KUBE_LOAD_BALANCER_FW, KUBE_LOAD_BALANCER_LOCAL, KUBE_LOAD_BALANCER_SOURCE_CIDR, KUBE_LOAD_BALANCER_SOURCE_IP, KUBE_LOOP_BACK, KUBE_NODE_PORT_LOCAL_SCTP, KUBE_NODE_PORT_LOCAL_TCP, KUBE_NODE_PORT_LOCAL_UDP, KUBE_NODE_PORT_SCTP, KUBE_NODE_PORT_TCP, KUBE_NODE_PORT_UDP } from './ipsets.ts';
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

type VsKey = string;
function vsKey(v: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>): VsKey {
  return `${v.protocol}/${v.address}:${v.port}`;
}

export class IpvsProxier implements Proxier {
  readonly mode = 'ipvs' as const;
  readonly serviceChanges = new ServiceChangeTracker();
  readonly endpointsChanges: EndpointsChangeTracker;
  readonly svcPortMap = new ServicePortMap();
  readonly endpointsMap = new EndpointsMap();
  /** Real servers being drained: "vsKey|ip:port". */
  readonly gracefulDeletes = new Map<string, { vs: VirtualServerSpec; address: string; port: number }>();
  private initialSync = true;
  lastText = '';
  /** What the last complete sync saw of the node: its NodePort addresses and the ipsets' generation after it. */
  private synced: { readonly nodeIPs: string; readonly ipsetGeneration: number | undefined } | undefined;
  /** Skip the reconcile of a sync with nothing to do ({@link quietSync}); false: every sync reconciles (differential tests). */
  quietSyncs = true;

  constructor(private readonly deps: IpvsProxierDeps, readonly opts: IpvsProxierOptions) {
    this.endpointsChanges = new EndpointsChangeTracker(opts.nodeName);
  }

  onServiceUpdate(previous: ServiceInfo | undefined, current: ServiceInfo | undefined): boolean {
    return this.serviceChanges.update(previous, current);
  }

  onEndpointSliceUpdate(slice: EndpointSliceInfo, remove: boolean): boolean {
    return this.endpointsChanges.endpointSliceUpdate(slice, remove);
  }

  sync(opts: { full?: boolean } = {}): SyncResult {
    const { ipvs, ipset, netlink, iptables } = this.deps;
    const svcResult = this.svcPortMap.update(this.serviceChanges);
    const epResult = this.endpointsMap.update(this.endpointsChanges);
    netlink.ensureDummyDevice(DUMMY_DEVICE);
    const nodeIPs = this.nodePortIPs(netlink.nodeAddresses(DUMMY_DEVICE));
    const quiet = this.quietSync(opts, svcResult.updatedServices.size + epResult.updatedServices.size, nodeIPs);
    if (quiet !== undefined) return quiet;
    const entries = new Map<string, Set<string>>(IPSETS.map((s) => [s.name, new Set<string>()]));
    const add = (set: string, e: string): void => void entries.get(set)?.add(e);
    const activeVS = new Map<VsKey, VirtualServerSpec>();
    const activeBind = new Set<string>();
    const desiredReals = new Map<VsKey, EndpointInfo[]>();
    const scheduler = this.opts.scheduler ?? 'rr';

    for (const [key, sp] of this.svcPortMap.sorted()) {
      const eps = this.endpointsMap.get(key) ?? [];
      const proto = sp.protocol === 'udp' ? 'UDP' : sp.protocol === 'sctp' ? 'SCTP' : 'TCP';
      const ipPort = (ip: string): string => `${ip},${sp.protocol}:${sp.port}`;
      for (const e of eps) if (e.isLocal) add(KUBE_LOOP_BACK, `${e.ip},${sp.protocol}:${e.port},${e.ip}`);
      const vsFor = (address: string, port: number): VirtualServerSpec => ({ address, port, protocol: proto, scheduler, ...(sp.stickyMaxAgeSeconds !== undefined ? { persistentTimeout: sp.stickyMaxAgeSeconds } : {}) });
      const want = (vs: VirtualServerSpec, bind: boolean, onlyLocal: boolean): void => {
        activeVS.set(vsKey(vs), vs);
        if (bind) activeBind.add(vs.address);
        desiredReals.set(vsKey(vs), this.endpointsFor(sp, eps, onlyLocal));
      };
      add(KUBE_CLUSTER_IP, ipPort(sp.clusterIP));
      want(vsFor(sp.clusterIP, sp.port), true, sp.internalPolicyLocal);
      for (const ip of sp.externalIPs) {
        add(sp.externalPolicyLocal ? KUBE_EXTERNAL_IP_LOCAL : KUBE_EXTERNAL_IP, ipPort(ip));
        want(vsFor(ip, sp.port), true, sp.externalPolicyLocal);
      }
      for (const ip of sp.loadBalancerIPs) {
        add(KUBE_LOAD_BALANCER, ipPort(ip));
        if (sp.externalPolicyLocal) add(KUBE_LOAD_BALANCER_LOCAL, ipPort(ip));
        if (sp.loadBalancerSourceRanges.length > 0) {
          add(KUBE_LOAD_BALANCER_FW, ipPort(ip));
          let allowFromNode = false;
          for (const cidr of sp.loadBalancerSourceRanges) {
            add(KUBE_LOAD_BALANCER_SOURCE_CIDR, `${ipPort(ip)},${cidr}`);
            if (this.opts.nodeIP !== undefined && cidrContains(cidr, this.opts.nodeIP)) allowFromNode = true;
          }
          if (allowFromNode) add(KUBE_LOAD_BALANCER_SOURCE_IP, `${ipPort(ip)},${ip}`);
        }
        want(vsFor(ip, sp.port), true, sp.externalPolicyLocal);
      }
      if (sp.nodePort !== 0) {
        if (proto === 'SCTP') {
          // SCTP NodePorts are hash:ip,port entries, one per node IP (upstream: bitmap:port cannot hold the protocol).
          for (const ip of nodeIPs) {
            add(KUBE_NODE_PORT_SCTP, `${ip},sctp:${sp.nodePort}`);
            if (sp.externalPolicyLocal) add(KUBE_NODE_PORT_LOCAL_SCTP, `${ip},sctp:${sp.nodePort}`);
          }
        } else {
          add(proto === 'TCP' ? KUBE_NODE_PORT_TCP : KUBE_NODE_PORT_UDP, String(sp.nodePort));
          if (sp.externalPolicyLocal) add(proto === 'TCP' ? KUBE_NODE_PORT_LOCAL_TCP : KUBE_NODE_PORT_LOCAL_UDP, String(sp.nodePort));
        }
        for (const ip of nodeIPs) want(vsFor(ip, sp.nodePort), false, sp.externalPolicyLocal);
      }
      if (sp.healthCheckNodePort !== 0) add(KUBE_HEALTH_CHECK_NODE_PORT, String(sp.healthCheckNodePort));
    }

    // Every address kube-ipvs0 will hold (KUBE-IPVS-FILTER rejects new connections to their other ports).
    for (const a of activeBind) add(KUBE_IPVS_IPS, a);
    // ipsets first: the iptables rules below name them.
    ipset.restore(ipsetRestore(entries, ipset.save()));
    // Hook jumps, then the constant ruleset.
    const saved = iptables.save !== undefined ? parseSave(iptables.save()) : undefined;
    if (saved !== undefined || this.initialSync) {
      const jt = jumpRulesRestore(IPVS_JUMP_RULES, { hasChain: (t, ch) => saved?.get(t)?.chains.has(ch) ?? false, hasRule: (t, ch, spec) => saved?.get(t)?.rules.has(`-A ${ch} ${spec}`) ?? false });
      if (jt !== '') iptables.restore(jt, { noflush: true });
    }
    const text = buildIpvsRuleset((s) => (entries.get(s)?.size ?? 0) > 0, this.opts);
    iptables.restore(text, { noflush: true, counters: true });
    this.lastText = text;

    // Virtual servers and their real servers.
    for (const [k, vs] of activeVS) {
      ipvs.ensureVirtualServer(vs);
      if (activeBind.has(vs.address)) netlink.ensureAddressBind(vs.address, DUMMY_DEVICE);
      this.syncRealServers(vs, desiredReals.get(k) ?? []);
    }
    for (const vs of ipvs.listVirtualServers()) {
      if (activeVS.has(vsKey(vs))) continue;
      // upstream cleanLegacyService: addresses in --ipvs-exclude-cidrs are not kube-proxy's.
      if ((this.opts.excludeCIDRs ?? []).some((c) => cidrContains(c, vs.address))) continue;
      ipvs.deleteVirtualServer(vs);
      for (const g of [...this.gracefulDeletes.keys()]) if (g.startsWith(`${vsKey(vs)}|`)) this.gracefulDeletes.delete(g);
    }
    for (const a of netlink.boundAddresses(DUMMY_DEVICE)) if (!activeBind.has(a)) netlink.unbindAddress(a, DUMMY_DEVICE);
    this.initialSync = false;
    this.synced = { nodeIPs: nodeIPs.join(','), ipsetGeneration: ipset.generation?.() };

    const conntrack = staleConntrackDeletions(this.svcPortMap, svcResult, epResult);
    const conntrackDeleted = applyConntrackDeletions(this.deps.conntrack, conntrack);
    const updated = new Set([...svcResult.updatedServices, ...epResult.updatedServices]);
    return { mode: 'ipvs', full: true, updatedServices: [...updated].sort(), iptablesText: text, conntrack, conntrackDeleted };
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

  /** upstream syncEndpoint's choice: Local policy uses local endpoints, falling back to cluster ones (kubernetes#97081). */
  private endpointsFor(sp: ServicePortInfo, eps: readonly EndpointInfo[], onlyLocal: boolean): EndpointInfo[] {
    const { cluster, local } = categorizeEndpoints(eps, sp);
    if (onlyLocal) return local.length > 0 ? local : cluster;
    return cluster;
  }

  private syncRealServers(vs: VirtualServerSpec, want: readonly EndpointInfo[]): void {
    const { ipvs } = this.deps;
    const cur = ipvs.listRealServers(vs);
    const wantKeys = new Set(want.map((e) => e.key));
    for (const e of want) {
      const g = `${vsKey(vs)}|${e.key}`;
      const have = cur.find((r) => r.address === e.ip && r.port === e.port);
      if (have !== undefined && have.weight === 1 && !this.gracefulDeletes.has(g)) continue;
      // New, coming back from a graceful deletion, or (first sync) with a stale weight.
      this.gracefulDeletes.delete(g);
      ipvs.ensureRealServer(vs, e.ip, e.port, 1);
    }
    for (const r of cur) {
      const key = `${r.address}:${r.port}`;
      if (wantKeys.has(key)) continue;
      const g = `${vsKey(vs)}|${key}`;
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
        this.gracefulDeletes.set(g, { vs, address: r.address, port: r.port });
      }
    }
  }

  /** The graceful-termination check (every {@link RS_CHECK_DELETE_INTERVAL_MS}): drained real servers with no connections are deleted. */
  housekeeping(): void {
    const { ipvs } = this.deps;
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
  }
}

export type { IpvsProtocol };

/**
 * kube-proxy in nftables mode on one node (upstream pkg/proxy/nftables
 * Proxier.syncProxyRules and setupNFTables), writing the `ip kube-proxy` table with
 * one transaction per sync:
 *
 * - full sync (the first, after a failure, and every fullSyncPeriod): the table, its
 *   base chains (pre-DNAT filter chains at dstnat-10, filter chains at 0, nat chains
 *   at dstnat/srcnat), the jumps into service-endpoints-check, nodeport-endpoints-check,
 *   firewall-check, cluster-ips-check, services and masquerading, the verdict maps
 *   (service-ips, service-nodeports, no-endpoint-services, no-endpoint-nodeports,
 *   firewall-ips) and sets (cluster-ips, nodeport-ips), every map flushed and refilled;
 * - partial sync: only the chains of services whose Service or EndpointSlices changed
 *   are rewritten (added and flushed, then their rules), and only the map and set
 *   elements that changed are added or deleted (upstream nftElementStorage);
 * - per service port: `service-`/`local-` policy chains choosing an endpoint with
 *   `numgen random mod N vmap`, `external-` chains (masquerade, or the Local-policy
 *   short-circuits), `firewall-` chains for loadBalancerSourceRanges, `endpoint-`
 *   chains (hairpin masquerade, `dnat to`), `affinity-` sets with timeouts;
 * - chains that went stale are flushed at once and deleted in a separate transaction
 *   once they have been stale for a second (a map element pointing at a chain is not
 *   released at once by kernels before 6.2); stale affinity sets are deleted at once.
 *
 * Layout: upstream walks services in Go map order; here they are sorted, so the
 * same state gives the same transaction text.
 *
 * Follows the upstream tree whose proxier_test.go is translated in
 * tests/upstream/kube-proxy/nftables.yaml (pre-DNAT filter chains, no port match in
 * the ClusterIP masquerade rule). Not modelled: IPv6, topology hints, the startup
 * reuse of chains already in the kernel (TestSyncProxyRulesStartup), metrics,
 * health-check node port servers.
 */
import type { EndpointInfo, EndpointSliceInfo, ServiceInfo, ServicePortInfo } from '../service-port.ts';
import { categorizeEndpoints, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.ts';
import { EndpointsChangeTracker, EndpointsMap, ServiceChangeTracker, ServicePortMap } from '../change-tracker.ts';
import type { ConntrackCleaner } from '../conntrack-cleanup.ts';
import { applyConntrackDeletions, staleConntrackDeletions } from '../conntrack-cleanup.ts';
import type { Proxier, SyncResult } from '../proxier.ts';
import type { IptablesRulesOptions } from '../iptables/rules.ts';
import { cidrContains, nodePortDestinations } from '../iptables/rules.ts';
import { canonicalIPv4CIDR } from '../ip-family.ts';
import type { NftablesBackend } from './backend.ts';
import type { NftChain, NftElement, NftTableRef } from './transaction.ts';
import { NftTransaction } from './transaction.ts';
import { AFFINITY_PREFIX, CHAIN_PREFIX, endpointChainNameBase, isAffinitySetName, isServiceChainName, servicePortChainNameBase } from './names.ts';

/** upstream kubeProxyTable, IPv4. */
export const KUBE_PROXY_TABLE: NftTableRef = { family: 'ip', table: 'kube-proxy' };

// upstream's object names.
const SERVICES = 'services';
const SERVICE_IPS = 'service-ips';
const SERVICE_NODEPORTS = 'service-nodeports';
const NODEPORT_IPS = 'nodeport-ips';
const CLUSTER_IPS = 'cluster-ips';
const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
const NO_ENDPOINT_SERVICES = 'no-endpoint-services';
const NO_ENDPOINT_NODEPORTS = 'no-endpoint-nodeports';
const REJECT_CHAIN = 'reject-chain';
const CLUSTER_IPS_CHECK = 'cluster-ips-check';
const FIREWALL_IPS = 'firewall-ips';
const FIREWALL_CHECK = 'firewall-check';
const MARK_MASQ = 'mark-for-masquerade';
const MASQUERADING = 'masquerading';

/** knftables DNATPriority / SNATPriority for the ip family (nft's dstnat -100, srcnat 100). */
const DNAT_PRIORITY = -100;
const SNAT_PRIORITY = 100;
const FILTER_PRIORITY = 0;

/** upstream nftablesBaseChains: filtering on pre-DNAT destinations runs before DNAT. */
const BASE_CHAINS: readonly NftChain[] = [
  { kind: 'chain', name: 'filter-prerouting-pre-dnat', type: 'filter', hook: 'prerouting', priority: DNAT_PRIORITY - 10 },
  { kind: 'chain', name: 'filter-output-pre-dnat', type: 'filter', hook: 'output', priority: DNAT_PRIORITY - 10 },
  { kind: 'chain', name: 'filter-input', type: 'filter', hook: 'input', priority: FILTER_PRIORITY },
  { kind: 'chain', name: 'filter-forward', type: 'filter', hook: 'forward', priority: FILTER_PRIORITY },
  { kind: 'chain', name: 'filter-output', type: 'filter', hook: 'output', priority: FILTER_PRIORITY },
  { kind: 'chain', name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: DNAT_PRIORITY },
  { kind: 'chain', name: 'nat-output', type: 'nat', hook: 'output', priority: DNAT_PRIORITY },
  { kind: 'chain', name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: SNAT_PRIORITY },
];

/** upstream nftablesJumpChains: [destination, source chain, extra match]. */
const JUMP_CHAINS: ReadonlyArray<readonly [string, string, string]> = [
  [NODEPORT_ENDPOINTS_CHECK, 'filter-input', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, 'filter-input', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, 'filter-forward', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, 'filter-output', 'ct state new'],
  [FIREWALL_CHECK, 'filter-prerouting-pre-dnat', 'ct state new'],
  [FIREWALL_CHECK, 'filter-output-pre-dnat', 'ct state new'],
  [SERVICES, 'nat-output', ''],
  [SERVICES, 'nat-prerouting', ''],
  [MASQUERADING, 'nat-postrouting', ''],
  [CLUSTER_IPS_CHECK, 'filter-forward', 'ct state new'],
  [CLUSTER_IPS_CHECK, 'filter-output', 'ct state new'],
];

export type NftablesProxierOptions = Pick<IptablesRulesOptions, 'clusterCIDR' | 'masqueradeAll' | 'masqueradeBit' | 'nodeIP' | 'nodePortAddresses' | 'nodeIPs'> & {
  readonly nodeName: string;
  /** The cluster's Service CIDRs (upstream OnServiceCIDRsChanged): traffic to unallocated ClusterIPs in them is dropped. */
  readonly serviceCIDRs?: readonly string[];
};

export interface NftablesProxierDeps {
  readonly conntrack?: ConntrackCleaner;
  /** Virtual clock in ms (stale-chain ageing). */
  readonly nowMs?: () => number;
}

/** upstream's delay before a flushed stale chain is deleted. */
const STALE_CHAIN_DELAY_MS = 1000;

/** upstream nftElementStorage: what a map or set holds, so a sync writes only the elements that changed. */
class ElementStorage {
  private readonly elements = new Map<string, string>();
  private leftover = new Set<string>();

  constructor(private readonly kind: 'set' | 'map', private readonly name: string) {}

  /** Forget everything and flush the container (full sync). */
  reset(tx: NftTransaction): void {
    this.elements.clear();
    tx.flush(this.kind === 'set' ? { kind: 'set', name: this.name } : { kind: 'map', name: this.name });
    this.leftover = new Set();
  }

  ensure(tx: NftTransaction, key: readonly string[], value?: string, comment?: string): void {
    const k = key.join(' . ');
    const v = value ?? '';
    const el: NftElement = { kind: 'element', container: this.name, containerKind: this.kind, key, ...(value !== undefined ? { value: [value] } : {}), ...(comment !== undefined ? { comment } : {}) };
    const existing = this.elements.get(k);
    if (existing !== undefined) {
      if (existing !== v) {
        tx.delete(el);
        tx.add(el);
        this.elements.set(k, v);
      }
      this.leftover.delete(k);
    } else {
      tx.add(el);
      this.elements.set(k, v);
    }
  }

  /** Delete what no service asked for in this sync. */
  cleanup(tx: NftTransaction): void {
    for (const k of this.leftover) {
      tx.delete({ kind: 'element', container: this.name, containerKind: this.kind, key: k.split(' . ') });
      this.elements.delete(k);
    }
    this.leftover = new Set(this.elements.keys());
  }
}

export class NftablesProxier implements Proxier {
  readonly mode = 'nftables' as const;
  readonly serviceChanges = new ServiceChangeTracker();
  readonly endpointsChanges: EndpointsChangeTracker;
  readonly svcPortMap = new ServicePortMap();
  readonly endpointsMap = new EndpointsMap();
  private needFullSync = true;
  /** The base chains were deleted and recreated once (so changed properties apply). */
  private flushed = false;
  /** Flushed chains and when they went stale. */
  readonly staleChains = new Map<string, number>();
  private readonly clusterIPs = new ElementStorage('set', CLUSTER_IPS);
  private readonly serviceIPs = new ElementStorage('map', SERVICE_IPS);
  private readonly firewallIPs = new ElementStorage('map', FIREWALL_IPS);
  private readonly noEndpointServices = new ElementStorage('map', NO_ENDPOINT_SERVICES);
  private readonly noEndpointNodePorts = new ElementStorage('map', NO_ENDPOINT_NODEPORTS);
  private readonly serviceNodePorts = new ElementStorage('map', SERVICE_NODEPORTS);
  private readonly mark: string;
  /** The last transaction's text (views and tests). */
  lastText = '';
  /** Operations in the last main transaction (upstream's LastTransaction.NumOperations). */
  lastOperations = 0;

  constructor(private readonly backend: NftablesBackend, readonly opts: NftablesProxierOptions, private readonly deps: NftablesProxierDeps = {}) {
    this.endpointsChanges = new EndpointsChangeTracker(opts.nodeName);
    this.mark = `0x${(1 << (opts.masqueradeBit ?? 14)).toString(16)}`;
  }

  onServiceUpdate(previous: ServiceInfo | undefined, current: ServiceInfo | undefined): boolean {
    return this.serviceChanges.update(previous, current);
  }

  onEndpointSliceUpdate(slice: EndpointSliceInfo, remove: boolean): boolean {
    return this.endpointsChanges.endpointSliceUpdate(slice, remove);
  }

  private tx(): NftTransaction {
    return new NftTransaction(KUBE_PROXY_TABLE);
  }

  /** upstream ensureChain: add and flush a chain once per transaction (or only note it when the service is skipped). */
  private static ensureChain(chain: string, tx: NftTransaction, created: Set<string>, skipCreation = false): void {
    if (created.has(chain)) return;
    created.add(chain);
    if (skipCreation) return;
    tx.add({ kind: 'chain', name: chain });
    tx.flush({ kind: 'chain', name: chain });
  }

  /** upstream setupNFTables. */
  private setup(tx: NftTransaction): void {
    const o = this.opts;
    tx.add({ kind: 'table', comment: 'rules for kube-proxy' });
    if (!this.flushed) {
      for (const bc of BASE_CHAINS) {
        tx.add({ kind: 'chain', name: bc.name });
        tx.delete({ kind: 'chain', name: bc.name });
      }
      this.flushed = true;
    }
    for (const bc of BASE_CHAINS) {
      tx.add(bc);
      tx.flush({ kind: 'chain', name: bc.name });
    }
    const created = new Set<string>();
    for (const [dst, src, extra] of JUMP_CHAINS) {
      NftablesProxier.ensureChain(dst, tx, created);
      tx.add({ kind: 'rule', chain: src, rule: extra !== '' ? `${extra} jump ${dst}` : `jump ${dst}` });
    }
    for (const c of [SERVICES, CLUSTER_IPS_CHECK, MASQUERADING, MARK_MASQ]) NftablesProxier.ensureChain(c, tx, created);
    tx.add({ kind: 'rule', chain: MARK_MASQ, rule: `mark set mark or ${this.mark}` });
    tx.add({ kind: 'rule', chain: MASQUERADING, rule: `mark and ${this.mark} == 0 return` });
    tx.add({ kind: 'rule', chain: MASQUERADING, rule: `mark set mark xor ${this.mark}` });
    tx.add({ kind: 'rule', chain: MASQUERADING, rule: 'masquerade fully-random' });

    tx.add({ kind: 'set', name: CLUSTER_IPS, type: 'ipv4_addr', comment: 'Active ClusterIPs' });
    tx.add({ kind: 'rule', chain: CLUSTER_IPS_CHECK, rule: `ip daddr @${CLUSTER_IPS} reject`, comment: 'Reject traffic to invalid ports of ClusterIPs' });
    const cidrs = (o.serviceCIDRs ?? []).flatMap((c) => {
      const v = canonicalIPv4CIDR(c);
      return v === undefined ? [] : [v];
    });
    if (cidrs.length > 0) tx.add({ kind: 'rule', chain: CLUSTER_IPS_CHECK, rule: `ip daddr { ${cidrs.join(',')} } drop`, comment: 'Drop traffic to unallocated ClusterIPs' });

    const npd = nodePortDestinations(o);
    tx.add({ kind: 'set', name: NODEPORT_IPS, type: 'ipv4_addr', comment: 'IPs that accept NodePort traffic' });
    if (npd.matchAll) tx.delete({ kind: 'set', name: NODEPORT_IPS });
    else {
      tx.flush({ kind: 'set', name: NODEPORT_IPS });
      // Localhost NodePorts are not supported in this mode (upstream logs an error and skips them).
      for (const ip of npd.ips) if (!ip.startsWith('127.')) tx.add({ kind: 'element', container: NODEPORT_IPS, containerKind: 'set', key: [ip] });
    }

    tx.add({ kind: 'map', name: NO_ENDPOINT_SERVICES, type: 'ipv4_addr . inet_proto . inet_service : verdict', comment: 'vmap to drop or reject packets to services with no endpoints' });
    tx.add({ kind: 'map', name: NO_ENDPOINT_NODEPORTS, type: 'inet_proto . inet_service : verdict', comment: 'vmap to drop or reject packets to service nodeports with no endpoints' });
    tx.add({ kind: 'chain', name: REJECT_CHAIN, comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports' });
    tx.flush({ kind: 'chain', name: REJECT_CHAIN });
    tx.add({ kind: 'rule', chain: REJECT_CHAIN, rule: 'reject' });
    tx.add({ kind: 'rule', chain: SERVICE_ENDPOINTS_CHECK, rule: `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}` });
    tx.add({ kind: 'rule', chain: NODEPORT_ENDPOINTS_CHECK, rule: `${npd.matchAll ? 'ip daddr != 127.0.0.0/8' : `ip daddr @${NODEPORT_IPS}`} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}` });

    tx.add({ kind: 'map', name: FIREWALL_IPS, type: 'ipv4_addr . inet_proto . inet_service : verdict', comment: 'destinations that are subject to LoadBalancerSourceRanges' });
    NftablesProxier.ensureChain(FIREWALL_CHECK, tx, created);
    tx.add({ kind: 'rule', chain: FIREWALL_CHECK, rule: `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS}` });

    tx.add({ kind: 'map', name: SERVICE_IPS, type: 'ipv4_addr . inet_proto . inet_service : verdict', comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic' });
    tx.add({ kind: 'map', name: SERVICE_NODEPORTS, type: 'inet_proto . inet_service : verdict', comment: 'NodePort traffic' });
    tx.add({ kind: 'rule', chain: SERVICES, rule: `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}` });
    tx.add({ kind: 'rule', chain: SERVICES, rule: `${npd.matchAll ? 'fib daddr type local ip daddr != 127.0.0.0/8' : `ip daddr @${NODEPORT_IPS}`} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}` });

    for (const s of this.storages()) s.reset(tx);
  }

  private storages(): ElementStorage[] {
    return [this.clusterIPs, this.serviceIPs, this.firewallIPs, this.noEndpointServices, this.noEndpointNodePorts, this.serviceNodePorts];
  }

  sync(opts: { full?: boolean } = {}): SyncResult {
    const tryPartial = !this.needFullSync && opts.full !== true;
    const start = this.deps.nowMs?.() ?? 0;
    const svcResult = this.svcPortMap.update(this.serviceChanges);
    const epResult = this.endpointsMap.update(this.endpointsChanges);
    const changed = new Set<string>([...svcResult.updatedServices, ...epResult.updatedServices]);
    try {
      this.deleteStaleChains(start);
      const tx = this.tx();
      if (!tryPartial) this.setup(tx);
      const active = new Set<string>();
      const activeAffinity = new Set<string>();
      for (const [key, sp] of this.svcPortMap.sorted()) {
        this.writeServicePort(tx, sp, this.endpointsMap.get(key) ?? [], tryPartial && !changed.has(sp.service), active, activeAffinity);
      }
      // Stale chains are flushed now and deleted later; stale affinity sets go at once.
      const chains = this.backend.list('chains');
      for (const c of chains ?? []) {
        if (!isServiceChainName(c)) continue;
        if (!active.has(c)) {
          tx.flush({ kind: 'chain', name: c });
          this.staleChains.set(c, start);
        } else this.staleChains.delete(c);
      }
      for (const s of this.backend.list('sets') ?? []) if (isAffinitySetName(s) && !activeAffinity.has(s)) tx.delete({ kind: 'set', name: s });
      for (const s of this.storages()) s.cleanup(tx);
      try {
        this.backend.run(tx);
      } catch (e) {
        this.staleChains.clear();
        throw e;
      }
      this.lastText = tx.toString();
      this.lastOperations = tx.numOperations;
      this.needFullSync = false;
      const conntrack = staleConntrackDeletions(this.svcPortMap, svcResult, epResult);
      const conntrackDeleted = applyConntrackDeletions(this.deps.conntrack, conntrack);
      return { mode: 'nftables', full: !tryPartial, updatedServices: [...changed].sort(), iptablesText: '', nftText: this.lastText, conntrack, conntrackDeleted };
    } catch (e) {
      // The pending changes are already folded into the maps (and the element storages are ahead of the kernel): only a full sync can catch up.
      this.needFullSync = true;
      throw e;
    }
  }

  /** Delete chains that have been stale for more than a second, in their own transaction (a failure is retried later). */
  private deleteStaleChains(now: number): void {
    if (this.staleChains.size === 0) return;
    const tx = this.tx();
    for (const [chain, since] of this.staleChains) {
      if (since < now - STALE_CHAIN_DELAY_MS) {
        tx.delete({ kind: 'chain', name: chain });
        this.staleChains.delete(chain);
      }
    }
    if (tx.numOperations === 0) return;
    try {
      this.backend.run(tx);
    } catch {
      // upstream: the chains come back into staleChains (with a later time) at the end of the sync.
    }
  }

  private writeServicePort(tx: NftTransaction, sp: ServicePortInfo, eps: readonly EndpointInfo[], skip: boolean, active: Set<string>, activeAffinity: Set<string>): void {
    const o = this.opts;
    const proto = sp.protocol;
    const base = servicePortChainNameBase(sp);
    const { cluster, local, allReachable, hasAny } = categorizeEndpoints(eps, sp);
    const affinity = sp.stickyMaxAgeSeconds !== undefined;
    const epNames = new Map<string, string>();
    for (const e of allReachable) {
      const epBase = endpointChainNameBase(sp, e.key);
      epNames.set(e.key, epBase);
      NftablesProxier.ensureChain(CHAIN_PREFIX.endpoint + epBase, tx, active, skip);
      if (affinity) activeAffinity.add(AFFINITY_PREFIX + epBase);
    }
    const epName = (e: EndpointInfo): string => epNames.get(e.key) ?? endpointChainNameBase(sp, e.key);

    const clusterChain = CHAIN_PREFIX.cluster + base;
    const usesClusterChain = cluster.length > 0 && usesClusterEndpoints(sp);
    if (usesClusterChain) NftablesProxier.ensureChain(clusterChain, tx, active, skip);
    const localChain = CHAIN_PREFIX.local + base;
    const usesLocalChain = local.length > 0 && usesLocalEndpoints(sp);
    if (usesLocalChain) NftablesProxier.ensureChain(localChain, tx, active, skip);

    const internalChain = sp.internalPolicyLocal ? localChain : clusterChain;
    const hasInternal = hasAny && (!sp.internalPolicyLocal || local.length > 0);
    const externalPolicyChain = sp.externalPolicyLocal ? localChain : clusterChain;
    const hasExternal = hasAny && (!sp.externalPolicyLocal || local.length > 0);
    const externalChain = CHAIN_PREFIX.external + base;
    // The external chain is needed for the local short-circuits even without externally usable endpoints.
    const usesExternalChain = hasAny && externallyAccessible(sp);
    if (usesExternalChain) NftablesProxier.ensureChain(externalChain, tx, active, skip);

    const internalVerdict = hasAny ? 'drop' : `goto ${REJECT_CHAIN}`;
    const externalVerdict = internalVerdict;
    const port = String(sp.port);

    this.clusterIPs.ensure(tx, [sp.clusterIP]);
    if (hasInternal) this.serviceIPs.ensure(tx, [sp.clusterIP, proto, port], `goto ${internalChain}`);
    else this.noEndpointServices.ensure(tx, [sp.clusterIP, proto, port], internalVerdict, sp.name);
    for (const ip of sp.externalIPs) {
      if (hasAny) this.serviceIPs.ensure(tx, [ip, proto, port], `goto ${externalChain}`);
      if (!hasExternal) this.noEndpointServices.ensure(tx, [ip, proto, port], externalVerdict, sp.name);
    }
    const usesFW = sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const fwChain = CHAIN_PREFIX.firewall + base;
    if (usesFW) NftablesProxier.ensureChain(fwChain, tx, active, skip);
    for (const ip of sp.loadBalancerIPs) {
      if (hasAny) this.serviceIPs.ensure(tx, [ip, proto, port], `goto ${externalChain}`);
      if (usesFW) this.firewallIPs.ensure(tx, [ip, proto, port], `goto ${fwChain}`);
    }
    if (!hasExternal) for (const ip of sp.loadBalancerIPs) this.noEndpointServices.ensure(tx, [ip, proto, port], externalVerdict, sp.name);
    if (sp.nodePort !== 0) {
      // NodePorts are not subject to loadBalancerSourceRanges (upstream cannot change that).
      if (hasAny) this.serviceNodePorts.ensure(tx, [proto, String(sp.nodePort)], `goto ${externalChain}`);
      if (!hasExternal) this.noEndpointNodePorts.ensure(tx, [proto, String(sp.nodePort)], externalVerdict, sp.name);
    }
    if (skip) return;

    const rule = (chain: string, r: string, comment?: string): void => tx.add({ kind: 'rule', chain, rule: r, ...(comment !== undefined ? { comment } : {}) });
    if (hasInternal) {
      if (o.masqueradeAll === true) rule(internalChain, `ip daddr ${sp.clusterIP} jump ${MARK_MASQ}`);
      else if (o.clusterCIDR !== undefined) rule(internalChain, `ip daddr ${sp.clusterIP} ip saddr != ${o.clusterCIDR} jump ${MARK_MASQ}`);
    }
    if (usesExternalChain) {
      if (!sp.externalPolicyLocal) rule(externalChain, `jump ${MARK_MASQ}`);
      else {
        if (o.clusterCIDR !== undefined) rule(externalChain, `ip saddr ${o.clusterCIDR} goto ${clusterChain}`, 'short-circuit pod traffic');
        rule(externalChain, `fib saddr type local jump ${MARK_MASQ}`, 'masquerade local traffic');
        rule(externalChain, `fib saddr type local goto ${clusterChain}`, 'short-circuit local traffic');
      }
      if (hasExternal) rule(externalChain, `goto ${externalPolicyChain}`);
    }
    if (usesFW) {
      const sources = [...sp.loadBalancerSourceRanges];
      if (o.nodeIP !== undefined && sp.loadBalancerSourceRanges.some((c) => cidrContains(c, o.nodeIP as string))) sources.push(...sp.loadBalancerIPs);
      rule(fwChain, `ip saddr != { ${sources.join(' , ')} } drop`);
    }
    if (affinity) {
      for (const e of allReachable) {
        tx.add({ kind: 'set', name: AFFINITY_PREFIX + epName(e), type: 'ipv4_addr', flags: ['dynamic', 'timeout'], timeout: sp.stickyMaxAgeSeconds as number });
      }
    }
    const toEndpoints = (chain: string, list: readonly EndpointInfo[]): void => {
      if (affinity) for (const e of list) rule(chain, `ip saddr @${AFFINITY_PREFIX}${epName(e)} goto ${CHAIN_PREFIX.endpoint}${epName(e)}`);
      rule(chain, `numgen random mod ${list.length} vmap { ${list.map((e, i) => `${i} : goto ${CHAIN_PREFIX.endpoint}${epName(e)}`).join(' , ')} }`);
    };
    if (usesClusterChain) toEndpoints(clusterChain, cluster);
    if (usesLocalChain) toEndpoints(localChain, local);
    for (const e of allReachable) {
      const chain = CHAIN_PREFIX.endpoint + epName(e);
      rule(chain, `ip saddr ${e.ip} jump ${MARK_MASQ}`);
      if (affinity) rule(chain, `update @${AFFINITY_PREFIX}${epName(e)} { ip saddr }`);
      rule(chain, `meta l4proto ${proto} dnat to ${e.key}`);
    }
  }
}

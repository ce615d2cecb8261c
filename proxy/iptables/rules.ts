/**
 * The iptables ruleset kube-proxy (iptables mode) writes: the hook jumps it installs
 * first, and the one `iptables-restore --noflush` input of a sync (`*filter` then
 * `*nat`), following upstream's syncProxyRules rule for rule:
 *
 * - KUBE-SERVICES: per service port a "cluster IP" jump (to KUBE-SVC, or KUBE-SVL
 *   with internalTrafficPolicy Local), "external IP" jumps to KUBE-EXT and
 *   "loadbalancer IP" jumps to KUBE-EXT (KUBE-FW with source ranges); last, the
 *   jump to KUBE-NODEPORTS for local destinations.
 * - KUBE-EXT: masquerade then KUBE-SVC (Cluster), or the Local short-circuits (pods
 *   → KUBE-SVC, node-local sources masqueraded → KUBE-SVC, the rest → KUBE-SVL).
 * - KUBE-SVC/KUBE-SVL: off-cluster masquerade of ClusterIP traffic, ClientIP
 *   affinity (`recent --rcheck`), then the probability cascade 1/(n−i) printed
 *   `%0.10f`; KUBE-SEP: hairpin masquerade, then DNAT (`recent --set` with affinity).
 * - filter: REJECT "has no endpoints", DROP "has no local endpoints",
 *   KUBE-PROXY-FIREWALL drops for source-range-filtered LoadBalancer IPs,
 *   health-check node ports, KUBE-FORWARD, and (localhostNodePorts) KUBE-FIREWALL.
 * - Large-cluster mode (> 1000 endpoints): SEP/SVC rules lose their comments.
 * - Partial sync: only the per-service chains of changed services are written;
 *   stale KUBE-SVC/SVL/EXT/FW/SEP chains are flushed and deleted (`-X`).
 *
 * Layout: upstream iterates services in Go map order, so the byte order of its
 * output varies between runs; its tests compare after `sortIPTablesRules`. We emit
 * that canonical order directly: per table KUBE-NODEPORTS, KUBE-SERVICES, then the
 * other chains alphabetically (filter: KUBE-EXTERNAL-SERVICES, KUBE-FIREWALL,
 * KUBE-FORWARD, KUBE-PROXY-FIREWALL), each chain's rules together, services by name.
 *
 * - nfacct counters (when kube-proxy ensured them): the INVALID drop and localhost
 *   NodePort rules carry `-m nfacct`; --nodeport-addresses narrows the NodePort jump.
 *
 * Not modelled: topology hints, IPv6 (addresses of that family are ignored).
 */
import type { EndpointInfo, ServicePortInfo } from '../service-port.ts';
import { categorizeEndpoints, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.ts';
import type { EndpointsMap, ServicePortMap } from '../change-tracker.ts';
import { withoutLocality } from '../change-tracker.ts';
import { endpointChain, isServiceChainName, servicePortChain } from './chain-names.ts';
import { canonicalIPv4CIDR } from '../ip-family.ts';
import type { FragmentOp, RuleFragment, RuleFragments } from './rule-fragments.ts';

export interface IptablesRulesOptions {
  /** --cluster-cidr (the ClusterCIDR local-traffic detector); without it and without masqueradeAll, no ClusterIP masquerade rule. */
  readonly clusterCIDR?: string;
  readonly masqueradeAll?: boolean;
  /** --iptables-masquerade-bit (default 14 → mark 0x4000). */
  readonly masqueradeBit?: number;
  /** --iptables-localhost-nodeports (default true): KUBE-FIREWALL's anti-martian rule; false adds `! -d 127.0.0.0/8` to the NodePort jump. */
  readonly localhostNodePorts?: boolean;
  /** MASQUERADE --random-fully (iptables ≥ 1.6.2; default true). */
  readonly randomFully?: boolean;
  /** nf_conntrack_tcp_be_liberal=1: no INVALID drop in KUBE-FORWARD. */
  readonly conntrackTCPLiberal?: boolean;
  /** The node's IP: LoadBalancer source ranges that contain it also admit traffic from the LB IP itself. */
  readonly nodeIP?: string;
  /** Endpoint-chain count above which comments are dropped (upstream largeClusterEndpointsThreshold). */
  readonly largeClusterThreshold?: number;
  /**
   * --nodeport-addresses: IPv4 CIDRs (other families ignored) or "primary" (the node's
   * IP). Unset, empty or containing 0.0.0.0/0: NodePorts on every local address
   * (`-m addrtype --dst-type LOCAL`); otherwise one `-d IP -j KUBE-NODEPORTS` per node
   * address inside them (upstream NodePortAddresses.GetNodeIPs).
   */
  readonly nodePortAddresses?: readonly string[];
  /** The node's local IPv4 addresses, 127.0.0.1 included (what GetNodeIPs matches nodePortAddresses against). */
  readonly nodeIPs?: readonly string[];
  /**
   * The nfacct counters kube-proxy ensured (metrics.*NFAcctCounter); each adds its
   * `-m nfacct` rule, as upstream does when the kernel has nfacct.
   */
  readonly nfacctCounters?: readonly string[];
}

/** upstream metrics.IPTablesCTStateInvalidDroppedNFAcctCounter. */
export const NFACCT_CT_STATE_INVALID_DROPPED = 'ct_state_invalid_dropped_pkts';
/** upstream metrics.LocalhostNodePortAcceptedNFAcctCounter. */
export const NFACCT_LOCALHOST_NODEPORTS_ACCEPTED = 'localhost_nps_accepted_pkts';
export const NFACCT_COUNTERS: readonly string[] = [NFACCT_CT_STATE_INVALID_DROPPED, NFACCT_LOCALHOST_NODEPORTS_ACCEPTED];

/**
 * upstream NodePortAddresses for IPv4: whether NodePorts match every local address,
 * whether 127.0.0.1 is among the NodePort addresses, and otherwise the node
 * addresses the `-d` rules name (sorted; upstream's order is a Go map's).
 */
export function nodePortDestinations(opts: Pick<IptablesRulesOptions, 'nodePortAddresses' | 'nodeIPs' | 'nodeIP'>): { matchAll: boolean; ipv4Loopback: boolean; ips: string[] } {
  const cidrs: string[] = [];
  for (const a of opts.nodePortAddresses ?? []) {
    if (a === 'primary') {
      if (opts.nodeIP !== undefined) cidrs.push(`${opts.nodeIP}/32`);
      continue;
    }
    const c = canonicalIPv4CIDR(a);
    if (c !== undefined) cidrs.push(c);
  }
  if (cidrs.length === 0 || cidrs.includes('0.0.0.0/0')) return { matchAll: true, ipv4Loopback: true, ips: [] };
  const ips = new Set<string>();
  for (const ip of opts.nodeIPs ?? []) if (cidrs.some((c) => cidrContains(c, ip))) ips.add(ip);
  return { matchAll: false, ipv4Loopback: cidrs.some((c) => cidrContains(c, '127.0.0.1')), ips: [...ips].sort() };
}

export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export interface JumpRule {
  readonly table: 'filter' | 'nat';
  /** The built-in chain the jump is prepended to. */
  readonly chain: string;
  /** The kube chain it jumps to. */
  readonly target: string;
  /** Rule spec as iptables-save prints it (after `-A CHAIN `). */
  readonly spec: string;
}

function jump(table: 'filter' | 'nat', chain: string, target: string, comment: string, ctNew: boolean): JumpRule {
  const parts = [ctNew ? '-m conntrack --ctstate NEW' : '', comment !== '' ? `-m comment --comment "${comment}"` : '', `-j ${target}`].filter((s) => s !== '');
  return { table, chain, target, spec: parts.join(' ') };
}

/** upstream iptablesJumpChains, in the order kube-proxy ensures them (each prepended). */
export const JUMP_RULES: readonly JumpRule[] = [
  jump('filter', 'INPUT', 'KUBE-EXTERNAL-SERVICES', 'kubernetes externally-visible service portals', true),
  jump('filter', 'FORWARD', 'KUBE-EXTERNAL-SERVICES', 'kubernetes externally-visible service portals', true),
  jump('filter', 'INPUT', 'KUBE-NODEPORTS', 'kubernetes health check service ports', false),
  jump('filter', 'FORWARD', 'KUBE-SERVICES', 'kubernetes service portals', true),
  jump('filter', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals', true),
  jump('filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules', false),
  jump('filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', true),
  jump('filter', 'OUTPUT', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', true),
  jump('filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', true),
  jump('nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals', false),
  jump('nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals', false),
  jump('nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules', false),
];

/** upstream iptablesKubeletJumpChains: kubelet's KUBE-FIREWALL, duplicated by kube-proxy (no comment). */
export const KUBELET_JUMP_RULES: readonly JumpRule[] = [
  jump('filter', 'INPUT', 'KUBE-FIREWALL', '', false),
  jump('filter', 'OUTPUT', 'KUBE-FIREWALL', '', false),
];

/** The `iptables-restore --noflush` input that ensures missing chains and prepends missing jumps. */
export function jumpRulesRestore(rules: readonly JumpRule[], existing: { hasChain(table: string, chain: string): boolean; hasRule(table: string, chain: string, spec: string): boolean }): string {
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const mine = rules.filter((r) => r.table === table);
    const chains = [...new Set(mine.map((r) => r.target))].filter((c) => !existing.hasChain(table, c));
    const inserts = mine.filter((r) => !existing.hasRule(table, r.chain, r.spec)).map((r) => `-I ${r.chain} 1 ${r.spec}`);
    if (chains.length === 0 && inserts.length === 0) continue;
    out.push(`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...inserts, 'COMMIT');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** kube-proxy's computeProbability: `%0.10f` of 1/n. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

const probabilities: string[] = [];
function cachedProbability(n: number): string {
  let p = probabilities[n];
  if (p === undefined) {
    p = probability(n);
    probabilities[n] = p;
  }
  return p;
}

export interface RulesInput {
  readonly services: ServicePortMap;
  readonly endpoints: EndpointsMap;
  /** "namespace/name" of services whose per-service chains are written; undefined: all (full sync). */
  readonly changed?: ReadonlySet<string>;
  /** nat chains the kernel has now; per-service ones not active any more are deleted. Undefined: no cleanup this sync. */
  readonly existingNatChains?: Iterable<string>;
  /** Service ports' rules written before, by this node or another (rule-fragments.ts); undefined: each written afresh. */
  readonly fragments?: RuleFragments;
}

export interface RulesOutput {
  readonly text: string;
  /** Every per-service nat chain the ruleset uses (written or not). */
  readonly activeNatChains: Set<string>;
  /** Stale chains deleted with -X. */
  readonly deletedChains: string[];
  readonly largeClusterMode: boolean;
  readonly totalEndpoints: number;
  /** Rule lines written per table (-A lines). */
  readonly filterRules: number;
  readonly natRules: number;
}

function ipToInt(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

/** Whether CIDR "a.b.c.d/n" contains ip. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, len] = cidr.split('/');
  const n = len === undefined ? 32 : Number(len);
  if (base === undefined || !(n >= 0 && n <= 32)) return false;
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return ((ipToInt(base) & mask) >>> 0) === ((ipToInt(ip) & mask) >>> 0);
}

/** Rules grouped by chain, chains remembered in declaration order. */
class Table {
  readonly rules = new Map<string, string[]>();
  lines = 0;
  declare(chain: string): string[] {
    let r = this.rules.get(chain);
    if (r === undefined) {
      r = [];
      this.rules.set(chain, r);
    }
    return r;
  }
  add(chain: string, rule: string): void {
    this.addLine(chain, `-A ${chain} ${rule}`);
  }
  /** Add a whole `-A CHAIN …` line. */
  addLine(chain: string, line: string): void {
    this.declare(chain).push(line);
    this.lines++;
  }
}

const NO_ENDPOINTS: readonly EndpointInfo[] = Object.freeze([]);

interface Derived {
  readonly eps: readonly EndpointInfo[];
  readonly cluster: EndpointInfo[];
  readonly local: EndpointInfo[];
  readonly allReachable: EndpointInfo[];
  readonly hasAny: boolean;
  readonly svc: string;
  readonly svl: string;
  readonly ext: string;
  readonly fw: string;
  readonly sepChains: string[];
}

/**
 * Per service port: categorized endpoints and chain names, kept while the maps hold
 * the same objects (the change trackers replace them on change), so a partial sync
 * does not redo this work for the services it does not write.
 */
const derivedCache = new WeakMap<ServicePortInfo, Derived>();
function derive(sp: ServicePortInfo, eps: readonly EndpointInfo[]): Derived {
  const hit = derivedCache.get(sp);
  if (hit !== undefined && hit.eps === eps) return hit;
  const p = sp.protocol;
  const cat = categorizeEndpoints(eps, sp);
  const d: Derived = {
    eps, ...cat,
    svc: servicePortChain('KUBE-SVC', sp.name, p), svl: servicePortChain('KUBE-SVL', sp.name, p),
    ext: servicePortChain('KUBE-EXT', sp.name, p), fw: servicePortChain('KUBE-FW', sp.name, p),
    sepChains: cat.allReachable.map((e) => endpointChain(sp.name, p, e.key)),
  };
  derivedCache.set(sp, d);
  return d;
}

/** Build the sync's restore input from the service and endpoint maps. */
export function buildRuleset(input: RulesInput, opts: IptablesRulesOptions = {}): RulesOutput {
  const markValue = 1 << (opts.masqueradeBit ?? 14);
  const mark = `0x${markValue.toString(16)}`;
  const localhostNodePorts = opts.localhostNodePorts ?? true;
  const npd = nodePortDestinations(opts);
  const nfacct = new Set(opts.nfacctCounters ?? []);
  const filter = new Table();
  const nat = new Table();
  for (const c of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES']) filter.declare(c);
  if (localhostNodePorts) filter.declare('KUBE-FIREWALL');
  for (const c of ['KUBE-FORWARD', 'KUBE-PROXY-FIREWALL']) filter.declare(c);
  for (const c of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-MARK-MASQ', 'KUBE-POSTROUTING']) nat.declare(c);

  nat.add('KUBE-POSTROUTING', `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.add('KUBE-POSTROUTING', `-j MARK --xor-mark ${mark}`);
  nat.add('KUBE-POSTROUTING', `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${opts.randomFully ?? true ? ' --random-fully' : ''}`);
  nat.add('KUBE-MARK-MASQ', `-j MARK --or-mark ${mark}`);
  if (localhostNodePorts) {
    filter.add('KUBE-FIREWALL', '-m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP');
  }

  const sorted = input.services.sorted();
  let totalEndpoints = 0;
  for (const [key] of sorted) totalEndpoints += input.endpoints.get(key)?.length ?? 0;
  const largeClusterMode = totalEndpoints > (opts.largeClusterThreshold ?? LARGE_CLUSTER_ENDPOINTS_THRESHOLD);
  const active = new Set<string>();
  const perService: string[] = [];

  // What a service port's rules depend on besides the service port, its endpoints and the node IP (see fkey below).
  const optsKey = `${largeClusterMode ? 1 : 0}${opts.masqueradeAll === true ? 1 : 0}${localhostNodePorts ? 1 : 0}${npd.ipv4Loopback ? 1 : 0}${nfacct.has(NFACCT_LOCALHOST_NODEPORTS_ACCEPTED) ? 1 : 0}${opts.clusterCIDR ?? ''}`;
  const fragments = input.fragments;
  const frags: Array<{ readonly ops: readonly FragmentOp[] }> = [];
  // The text's key (rule-fragments.ts): what the lines outside the fragments depend on, then each fragment's id.
  let textKey = fragments === undefined ? undefined
    : JSON.stringify([markValue, opts.randomFully ?? true, localhostNodePorts, npd.matchAll, npd.ips, [...nfacct].sort(), opts.conntrackTCPLiberal === true]);
  for (const [key, sp] of sorted) {
    const own = input.endpoints.get(key) ?? NO_ENDPOINTS;
    // Without a Local policy the rules do not depend on which endpoints are local: the list nodes share (change-tracker.ts).
    const eps = usesLocalEndpoints(sp) ? own : withoutLocality(own);
    const write = input.changed === undefined || input.changed.has(sp.service);
    // The node IP counts only where LoadBalancer source ranges may admit it, and only by whether one does.
    const nodeIP = opts.nodeIP;
    const ranges = sp.loadBalancerSourceRanges;
    const fkey = `${write ? 1 : 0}${optsKey}${ranges.length > 0 ? (nodeIP !== undefined && ranges.some((c) => cidrContains(c, nodeIP)) ? '|1' : '|0') : ''}`;
    let frag: { readonly ops: readonly FragmentOp[]; readonly active: readonly string[] } | undefined = fragments?.get(sp, eps, fkey);
    if (frag === undefined) {
      const ops: FragmentOp[] = [];
      const act: string[] = [];
      writeServicePort(sp, eps, write, ops, act);
      frag = fragments !== undefined ? fragments.set(sp, eps, fkey, ops, act) : { ops, active: act };
    }
    if (textKey !== undefined) textKey += `,${(frag as RuleFragment).id}`;
    frags.push(frag);
    for (const c of frag.active) active.add(c);
  }

  const deletedChains: string[] = [];
  if (input.existingNatChains !== undefined) {
    for (const c of input.existingNatChains) if (isServiceChainName(c) && !active.has(c)) deletedChains.push(c);
    deletedChains.sort();
  }
  if (textKey !== undefined) {
    textKey += `|${deletedChains.join(' ')}`;
    const had = (fragments as RuleFragments).text(textKey);
    if (had !== undefined) return { text: had.text, activeNatChains: active, deletedChains, largeClusterMode, totalEndpoints, filterRules: had.filterRules, natRules: had.natRules };
  }

  for (const frag of frags) {
    for (const op of frag.ops) {
      if (op[0] === 0) {
        if (!nat.rules.has(op[1])) perService.push(op[1]);
        nat.declare(op[1]);
      } else (op[0] === 1 ? nat : filter).addLine(op[1], op[2]);
    }
  }

  /** Write one service port's rules as steps (`ops`) and the chains it uses (`act`): what the loop above replays. */
  function writeServicePort(sp: ServicePortInfo, eps: readonly EndpointInfo[], write: boolean, ops: FragmentOp[], act: string[]): void {
    const nat = { add: (chain: string, rule: string): void => void ops.push([1, chain, `-A ${chain} ${rule}`]) };
    const filter = { add: (chain: string, rule: string): void => void ops.push([2, chain, `-A ${chain} ${rule}`]) };
    const active = { add: (chain: string): void => void act.push(chain) };
    const p = sp.protocol;
    const pm = `-m ${p} -p ${p}`;
    const name = sp.name;
    const d = derive(sp, eps);
    const { cluster, local, allReachable, hasAny } = d;
    const { svc, svl, ext, fw } = d;
    const usesClusterChain = cluster.length > 0 && usesClusterEndpoints(sp);
    const usesLocalChain = local.length > 0 && usesLocalEndpoints(sp);
    const internalChain = sp.internalPolicyLocal ? svl : svc;
    const hasInternal = hasAny && (!sp.internalPolicyLocal || local.length > 0);
    const externalPolicyChain = sp.externalPolicyLocal ? svl : svc;
    const hasExternal = hasAny && (!sp.externalPolicyLocal || local.length > 0);
    const usesExt = hasAny && externallyAccessible(sp);
    const usesFW = hasAny && sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const lbChain = usesFW ? fw : ext;
    let iTarget = '';
    let iComment = '';
    let eTarget = '';
    let eComment = '';
    if (!hasAny) {
      iTarget = eTarget = 'REJECT';
      iComment = eComment = `"${name} has no endpoints"`;
    } else {
      if (!hasInternal) {
        iTarget = 'DROP';
        iComment = `"${name} has no local endpoints"`;
      }
      if (!hasExternal) {
        eTarget = 'DROP';
        eComment = `"${name} has no local endpoints"`;
      }
    }
    const dport = `--dport ${sp.port}`;
    if (hasInternal) nat.add('KUBE-SERVICES', `-m comment --comment "${name} cluster IP" ${pm} -d ${sp.clusterIP} ${dport} -j ${internalChain}`);
    else filter.add('KUBE-SERVICES', `-m comment --comment ${iComment} ${pm} -d ${sp.clusterIP} ${dport} -j ${iTarget}`);
    for (const ip of sp.externalIPs) {
      if (hasAny) nat.add('KUBE-SERVICES', `-m comment --comment "${name} external IP" ${pm} -d ${ip} ${dport} -j ${ext}`);
      if (!hasExternal) filter.add('KUBE-EXTERNAL-SERVICES', `-m comment --comment ${eComment} ${pm} -d ${ip} ${dport} -j ${eTarget}`);
    }
    for (const ip of sp.loadBalancerIPs) {
      if (hasAny) nat.add('KUBE-SERVICES', `-m comment --comment "${name} loadbalancer IP" ${pm} -d ${ip} ${dport} -j ${lbChain}`);
      if (usesFW) filter.add('KUBE-PROXY-FIREWALL', `-m comment --comment "${name} traffic not accepted by ${fw}" ${pm} -d ${ip} ${dport} -j DROP`);
    }
    if (!hasExternal) {
      for (const ip of sp.loadBalancerIPs) filter.add('KUBE-EXTERNAL-SERVICES', `-m comment --comment ${eComment} ${pm} -d ${ip} ${dport} -j ${eTarget}`);
    }
    if (sp.nodePort !== 0) {
      // Localhost NodePorts are counted (upstream: only when IPv4 and localhostNodePorts and 127.0.0.1 is a NodePort address).
      if (hasAny && localhostNodePorts && npd.ipv4Loopback && nfacct.has(NFACCT_LOCALHOST_NODEPORTS_ACCEPTED)) {
        nat.add('KUBE-NODEPORTS', `-m comment --comment ${name} ${pm} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NODEPORTS_ACCEPTED} -j ${ext}`);
      }
      if (hasAny) nat.add('KUBE-NODEPORTS', `-m comment --comment ${name} ${pm} --dport ${sp.nodePort} -j ${ext}`);
      if (!hasExternal) filter.add('KUBE-EXTERNAL-SERVICES', `-m comment --comment ${eComment} -m addrtype --dst-type LOCAL ${pm} --dport ${sp.nodePort} -j ${eTarget}`);
    }
    if (sp.healthCheckNodePort !== 0) {
      filter.add('KUBE-NODEPORTS', `-m comment --comment "${name} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`);
    }

    if (usesExt) active.add(ext);
    if (usesFW) active.add(fw);
    if (usesClusterChain) active.add(svc);
    if (usesLocalChain) active.add(svl);
    for (const c of d.sepChains) active.add(c);
    if (!write) return;

    const declare = (chain: string): void => void ops.push([0, chain]);
    if (usesClusterChain) declare(svc);
    if (usesLocalChain) declare(svl);
    if (usesExt) declare(ext);
    if (usesFW) declare(fw);

    if (hasInternal) {
      const args = `-m comment --comment "${name} cluster IP" ${pm} -d ${sp.clusterIP} ${dport}`;
      if (opts.masqueradeAll === true) nat.add(internalChain, `${args} -j KUBE-MARK-MASQ`);
      else if (opts.clusterCIDR !== undefined) nat.add(internalChain, `${args} ! -s ${opts.clusterCIDR} -j KUBE-MARK-MASQ`);
    }
    if (usesExt) {
      if (!sp.externalPolicyLocal) {
        nat.add(ext, `-m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`);
      } else {
        if (opts.clusterCIDR !== undefined) nat.add(ext, `-m comment --comment "pod traffic for ${name} external destinations" -s ${opts.clusterCIDR} -j ${svc}`);
        nat.add(ext, `-m comment --comment "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
        nat.add(ext, `-m comment --comment "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${svc}`);
      }
      if (hasExternal) nat.add(ext, `-j ${externalPolicyChain}`);
    }
    if (usesFW) {
      let allowFromNode = false;
      for (const cidr of sp.loadBalancerSourceRanges) {
        nat.add(fw, `-m comment --comment "${name} loadbalancer IP" -s ${cidr} -j ${ext}`);
        if (opts.nodeIP !== undefined && cidrContains(cidr, opts.nodeIP)) allowFromNode = true;
      }
      if (allowFromNode) for (const ip of sp.loadBalancerIPs) nat.add(fw, `-m comment --comment "${name} loadbalancer IP" -s ${ip} -j ${ext}`);
      nat.add(fw, `-m comment --comment "other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"`);
    }
    if (usesClusterChain) writeServiceToEndpointRules(nat, sp, svc, cluster);
    if (usesLocalChain) writeServiceToEndpointRules(nat, sp, svl, local);
    for (const e of allReachable) {
      const sep = endpointChain(name, p, e.key);
      declare(sep);
      const c = largeClusterMode ? '' : `-m comment --comment ${name} `;
      nat.add(sep, `${c}-s ${e.ip} -j KUBE-MARK-MASQ`);
      const affinity = sp.stickyMaxAgeSeconds !== undefined ? `-m recent --name ${sep} --set ` : '';
      nat.add(sep, `${c}${affinity}${pm} -j DNAT --to-destination ${e.key}`);
    }
  }

  function writeServiceToEndpointRules(nat: { add(chain: string, rule: string): void }, sp: ServicePortInfo, chain: string, eps: readonly EndpointInfo[]): void {
    const p = sp.protocol;
    const comment = (e: EndpointInfo): string => (largeClusterMode ? '' : `-m comment --comment "${sp.name} -> ${e.key}" `);
    if (sp.stickyMaxAgeSeconds !== undefined) {
      for (const e of eps) {
        const sep = endpointChain(sp.name, p, e.key);
        nat.add(chain, `${comment(e)}-m recent --name ${sep} --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j ${sep}`);
      }
    }
    const n = eps.length;
    for (let i = 0; i < n; i++) {
      const e = eps[i] as EndpointInfo;
      const sep = endpointChain(sp.name, p, e.key);
      const stat = i < n - 1 ? `-m statistic --mode random --probability ${cachedProbability(n - i)} ` : '';
      nat.add(chain, `${comment(e)}${stat}-j ${sep}`);
    }
  }

  for (const c of deletedChains) if (!nat.rules.has(c)) perService.push(c);

  const lastRule = '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
  if (npd.matchAll) nat.add('KUBE-SERVICES', `${lastRule} -m addrtype --dst-type LOCAL ${localhostNodePorts ? '' : '! -d 127.0.0.0/8 '}-j KUBE-NODEPORTS`);
  else {
    // Loopback is skipped when localhost NodePorts are off (upstream logs an error and moves on).
    for (const ip of npd.ips) if (localhostNodePorts || !ip.startsWith('127.')) nat.add('KUBE-SERVICES', `${lastRule} -d ${ip} -j KUBE-NODEPORTS`);
  }
  if (opts.conntrackTCPLiberal !== true) {
    filter.add('KUBE-FORWARD', `-m conntrack --ctstate INVALID ${nfacct.has(NFACCT_CT_STATE_INVALID_DROPPED) ? `-m nfacct --nfacct-name ${NFACCT_CT_STATE_INVALID_DROPPED} ` : ''}-j DROP`);
  }
  filter.add('KUBE-FORWARD', `-m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.add('KUBE-FORWARD', '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');

  // Canonical order: KUBE-NODEPORTS, KUBE-SERVICES, then the rest alphabetically.
  const out: string[] = ['*filter'];
  const filterChains = [...filter.rules.keys()];
  for (const c of filterChains) out.push(`:${c} - [0:0]`);
  for (const c of filterChains) for (const r of filter.rules.get(c) as string[]) out.push(r);
  out.push('COMMIT', '*nat');
  const natChains = ['KUBE-NODEPORTS', 'KUBE-SERVICES', ...['KUBE-MARK-MASQ', 'KUBE-POSTROUTING', ...perService].sort()];
  for (const c of natChains) out.push(`:${c} - [0:0]`);
  for (const c of natChains) for (const r of nat.rules.get(c) ?? []) out.push(r);
  for (const c of deletedChains) out.push(`-X ${c}`);
  out.push('COMMIT', '');
  const text = out.join('\n');
  if (textKey !== undefined) fragments?.keepText(textKey, { text, filterRules: filter.lines, natRules: nat.lines });
  return { text, activeNatChains: active, deletedChains, largeClusterMode, totalEndpoints, filterRules: filter.lines, natRules: nat.lines };
}

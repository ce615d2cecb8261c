/**
 * The iptables ruleset kube-proxy (iptables mode) writes for a set of service ports:
 * the hook jumps it installs first, and the one `iptables-restore --noflush` input of
 * a full sync (`*filter` then `*nat`), in the layout of upstream's proxier —
 * chains declared first, KUBE-SERVICES dispatch per service IP and port ending with
 * the NodePort rule, KUBE-EXT/KUBE-FW for external traffic, KUBE-SVC/KUBE-SVL with
 * the probability cascade (1/(n−i) with 10 decimals) and ClientIP affinity via
 * `recent`, KUBE-SEP with the hairpin masquerade mark and the DNAT, REJECT for
 * services without endpoints, DROP for Local policies without local endpoints.
 *
 * Not modelled yet: partial syncs (every sync is a full one), large-cluster mode's
 * dropped comments, stale-chain deletion (-X), nftables mode.
 */
import type { EndpointInfo, ServicePortInfo } from '../service-port.ts';
import { endpointChain, servicePortChain } from './chain-names.ts';

export interface ProxierOptions {
  /** --cluster-cidr: traffic to a ClusterIP from outside it is masqueraded. */
  readonly clusterCIDR?: string;
  readonly masqueradeAll?: boolean;
  /** --masquerade-bit 14 → 0x4000. */
  readonly masqueradeMark?: number;
}

export interface JumpRule {
  readonly table: 'filter' | 'nat';
  readonly chain: string;
  readonly spec: string;
}

/** upstream iptablesJumpChains, in the order kube-proxy ensures them (each prepended). */
export const JUMP_RULES: readonly JumpRule[] = [
  { table: 'filter', chain: 'INPUT', spec: '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES' },
  { table: 'filter', chain: 'FORWARD', spec: '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES' },
  { table: 'filter', chain: 'INPUT', spec: '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS' },
  { table: 'filter', chain: 'FORWARD', spec: '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' },
  { table: 'filter', chain: 'OUTPUT', spec: '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' },
  { table: 'filter', chain: 'FORWARD', spec: '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD' },
  { table: 'filter', chain: 'INPUT', spec: '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL' },
  { table: 'filter', chain: 'OUTPUT', spec: '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL' },
  { table: 'filter', chain: 'FORWARD', spec: '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL' },
  { table: 'nat', chain: 'OUTPUT', spec: '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES' },
  { table: 'nat', chain: 'PREROUTING', spec: '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES' },
  { table: 'nat', chain: 'POSTROUTING', spec: '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING' },
];

/** A comment argument as kube-proxy writes it: quoted only when it contains a space. */
function comment(text: string): string {
  return /\s/.test(text) ? `"${text}"` : text;
}

/** kube-proxy's computeProbability: `%0.10f` of 1/n. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

class Chains {
  private readonly rules = new Map<string, string[]>();
  constructor(private readonly order: string[]) {}
  declare(chain: string): void {
    if (!this.rules.has(chain)) {
      this.rules.set(chain, []);
      if (!this.order.includes(chain)) this.order.push(chain);
    }
  }
  add(chain: string, spec: string): void {
    this.declare(chain);
    (this.rules.get(chain) as string[]).push(`-A ${chain} ${spec}`);
  }
  render(table: string): string[] {
    // Fixed chains first in upstream's order, then the per-service chains sorted by name.
    const fixed = this.order.filter((c) => !/^KUBE-(SVC|SVL|EXT|FW|SEP)-/.test(c));
    const perService = [...this.rules.keys()].filter((c) => /^KUBE-(SVC|SVL|EXT|FW|SEP)-/.test(c)).sort();
    const chains = [...fixed.filter((c) => this.rules.has(c)), ...perService];
    return [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.flatMap((c) => this.rules.get(c) as string[]), 'COMMIT'];
  }
}

/** The full-sync iptables-restore input for these service ports. */
export function buildSyncRules(ports: readonly ServicePortInfo[], opts: ProxierOptions = {}): string {
  const mark = `0x${(opts.masqueradeMark ?? 0x4000).toString(16)}`;
  const filter = new Chains(['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL']);
  const nat = new Chains(['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-MARK-MASQ', 'KUBE-POSTROUTING']);
  for (const c of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL']) filter.declare(c);
  for (const c of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-MARK-MASQ', 'KUBE-POSTROUTING']) nat.declare(c);

  const sorted = [...ports].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : 1));
  for (const sp of sorted) {
    const p = sp.protocol;
    const proto = `-m ${p} -p ${p}`;
    const svcChain = servicePortChain('KUBE-SVC', sp.name, p);
    const svlChain = servicePortChain('KUBE-SVL', sp.name, p);
    const extChain = servicePortChain('KUBE-EXT', sp.name, p);
    const fwChain = servicePortChain('KUBE-FW', sp.name, p);
    const ready = sp.endpoints.filter((e) => e.ready);
    const local = ready.filter((e) => e.local);
    const hasExternal = sp.nodePort !== undefined || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
    const clusterEps = ready;
    const internalEps = sp.internalPolicyLocal ? local : ready;
    const externalEps = sp.externalPolicyLocal ? local : ready;
    const usesSvl = sp.internalPolicyLocal || sp.externalPolicyLocal;

    // Dispatch from KUBE-SERVICES / KUBE-NODEPORTS, or REJECT/DROP in filter.
    if (internalEps.length > 0) {
      nat.add('KUBE-SERVICES', `-m comment --comment ${comment(`${sp.name} cluster IP`)} ${proto} -d ${sp.clusterIP} --dport ${sp.port} -j ${sp.internalPolicyLocal ? svlChain : svcChain}`);
    } else if (clusterEps.length === 0 || !sp.internalPolicyLocal) {
      filter.add('KUBE-SERVICES', `-m comment --comment ${comment(`${sp.name} has no endpoints`)} ${proto} -d ${sp.clusterIP} --dport ${sp.port} -j REJECT`);
    } else {
      filter.add('KUBE-SERVICES', `-m comment --comment ${comment(`${sp.name} has no local endpoints`)} ${proto} -d ${sp.clusterIP} --dport ${sp.port} -j DROP`);
    }
    if (hasExternal) {
      const extTarget = externalEps.length > 0 ? extChain : undefined;
      // External traffic arrives at INPUT/FORWARD, where KUBE-EXTERNAL-SERVICES is hooked:
      // REJECT without any endpoint, DROP when a Local policy has no local one.
      const noEps = (dst: string, what: string): void => {
        const none = clusterEps.length === 0;
        filter.add('KUBE-EXTERNAL-SERVICES', `-m comment --comment ${comment(`${sp.name} has no ${none ? '' : 'local '}endpoints`)} ${dst}${what} -j ${none ? 'REJECT' : 'DROP'}`);
      };
      for (const ip of sp.externalIPs) {
        if (extTarget !== undefined) nat.add('KUBE-SERVICES', `-m comment --comment ${comment(`${sp.name} external IP`)} ${proto} -d ${ip} --dport ${sp.port} -j ${extTarget}`);
        else noEps(`${proto} -d ${ip} --dport ${sp.port}`, '');
      }
      for (const ip of sp.loadBalancerIPs) {
        if (extTarget === undefined) noEps(`${proto} -d ${ip} --dport ${sp.port}`, '');
        else if (sp.loadBalancerSourceRanges.length > 0) {
          nat.add('KUBE-SERVICES', `-m comment --comment ${comment(`${sp.name} loadbalancer IP`)} ${proto} -d ${ip} --dport ${sp.port} -j ${fwChain}`);
          for (const src of sp.loadBalancerSourceRanges) nat.add(fwChain, `-m comment --comment ${comment(`${sp.name} loadbalancer IP`)} -s ${src} -j ${extChain}`);
          nat.add(fwChain, `-m comment --comment ${comment(`other traffic to ${sp.name} will be dropped by KUBE-PROXY-FIREWALL`)}`);
          filter.add('KUBE-PROXY-FIREWALL', `-m comment --comment ${comment(`${sp.name} traffic not accepted by ${fwChain}`)} ${proto} -d ${ip} --dport ${sp.port} -j DROP`);
        } else nat.add('KUBE-SERVICES', `-m comment --comment ${comment(`${sp.name} loadbalancer IP`)} ${proto} -d ${ip} --dport ${sp.port} -j ${extChain}`);
      }
      if (sp.nodePort !== undefined) {
        if (extTarget !== undefined) nat.add('KUBE-NODEPORTS', `-m comment --comment ${comment(sp.name)} ${proto} --dport ${sp.nodePort} -j ${extChain}`);
        else noEps('-m addrtype --dst-type LOCAL ', `${proto} --dport ${sp.nodePort}`);
      }
      if (sp.healthCheckNodePort !== undefined) filter.add('KUBE-NODEPORTS', `-m comment --comment ${comment(`${sp.name} health check node port`)} -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`);
      if (extTarget !== undefined) {
        if (!sp.externalPolicyLocal) {
          nat.add(extChain, `-m comment --comment ${comment(`masquerade traffic for ${sp.name} external destinations`)} -j KUBE-MARK-MASQ`);
          nat.add(extChain, `-j ${svcChain}`);
        } else {
          if (opts.clusterCIDR !== undefined) nat.add(extChain, `-m comment --comment ${comment(`pod traffic for ${sp.name} external destinations`)} -s ${opts.clusterCIDR} -j ${svcChain}`);
          nat.add(extChain, `-m comment --comment ${comment(`masquerade LOCAL traffic for ${sp.name} external destinations`)} -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
          nat.add(extChain, `-m comment --comment ${comment(`route LOCAL traffic for ${sp.name} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain}`);
          nat.add(extChain, `-j ${svlChain}`);
        }
      }
    }
    if (clusterEps.length === 0) continue;

    // KUBE-SVC exists when something jumps to it: Cluster internal policy, or any external path.
    const usesSvc = !sp.internalPolicyLocal || hasExternal;
    const used = new Set<string>();
    if (usesSvc) {
      // Masquerade off-cluster sources reaching the ClusterIP, affinity, then the cascade.
      const clusterIpRule = `-m comment --comment ${comment(`${sp.name} cluster IP`)} ${proto} -d ${sp.clusterIP} --dport ${sp.port}`;
      if (opts.masqueradeAll === true) nat.add(svcChain, `${clusterIpRule} -j KUBE-MARK-MASQ`);
      else if (opts.clusterCIDR !== undefined) nat.add(svcChain, `${clusterIpRule} ! -s ${opts.clusterCIDR} -j KUBE-MARK-MASQ`);
      writeCascade(nat, svcChain, sp, clusterEps);
      for (const e of clusterEps) used.add(e.key);
    }
    if (usesSvl && local.length > 0) {
      writeCascade(nat, svlChain, sp, local);
      for (const e of local) used.add(e.key);
    }

    for (const e of clusterEps.filter((x) => used.has(x.key))) {
      const sep = endpointChain(sp.name, p, e.key);
      nat.add(sep, `-m comment --comment ${comment(sp.name)} -s ${e.ip} -j KUBE-MARK-MASQ`);
      const affinity = sp.affinityTimeout !== undefined ? ` -m recent --name ${sep} --set` : '';
      nat.add(sep, `-m comment --comment ${comment(sp.name)}${affinity} ${proto} -j DNAT --to-destination ${e.key}`);
    }
  }
  nat.add('KUBE-SERVICES', '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  nat.add('KUBE-MARK-MASQ', `-j MARK --or-mark ${mark}`);
  nat.add('KUBE-POSTROUTING', `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.add('KUBE-POSTROUTING', `-j MARK --xor-mark ${mark}`);
  nat.add('KUBE-POSTROUTING', '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');
  filter.add('KUBE-FORWARD', '-m conntrack --ctstate INVALID -j DROP');
  filter.add('KUBE-FORWARD', `-m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.add('KUBE-FORWARD', '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  return [...filter.render('filter'), ...nat.render('nat'), ''].join('\n');
}

function writeCascade(nat: Chains, chain: string, sp: ServicePortInfo, eps: readonly EndpointInfo[]): void {
  const p = sp.protocol;
  if (sp.affinityTimeout !== undefined) {
    for (const e of eps) {
      const sep = endpointChain(sp.name, p, e.key);
      nat.add(chain, `-m comment --comment ${comment(`${sp.name} -> ${e.key}`)} -m recent --name ${sep} --rcheck --seconds ${sp.affinityTimeout} --reap -j ${sep}`);
    }
  }
  eps.forEach((e, i) => {
    const sep = endpointChain(sp.name, p, e.key);
    const n = eps.length - i;
    const stat = n > 1 ? ` -m statistic --mode random --probability ${probability(n)}` : '';
    nat.add(chain, `-m comment --comment ${comment(`${sp.name} -> ${e.key}`)}${stat} -j ${sep}`);
  });
}

/**
 * The iptables rules of kube-proxy's IPVS mode (upstream ipvs/proxier.go
 * writeIptablesRules): a constant number of rules matching the ipsets, written in
 * upstream's order (nat table, then filter). A set-matching rule is present only
 * while its set has entries.
 */
import type { JumpRule } from '../iptables/rules.ts';
import { ipsetInfo, KUBE_CLUSTER_IP, KUBE_EXTERNAL_IP, KUBE_EXTERNAL_IP_LOCAL, KUBE_HEALTH_CHECK_NODE_PORT, KUBE_IPVS_IPS, KUBE_LOAD_BALANCER, KUBE_LOAD_BALANCER_FW, KUBE_LOAD_BALANCER_LOCAL, KUBE_LOAD_BALANCER_SOURCE_CIDR, KUBE_LOAD_BALANCER_SOURCE_IP, KUBE_LOOP_BACK, KUBE_NODE_PORT_LOCAL_SCTP, KUBE_NODE_PORT_LOCAL_TCP, KUBE_NODE_PORT_LOCAL_UDP, KUBE_NODE_PORT_SCTP, KUBE_NODE_PORT_TCP, KUBE_NODE_PORT_UDP } from './ipsets.ts';

function jump(table: 'filter' | 'nat', chain: string, target: string, comment: string): JumpRule {
  return { table, chain, target, spec: `-m comment --comment "${comment}" -j ${target}` };
}

/** upstream iptablesJumpChain (IPVS mode), in order; each is prepended. */
export const IPVS_JUMP_RULES: readonly JumpRule[] = [
  jump('nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'),
  jump('nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'),
  jump('nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'),
  jump('filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'),
  jump('filter', 'INPUT', 'KUBE-NODE-PORT', 'kubernetes health check rules'),
  jump('filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
  jump('filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
  jump('filter', 'INPUT', 'KUBE-IPVS-FILTER', 'kubernetes ipvs access filter'),
  jump('filter', 'OUTPUT', 'KUBE-IPVS-OUT-FILTER', 'kubernetes ipvs access filter'),
];

const NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'];
const FILTER_CHAINS = ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER'];

/** upstream ipsetWithIptablesChain: set, table, from chain, target, match directions, protocol. */
const SET_JUMPS: ReadonlyArray<{ set: string; table: 'nat' | 'filter'; from: string; to: string; dirs: string; proto?: 'tcp' | 'udp' | 'sctp' }> = [
  { set: KUBE_LOOP_BACK, table: 'nat', from: 'KUBE-POSTROUTING', to: 'MASQUERADE', dirs: 'dst,dst,src' },
  { set: KUBE_LOAD_BALANCER, table: 'nat', from: 'KUBE-SERVICES', to: 'KUBE-LOAD-BALANCER', dirs: 'dst,dst' },
  { set: KUBE_LOAD_BALANCER_LOCAL, table: 'nat', from: 'KUBE-LOAD-BALANCER', to: 'RETURN', dirs: 'dst,dst' },
  { set: KUBE_NODE_PORT_LOCAL_TCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', dirs: 'dst', proto: 'tcp' },
  { set: KUBE_NODE_PORT_TCP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', dirs: 'dst', proto: 'tcp' },
  { set: KUBE_NODE_PORT_LOCAL_UDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', dirs: 'dst', proto: 'udp' },
  { set: KUBE_NODE_PORT_UDP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', dirs: 'dst', proto: 'udp' },
  { set: KUBE_NODE_PORT_LOCAL_SCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', dirs: 'dst,dst', proto: 'sctp' },
  { set: KUBE_NODE_PORT_SCTP, table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', dirs: 'dst,dst', proto: 'sctp' },
  { set: KUBE_LOAD_BALANCER_FW, table: 'filter', from: 'KUBE-PROXY-FIREWALL', to: 'KUBE-SOURCE-RANGES-FIREWALL', dirs: 'dst,dst' },
  { set: KUBE_LOAD_BALANCER_SOURCE_CIDR, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', dirs: 'dst,dst,src' },
  { set: KUBE_LOAD_BALANCER_SOURCE_IP, table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', dirs: 'dst,dst,src' },
];

export interface IpvsRulesOptions {
  readonly clusterCIDR?: string;
  readonly masqueradeAll?: boolean;
  readonly masqueradeBit?: number;
  readonly randomFully?: boolean;
}

const c = (set: string): string => `-m comment --comment "${ipsetInfo(set).comment}"`;

/** The restore input for this sync, given which sets have entries. */
export function buildIpvsRuleset(nonEmpty: (set: string) => boolean, opts: IpvsRulesOptions = {}): string {
  const mark = `0x${(1 << (opts.masqueradeBit ?? 14)).toString(16)}`;
  // Connections from localhost are dismissed first (they never reach a virtual server).
  const nat: string[] = ['-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN'];
  const filter: string[] = [];
  for (const j of SET_JUMPS) {
    if (!nonEmpty(j.set)) continue;
    const rule = `-A ${j.from} ${j.proto !== undefined ? `-p ${j.proto} ` : ''}${c(j.set)} -m set --match-set ${j.set} ${j.dirs} -j ${j.to}`;
    (j.table === 'nat' ? nat : filter).push(rule);
  }
  if (nonEmpty(KUBE_CLUSTER_IP)) {
    const args = `-A KUBE-SERVICES ${c(KUBE_CLUSTER_IP)} -m set --match-set ${KUBE_CLUSTER_IP}`;
    if (opts.masqueradeAll === true) nat.push(`${args} dst,dst -j KUBE-MARK-MASQ`);
    else if (opts.clusterCIDR !== undefined) nat.push(`${args} dst,dst ! -s ${opts.clusterCIDR} -j KUBE-MARK-MASQ`);
    else nat.push(`${args} src,dst -j KUBE-MARK-MASQ`);
  }
  const externalIPRules = (args: string): void => {
    nat.push(`${args} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${args} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (nonEmpty(KUBE_EXTERNAL_IP)) {
    const args = `-A KUBE-SERVICES ${c(KUBE_EXTERNAL_IP)} -m set --match-set ${KUBE_EXTERNAL_IP} dst,dst`;
    nat.push(`${args} -j KUBE-MARK-MASQ`);
    externalIPRules(args);
  }
  if (nonEmpty(KUBE_EXTERNAL_IP_LOCAL)) externalIPRules(`-A KUBE-SERVICES ${c(KUBE_EXTERNAL_IP_LOCAL)} -m set --match-set ${KUBE_EXTERNAL_IP_LOCAL} dst,dst`);
  nat.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  nat.push('-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ');
  filter.push('-A KUBE-SOURCE-RANGES-FIREWALL -j DROP');
  // acceptIPVSTraffic: the last rules of KUBE-SERVICES.
  for (const s of [KUBE_CLUSTER_IP, KUBE_LOAD_BALANCER]) if (nonEmpty(s)) nat.push(`-A KUBE-SERVICES -m set --match-set ${s} dst,dst -j ACCEPT`);
  filter.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.push('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  filter.push(`-A KUBE-NODE-PORT ${c(KUBE_HEALTH_CHECK_NODE_PORT)} -m set --match-set ${KUBE_HEALTH_CHECK_NODE_PORT} dst -j ACCEPT`);
  // kubernetes#72236: no host port is reachable through a Service address, only the Services' own ports.
  for (const s of [KUBE_LOAD_BALANCER, KUBE_CLUSTER_IP, KUBE_EXTERNAL_IP, KUBE_EXTERNAL_IP_LOCAL]) filter.push(`-A KUBE-IPVS-FILTER -m set --match-set ${s} dst,dst -j RETURN`);
  filter.push(`-A KUBE-IPVS-FILTER -m set --match-set ${KUBE_HEALTH_CHECK_NODE_PORT} dst -j RETURN`);
  filter.push(`-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${KUBE_IPVS_IPS} dst -j REJECT`);
  nat.push(`-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.push(`-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`);
  nat.push(`-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${opts.randomFully ?? true ? ' --random-fully' : ''}`);
  nat.push(`-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`);
  return [
    '*nat', ...NAT_CHAINS.map((ch) => `:${ch} - [0:0]`), ...nat, 'COMMIT',
    '*filter', ...FILTER_CHAINS.map((ch) => `:${ch} - [0:0]`), ...filter, 'COMMIT', '',
  ].join('\n');
}

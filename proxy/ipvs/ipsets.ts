/**
 * The ipsets of kube-proxy's IPVS mode (upstream pkg/proxy/ipvs/ipset.go): names,
 * types and comments, and the `ipset restore` input that makes the kernel's sets
 * hold exactly the entries of this sync (create -exist, then add/del the difference
 * from `ipset save`, as ipsetManager.syncIPSetEntries does).
 */
export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

export interface IpsetInfo {
  readonly name: string;
  readonly type: IpsetType;
  readonly comment: string;
}

export const KUBE_LOOP_BACK = 'KUBE-LOOP-BACK';
export const KUBE_CLUSTER_IP = 'KUBE-CLUSTER-IP';
export const KUBE_EXTERNAL_IP = 'KUBE-EXTERNAL-IP';
export const KUBE_EXTERNAL_IP_LOCAL = 'KUBE-EXTERNAL-IP-LOCAL';
export const KUBE_LOAD_BALANCER = 'KUBE-LOAD-BALANCER';
export const KUBE_LOAD_BALANCER_FW = 'KUBE-LOAD-BALANCER-FW';
export const KUBE_LOAD_BALANCER_LOCAL = 'KUBE-LOAD-BALANCER-LOCAL';
export const KUBE_LOAD_BALANCER_SOURCE_IP = 'KUBE-LOAD-BALANCER-SOURCE-IP';
export const KUBE_LOAD_BALANCER_SOURCE_CIDR = 'KUBE-LOAD-BALANCER-SOURCE-CIDR';
export const KUBE_NODE_PORT_TCP = 'KUBE-NODE-PORT-TCP';
export const KUBE_NODE_PORT_LOCAL_TCP = 'KUBE-NODE-PORT-LOCAL-TCP';
export const KUBE_NODE_PORT_UDP = 'KUBE-NODE-PORT-UDP';
export const KUBE_NODE_PORT_LOCAL_UDP = 'KUBE-NODE-PORT-LOCAL-UDP';
export const KUBE_NODE_PORT_SCTP = 'KUBE-NODE-PORT-SCTP-HASH';
export const KUBE_NODE_PORT_LOCAL_SCTP = 'KUBE-NODE-PORT-LOCAL-SCTP-HASH';
export const KUBE_HEALTH_CHECK_NODE_PORT = 'KUBE-HEALTH-CHECK-NODE-PORT';
export const KUBE_IPVS_IPS = 'KUBE-IPVS-IPS';

/** upstream ipsetInfo, in its order. */
export const IPSETS: readonly IpsetInfo[] = [
  { name: KUBE_LOOP_BACK, type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  { name: KUBE_CLUSTER_IP, type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  { name: KUBE_EXTERNAL_IP, type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  { name: KUBE_EXTERNAL_IP_LOCAL, type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  { name: KUBE_LOAD_BALANCER, type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  { name: KUBE_LOAD_BALANCER_FW, type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  { name: KUBE_LOAD_BALANCER_LOCAL, type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  { name: KUBE_LOAD_BALANCER_SOURCE_IP, type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  { name: KUBE_LOAD_BALANCER_SOURCE_CIDR, type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  { name: KUBE_NODE_PORT_TCP, type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  { name: KUBE_NODE_PORT_LOCAL_TCP, type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  { name: KUBE_NODE_PORT_UDP, type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  { name: KUBE_NODE_PORT_LOCAL_UDP, type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  // SCTP NodePorts are per node IP (bitmap:port has no protocol): hash:ip,port.
  { name: KUBE_NODE_PORT_SCTP, type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" },
  { name: KUBE_NODE_PORT_LOCAL_SCTP, type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'" },
  { name: KUBE_HEALTH_CHECK_NODE_PORT, type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { name: KUBE_IPVS_IPS, type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

export function ipsetInfo(name: string): IpsetInfo {
  const i = IPSETS.find((s) => s.name === name);
  if (i === undefined) throw new Error(`unknown kube-proxy ipset ${name}`);
  return i;
}

/**
 * The `create` line as utilipset writes it: family/hashsize/maxelem for hash sets,
 * range for bitmap:port, and no `comment` extension (the comments above name the
 * iptables rules' comments, not the sets').
 */
export function createLine(s: IpsetInfo): string {
  const opts = s.type === 'bitmap:port' ? 'range 0-65535' : 'family inet hashsize 1024 maxelem 65536';
  return `create ${s.name} ${s.type} ${opts} -exist`;
}

/** Entries per set from an `ipset save` dump. */
export function readSetEntries(save: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of save.split('\n')) {
    if (!line.startsWith('add ')) continue;
    const [, set, entry] = line.split(' ');
    if (set === undefined || entry === undefined) continue;
    let s = out.get(set);
    if (s === undefined) {
      s = new Set();
      out.set(set, s);
    }
    s.add(entry);
  }
  return out;
}

/** The restore input: every set created (-exist), stale entries deleted, new ones added. */
export function ipsetRestore(active: ReadonlyMap<string, ReadonlySet<string>>, existingSave: string): string {
  const existing = readSetEntries(existingSave);
  const dels = new Map<string, string[]>();
  const adds = new Map<string, string[]>();
  for (const s of IPSETS) {
    const want = active.get(s.name) ?? new Set<string>();
    const have = existing.get(s.name) ?? new Set<string>();
    dels.set(s.name, [...have].filter((e) => !want.has(e)));
    adds.set(s.name, [...want].filter((e) => !have.has(e)));
  }
  return ipsetRestoreDiff(dels, adds);
}

/** The restore input for known changes: every set created (-exist), then per set its deletions and additions, each sorted. */
export function ipsetRestoreDiff(dels: ReadonlyMap<string, readonly string[]>, adds: ReadonlyMap<string, readonly string[]>): string {
  const lines: string[] = [];
  for (const s of IPSETS) lines.push(createLine(s));
  for (const s of IPSETS) {
    for (const e of [...(dels.get(s.name) ?? [])].sort()) lines.push(`del ${s.name} ${e}`);
    for (const e of [...(adds.get(s.name) ?? [])].sort()) lines.push(`add ${s.name} ${e} -exist`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What the NetworkPolicy API says about one connection, computed from the objects
 * alone — the expectation the probe matrix is compared with. Deliberately independent
 * of the enforcer (policy/): its own selector matching and port resolution, written
 * from the API's documentation (networking/v1 types.go comments) and the model the
 * upstream e2e suite keeps (test/e2e/network/netpol: `Reachability` is filled by hand
 * there; here by these rules):
 *
 * - A pod is isolated for ingress (egress) when some policy in its namespace selects it
 *   and lists `Ingress` (`Egress`) in policyTypes (absent: Ingress, plus Egress when the
 *   spec has egress rules). An isolated direction allows only what the union of those
 *   policies' rules allows; a connection needs the sender's egress and the receiver's
 *   ingress.
 * - A rule matches when one of its ports matches (none listed: every port) and one of
 *   its peers matches (none listed: every source/destination). A port entry is a
 *   protocol (default TCP) and a number, a `number..endPort` range or a name, which is
 *   the destination pod's container port of that name and protocol; no port: every port
 *   of the protocol.
 * - A peer is a podSelector (pods of the policy's namespace), a namespaceSelector (every
 *   pod of the matching namespaces), both (pods matching the podSelector inside the
 *   matching namespaces), or an ipBlock (the address inside `cidr` and outside every
 *   `except`; applied to pod addresses as the e2e suite expects).
 * - hostNetwork pods are not subject to policies (their traffic is the node's).
 *
 * Not modelled: IPv6 addresses, policies of other kinds (AdminNetworkPolicy).
 */
import type { LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Protocol } from '../../control/api/index.ts';
import { Ipv4Cidr, parseIpv4 } from '../../netsim/wire/addr.ts';

export interface PolicyPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  readonly hostNetwork: boolean;
  readonly ports: ReadonlyArray<{ readonly name?: string; readonly port: number; readonly protocol: Protocol }>;
}

export interface PolicyWorld {
  readonly pods: readonly PolicyPod[];
  /** Namespace name → its labels (kubernetes.io/metadata.name included, as the API server sets it). */
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly policies: readonly NetworkPolicy[];
}

/** A label selector as metav1.LabelSelectorAsSelector reads it: every matchLabel and every expression must hold; an empty selector matches everything. */
export function selectorMatches(sel: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (sel === undefined) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In': if (!has || !(e.values ?? []).includes(value as string)) return false; break;
      case 'NotIn': if (has && (e.values ?? []).includes(value as string)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

function policyTypes(p: NetworkPolicy): readonly string[] {
  if (p.spec.policyTypes !== undefined && p.spec.policyTypes.length > 0) return p.spec.policyTypes;
  return (p.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

function portMatches(ports: readonly NetworkPolicyPort[] | undefined, dst: PolicyPod, port: number, protocol: Protocol): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((pp) => {
    if ((pp.protocol ?? 'TCP') !== protocol) return false;
    if (pp.port === undefined) return true;
    if (typeof pp.port === 'string') return dst.ports.some((cp) => cp.name === pp.port && cp.protocol === protocol && cp.port === port);
    return pp.endPort !== undefined ? port >= pp.port && port <= pp.endPort : port === pp.port;
  });
}

function ipBlockMatches(block: NonNullable<NetworkPolicyPeer['ipBlock']>, ip: string): boolean {
  const a = parseIpv4(ip);
  if (!Ipv4Cidr.parse(block.cidr).contains(a)) return false;
  return !(block.except ?? []).some((e) => Ipv4Cidr.parse(e).contains(a));
}

function peerMatches(peers: readonly NetworkPolicyPeer[] | undefined, policyNs: string, other: PolicyPod, world: PolicyWorld): boolean {
  if (peers === undefined || peers.length === 0) return true;
  return peers.some((peer) => {
    if (peer.ipBlock !== undefined) return ipBlockMatches(peer.ipBlock, other.ip);
    const nsLabels = world.namespaces.get(other.namespace) ?? { 'kubernetes.io/metadata.name': other.namespace };
    if (peer.namespaceSelector !== undefined) {
      if (!selectorMatches(peer.namespaceSelector, nsLabels)) return false;
    } else if (other.namespace !== policyNs) return false;
    return peer.podSelector === undefined || selectorMatches(peer.podSelector, other.labels);
  });
}

/** What the policies selecting a pod say about one direction (undefined from direction(): the pod is not isolated that way). */
interface DirectionVerdict {
  readonly allowed: boolean;
  /** `ns/name` of the policies that select the pod for this direction. */
  readonly policies: readonly string[];
}

function direction(world: PolicyWorld, subject: PolicyPod, other: PolicyPod, dst: PolicyPod, port: number, protocol: Protocol, dir: 'Ingress' | 'Egress'): DirectionVerdict | undefined {
  if (subject.hostNetwork) return undefined;
  const selecting = world.policies.filter((p) => (p.metadata.namespace ?? 'default') === subject.namespace && policyTypes(p).includes(dir) && selectorMatches(p.spec.podSelector, subject.labels));
  if (selecting.length === 0) return undefined;
  const allowed = selecting.some((p) => {
    const ns = p.metadata.namespace ?? 'default';
    const rules = dir === 'Ingress' ? (p.spec.ingress ?? []).map((r) => ({ ports: r.ports, peers: r.from })) : (p.spec.egress ?? []).map((r) => ({ ports: r.ports, peers: r.to }));
    return rules.some((r) => portMatches(r.ports, dst, port, protocol) && peerMatches(r.peers, ns, other, world));
  });
  return { allowed, policies: selecting.map((p) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`) };
}

/** Whether the API's semantics let `from` open a connection to `to`'s address on `port`/`protocol`. */
export function expectedReachable(world: PolicyWorld, from: PolicyPod, to: PolicyPod, port: number, protocol: Protocol): boolean {
  const egress = direction(world, from, to, to, port, protocol, 'Egress');
  if (egress !== undefined && !egress.allowed) return false;
  const ingress = direction(world, to, from, to, port, protocol, 'Ingress');
  return ingress === undefined || ingress.allowed;
}

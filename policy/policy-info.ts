/**
 * kube-router's view of the cluster's policies (network_policy_controller.go's
 * networkPolicyInfo, ingressRule, egressRule, protocolAndPort, endPoints) and
 * policy.go buildNetworkPoliciesInfo, evalPodPeer, evalIPBlockPeer,
 * processNetworkPolicyPorts and grabNamedPortFromPod: the API objects reduced to the
 * pods, ipBlocks and ports each rule allows, read from the informers' caches.
 *
 * Where upstream iterates Go maps (target pods, named ports) the order here is
 * sorted — upstream's order is random, any order is one the real controller can
 * produce. A policy whose selectors cannot be evaluated (an object that bypassed
 * validation) is skipped and reported; the others are built as usual.
 */
import type { Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Pod } from '../control/api/index.ts';
import { labelSelectorFromStruct, matchesLabels, SelectorError } from '../control/api/index.ts';
import type { ParsedLabelSelector } from '../control/api/index.ts';

export type PolicyType = 'ingress' | 'egress' | 'both';

/** podInfo: what a policy keeps of a pod. */
export interface PodInfo {
  readonly ip: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** protocolAndPort: protocol and port as the rule text uses them ('' = any). */
export interface ProtocolAndPort {
  readonly protocol: string;
  readonly port: string;
  readonly endport: string;
}

/** endPoints: a named port resolved to one number, with the IPv4 addresses of the pods that declare it. */
export interface EndPoints extends ProtocolAndPort {
  readonly ips: readonly string[];
}

export interface IngressRule {
  readonly matchAllPorts: boolean;
  readonly ports: readonly ProtocolAndPort[];
  readonly namedPorts: readonly EndPoints[];
  readonly matchAllSource: boolean;
  readonly srcPods: readonly PodInfo[];
  /** ipset entries (`cidr timeout 0 [nomatch]` words). */
  readonly srcIPBlocks: readonly (readonly string[])[];
}

export interface EgressRule {
  readonly matchAllPorts: boolean;
  readonly ports: readonly ProtocolAndPort[];
  readonly namedPorts: readonly EndPoints[];
  readonly matchAllDestinations: boolean;
  readonly dstPods: readonly PodInfo[];
  readonly dstIPBlocks: readonly (readonly string[])[];
}

export interface NetworkPolicyInfo {
  readonly name: string;
  readonly namespace: string;
  /** Pods the spec's podSelector picks, by IP. */
  readonly targetPods: ReadonlyMap<string, PodInfo>;
  /** undefined: the spec has no `ingress` (no allow rules; upstream's nil slice). */
  readonly ingressRules: readonly IngressRule[] | undefined;
  readonly egressRules: readonly EgressRule[] | undefined;
  readonly policyType: PolicyType;
}

/** The informers' caches the controller reads (its listers). */
export interface PolicyListers {
  pods(): Iterable<Pod>;
  namespaces(): Iterable<Namespace>;
  networkPolicies(): Iterable<NetworkPolicy>;
}

/** utils.go isNetPolActionable: running (not finished), has an IP, not on the host network. */
export function isNetPolActionable(pod: Pod): boolean {
  const phase = pod.status?.phase as string | undefined;
  const finished = phase === 'Failed' || phase === 'Succeeded' || phase === 'Completed';
  return !finished && (pod.status?.podIP ?? '') !== '' && pod.spec?.hostNetwork !== true;
}

/** getPodIPv4Address: the first IPv4 address of status.podIPs. */
function podIPv4(pod: Pod): string | undefined {
  return (pod.status?.podIPs ?? []).map((p) => p.ip).find((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
}

function podInfo(p: Pod): PodInfo {
  return { ip: p.status?.podIP ?? '', name: p.metadata.name ?? '', namespace: p.metadata.namespace ?? '', labels: p.metadata.labels ?? {} };
}

/** LabelSelectorAsSelector; kube-router ignores the error and gets no selector, which matches nothing useful: here it is an error. */
function selector(s: NetworkPolicy['spec']['podSelector'] | undefined): ParsedLabelSelector {
  for (const e of s?.matchExpressions ?? []) {
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) throw new SelectorError(`"${String(e.operator)}" is not a valid label selector operator`);
    if ((e.operator === 'In' || e.operator === 'NotIn') && (e.values ?? []).length === 0) throw new SelectorError(`for 'in', 'notin' operators, values set can't be empty`);
  }
  return labelSelectorFromStruct(s ?? {}) ?? [];
}

/** Sorted by namespace/name (upstream: the cache's order). */
const byKey = <T extends { metadata: { name?: string; namespace?: string } }>(a: T, b: T): number => {
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** namedPort2eps: port name → protocol → number → endpoints (pod IPs). */
type NamedPorts = Map<string, Map<string, Map<string, string[]>>>;

/** grabNamedPortFromPod: every named container port of the pod, with its IPv4 address. */
function grabNamedPorts(pod: Pod, into: NamedPorts): void {
  const ip = podIPv4(pod);
  for (const c of pod.spec?.containers ?? []) {
    for (const port of c.ports ?? []) {
      const name = port.name ?? '';
      // The API server defaults a container port's protocol to TCP.
      const protocol = port.protocol ?? 'TCP';
      let byProto = into.get(name);
      if (byProto === undefined) into.set(name, (byProto = new Map()));
      let byNum = byProto.get(protocol);
      if (byNum === undefined) byProto.set(protocol, (byNum = new Map()));
      const key = String(port.containerPort);
      const ips = byNum.get(key) ?? [];
      if (ip !== undefined) ips.push(ip);
      byNum.set(key, ips);
    }
  }
}

/** processNetworkPolicyPorts: numeric ports (endPort kept only when ≥ port) and named ports resolved through `named`. */
function processPorts(ports: readonly NetworkPolicyPort[], named: NamedPorts): { ports: ProtocolAndPort[]; namedPorts: EndPoints[] } {
  const out: ProtocolAndPort[] = [];
  const namedOut: EndPoints[] = [];
  for (const p of ports) {
    const protocol = p.protocol ?? '';
    if (p.port === undefined || p.port === null) out.push({ protocol, port: '', endport: '' });
    else if (typeof p.port === 'number') out.push({ protocol, port: String(p.port), endport: p.endPort !== undefined && p.endPort !== null && p.endPort >= p.port ? String(p.endPort) : '' });
    else {
      const byNum = named.get(String(p.port))?.get(protocol);
      if (byNum === undefined) continue;
      for (const num of [...byNum.keys()].sort((a, b) => Number(a) - Number(b))) namedOut.push({ protocol, port: num, endport: '', ips: byNum.get(num) ?? [] });
    }
  }
  return { ports: out, namedPorts: namedOut };
}

/** evalIPBlockPeer: `cidr timeout 0` (a /0 split into two /1s), then each except with `nomatch`. Only for an ipBlock-only peer. */
function ipBlockEntries(peer: NetworkPolicyPeer): string[][] {
  if (peer.podSelector != null || peer.namespaceSelector != null || peer.ipBlock == null) return [];
  const cidr = peer.ipBlock.cidr;
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr)) return [];
  const halves = (extra: string[]): string[][] => [['0.0.0.0/1', 'timeout', '0', ...extra], ['128.0.0.0/1', 'timeout', '0', ...extra]];
  const out: string[][] = cidr.endsWith('/0') ? halves([]) : [[cidr, 'timeout', '0']];
  for (const e of peer.ipBlock.except ?? []) out.push(...(e.endsWith('/0') ? halves(['nomatch']) : [[e, 'timeout', '0', 'nomatch']]));
  return out;
}

class Lister {
  private readonly podsByNs = new Map<string, Pod[]>();
  readonly namespaces: Namespace[];
  constructor(l: PolicyListers) {
    for (const p of [...l.pods()].sort(byKey)) {
      const ns = p.metadata.namespace ?? '';
      const list = this.podsByNs.get(ns) ?? [];
      list.push(p);
      this.podsByNs.set(ns, list);
    }
    this.namespaces = [...l.namespaces()].sort(byKey);
  }

  /** ListPodsByNamespaceAndLabels. */
  pods(namespace: string, sel: ParsedLabelSelector): Pod[] {
    return (this.podsByNs.get(namespace) ?? []).filter((p) => matchesLabels(sel, p.metadata.labels));
  }

  /** evalPodPeer: pods of the namespaces namespaceSelector picks (AND podSelector when both), or of the policy's namespace. */
  peerPods(policyNs: string, peer: NetworkPolicyPeer): Pod[] {
    if (peer.namespaceSelector != null) {
      const nsSel = selector(peer.namespaceSelector);
      const podSel = peer.podSelector != null ? selector(peer.podSelector) : [];
      return this.namespaces.filter((n) => matchesLabels(nsSel, n.metadata.labels)).flatMap((n) => this.pods(n.metadata.name ?? '', podSel));
    }
    if (peer.podSelector != null) return this.pods(policyNs, selector(peer.podSelector));
    return [];
  }
}

export interface BuildResult {
  readonly policies: NetworkPolicyInfo[];
  /** Policies skipped, with why (the others are enforced as usual). */
  readonly errors: Array<{ policy: string; error: string }>;
}

/** buildNetworkPoliciesInfo, one policy at a time: a malformed one is skipped and reported. */
export function buildNetworkPoliciesInfo(listers: PolicyListers): BuildResult {
  const lister = new Lister(listers);
  const policies: NetworkPolicyInfo[] = [];
  const errors: Array<{ policy: string; error: string }> = [];
  for (const policy of [...listers.networkPolicies()].sort(byKey)) {
    try {
      policies.push(buildOne(lister, policy));
    } catch (e) {
      errors.push({ policy: `${policy.metadata?.namespace ?? ''}/${policy.metadata?.name ?? ''}`, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return { policies, errors };
}

function buildOne(lister: Lister, policy: NetworkPolicy): NetworkPolicyInfo {
  const ns = policy.metadata.namespace ?? '';
  const spec = policy.spec;
  if (spec === null || typeof spec !== 'object') throw new SelectorError('spec is not an object');
  const types = Array.isArray(spec.policyTypes) ? spec.policyTypes : [];
  const ingressType = types.includes('Ingress');
  const egressType = types.includes('Egress');
  const policyType: PolicyType = ingressType && egressType ? 'both' : egressType ? 'egress' : 'ingress';
  const targetPods = new Map<string, PodInfo>();
  const ingressNamed: NamedPorts = new Map();
  for (const p of lister.pods(ns, selector(spec.podSelector))) {
    if (!isNetPolActionable(p)) continue;
    targetPods.set(p.status?.podIP ?? '', podInfo(p));
    grabNamedPorts(p, ingressNamed);
  }
  const peersOf = (peers: readonly NetworkPolicyPeer[], named?: NamedPorts): { pods: PodInfo[]; blocks: string[][] } => {
    const pods: PodInfo[] = [];
    const blocks: string[][] = [];
    for (const peer of peers) {
      for (const p of lister.peerPods(ns, peer)) {
        if (!isNetPolActionable(p)) continue;
        pods.push(podInfo(p));
        if (named !== undefined) grabNamedPorts(p, named);
      }
      blocks.push(...ipBlockEntries(peer));
    }
    return { pods, blocks };
  };
  const ingressRules = spec.ingress == null ? undefined : spec.ingress.map((r): IngressRule => {
    const from = r.from ?? [];
    const peers = from.length === 0 ? { pods: [], blocks: [] } : peersOf(from);
    const ports = r.ports ?? [];
    const pp = ports.length === 0 ? { ports: [], namedPorts: [] } : processPorts(ports, ingressNamed);
    return { matchAllSource: from.length === 0, srcPods: peers.pods, srcIPBlocks: peers.blocks, matchAllPorts: ports.length === 0, ...pp };
  });
  const egressRules = spec.egress == null ? undefined : spec.egress.map((r): EgressRule => {
    const to = r.to ?? [];
    const ports = r.ports ?? [];
    const named: NamedPorts = new Map();
    let peers: { pods: PodInfo[]; blocks: string[][] } = { pods: [], blocks: [] };
    if (to.length === 0) {
      // A rule with ports but no peers: named ports resolve through the pods of the policy's namespace.
      if (ports.some((p) => typeof p.port === 'string')) for (const p of lister.pods(ns, [])) if (isNetPolActionable(p)) grabNamedPorts(p, named);
    } else peers = peersOf(to, named);
    const pp = ports.length === 0 ? { ports: [], namedPorts: [] } : processPorts(ports, named);
    return { matchAllDestinations: to.length === 0, dstPods: peers.pods, dstIPBlocks: peers.blocks, matchAllPorts: ports.length === 0, ...pp };
  });
  return { name: policy.metadata.name ?? '', namespace: ns, targetPods: new Map([...targetPods].sort((a, b) => (a[0] < b[0] ? -1 : 1))), ingressRules, egressRules, policyType };
}

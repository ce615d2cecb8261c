/**
 * One firewall chain per local pod (pod.go syncPodFirewallChains,
 * setupPodNetpolRules, interceptPodInboundTraffic, interceptPodOutboundTraffic,
 * v2.6.3), written into the restore buffer as upstream writes it. Because each
 * jump is inserted at position 1 the chain reads, top down: the common chain
 * (INVALID drop, ESTABLISHED accept, ICMP), the node → pod ACCEPT (kubelet probes),
 * the default chain for a direction no policy covers, the policies' chains (the last
 * written first), then NFLOG and REJECT of what no rule marked 0x10000, the mark
 * reset and the 0x20000 "accepted" mark the top-level chains act on.
 *
 * Local pods are those whose status.hostIP is the node's address (upstream walks a
 * Go map; here they are sorted by namespace/name).
 */
import type { Pod } from '../control/api/index.ts';
import type { NetworkPolicyInfo, PodInfo } from './policy-info.ts';
import { isNetPolActionable } from './policy-info.ts';
import { DEFAULT_CHAINS, KUBE_NWPLCY_COMMON, KUBE_NWPLCY_DEFAULT, KUBE_ROUTER_FORWARD, KUBE_ROUTER_OUTPUT, MARK_POLICY_ACCEPT, networkPolicyChainName, podFirewallChainName } from './names.ts';

/** The comments of a pod chain that name the pod: the lookup for traces (comment → pod). */
export const podComments = {
  log: (p: { name: string; namespace: string }): string => `rule to log dropped traffic POD name:${p.name} namespace: ${p.namespace}`,
  reject: (p: { name: string; namespace: string }): string => `rule to REJECT traffic destined for POD name:${p.name} namespace: ${p.namespace}`,
  jumpTo: (p: { name: string; namespace: string }, chain: string): string => `rule to jump traffic destined to POD name:${p.name} namespace: ${p.namespace} to chain ${chain}`,
  jumpFrom: (p: { name: string; namespace: string }, chain: string): string => `rule to jump traffic from POD name:${p.name} namespace: ${p.namespace} to chain ${chain}`,
  runPolicy: (policyName: string): string => `run through nw policy ${policyName}`,
  fromLocalNode: "rule to permit the traffic traffic to pods when source is the pod's local node",
};

/** What the trace lookup needs of one pod chain. */
export interface PodChainInfo {
  readonly chain: string;
  readonly pod: PodInfo;
  /** Policies (ns/name) whose chains the pod chain runs, per direction they cover. */
  readonly ingress: readonly string[];
  readonly egress: readonly string[];
}

/** getLocalPods: actionable pods whose hostIP is one of the node's addresses, sorted by namespace/name. */
export function localPods(pods: Iterable<Pod>, nodeIPs: readonly string[]): PodInfo[] {
  const out = new Map<string, PodInfo>();
  const sorted = [...pods].sort((a, b) => {
    const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
    const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  for (const p of sorted) {
    if (!nodeIPs.includes(p.status?.hostIP ?? '') || !isNetPolActionable(p)) continue;
    const ip = p.status?.podIP ?? '';
    out.set(ip, { ip, name: p.metadata.name ?? '', namespace: p.metadata.namespace ?? '', labels: p.metadata.labels ?? {} });
  }
  return [...out.values()];
}

const line = (args: readonly string[]): string => args.join(' ');

/** syncPodFirewallChains: returns the active pod chains and what traces need to know of each. */
export function syncPodFirewallChains(policies: readonly NetworkPolicyInfo[], pods: readonly PodInfo[], version: string, out: string[]): Map<string, PodChainInfo> {
  const active = new Map<string, PodChainInfo>();
  for (const pod of pods) {
    const chain = podFirewallChainName(pod.namespace, pod.name, version);
    out.push(`:${chain}\n`);
    const covered = setupPodNetpolRules(pod, chain, policies, version, out);
    active.set(chain, { chain, pod, ...covered });
    interceptPodInboundTraffic(pod, chain, out);
    interceptPodOutboundTraffic(pod, chain, out);
    // dropUnmarkedTrafficRules (upstream skips it when the exact log line was already written).
    out.push(line(['-A', chain, '-m', 'comment', '--comment', `"${podComments.log(pod)}"`, '-m', 'mark', '!', '--mark', '0x10000/0x10000', '-j', 'NFLOG', '--nflog-group', '100', '-m', 'limit', '--limit', '10/minute', '--limit-burst', '10', '\n']));
    out.push(line(['-A', chain, '-m', 'comment', '--comment', `"${podComments.reject(pod)}"`, '-m', 'mark', '!', '--mark', '0x10000/0x10000', '-j', 'REJECT', '\n']));
    out.push(line(['-A', chain, '-j', 'MARK', '--set-mark', '0/0x10000', '\n']));
    out.push(line(['-A', chain, '-m', 'comment', '--comment', '"set mark to ACCEPT traffic that comply to network policies"', '-j', 'MARK', '--set-mark', MARK_POLICY_ACCEPT, '\n']));
  }
  return active;
}

/** setupPodNetpolRules: jumps to the pod's policies' chains, the default chain, the local-node accept and the common chain, each inserted at 1. */
function setupPodNetpolRules(pod: PodInfo, chain: string, policies: readonly NetworkPolicyInfo[], version: string, out: string[]): { ingress: string[]; egress: string[] } {
  const ingress: string[] = [];
  const egress: string[] = [];
  const ip = pod.ip;
  for (const policy of policies) {
    if (!policy.targetPods.has(ip)) continue;
    const comment = `"${podComments.runPolicy(policy.name)}"`;
    const policyChain = networkPolicyChainName(policy.namespace, policy.name, version);
    const key = `${policy.namespace}/${policy.name}`;
    if (policy.policyType === 'both') {
      ingress.push(key);
      egress.push(key);
      out.push(line(['-I', chain, '1', '-m', 'comment', '--comment', comment, '-j', policyChain, '\n']));
    } else if (policy.policyType === 'ingress') {
      ingress.push(key);
      out.push(line(['-I', chain, '1', '-d', ip, '-m', 'comment', '--comment', comment, '-j', policyChain, '\n']));
    } else {
      egress.push(key);
      out.push(line(['-I', chain, '1', '-s', ip, '-m', 'comment', '--comment', comment, '-j', policyChain, '\n']));
    }
  }
  if (ingress.length === 0) out.push(line(['-I', chain, '1', '-d', ip, '-m', 'comment', '--comment', '"run through default ingress network policy chain"', '-j', KUBE_NWPLCY_DEFAULT, '\n']));
  if (egress.length === 0) out.push(line(['-I', chain, '1', '-s', ip, '-m', 'comment', '--comment', '"run through default egress network policy chain"', '-j', KUBE_NWPLCY_DEFAULT, '\n']));
  out.push(line(['-I', chain, '1', '-m', 'comment', '--comment', `"${podComments.fromLocalNode}"`, '-m', 'addrtype', '--src-type', 'LOCAL', '-d', ip, '-j', 'ACCEPT', '\n']));
  out.push(line(['-I', chain, '1', '-m', 'comment', '--comment', '"common bi-directional traffic policy rules"', '-j', KUBE_NWPLCY_COMMON, '\n']));
  return { ingress, egress };
}

/** interceptPodInboundTraffic: routed and bridged traffic to the pod, and the node's own (OUTPUT), into its chain. */
function interceptPodInboundTraffic(pod: PodInfo, chain: string, out: string[]): void {
  const comment = `"${podComments.jumpTo(pod, chain)}"`;
  out.push(line(['-A', KUBE_ROUTER_FORWARD, '-m', 'comment', '--comment', comment, '-d', pod.ip, '-j', `${chain}\n`]));
  out.push(line(['-A', KUBE_ROUTER_OUTPUT, '-m', 'comment', '--comment', comment, '-d', pod.ip, '-j', `${chain}\n`]));
  out.push(line(['-A', KUBE_ROUTER_FORWARD, '-m', 'physdev', '--physdev-is-bridged', '-m', 'comment', '--comment', comment, '-d', pod.ip, '-j', chain, '\n']));
}

/** interceptPodOutboundTraffic: traffic from the pod, in each top-level chain and bridged, into its chain. */
function interceptPodOutboundTraffic(pod: PodInfo, chain: string, out: string[]): void {
  const comment = `"${podComments.jumpFrom(pod, chain)}"`;
  for (const [, top] of DEFAULT_CHAINS) out.push(line(['-A', top, '-m', 'comment', '--comment', comment, '-s', pod.ip, '-j', chain, '\n']));
  out.push(line(['-A', KUBE_ROUTER_FORWARD, '-m', 'physdev', '--physdev-is-bridged', '-m', 'comment', '--comment', comment, '-s', pod.ip, '-j', chain, '\n']));
}

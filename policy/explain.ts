/**
 * Rule hits in NetworkPolicy terms, for traces and flows (a netsim RuleExplainer):
 * a hit rule's comment says which pod chain or policy chain it belongs to — the
 * comments kube-router writes name the pod (`rule to REJECT traffic destined for
 * POD name:web namespace: shop`) or the policy (`… selected by policy name X
 * namespace Y`) — and the controller's last sync says the rest: which policies a pod
 * chain runs for each direction, and which policy rule a position in a policy chain
 * was written for. Nothing is parsed by special case in the kernel; this is a lookup
 * in what the controller wrote.
 *
 *   REJECT in a pod chain  → `dropped by NetworkPolicy shop/deny-all (ingress, default deny)`, reason policy-denied
 *   MARK in a policy chain → `allowed by NetworkPolicy shop/allow-web (ingress rule 1: from pods)`
 *   KUBE-NWPLCY-DEFAULT    → `allowed: no NetworkPolicy selects shop/web for egress`
 *   ESTABLISHED accept     → `allowed: established connection (conntrack), policies are not consulted`
 */
import type { NetfilterStack } from '../netsim/netfilter/netfilter-stack.ts';
import type { RuleExplainer, RuleExplanation, RuleHitView } from '../netsim/netfilter/rule-explain.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import type { PolicySyncResult } from './controller.ts';
import type { NetworkPolicyController } from './controller.ts';
import type { PodChainInfo } from './pod-chains.ts';
import { podComments } from './pod-chains.ts';
import type { RuleKind, WrittenRule } from './policy-chains.ts';
import { KUBE_NWPLCY_COMMON, KUBE_NWPLCY_DEFAULT } from './names.ts';
import { EXPLICIT_ACCEPT_COMMENT } from './top-level.ts';

const KIND_WORDS: Record<RuleKind, string> = {
  'from-pods': 'from pods', 'from-all': 'from anywhere', 'from-ipblocks': 'from ipBlock',
  'to-pods': 'to pods', 'to-all': 'to anywhere', 'to-ipblocks': 'to ipBlock',
};

const POLICY_COMMENT = /^rule to ACCEPT traffic (?:from source pods to dest pods|from all sources to dest pods|from specified ipBlocks to dest pods|from source pods to all destinations|from source pods to specified ipBlocks) selected by policy name:? (\S+) namespace (\S+)$/;

const names = (list: readonly string[]): string => `${list.length === 1 ? 'NetworkPolicy' : 'NetworkPolicies'} ${list.join(', ')}`;

/** The lookup tables of one sync. */
class SyncIndex {
  /** Pod chain comments (reject, log) → the chain's info. */
  readonly byComment = new Map<string, { what: 'reject' | 'log'; chain: PodChainInfo }>();
  readonly byPodIp = new Map<string, PodChainInfo>();

  constructor(readonly sync: PolicySyncResult) {
    for (const info of sync.podChains.values()) {
      this.byComment.set(podComments.reject(info.pod), { what: 'reject', chain: info });
      this.byComment.set(podComments.log(info.pod), { what: 'log', chain: info });
      this.byPodIp.set(info.pod.ip, info);
    }
  }

  /** The direction a pod chain judged the packet in: ingress when the pod is the destination. */
  direction(info: PodChainInfo, hit: RuleHitView): 'ingress' | 'egress' {
    return formatIpv4(hit.dst) === info.pod.ip ? 'ingress' : 'egress';
  }

  explain(hit: RuleHitView): RuleExplanation | undefined {
    const c = hit.comment;
    if (c === undefined) return undefined;
    const pod = this.byComment.get(c);
    if (pod !== undefined) {
      const dir = this.direction(pod.chain, hit);
      const by = dir === 'ingress' ? pod.chain.ingress : pod.chain.egress;
      const who = `${pod.chain.pod.namespace}/${pod.chain.pod.name}`;
      if (pod.what === 'log') return { text: `logged to NFLOG group 100: no rule of ${by.length > 0 ? names(by) : 'any NetworkPolicy'} allows this ${dir} of ${who}` };
      return { text: `dropped by ${by.length > 0 ? names(by) : 'NetworkPolicy'} (${dir}, default deny)`, dropReason: 'policy-denied' };
    }
    const m = POLICY_COMMENT.exec(c);
    if (m !== null) {
      // Rule 2k+1 is the MARK of the k-th allow written into this chain, rule 2k+2 its RETURN.
      if (hit.rule % 2 === 0) return undefined;
      const w: WrittenRule | undefined = this.sync.policyRules.get(hit.chain)?.[(hit.rule - 1) / 2];
      if (w === undefined) return { text: `allowed by NetworkPolicy ${m[2] as string}/${m[1] as string}` };
      return { text: `allowed by NetworkPolicy ${w.policy} (${w.direction} rule ${w.ruleIndex + 1}: ${KIND_WORDS[w.kind]})` };
    }
    if (hit.chain === KUBE_NWPLCY_DEFAULT) {
      const dst = this.byPodIp.get(formatIpv4(hit.dst));
      const src = this.byPodIp.get(formatIpv4(hit.src));
      const [info, dir] = dst !== undefined && dst.ingress.length === 0 ? [dst, 'ingress'] : [src, 'egress'];
      return info !== undefined ? { text: `allowed: no NetworkPolicy selects ${info.pod.namespace}/${info.pod.name} for ${dir}` } : { text: 'allowed: no NetworkPolicy applies' };
    }
    if (hit.chain === KUBE_NWPLCY_COMMON && c === '"rule for stateful firewall for pod"') return { text: 'allowed: established connection (conntrack), policies are not consulted' };
    if (c === EXPLICIT_ACCEPT_COMMENT) return { text: 'accepted: the pod firewall chains allowed it (mark 0x20000)' };
    if (c === podComments.fromLocalNode) return { text: 'allowed: from the pod\'s own node (kubelet probes)' };
    return undefined;
  }
}

/**
 * Register the controller's explainer on the node's netfilter; it answers from the
 * controller's last successful sync. Returns the explainer (to unregister it).
 */
export function registerPolicyExplainer(nf: NetfilterStack, controller: NetworkPolicyController): RuleExplainer {
  let index: SyncIndex | undefined;
  const explainer: RuleExplainer = (hit) => {
    const last = controller.last;
    if (last === undefined) return undefined;
    if (index?.sync !== last) index = new SyncIndex(last);
    return index.explain(hit);
  };
  nf.explainers.push(explainer);
  return explainer;
}

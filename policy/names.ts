/**
 * kube-router's chain, ipset and mark names (pkg/controllers/netpol, v2.6.3):
 * network_policy_controller.go's constants, pod.go podFirewallChainName and
 * policy.go's networkPolicyChainName and policy*IPSetName functions — a prefix and
 * the first 16 characters of base32(sha256(…)) of the same concatenations, so the
 * names are the real controller's. Only IPv4 is modelled: the family string in the
 * hashes is "IPv4" and set names carry no `inet6:` prefix.
 */
import { sha256Base32x16 } from '../netsim/tools/base32.ts';

export const KUBE_POD_FW_PREFIX = 'KUBE-POD-FW-';
export const KUBE_NWPLCY_PREFIX = 'KUBE-NWPLCY-';
export const KUBE_SRC_PREFIX = 'KUBE-SRC-';
export const KUBE_DST_PREFIX = 'KUBE-DST-';
export const KUBE_ROUTER_INPUT = 'KUBE-ROUTER-INPUT';
export const KUBE_ROUTER_FORWARD = 'KUBE-ROUTER-FORWARD';
export const KUBE_ROUTER_OUTPUT = 'KUBE-ROUTER-OUTPUT';
export const KUBE_NWPLCY_DEFAULT = 'KUBE-NWPLCY-DEFAULT';
export const KUBE_NWPLCY_COMMON = 'KUBE-NWPLCY-COMMON';

/** defaultChains: built-in chain → kube-router's top-level chain, in Go's declaration order. */
export const DEFAULT_CHAINS: ReadonlyArray<readonly [string, string]> = [['INPUT', KUBE_ROUTER_INPUT], ['FORWARD', KUBE_ROUTER_FORWARD], ['OUTPUT', KUBE_ROUTER_OUTPUT]];

/** Set by a policy rule (or the default chain) that accepts the packet: "matched a policy". */
export const MARK_POLICY_MATCH = '0x10000/0x10000';
/** Set at the end of a pod firewall chain: the top-level chains ACCEPT what carries it. */
export const MARK_POLICY_ACCEPT = '0x20000/0x20000';

/** v1core.IPv4Protocol as it enters the hashes. */
const IPV4 = 'IPv4';

/** podFirewallChainName: sha256(namespace + podName + version). */
export function podFirewallChainName(namespace: string, podName: string, version: string): string {
  return KUBE_POD_FW_PREFIX + sha256Base32x16(namespace + podName + version);
}

/** networkPolicyChainName: sha256(namespace + policyName + version + family). */
export function networkPolicyChainName(namespace: string, policyName: string, version: string): string {
  return KUBE_NWPLCY_PREFIX + sha256Base32x16(namespace + policyName + version + IPV4);
}

/** policySourcePodIPSetName: the pods a policy selects, as sources (egress). */
export function policySourcePodIPSetName(namespace: string, policyName: string): string {
  return KUBE_SRC_PREFIX + sha256Base32x16(namespace + policyName + IPV4);
}

/** policyDestinationPodIPSetName: the pods a policy selects, as destinations (ingress). */
export function policyDestinationPodIPSetName(namespace: string, policyName: string): string {
  return KUBE_DST_PREFIX + sha256Base32x16(namespace + policyName + IPV4);
}

/** policyIndexedSourcePodIPSetName: the peer pods of ingress rule `rule`. */
export function policyIndexedSourcePodIPSetName(namespace: string, policyName: string, rule: number): string {
  return KUBE_SRC_PREFIX + sha256Base32x16(`${namespace}${policyName}ingressrule${rule}${IPV4}pod`);
}

/** policyIndexedDestinationPodIPSetName: the peer pods of egress rule `rule`. */
export function policyIndexedDestinationPodIPSetName(namespace: string, policyName: string, rule: number): string {
  return KUBE_DST_PREFIX + sha256Base32x16(`${namespace}${policyName}egressrule${rule}${IPV4}pod`);
}

/** policyIndexedSourceIPBlockIPSetName: the ipBlocks of ingress rule `rule` (hash:net). */
export function policyIndexedSourceIPBlockIPSetName(namespace: string, policyName: string, rule: number): string {
  return KUBE_SRC_PREFIX + sha256Base32x16(`${namespace}${policyName}ingressrule${rule}${IPV4}ipblock`);
}

/** policyIndexedDestinationIPBlockIPSetName: the ipBlocks of egress rule `rule` (hash:net). */
export function policyIndexedDestinationIPBlockIPSetName(namespace: string, policyName: string, rule: number): string {
  return KUBE_DST_PREFIX + sha256Base32x16(`${namespace}${policyName}egressrule${rule}${IPV4}ipblock`);
}

/** policyIndexedIngressNamedPortIPSetName: the pods behind named port `port` of ingress rule `rule`. */
export function policyIndexedIngressNamedPortIPSetName(namespace: string, policyName: string, rule: number, port: number): string {
  return KUBE_DST_PREFIX + sha256Base32x16(`${namespace}${policyName}ingressrule${rule}${port}${IPV4}namedport`);
}

/** policyIndexedEgressNamedPortIPSetName: the pods behind named port `port` of egress rule `rule`. */
export function policyIndexedEgressNamedPortIPSetName(namespace: string, policyName: string, rule: number, port: number): string {
  return KUBE_DST_PREFIX + sha256Base32x16(`${namespace}${policyName}egressrule${rule}${port}${IPV4}namedport`);
}

/**
 * ensureTopLevelChains' addUUIDForRuleSpec: the hash of chain + the rule's words
 * joined without separator, appended to the rule's comment as ` - HASH` (the rule's
 * identity when kube-router looks for it again).
 */
export function ruleUuid(chain: string, ruleSpec: readonly string[]): string {
  return sha256Base32x16(chain + ruleSpec.join(''));
}

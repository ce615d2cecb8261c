/**
 * One chain per policy (policy.go syncNetworkPolicyChains, processIngressRules,
 * processEgressRules, appendRuleToPolicyChain, v2.6.3): the policy's target pods in
 * KUBE-DST-/KUBE-SRC- sets, each rule's peers in indexed sets (pods: hash:ip,
 * ipBlocks: hash:net with `nomatch` excepts, named ports: the pods behind each
 * number), and per allowed (peer, port) pair two rules — MARK 0x10000, then RETURN
 * when marked. The text is what upstream writes into its restore buffer, byte for
 * byte (comments in double quotes, a space before each newline).
 */
import type { NetworkPolicyInfo, ProtocolAndPort } from './policy-info.ts';
import type { IpsetHandler } from './ipset-handler.ts';
import {
  MARK_POLICY_MATCH, networkPolicyChainName, policyDestinationPodIPSetName, policyIndexedDestinationIPBlockIPSetName, policyIndexedDestinationPodIPSetName,
  policyIndexedEgressNamedPortIPSetName, policyIndexedIngressNamedPortIPSetName, policyIndexedSourceIPBlockIPSetName, policyIndexedSourcePodIPSetName,
  policySourcePodIPSetName,
} from './names.ts';

const TYPE_HASH_IP = 'hash:ip';
const TYPE_HASH_NET = 'hash:net';

/** What a rule comment says about the rule (the lookup traces use: comment → policy). */
export type RuleKind = 'from-pods' | 'from-all' | 'from-ipblocks' | 'to-pods' | 'to-all' | 'to-ipblocks';

/** The comments appendRuleToPolicyChain's callers write, by kind. */
export function ruleComment(kind: RuleKind, policy: { name: string; namespace: string }): string {
  switch (kind) {
    case 'from-pods':
    case 'to-pods': return `rule to ACCEPT traffic from source pods to dest pods selected by policy name ${policy.name} namespace ${policy.namespace}`;
    case 'from-all': return `rule to ACCEPT traffic from all sources to dest pods selected by policy name: ${policy.name} namespace ${policy.namespace}`;
    case 'from-ipblocks': return `rule to ACCEPT traffic from specified ipBlocks to dest pods selected by policy name: ${policy.name} namespace ${policy.namespace}`;
    case 'to-all': return `rule to ACCEPT traffic from source pods to all destinations selected by policy name: ${policy.name} namespace ${policy.namespace}`;
    case 'to-ipblocks': return `rule to ACCEPT traffic from source pods to specified ipBlocks selected by policy name: ${policy.name} namespace ${policy.namespace}`;
  }
}

/** One allow rule as written (for the trace lookup: chain and position → policy, direction, rule index). */
export interface WrittenRule {
  readonly chain: string;
  readonly policy: string;
  readonly direction: 'ingress' | 'egress';
  readonly ruleIndex: number;
  readonly kind: RuleKind;
}

export interface PolicyChainsResult {
  readonly activePolicyChains: Set<string>;
  readonly activePolicyIPSets: Set<string>;
  /** The allow rules in the order written into each chain (two iptables rules each: MARK, then RETURN). */
  readonly rules: WrittenRule[];
  /** The `ipset restore -exist` input written. */
  readonly ipsetText: string;
}

export class ChainWriter {
  readonly rules: WrittenRule[] = [];
  constructor(private readonly out: string[]) {}

  /** appendRuleToPolicyChain: the MARK rule and the RETURN-if-marked rule. */
  append(chain: string, comment: string, src: string, dst: string, pp: ProtocolAndPort | undefined, meta: Omit<WrittenRule, 'chain'>): void {
    const args: string[] = ['-A', chain];
    if (comment !== '') args.push('-m', 'comment', '--comment', `"${comment}"`);
    if (src !== '') args.push('-m', 'set', '--match-set', src, 'src');
    if (dst !== '') args.push('-m', 'set', '--match-set', dst, 'dst');
    if (pp !== undefined && pp.protocol !== '') args.push('-p', pp.protocol);
    if (pp !== undefined && pp.port !== '') args.push('--dport', pp.endport !== '' ? `${pp.port}:${pp.endport}` : pp.port);
    this.out.push([...args, '-j', 'MARK', '--set-xmark', MARK_POLICY_MATCH, '\n'].join(' '));
    this.out.push([...args, '-m', 'mark', '--mark', MARK_POLICY_MATCH, '-j', 'RETURN', '\n'].join(' '));
    this.rules.push({ chain, ...meta });
  }
}

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;
/** getIPsFromPods for IPv4. */
const ipsOf = (pods: readonly { ip: string }[]): string[] => pods.map((p) => p.ip).filter((ip) => IPV4.test(ip));

const entriesOf = (ips: readonly string[]): string[][] => ips.map((ip) => [ip, 'timeout', '0']);

/**
 * syncNetworkPolicyChains: writes each policy's chain into `out` (the filter table
 * buffer) and its sets into `ipsets`, then restores the active sets. Policies are
 * taken in the order given.
 */
export function syncNetworkPolicyChains(policies: readonly NetworkPolicyInfo[], version: string, out: string[], ipsets: IpsetHandler): PolicyChainsResult {
  const activePolicyChains = new Set<string>();
  const activePolicyIPSets = new Set<string>();
  const w = new ChainWriter(out);
  ipsets.save();
  for (const policy of policies) {
    const currentPodIPs = ipsOf([...policy.targetPods.values()]);
    const chain = networkPolicyChainName(policy.namespace, policy.name, version);
    out.push(`:${chain}\n`);
    activePolicyChains.add(chain);
    if (policy.policyType === 'both' || policy.policyType === 'ingress') {
      const targetDst = policyDestinationPodIPSetName(policy.namespace, policy.name);
      ipsets.refreshSet(targetDst, entriesOf(currentPodIPs), TYPE_HASH_IP);
      processIngressRules(policy, chain, targetDst, activePolicyIPSets, ipsets, w);
      activePolicyIPSets.add(targetDst);
    }
    if (policy.policyType === 'both' || policy.policyType === 'egress') {
      const targetSrc = policySourcePodIPSetName(policy.namespace, policy.name);
      ipsets.refreshSet(targetSrc, entriesOf(currentPodIPs), TYPE_HASH_IP);
      processEgressRules(policy, chain, targetSrc, activePolicyIPSets, ipsets, w);
      activePolicyIPSets.add(targetSrc);
    }
  }
  const ipsetText = ipsets.restoreSets(activePolicyIPSets);
  return { activePolicyChains, activePolicyIPSets, rules: w.rules, ipsetText };
}

/** processIngressRules. */
export function processIngressRules(policy: NetworkPolicyInfo, chain: string, targetDst: string, active: Set<string>, ipsets: IpsetHandler, w: ChainWriter): void {
  if (policy.ingressRules === undefined) return;
  const key = `${policy.namespace}/${policy.name}`;
  policy.ingressRules.forEach((rule, ruleIdx) => {
    const meta = (kind: RuleKind): Omit<WrittenRule, 'chain'> => ({ policy: key, direction: 'ingress', ruleIndex: ruleIdx, kind });
    const namedPortSet = (epIdx: number, ips: readonly string[], type: string): string => {
      const name = policyIndexedIngressNamedPortIPSetName(policy.namespace, policy.name, ruleIdx, epIdx);
      active.add(name);
      ipsets.refreshSet(name, entriesOf(ips), type);
      return name;
    };
    if (rule.srcPods.length !== 0) {
      const srcSet = policyIndexedSourcePodIPSetName(policy.namespace, policy.name, ruleIdx);
      active.add(srcSet);
      ipsets.refreshSet(srcSet, entriesOf(ipsOf(rule.srcPods)), TYPE_HASH_IP);
      const comment = ruleComment('from-pods', policy);
      for (const pp of rule.ports) w.append(chain, comment, srcSet, targetDst, pp, meta('from-pods'));
      rule.namedPorts.forEach((ep, epIdx) => w.append(chain, comment, srcSet, namedPortSet(epIdx, ep.ips, TYPE_HASH_IP), ep, meta('from-pods')));
      if (rule.ports.length === 0 && rule.namedPorts.length === 0) w.append(chain, comment, srcSet, targetDst, undefined, meta('from-pods'));
    }
    if (rule.matchAllSource && !rule.matchAllPorts) {
      const comment = ruleComment('from-all', policy);
      for (const pp of rule.ports) w.append(chain, comment, '', targetDst, pp, meta('from-all'));
      rule.namedPorts.forEach((ep, epIdx) => w.append(chain, comment, '', namedPortSet(epIdx, ep.ips, TYPE_HASH_IP), ep, meta('from-all')));
    }
    if (rule.matchAllSource && rule.matchAllPorts) w.append(chain, ruleComment('from-all', policy), '', targetDst, undefined, meta('from-all'));
    if (rule.srcIPBlocks.length !== 0) {
      const blockSet = policyIndexedSourceIPBlockIPSetName(policy.namespace, policy.name, ruleIdx);
      active.add(blockSet);
      ipsets.refreshSet(blockSet, rule.srcIPBlocks, TYPE_HASH_NET);
      const comment = ruleComment('from-ipblocks', policy);
      if (!rule.matchAllPorts) {
        for (const pp of rule.ports) w.append(chain, comment, blockSet, targetDst, pp, meta('from-ipblocks'));
        // upstream refreshes the named-port set as hash:net here (its type stays what it was created with).
        rule.namedPorts.forEach((ep, epIdx) => w.append(chain, comment, blockSet, namedPortSet(epIdx, ep.ips, TYPE_HASH_NET), ep, meta('from-ipblocks')));
      } else w.append(chain, comment, blockSet, targetDst, undefined, meta('from-ipblocks'));
    }
  });
}

/** processEgressRules. */
export function processEgressRules(policy: NetworkPolicyInfo, chain: string, targetSrc: string, active: Set<string>, ipsets: IpsetHandler, w: ChainWriter): void {
  if (policy.egressRules === undefined) return;
  const key = `${policy.namespace}/${policy.name}`;
  policy.egressRules.forEach((rule, ruleIdx) => {
    const meta = (kind: RuleKind): Omit<WrittenRule, 'chain'> => ({ policy: key, direction: 'egress', ruleIndex: ruleIdx, kind });
    if (rule.dstPods.length !== 0) {
      const dstSet = policyIndexedDestinationPodIPSetName(policy.namespace, policy.name, ruleIdx);
      active.add(dstSet);
      ipsets.refreshSet(dstSet, entriesOf(ipsOf(rule.dstPods)), TYPE_HASH_IP);
      const comment = ruleComment('to-pods', policy);
      for (const pp of rule.ports) w.append(chain, comment, targetSrc, dstSet, pp, meta('to-pods'));
      rule.namedPorts.forEach((ep, epIdx) => {
        const name = policyIndexedEgressNamedPortIPSetName(policy.namespace, policy.name, ruleIdx, epIdx);
        active.add(name);
        ipsets.refreshSet(name, entriesOf(ep.ips), TYPE_HASH_IP);
        w.append(chain, comment, targetSrc, name, ep, meta('to-pods'));
      });
      if (rule.ports.length === 0 && rule.namedPorts.length === 0) w.append(chain, comment, targetSrc, dstSet, undefined, meta('to-pods'));
    }
    if (rule.matchAllDestinations && !rule.matchAllPorts) {
      const comment = ruleComment('to-all', policy);
      for (const pp of [...rule.ports, ...rule.namedPorts]) w.append(chain, comment, targetSrc, '', pp, meta('to-all'));
    }
    if (rule.matchAllDestinations && rule.matchAllPorts) w.append(chain, ruleComment('to-all', policy), targetSrc, '', undefined, meta('to-all'));
    if (rule.dstIPBlocks.length !== 0) {
      const blockSet = policyIndexedDestinationIPBlockIPSetName(policy.namespace, policy.name, ruleIdx);
      active.add(blockSet);
      ipsets.refreshSet(blockSet, rule.dstIPBlocks, TYPE_HASH_NET);
      const comment = ruleComment('to-ipblocks', policy);
      if (!rule.matchAllPorts) for (const pp of rule.ports) w.append(chain, comment, targetSrc, blockSet, pp, meta('to-ipblocks'));
      else w.append(chain, comment, targetSrc, blockSet, undefined, meta('to-ipblocks'));
    }
  });
}


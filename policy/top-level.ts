/**
 * What kube-router keeps in place with single iptables commands before each sync
 * (network_policy_controller.go, v2.6.3): ensureTopLevelChains — KUBE-ROUTER-INPUT,
 * -FORWARD and -OUTPUT jumped to from rule 1 of INPUT, FORWARD and OUTPUT, and at the
 * top of KUBE-ROUTER-INPUT RETURNs for the service range and local NodePorts, each
 * rule found again by the hash appended to its comment and moved back when it
 * drifted; ensureDefaultNetworkPolicyChain (KUBE-NWPLCY-DEFAULT marks 0x10000) and
 * ensureCommonPolicyChain (INVALID drop, RELATED/ESTABLISHED accept, ICMP accepts).
 * Then, on the restore buffer, ensureExplicitAccept and cleanupStaleRules.
 *
 * Comments given to go-iptables with quotes inside (the common chain's) keep them:
 * no shell strips them, so the kernel stores `"rule to drop invalid state for pod"`.
 */
import { DEFAULT_CHAINS, KUBE_NWPLCY_COMMON, KUBE_NWPLCY_DEFAULT, KUBE_NWPLCY_PREFIX, KUBE_POD_FW_PREFIX, KUBE_ROUTER_INPUT, MARK_POLICY_ACCEPT, MARK_POLICY_MATCH, ruleUuid } from './names.ts';

/** go-iptables' IPTables as the controller uses it (one `iptables` command each), plus save/restore. */
export interface IptablesCommands {
  chainExists(table: string, chain: string): boolean;
  newChain(table: string, chain: string): void;
  listChains(table: string): string[];
  /** `iptables -C`. */
  exists(table: string, chain: string, spec: readonly string[]): boolean;
  /** `iptables -I CHAIN POS`. */
  insert(table: string, chain: string, pos: number, spec: readonly string[]): void;
  /** `iptables -D CHAIN NUM`. */
  deleteNum(table: string, chain: string, num: number): void;
  /** AppendUnique: `-A` unless `-C` finds it. */
  appendUnique(table: string, chain: string, spec: readonly string[]): void;
  /** `iptables -S CHAIN`. */
  list(table: string, chain: string): string[];
  /** `iptables-save -t TABLE`. */
  save(table: string): string;
  /** `iptables-restore -T TABLE` (not --noflush: the table becomes the input). */
  restore(table: string, text: string): void;
}

export interface TopLevelConfig {
  /** --service-cluster-ip-range (the first, IPv4). */
  readonly serviceClusterIPRange: string;
  /** --service-node-port-range as validateNodePortRange returns it (`30000:32767`). */
  readonly nodePortRange: string;
  readonly externalIPRanges?: readonly string[];
  readonly loadBalancerIPRanges?: readonly string[];
}

const FILTER = 'filter';

/** addUUIDForRuleSpec: the rule with ` - HASH` appended to its comment, and the hash. */
function withUuid(chain: string, spec: string[]): { spec: string[]; uuid: string } {
  const uuid = ruleUuid(chain, spec);
  const i = spec.indexOf('--comment');
  const out = [...spec];
  out[i + 1] = `${out[i + 1] as string} - ${uuid}`;
  return { spec: out, uuid };
}

/** ensureRuleAtPosition. */
function ensureRuleAtPosition(ipt: IptablesCommands, chain: string, spec: readonly string[], uuid: string, position: number): void {
  if (!ipt.exists(FILTER, chain, spec)) {
    ipt.insert(FILTER, chain, position, spec);
    return;
  }
  let ruleNo = 0;
  let offset = 0;
  const rules = ipt.list(FILTER, chain);
  for (let i = 0; i < rules.length; i++) {
    const r = (rules[i] as string).replace('"', '').replace('"', '');
    if (r.startsWith('-P') || r.startsWith('-N')) {
      offset++;
      continue;
    }
    if (r.includes(uuid)) {
      ruleNo = i + 1 - offset;
      break;
    }
  }
  if (ruleNo !== position) {
    ipt.insert(FILTER, chain, position, spec);
    ipt.deleteNum(FILTER, chain, ruleNo + 1);
  }
}

export function ensureTopLevelChains(ipt: IptablesCommands, cfg: TopLevelConfig): void {
  for (const [builtin, custom] of DEFAULT_CHAINS) {
    if (!ipt.chainExists(FILTER, custom)) ipt.newChain(FILTER, custom);
    const r = withUuid(builtin, ['-m', 'comment', '--comment', 'kube-router netpol', '-j', custom]);
    ensureRuleAtPosition(ipt, builtin, r.spec, r.uuid, 1);
  }
  let pos = 1;
  const returnTo = (comment: string, cidr: string): void => {
    const r = withUuid(KUBE_ROUTER_INPUT, ['-m', 'comment', '--comment', comment, '-d', cidr, '-j', 'RETURN']);
    ensureRuleAtPosition(ipt, KUBE_ROUTER_INPUT, r.spec, r.uuid, pos++);
  };
  returnTo('allow traffic to primary/secondary cluster IP range', cfg.serviceClusterIPRange);
  for (const proto of ['tcp', 'udp']) {
    const r = withUuid(KUBE_ROUTER_INPUT, ['-p', proto, '-m', 'comment', '--comment', `allow LOCAL ${proto.toUpperCase()} traffic to node ports`, '-m', 'addrtype', '--dst-type', 'LOCAL', '-m', 'multiport', '--dports', cfg.nodePortRange, '-j', 'RETURN']);
    ensureRuleAtPosition(ipt, KUBE_ROUTER_INPUT, r.spec, r.uuid, pos++);
  }
  for (const c of cfg.externalIPRanges ?? []) returnTo(`allow traffic to external IP range: ${c}`, c);
  for (const c of cfg.loadBalancerIPRanges ?? []) returnTo(`allow traffic to load balancer IP range: ${c}`, c);
}

export function ensureDefaultNetworkPolicyChain(ipt: IptablesCommands): void {
  if (!ipt.chainExists(FILTER, KUBE_NWPLCY_DEFAULT)) ipt.newChain(FILTER, KUBE_NWPLCY_DEFAULT);
  ipt.appendUnique(FILTER, KUBE_NWPLCY_DEFAULT, ['-j', 'MARK', '-m', 'comment', '--comment', 'rule to mark traffic matching a network policy', '--set-xmark', MARK_POLICY_MATCH]);
}

/** utils.CommonICMPRules for IPv4: type and comment. */
export const COMMON_ICMP_RULES: ReadonlyArray<readonly [string, string]> = [
  ['echo-request', 'allow icmp echo requests'],
  ['destination-unreachable', 'allow icmp destination unreachable messages'],
  ['time-exceeded', 'allow icmp time exceeded messages'],
];

export function ensureCommonPolicyChain(ipt: IptablesCommands): void {
  if (!ipt.chainExists(FILTER, KUBE_NWPLCY_COMMON)) ipt.newChain(FILTER, KUBE_NWPLCY_COMMON);
  ipt.appendUnique(FILTER, KUBE_NWPLCY_COMMON, ['-m', 'comment', '--comment', '"rule to drop invalid state for pod"', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']);
  ipt.appendUnique(FILTER, KUBE_NWPLCY_COMMON, ['-m', 'comment', '--comment', '"rule for stateful firewall for pod"', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']);
  for (const [type, comment] of COMMON_ICMP_RULES) ipt.appendUnique(FILTER, KUBE_NWPLCY_COMMON, ['-m', 'comment', '--comment', comment, '-p', 'icmp', '--icmp-type', type, '-j', 'ACCEPT']);
}

export const EXPLICIT_ACCEPT_COMMENT = 'rule to explicitly ACCEPT traffic that comply to network policies';

/**
 * utils.AppendUnique on the buffer: drop every line that holds the chain name and
 * the rule text, then append the rule — so the explicit accept ends each top-level chain.
 */
function appendUniqueInBuffer(buffer: string, chain: string, rule: readonly string[]): string {
  const lines = buffer.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const text = rule.join(' ');
  const kept = lines.filter((l) => !(l.includes(chain) && l.includes(text)));
  return `${kept.map((l) => `${l}\n`).join('')}${['-A', chain, ...rule, '\n'].join(' ')}`;
}

/** ensureExplicitAccept: ACCEPT what a pod chain marked 0x20000, at the end of each top-level chain. */
export function ensureExplicitAccept(buffer: string): string {
  let b = buffer;
  for (const [, chain] of DEFAULT_CHAINS) b = appendUniqueInBuffer(b, chain, ['-m', 'comment', '--comment', `"${EXPLICIT_ACCEPT_COMMENT}"`, '-m', 'mark', '--mark', MARK_POLICY_ACCEPT, '-j', 'ACCEPT']);
  return b;
}

/**
 * cleanupStaleRules: the buffer (iptables-save output plus this sync's chains and
 * rules) without the lines that name a stale pod or policy chain, re-assembled as
 * `*filter`, chain lines (each with ` - [0:0]` appended, as upstream does), rules,
 * `COMMIT`. Stale chains are those the kernel has that this sync did not write.
 */
export function cleanupStaleRules(buffer: string, kernelChains: readonly string[], activePolicyChains: ReadonlySet<string>, activePodFwChains: ReadonlySet<string>): string {
  const stale: string[] = [];
  for (const c of kernelChains) {
    if (c.startsWith(KUBE_NWPLCY_PREFIX)) {
      if (c === KUBE_NWPLCY_DEFAULT || c === KUBE_NWPLCY_COMMON) continue;
      if (!activePolicyChains.has(c)) {
        stale.push(c);
        continue;
      }
    }
    if (c.startsWith(KUBE_POD_FW_PREFIX) && !activePodFwChains.has(c)) stale.push(c);
  }
  const staleSet = new Set(stale);
  const chains: string[] = [];
  const rules: string[] = [];
  const lines = buffer.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const l of lines) {
    // strings.Contains(rule, name) for each stale name, as one scan: the names are a prefix and 16 base32 characters.
    if (staleSet.size > 0 && namesIn(l).some((n) => staleSet.has(n))) continue;
    if (l.includes('COMMIT') || l.startsWith('# ')) continue;
    if (l.startsWith(':')) chains.push(`${l} - [0:0]\n`);
    if (l.startsWith('-')) rules.push(`${l}\n`);
  }
  return `*filter\n${chains.join('')}${rules.join('')}COMMIT\n`;
}

const CHAIN_NAME = /KUBE-(?:POD-FW|NWPLCY)-[A-Z2-7]{16}/g;

function namesIn(line: string): string[] {
  return line.includes('KUBE-') ? line.match(CHAIN_NAME) ?? [] : [];
}

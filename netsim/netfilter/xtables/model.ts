/**
 * iptables rules as data: the kernel's view of an xtables ruleset. Values are kept
 * in the form the kernel stores them (addresses masked, MARK variants as value/mask,
 * the statistic probability as its 2^31 fixed-point integer, implicit defaults
 * filled in), so rendering reproduces what `iptables-save` prints after an
 * `iptables-restore`, not what was typed.
 */
import type { NfHook } from '../../stack/netfilter-hooks.ts';
import type { TableName } from '../eval-types.ts';

export type { TableName };

/** Built-in chains of each table in kernel (hook) order. */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly NfHook[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** The order iptables-save (nf_tables backend) prints tables in: nft.c's table array. */
export const TABLE_SAVE_ORDER: readonly TableName[] = ['mangle', 'raw', 'filter', 'nat'];

export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];

export function isTableName(s: string): s is TableName {
  return s === 'raw' || s === 'mangle' || s === 'nat' || s === 'filter';
}

/** `-s`/`-d`: address and mask, both already masked as the kernel keeps them. */
export interface AddrMatch {
  readonly addr: number;
  readonly mask: number;
  readonly invert: boolean;
}

/** `-i`/`-o`: a name, `+` at the end meaning "any name with this prefix". */
export interface IfaceMatch {
  readonly name: string;
  readonly invert: boolean;
}

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

export interface TcpUdpMatch {
  readonly kind: 'tcp' | 'udp';
  readonly sport?: PortRange;
  readonly sportInvert: boolean;
  readonly dport?: PortRange;
  readonly dportInvert: boolean;
  /** `--tcp-flags MASK COMP` (tcp only); `--syn` is FIN,SYN,RST,ACK SYN. */
  readonly flags?: { readonly mask: number; readonly comp: number; readonly invert: boolean };
}

export interface IcmpMatch {
  readonly kind: 'icmp';
  /** 0xFF = any. */
  readonly type: number;
  readonly codeMin: number;
  readonly codeMax: number;
  readonly invert: boolean;
}

export interface MultiportMatch {
  readonly kind: 'multiport';
  readonly dir: 'src' | 'dst' | 'any';
  readonly ports: readonly PortRange[];
  readonly invert: boolean;
}

export interface CommentMatch {
  readonly kind: 'comment';
  readonly text: string;
}

export interface MarkMatch {
  readonly kind: 'mark';
  readonly value: number;
  readonly mask: number;
  readonly invert: boolean;
}

export interface AddrTypeMatch {
  readonly kind: 'addrtype';
  /** Bit sets of ADDRTYPE_BITS; 0 = not tested. */
  readonly srcTypes: number;
  readonly srcInvert: boolean;
  readonly dstTypes: number;
  readonly dstInvert: boolean;
  readonly limitIfaceIn: boolean;
  readonly limitIfaceOut: boolean;
}

export interface CtStateMatch {
  /** `-m conntrack --ctstate` or `-m state --state`. */
  readonly kind: 'conntrack' | 'state';
  /** CT_* bits (eval-types.ts). */
  readonly states: number;
  readonly invert: boolean;
}

export interface StatisticMatch {
  readonly kind: 'statistic';
  readonly mode: 'random' | 'nth';
  /** random: probability × 2^31, rounded (xt_statistic's u32). */
  readonly probability: number;
  /** nth: every and packet, as given (the kernel stores every − 1). */
  readonly every: number;
  readonly packet: number;
  readonly invert: boolean;
}

export type RecentCommand = 'set' | 'rcheck' | 'update' | 'remove';

export interface RecentMatch {
  readonly kind: 'recent';
  readonly command: RecentCommand;
  readonly invert: boolean;
  /** 0 = not given. */
  readonly seconds: number;
  readonly reap: boolean;
  readonly hitcount: number;
  readonly rttl: boolean;
  readonly name: string;
  readonly mask: number;
  readonly side: 'src' | 'dst';
}

export interface SetMatch {
  readonly kind: 'set';
  readonly name: string;
  readonly dirs: readonly ('src' | 'dst')[];
  readonly invert: boolean;
}

/** One `--physdev-*` test: absent, or a name (`+` wildcard) / flag with negation. */
export interface PhysdevMatch {
  readonly kind: 'physdev';
  readonly physIn?: IfaceMatch;
  readonly physOut?: IfaceMatch;
  readonly isIn?: boolean;
  readonly isOut?: boolean;
  readonly isBridged?: boolean;
  readonly isInInvert: boolean;
  readonly isOutInvert: boolean;
  readonly isBridgedInvert: boolean;
}

export type Match =
  | TcpUdpMatch
  | IcmpMatch
  | MultiportMatch
  | CommentMatch
  | MarkMatch
  | AddrTypeMatch
  | CtStateMatch
  | StatisticMatch
  | RecentMatch
  | SetMatch
  | PhysdevMatch;

export type RejectWith =
  | 'icmp-net-unreachable'
  | 'icmp-host-unreachable'
  | 'icmp-port-unreachable'
  | 'icmp-proto-unreachable'
  | 'icmp-net-prohibited'
  | 'icmp-host-prohibited'
  | 'icmp-admin-prohibited'
  | 'tcp-reset';

export interface NatRange {
  readonly addrMin?: number;
  readonly addrMax?: number;
  readonly portMin?: number;
  readonly portMax?: number;
}

export type Target =
  | { readonly kind: 'ACCEPT' | 'DROP' | 'RETURN' | 'TRACE' | 'NOTRACK' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string }
  | { readonly kind: 'REJECT'; readonly with: RejectWith }
  | { readonly kind: 'DNAT' | 'SNAT'; readonly range: NatRange; readonly random: boolean; readonly randomFully: boolean; readonly persistent: boolean }
  | { readonly kind: 'MASQUERADE' | 'REDIRECT'; readonly portMin?: number; readonly portMax?: number; readonly random: boolean; readonly randomFully: boolean }
  /** MARK and CONNMARK --set-xmark: mark = (mark & ~mask) ^ value. */
  | { readonly kind: 'MARK'; readonly value: number; readonly mask: number }
  | { readonly kind: 'CONNMARK'; readonly mode: 'set'; readonly value: number; readonly mask: number }
  | { readonly kind: 'CONNMARK'; readonly mode: 'save' | 'restore'; readonly nfmask: number; readonly ctmask: number }
  | { readonly kind: 'LOG'; readonly prefix: string; readonly level: number; readonly flags: number }
  | { readonly kind: 'CT'; readonly notrack: true }
  /** No `-j`: the rule only counts packets. */
  | { readonly kind: 'none' };

/** LOG flags (xt_LOG.h). */
export const LOG_TCPSEQ = 0x01;
export const LOG_TCPOPT = 0x02;
export const LOG_IPOPT = 0x04;
export const LOG_UID = 0x08;
export const LOG_MACDECODE = 0x20;

export interface Rule {
  readonly src?: AddrMatch;
  readonly dst?: AddrMatch;
  readonly inIface?: IfaceMatch;
  readonly outIface?: IfaceMatch;
  /** Protocol number; 0 = all. */
  readonly proto: number;
  readonly protoInvert: boolean;
  readonly matches: readonly Match[];
  readonly target: Target;
  /** Per-rule counters (mutable: the evaluator adds to them). */
  packets: number;
  bytes: number;
}

export interface Chain {
  readonly name: string;
  readonly builtin: boolean;
  /** Built-in chains only. */
  policy: 'ACCEPT' | 'DROP';
  packets: number;
  bytes: number;
  rules: Rule[];
}

export interface Table {
  readonly name: TableName;
  /** Built-ins first in hook order, then user chains in creation order. */
  readonly chains: Map<string, Chain>;
}

export function newChain(name: string, builtin: boolean): Chain {
  return { name, builtin, policy: 'ACCEPT', packets: 0, bytes: 0, rules: [] };
}

export function newTable(name: TableName): Table {
  const chains = new Map<string, Chain>();
  for (const c of BUILTIN_CHAINS[name]) chains.set(c, newChain(c, true));
  return { name, chains };
}

/** Deep copy (rules are immutable apart from counters, which are copied). */
export function cloneTable(t: Table): Table {
  const chains = new Map<string, Chain>();
  for (const [n, c] of t.chains) chains.set(n, { ...c, rules: c.rules.map((r) => ({ ...r })) });
  return { name: t.name, chains };
}

/** The chain a target jumps or goes to, if any. */
export function targetChain(t: Target): string | undefined {
  return t.kind === 'jump' || t.kind === 'goto' ? t.chain : undefined;
}

/**
 * iptables rules as data (the kernel's view of an xtables ruleset): tables, chains,
 * policies, counters, and rules made of the core match fields, match modules and a
 * target. Modules keep their parsed options in the canonical form the kernel
 * stores (e.g. a statistic probability as the 31-bit fixed-point value xt_statistic
 * keeps, MARK variants as value/mask), so rendering reproduces what `iptables-save`
 * prints after an `iptables-restore`, not what was typed.
 */
import type { Ipv4Addr } from '../../wire/addr.ts';
import type { TableName } from '../eval-types.ts';

export type { TableName };

export const TABLE_CHAINS: Record<TableName, readonly string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export interface AddrMatch {
  /** The address, already masked (the kernel stores it so). */
  readonly addr: Ipv4Addr;
  readonly mask: Ipv4Addr;
  /** Leading one bits of `mask`, or -1 for a non-contiguous mask such as 255.0.255.0. */
  readonly prefixLen: number;
  readonly invert: boolean;
}

/** A flag option that only can be negated (`[!] --physdev-is-in`). */
export interface FlagMatch {
  readonly invert: boolean;
}

export interface IfaceMatch {
  /** Interface name; a trailing `+` matches any suffix. */
  readonly name: string;
  readonly invert: boolean;
}

export interface PortRange {
  readonly min: number;
  readonly max: number;
  readonly invert: boolean;
}

export type Match =
  | { readonly kind: 'comment'; readonly comment: string }
  | { readonly kind: 'tcp' | 'udp' | 'sctp'; readonly sport?: PortRange; readonly dport?: PortRange; readonly tcpFlags?: { mask: number; cmp: number; invert: boolean } }
  | { readonly kind: 'icmp'; readonly type: number; readonly code?: number; readonly typeName?: string; readonly invert: boolean }
  | { readonly kind: 'multiport'; readonly dir: 'dports' | 'sports' | 'ports'; readonly ports: readonly (readonly [number, number])[]; readonly invert: boolean }
  | { readonly kind: 'mark'; readonly value: number; readonly mask: number; readonly invert: boolean }
  /** Types in xt_addrtype's bit order (UNSPEC, UNICAST, LOCAL, …), as iptables prints them. */
  | { readonly kind: 'addrtype'; readonly src?: { types: readonly string[]; invert: boolean }; readonly dst?: { types: readonly string[]; invert: boolean }; readonly limitIfaceIn?: boolean; readonly limitIfaceOut?: boolean }
  | { readonly kind: 'conntrack'; readonly states: number; readonly invert: boolean; readonly names: readonly string[] }
  | { readonly kind: 'state'; readonly states: number; readonly invert: boolean; readonly names: readonly string[] }
  | { readonly kind: 'statistic'; readonly mode: 'random'; readonly probability: number; readonly invert: boolean }
  | { readonly kind: 'statistic'; readonly mode: 'nth'; readonly every: number; readonly packet: number; readonly invert: boolean }
  | {
      readonly kind: 'recent';
      readonly action: 'set' | 'rcheck' | 'update' | 'remove';
      readonly name: string;
      readonly seconds?: number;
      readonly hitcount?: number;
      readonly reap: boolean;
      readonly rttl: boolean;
      readonly mask: Ipv4Addr;
      readonly side: 'rsource' | 'rdest';
      readonly invert: boolean;
    }
  | { readonly kind: 'set'; readonly name: string; readonly dirs: readonly ('src' | 'dst')[]; readonly invert: boolean }
  /** xt_nfacct: counts into the named nfnetlink_acct object (which must exist); always matches. */
  | { readonly kind: 'nfacct'; readonly name: string }
  | { readonly kind: 'physdev'; readonly in?: IfaceMatch; readonly out?: IfaceMatch; readonly isBridged?: FlagMatch; readonly isIn?: FlagMatch; readonly isOut?: FlagMatch }
  /** xt_limit: `avg` is the mean interval between packets in XT_LIMIT_SCALE (1/10000 s) units, as the kernel stores it. */
  | { readonly kind: 'limit'; readonly avg: number; readonly burst: number };

export type Target =
  | { readonly kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string }
  | { readonly kind: 'REJECT'; readonly with: string }
  | { readonly kind: 'DNAT' | 'SNAT'; readonly addrMin: Ipv4Addr; readonly addrMax: Ipv4Addr; readonly portMin?: number; readonly portMax?: number; readonly random: boolean; readonly randomFully: boolean; readonly persistent: boolean; readonly text: string }
  | { readonly kind: 'MASQUERADE'; readonly portMin?: number; readonly portMax?: number; readonly random: boolean; readonly randomFully: boolean }
  | { readonly kind: 'REDIRECT'; readonly portMin?: number; readonly portMax?: number; readonly random: boolean }
  | { readonly kind: 'MARK'; readonly value: number; readonly mask: number; readonly op: 'xset' | 'and' | 'or' | 'xor' }
  /** `level` is the syslog level 0–7 (default 4); `flags` are xt_LOG's --log-* bits (LOG_FLAGS). */
  | { readonly kind: 'LOG'; readonly prefix?: string; readonly level: number; readonly flags: number }
  /** xt_NFLOG: hands the packet to nfnetlink_log group `group` (nothing listens here); never ends the walk. */
  | { readonly kind: 'NFLOG'; readonly group: number; readonly prefix?: string }
  /** CONNMARK --set-xmark (ctmark = (ctmark & ~mask) ^ value), or --save-mark / --restore-mark with their masks. */
  | { readonly kind: 'CONNMARK'; readonly mode: 'set'; readonly value: number; readonly mask: number }
  | { readonly kind: 'CONNMARK'; readonly mode: 'save' | 'restore'; readonly nfmask: number; readonly ctmask: number }
  | { readonly kind: 'TRACE' }
  /** `-j NOTRACK`, or `-j CT --notrack` (`ct: true`; iptables-save keeps the spelling apart). */
  | { readonly kind: 'NOTRACK'; readonly ct: boolean }
  | { readonly kind: 'none' };

/** xt_LOG flag bits (include/uapi/linux/netfilter/xt_LOG.h), with the option that sets each. */
export const LOG_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['--log-tcp-sequence', 0x01], ['--log-tcp-options', 0x02], ['--log-ip-options', 0x04], ['--log-uid', 0x08], ['--log-macdecode', 0x20],
];

/** xt_limit's fixed point: average intervals are kept in 1/10000 s (XT_LIMIT_SCALE). */
export const XT_LIMIT_SCALE = 10000;

export interface Rule {
  readonly src?: AddrMatch;
  readonly dst?: AddrMatch;
  readonly inIface?: IfaceMatch;
  readonly outIface?: IfaceMatch;
  /** IP protocol number (0 = any), with its name as written for rendering. */
  readonly proto?: { readonly num: number; readonly name: string; readonly invert: boolean };
  readonly matches: readonly Match[];
  readonly target: Target;
}

/**
 * A rule's packet and byte counters in one namespace. Rules are immutable and may be
 * shared between namespaces (share.ts), so their counters live beside them, in the
 * chain's `hits`.
 */
export class RuleCounter {
  constructor(public packets = 0, public bytes = 0) {}
}

export interface Chain {
  readonly name: string;
  /** Built-in chains have a policy; user chains do not. */
  policy: 'ACCEPT' | 'DROP' | undefined;
  /** The policy's counters. */
  packets: number;
  bytes: number;
  /**
   * Never changed in place once the chain is live: a restore edits a copy (the array
   * may be shared with other namespaces and with the compiled form of the chain).
   */
  rules: readonly Rule[];
  /** hits[i]: this namespace's counters of rules[i], made when it first counts (absent: 0 and 0). */
  hits: Array<RuleCounter | undefined> | undefined;
}

/** The packets and bytes rule `i` of `c` counted. */
export function ruleCounts(c: Chain, i: number): { packets: number; bytes: number } {
  return c.hits?.[i] ?? ZERO;
}
const ZERO = Object.freeze({ packets: 0, bytes: 0 });

/** A new empty chain (a policy makes it a built-in one). */
export function newChain(name: string, policy: 'ACCEPT' | 'DROP' | undefined): Chain {
  return { name, policy, packets: 0, bytes: 0, rules: [], hits: undefined };
}

export interface Table {
  readonly name: TableName;
  readonly chains: Map<string, Chain>;
}

export function isBuiltin(table: TableName, chain: string): boolean {
  return TABLE_CHAINS[table].includes(chain);
}

export function newTable(name: TableName): Table {
  const chains = new Map<string, Chain>();
  for (const c of TABLE_CHAINS[name]) chains.set(c, newChain(c, 'ACCEPT'));
  return { name, chains };
}

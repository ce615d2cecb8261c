/**
 * The nf_tables ruleset as data: tables per family holding chains, rules, sets and
 * maps (net/netfilter/nf_tables_api.c's objects), and the expressions rules are made
 * of, already in the canonical form `nft list ruleset` prints (nft's delinearized
 * view of the kernel's bytecode), so printing is a straight walk.
 */

export type Family = 'ip' | 'inet';
export type ChainType = 'filter' | 'nat' | 'route';
export type HookName = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

/** A value of a selector: a number (addresses, ports, protocols, marks, bits) or a string (interface names). */
export type Scalar = number | string;

/** One component of a set key or a match's right-hand side: a value, or a closed interval [lo, hi]. */
export interface Atom {
  readonly lo: Scalar;
  /** Equal to lo for a single value. */
  readonly hi: Scalar;
}

export type VerdictKind = 'accept' | 'drop' | 'return' | 'continue' | 'jump' | 'goto';
export interface Verdict {
  readonly kind: VerdictKind;
  readonly chain?: string;
}

export interface SetElem {
  /** One atom per key component (concatenations have several). */
  readonly key: readonly Atom[];
  /** Map data: a verdict (vmap) or a value. */
  readonly data?: Verdict | Scalar;
  readonly comment?: string;
  /** Per-element timeout in ms, and the virtual time in ns it expires at (sets with `flags timeout`). */
  readonly timeout?: number;
  expires?: number;
}

/** A named or anonymous set/map. */
/** A set's or map's declaration: what `add set` gives and `list ruleset` prints. */
export interface SetProps {
  readonly keyTypes: readonly string[];
  readonly dataType?: string;
  readonly flags: readonly string[];
  /** Default element timeout in ms. */
  readonly timeout?: number;
  readonly size?: number;
  readonly comment?: string;
  readonly policy?: string;
}

export interface NftSet extends SetProps {
  readonly name: string;
  readonly map: boolean;
  /** Elements by their key's text (see setKey); insertion order. */
  readonly elems: Map<string, SetElem>;
  readonly handle: number;
}

/** What a selector reads from the packet and its metadata. */
export type SelectorKind =
  | 'ip saddr' | 'ip daddr' | 'ip protocol' | 'ip ttl'
  | 'tcp sport' | 'tcp dport' | 'udp sport' | 'udp dport' | 'th sport' | 'th dport'
  | 'meta l4proto' | 'meta iifname' | 'meta oifname' | 'meta mark' | 'meta nfproto'
  | 'ct state' | 'ct status' | 'ct mark'
  | 'fib saddr type' | 'fib daddr type'
  | 'numgen';

export interface Selector {
  readonly kind: SelectorKind;
  /** numgen random mod N [offset M]. */
  readonly mod?: number;
  readonly offset?: number;
}

export type CmpOp = '==' | '!=' | '<' | '>' | '<=' | '>=';

/** The right-hand side of a match or the subject of a lookup. */
export type Rhs =
  | { readonly kind: 'value'; readonly atoms: readonly Atom[] }
  /** Flags written as a list (`ct state established,related`): any bit set. */
  | { readonly kind: 'flags'; readonly bits: number }
  | { readonly kind: 'set'; readonly set: NftSet }
  | { readonly kind: 'named'; readonly name: string };

export type Stmt =
  /** `sel [& mask] [op] rhs` (op absent = implicit equality / membership). */
  | { readonly kind: 'match'; readonly sels: readonly Selector[]; readonly mask?: number; readonly op: CmpOp; readonly rhs: Rhs }
  /** `sel vmap {…} | @map`. */
  | { readonly kind: 'vmap'; readonly sels: readonly Selector[]; readonly map: Rhs }
  | { readonly kind: 'verdict'; readonly verdict: Verdict }
  | { readonly kind: 'counter'; packets: number; bytes: number }
  | { readonly kind: 'log'; readonly prefix?: string; readonly level?: string }
  | { readonly kind: 'reject'; readonly with?: { readonly type: 'icmp' | 'icmpx' | 'tcp'; readonly code: string } }
  | { readonly kind: 'nat'; readonly nat: 'dnat' | 'snat' | 'masquerade' | 'redirect'; readonly family?: 'ip'; readonly addrLo?: number; readonly addrHi?: number; readonly portLo?: number; readonly portHi?: number; readonly flags: readonly string[] }
  /** `meta mark set …` / `ct mark set …`: value, or the other mark combined by | ^ & with a constant. */
  | { readonly kind: 'mark set'; readonly target: 'meta mark' | 'ct mark'; readonly source?: 'meta mark' | 'ct mark'; readonly op?: '|' | '^' | '&'; readonly value: number }
  /** `update @set { sel [timeout T] }` / `add @set { … }`. */
  | { readonly kind: 'set update'; readonly op: 'update' | 'add'; readonly setName: string; readonly sels: readonly Selector[]; readonly timeout?: number }
  | { readonly kind: 'notrack' };

export interface Rule {
  readonly handle: number;
  readonly stmts: readonly Stmt[];
  readonly comment?: string;
}

export interface BaseChainSpec {
  readonly type: ChainType;
  readonly hook: HookName;
  readonly priority: number;
  readonly policy: 'accept' | 'drop';
  readonly device?: string;
}

export interface Chain {
  readonly name: string;
  readonly handle: number;
  readonly base?: BaseChainSpec;
  readonly comment?: string;
  readonly rules: Rule[];
}

export interface Table {
  readonly family: Family;
  readonly name: string;
  readonly handle: number;
  comment?: string;
  readonly chains: Map<string, Chain>;
  readonly sets: Map<string, NftSet>;
  /** table->hgenerator: chains, rules and sets share one handle counter per table. */
  nextHandle: number;
}

export interface Ruleset {
  /** By `family name`, in creation order (the kernel's table list order). */
  readonly tables: Map<string, Table>;
  nextTableHandle: number;
}

export function tableKey(family: Family, name: string): string {
  return `${family} ${name}`;
}

/** The kernel's NF_IP_PRI_* names as nft spells them (src/rule.c std_prios). */
export const STD_PRIOS: ReadonlyArray<readonly [string, number]> = [
  ['raw', -300], ['mangle', -150], ['dstnat', -100], ['filter', 0], ['security', 50], ['srcnat', 100],
];

/** std_prio_family_hook_compat (ip/inet): dstnat only at prerouting, srcnat only at postrouting. */
export function prioNameFits(name: string, hook: HookName): boolean {
  if (name === 'dstnat') return hook === 'prerouting';
  if (name === 'srcnat') return hook === 'postrouting';
  return true;
}

/** prio2str: the first standard priority within 10 prints as `name ± offset`, unless it does not fit the hook. */
export function formatPriority(prio: number, hook: HookName): string {
  for (const [name, v] of STD_PRIOS) {
    if (Math.abs(prio - v) > 10) continue;
    if (!prioNameFits(name, hook)) break;
    const off = prio - v;
    return off === 0 ? name : off > 0 ? `${name} + ${off}` : `${name} - ${-off}`;
  }
  return String(prio);
}

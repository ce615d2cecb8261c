/**
 * The contract between the iptables rule engine (netsim/netfilter/iptables/) and the
 * rest of netfilter (conntrack, NAT, ipset, IPVS, and the hook operations the stack
 * runs). The rule engine evaluates one table at one hook for one packet and says
 * what happened; the operations apply NAT through conntrack, send REJECT answers,
 * and emit trace events.
 */
import type { Packet } from '../packet/packet.ts';
import type { NfHook } from '../stack/netfilter-hooks.ts';
import type { Rng } from '../time/rng.ts';
import type { Ipv4Addr } from '../wire/addr.ts';

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter';

/** Conntrack state bits as `-m conntrack --ctstate` / `-m state --state` test them. */
export const CT_NEW = 1;
export const CT_ESTABLISHED = 2;
export const CT_RELATED = 4;
export const CT_INVALID = 8;
export const CT_UNTRACKED = 16;
/** Status bits for `--ctstate DNAT|SNAT` (the connection has that NAT applied). */
export const CT_DNAT = 32;
export const CT_SNAT = 64;

/** `-m addrtype` types (net/netfilter/xt_addrtype.c names). */
export type AddrType = 'UNSPEC' | 'UNICAST' | 'LOCAL' | 'BROADCAST' | 'ANYCAST' | 'MULTICAST' | 'BLACKHOLE' | 'UNREACHABLE' | 'PROHIBIT';

/** Membership test for `-m set --match-set NAME src,dst,...`; provided by the ipset module. */
export interface IpsetLookup {
  /**
   * Whether the packet's fields named by `dirs` (e.g. ['dst','dst'] for hash:ip,port,
   * ['dst','dst','src'] for hash:ip,port,ip) are in set `name`. Unknown set → false.
   */
  test(name: string, pkt: Packet, dirs: readonly ('src' | 'dst')[]): boolean;
  /** Whether a set exists (iptables-restore refuses rules naming a missing set). */
  has(name: string): boolean;
  /** Bumped on every change to the sets; absent = they may change unseen (walks that test them are never replayed). */
  readonly generation?: number;
}

/** What a rule evaluation may consult besides the packet bytes (IPv4 header at pkt.off). */
export interface EvalContext {
  readonly hook: NfHook;
  readonly inDev: string | undefined;
  readonly outDev: string | undefined;
  /** Bridge ports for `-m physdev` on bridged frames. */
  readonly physIn?: string;
  readonly physOut?: string;
  /** Virtual now, for `-m recent`. */
  readonly now: number;
  /** The run's RNG stream for `-m statistic --mode random`. */
  readonly rng: Rng;
  /** CT_* bits of the packet's connection (0 when conntrack is off). */
  readonly ctState: number;
  /** Address type of an address in the namespace (for `-m addrtype`). */
  addrType(addr: Ipv4Addr): AddrType;
  readonly ipsets: IpsetLookup | undefined;
  /** Called for every rule whose matches all hit (and the policy when reached), in order — what `-j TRACE` would log. */
  readonly onRuleHit?: (table: TableName, chain: string, ruleNum: number, target: string) => void;
  /** The connection's mark (ct->mark) for CONNMARK --restore-mark / --save-mark; 0 when absent. (Optional.) */
  readonly ctMark?: number;
  /** Called when a LOG target fires (the kernel would printk a line); level is the syslog level 0–7. (Optional.) */
  readonly onLog?: (table: TableName, chain: string, ruleNum: number, prefix: string, level: number) => void;
}

/** A NAT mapping requested by DNAT/SNAT/MASQUERADE/REDIRECT; applied by conntrack on NEW connections. */
export interface NatRequest {
  readonly kind: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REDIRECT';
  /** Address range (DNAT/SNAT); absent for MASQUERADE (outgoing device's address) and REDIRECT. */
  readonly addrMin?: Ipv4Addr;
  readonly addrMax?: Ipv4Addr;
  readonly portMin?: number;
  readonly portMax?: number;
  readonly random?: boolean;
  readonly randomFully?: boolean;
  readonly persistent?: boolean;
}

export interface EvalResult {
  readonly verdict: 'ACCEPT' | 'DROP';
  /** Set when a REJECT target fired (verdict is DROP): e.g. 'icmp-port-unreachable', 'tcp-reset'. */
  readonly rejectWith?: string;
  /** Set when a NAT target fired in the nat table. */
  readonly nat?: NatRequest;
  /** Where the verdict was decided: chain and 1-based rule number (0 = chain policy). */
  readonly chain: string;
  readonly rule: number;
  /** Rules traversed before the verdict (the kernel's cost: every rule evaluated). */
  readonly rulesEvaluated: number;
  /** Set when NOTRACK / CT --notrack fired (raw table): the packet must not be tracked. (Optional.) */
  readonly notrack?: true;
  /** Set when a CONNMARK target changed the connection's mark: the new ct->mark. (Optional.) */
  readonly ctMark?: number;
}

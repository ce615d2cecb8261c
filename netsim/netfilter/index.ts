/**
 * netsim/netfilter — the kernel half of service proxying: iptables tables and
 * chains (iptables/), connection tracking (conntrack/) and NAT (nat.ts), registered
 * as hook operations with the kernel's priorities (hook-ops.ts, one file per
 * operation in ops/ named after its kernel counterpart) and run by the NetfilterHooks
 * the stack calls (netfilter-stack.ts), with ipset (netsim/ipset) and IPVS
 * (netsim/ipvs) plugged in there; an established flow's tables are replayed from
 * remembered walks (flow-walks.ts), and a whole hook after conntrack's lookup from one
 * plan per hook (hook-plans.ts); a flow's first packet at a table replays another
 * flow's walk that read the same header fields (flow-classes.ts). Other engines (nftables, a policy enforcer)
 * register their own operations with `NetfilterStack.registerOps`.
 *
 * Contract: rules arrive as iptables-restore text and are printed back as the real
 * iptables-save prints them; a packet's verdict costs close to O(1) in the number of
 * kube-proxy services (indexed dispatch) while traces name every rule a kernel would
 * have matched; NAT is decided on a connection's first packet and replayed from
 * conntrack for every later packet in both directions.
 *
 * nf_tables (nftables/) keeps its own ruleset, loaded from `nft -f` text; its base
 * chains register here beside the iptables tables.
 *
 * Not modelled: ip6tables, ebtables/arptables, conntrack helpers
 * and expectations, TCP window tracking, CONNMARK's effect on conntrack (the rule
 * engine reports it; conntrack does not act on it). NOTRACK / CT --notrack (and nft's
 * notrack) make a packet untracked (no entry, no NAT).
 */
export * from './eval-types.ts';
export * from './iptables/index.ts';
export * from './conntrack/index.ts';
export * from './nat.ts';
export * from './netfilter-stack.ts';
export * from './hook-ops.ts';
export { Nftables, NftError } from './nftables/index.ts';
export type { NftErrorCode, NftLocation } from './nftables/index.ts';

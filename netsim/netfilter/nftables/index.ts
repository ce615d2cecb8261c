/**
 * netsim/netfilter/nftables — the kernel's nf_tables and the `nft` text that
 * programs it. Each NetfilterStack has one: `nf.nft`.
 *
 * Entry points (for kube-proxy's nftables mode and views):
 *   - `nf.nft.apply(text)`: `nft -f -` with `text` (the exact text knftables writes:
 *     `add table ip kube-proxy { … }`, `add chain …`, `flush chain …`, `add rule …`,
 *     `add map … { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
 *     `add element …`, `delete chain …`, and the block form `nft list ruleset` prints),
 *     applied as one transaction; throws NftError (code NFT_SYNTAX / NFT_EVAL /
 *     NFT_KERNEL / NFT_UNSUPPORTED, nft's message and location) and then changes
 *     nothing. `nf.nft.tryApply(text)` returns the error with nft's full report instead.
 *   - `nf.nft.listRuleset()`: `nft list ruleset`, byte for byte as nft 1.0.6 prints it;
 *     `listRuleset({ handles: true })` is `nft -a list ruleset`, with the kernel's handles
 *     (per-table counter shared by chains, sets, anonymous sets and rules).
 *   - `nf.nft.listRulesetJson()`: `nft -j list ruleset`, as nft 1.0.6 writes it.
 *   - `nf.nft.ruleset`: the tables, chains, rules and sets as data (model.ts).
 *   - `new Nftables(now, share)`: namespaces with one NftShare parse each distinct line
 *     of their batches once and hold one object per set element (share.ts); what a
 *     namespace shows is unchanged.
 *
 * Contract: filter and route base chains are hook operations at their own priority
 * (ops/nft-do-chain.ts) beside iptables' tables and conntrack; nat chains run inside
 * NAT for a connection's first packet, ordered with the iptables nat table by
 * priority (ops/nf-nat-ipv4.ts). Evaluation is the kernel's (evaluate.ts): verdict
 * maps and sets are hashed, so a lookup costs one rule whatever the map's size, and
 * `rulesEvaluated` counts rules as the cost model expects. Traces name table, chain and
 * rule handle. `numgen random` draws from the stack's seeded RNG.
 *
 * Not modelled: `destroy` (nft 1.0.8; 1.0.6 refuses it as a syntax error, and so do we),
 * families other than ip and inet (IPv4 only), `typeof` set
 * declarations, named objects (counters, quotas, flowtables), `define`/`include`,
 * expressions outside model.ts's selectors (icmp, tcp flags, ether, iif/oif by index),
 * a route chain's re-routing, per-rule `position` semantics beyond handle/index, and
 * the kernel's exact error attribution for a batch with several errors (the first is
 * reported).
 */
export { Nftables } from './nftables.ts';
export type { BaseChainRef } from './nftables.ts';
export { NftError } from './errors.ts';
export { NftShare } from './share.ts';
export type { NftErrorCode, NftLocation } from './errors.ts';
export type { Ruleset, Table as NftTable, Chain as NftChain, Rule as NftRule, NftSet, Stmt as NftStmt, Family as NftFamily, HookName as NftHookName } from './model.ts';

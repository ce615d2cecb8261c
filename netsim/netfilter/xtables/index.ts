/**
 * netsim/netfilter/xtables — the iptables rule engine of one network namespace.
 *
 * Contract:
 * - Rules are data (model.ts): tables raw/mangle/nat/filter with their built-in
 *   chains, user chains, policies and per-rule packet/byte counters, typed matches
 *   and targets kept in the kernel's form.
 * - Text in: `Xtables.restore(text, {noflush, counters, test})` takes exactly what
 *   iptables-restore takes (parse.ts); any error is an IptablesRestoreError with a
 *   stable `code` and the input line, and leaves every table unchanged (atomic per
 *   call — the real tool commits table by table).
 * - Text out: `save()` prints byte for byte what iptables-save 1.8.9 (nf_tables)
 *   prints after a real iptables-restore of the same input; `list()` prints
 *   `iptables -L -n [-v] [--line-numbers]`. Both are checked against the real tool
 *   (oracle.test.ts, goldens in tests/golden/iptables/xt-*).
 * - Packets: `evaluate(table, pkt, ctx)` implements the EvalContext/EvalResult
 *   contract of ../eval-types.ts with ipt_do_table semantics (first match,
 *   jump/goto/RETURN, policies, counters, MARK on pkt.mark, statistic from ctx.rng
 *   with xt_statistic's fixed-point threshold, per-namespace `recent` tables on
 *   ctx.now). Runs of `-d VIP/32 -p P --dport N` (or `-p P --dport N`) rules are
 *   dispatched by hash lookup; `rulesEvaluated` and counters stay what a kernel
 *   walking every rule would produce.
 *
 * Not modelled: IPv6 (ip6tables), ebtables/arptables, nftables syntax and native
 * nft objects, `-f` fragments, conntrack options other than --ctstate, `-m set`
 * flags beyond directions, addrtype --limit-iface-* (types are namespace-wide),
 * LOG output text (ctx.onLog gets prefix and level), CT targets other than
 * --notrack, host names and service names in arguments, `-L` without `-n`, `-x`.
 */
export { Xtables } from './xtables.ts';
export type { XtablesOptions, XtablesRestoreOptions } from './xtables.ts';
export { IptablesRestoreError } from './errors.ts';
export type { IptablesErrorCode } from './errors.ts';
export * from './model.ts';
export type { RestoreOptions } from './parse.ts';
export type { SaveOptions } from './render.ts';
export type { ListOptions } from './render-list.ts';
export { renderRuleSpec } from './render-rule.ts';
export { RECENT_LIST_TOT } from './recent.ts';

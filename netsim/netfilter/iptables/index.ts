/**
 * netsim/netfilter/iptables — the xtables rule engine of one network namespace:
 * iptables-restore in, iptables-save and `iptables -L -n [-v] [--line-numbers]` out,
 * and first-match evaluation of a table at a hook for the netfilter glue.
 *
 * Contract:
 * - Rules are data (model.ts) kept in the kernel's form, so `save()` prints byte for
 *   byte what iptables-save 1.8.9 (nf_tables) prints after a real iptables-restore of
 *   the same input, and save is a fixed point of restore. Checked against the real
 *   tool in a fresh netns where root is available (real-fixtures.test.ts,
 *   restore.test.ts; goldens in tests/golden/iptables/ and tests/golden/iptables/real/).
 * - `restore(text, {noflush, counters, test})` accepts and refuses what the real
 *   iptables-restore does; an error is an IptablesError with a stable `code`, the
 *   line the real tool names and its words; each table block commits on its own.
 * - `evaluate(table, pkt, ctx)` follows ipt_do_table (jump/goto/RETURN, policy on
 *   underflow, exact counters, MARK/CONNMARK, statistic from ctx.rng with
 *   xt_statistic's fixed point, `recent` lists on ctx.now); runs of
 *   `-d VIP/32 -p P --dport N` rules are one hash lookup while `rulesEvaluated` stays
 *   what the kernel walks (`indexMinRun: Infinity` gives the plain linear walk).
 * - Rules are immutable; each namespace's counters live in its chains (`hits`). With
 *   an IptablesShare (share.ts) namespaces parse each distinct `-A` line once and hold
 *   each distinct rule list once; nothing a namespace shows changes.
 *
 * Not modelled: ip6tables, `-f`, conntrack options other than --ctstate, CT options
 * other than --notrack, tcp --tcp-option, host and service names in arguments, an
 * unterminated quote (the real tool swallows the rest of the line into the
 * argument; here it is an error), and the real tool's crashes and failures on
 * several -I/-R/-D against rules of the same transaction.
 *
 * History: the earlier parallel engine (netsim/netfilter/xtables) was folded in at commit f952be7 — its fixtures and tests live on here.
 */
export { Iptables } from './iptables.ts';
export type { RestoreOptions } from './iptables.ts';
export * from './errors.ts';
export * from './model.ts';
export * from './render.ts';
export * from './render-list.ts';

/**
 * What a rule stands for, in the words of whoever wrote it: userspace that programs a
 * ruleset (a NetworkPolicy enforcer) registers an explainer on the namespace's
 * netfilter; traces then show its text beside a hit rule, and a drop or reject it
 * explains carries its drop reason (`policy-denied`) instead of `nf-drop`/`nf-reject`.
 * The kernel knows nothing of policies: it hands over what a rule carries that
 * userspace chose — its comment — with where it sits and the packet's addresses, and
 * the explainer looks that up. Asked only while someone traces.
 */
import type { Ipv4Addr } from '../wire/addr.ts';
import type { DropReason } from '../trace/trace-event.ts';
import type { NfHook } from '../stack/netfilter-hooks.ts';
import type { TableName } from './eval-types.ts';

/** One rule hit as an explainer sees it. */
export interface RuleHitView {
  readonly table: TableName;
  readonly hook: NfHook;
  readonly chain: string;
  /** 1-based position in the chain. */
  readonly rule: number;
  /** The rule's `-m comment`, when it has one. */
  readonly comment: string | undefined;
  /** The packet's addresses as the hook sees them. */
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
}

export interface RuleExplanation {
  /** What the hit means, e.g. `dropped by NetworkPolicy shop/deny-all (ingress, default deny)`. */
  readonly text: string;
  /** For a rule that drops or rejects: the reason the drop is recorded with. */
  readonly dropReason?: DropReason;
}

export type RuleExplainer = (hit: RuleHitView) => RuleExplanation | undefined;

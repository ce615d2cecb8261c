/**
 * One plan per hook for an established flow: what the operations after conntrack's
 * lookup did to a packet of this conntrack entry and direction — each table's remembered
 * walk (flow-walks.ts) or empty-chain policy count, and NAT's rewrite from the entry
 * (nf_nat_packet) — replayed as one step instead of one operation call per table, NAT
 * and confirmation. The kernel's nf_flowtable takes an offloaded flow past every hook
 * at once; here the plan must be indistinguishable from running the operations: the
 * same counters in the same order, the same `rulesEvaluated` reports interleaved with
 * the NAT rewrites as the operations would make them (the experiment runner's cost
 * model reads the packet's addresses), the same mark.
 *
 * A plan is built after a full run of the hook's operations whose every step was
 * replayable: each table op replayed or remembered its walk (or counted its empty
 * ACCEPT chain), NAT only rewrote from a confirmed entry, confirmation had nothing to
 * do. It is kept only for hooks whose operations after conntrack are all of those
 * kinds (iptables tables, NAT, confirmation): nftables chains, IPVS and operations
 * registered from outside always run as themselves. It is replayed for a packet of
 * the same entry (its unique id) and direction, confirmed and not RELATED, nor IPVS's,
 * in the same conntrack state, with the same devices and the same mark when the plan
 * starts, while the ruleset generation, (when a walk tested a set) the ipset
 * generation and (when one tested an address type) the route generation are unchanged — the conditions under which each of its walks would
 * replay — and, since the plans of a hook are dropped with its operations, while the
 * hook's operations are the same. Nobody tracing, and the fast path on
 * (`NetfilterStack.hookPlans`; the differential test runs with it off).
 *
 * Plans are shared like walks: one object per distinct sequence of steps and
 * conditions, and per flow an entry id and a reference.
 */
import type { NetDevice } from '../link/net-device.ts';
import type { RuleCounter, Chain } from './iptables/model.ts';
import type { TableName } from './eval-types.ts';
import type { Manip } from './nat.ts';
import type { FlowWalk } from './flow-walks.ts';
import { FlowSlots, sameConditions, type FlowConditions } from './flow-slots.ts';

/** One step of a plan: a table's counters, or NAT's rewrite. */
export class PlanStep {
  constructor(
    /** The table whose walk this is (undefined: a NAT step). */
    readonly table: TableName | undefined,
    /** The rules the walk counted. */
    readonly rules: readonly RuleCounter[],
    /** The policy counted, or the empty chain whose policy accepted. */
    readonly policy: Chain | undefined,
    /** Rules the walk evaluated (the cost model's report). */
    readonly evaluated: number,
    /** A NAT step's manip (-1 for a table step). */
    readonly manip: Manip | -1,
    /** Whether this is a remembered walk (fastPathReplays counts those). */
    readonly walk: boolean,
  ) {}
}

/** What a table operation did to the packet it last ran: a walk or an empty chain's policy, or undefined when it cannot be replayed. */
export type TableOutcome = FlowWalk | Chain | typeof NO_CHAIN | undefined;
/** The table has no chain at this hook: nothing was counted or reported. */
export const NO_CHAIN = 'no-chain';

/** One plan; its conditions are those at the plan's start. */
export class HookPlan implements FlowConditions {
  constructor(
    readonly gen: number,
    readonly setGen: number,
    readonly routeGen: number,
    readonly ctState: number,
    readonly markIn: number,
    readonly markOut: number,
    readonly inDev: NetDevice | undefined,
    readonly outDev: NetDevice | undefined,
    readonly physIn: NetDevice | undefined,
    readonly physOut: NetDevice | undefined,
    readonly steps: readonly PlanStep[],
    /** Walks among the steps. */
    readonly walks: number,
  ) {}
}

/** Shared steps: per walk (a walk is shared already), per empty chain and table, per NAT manip. */
const walkSteps = new WeakMap<FlowWalk, Map<TableName, PlanStep>>();
const chainSteps = new WeakMap<Chain, Map<TableName, PlanStep>>();
const NAT_STEPS: readonly PlanStep[] = [new PlanStep(undefined, [], undefined, 0, 0 as Manip, false), new PlanStep(undefined, [], undefined, 0, 1 as Manip, false)];

/** The step replaying `walk` of `table`. */
export function walkStep(table: TableName, walk: FlowWalk): PlanStep {
  let m = walkSteps.get(walk);
  if (m === undefined) walkSteps.set(walk, (m = new Map()));
  let s = m.get(table);
  if (s === undefined) m.set(table, (s = new PlanStep(table, walk.rules, walk.policy, walk.evaluated, -1, true)));
  return s;
}

/** The step counting the policy of `table`'s empty ACCEPT chain. */
export function emptyChainStep(table: TableName, chain: Chain): PlanStep {
  let m = chainSteps.get(chain);
  if (m === undefined) chainSteps.set(chain, (m = new Map()));
  let s = m.get(table);
  if (s === undefined) m.set(table, (s = new PlanStep(table, [], chain, 0, -1, false)));
  return s;
}

/** The step rewriting the packet from its entry for `manip` (nf_nat_packet). */
export function natStep(manip: Manip): PlanStep {
  return NAT_STEPS[manip] as PlanStep;
}

/** Stored plans above which the sharing trie starts again. */
const MAX_SHARED_PLANS = 4096;

/** The plans of one hook (for one set of its operations), by `slot * 2 + direction`. */
export class HookPlans extends FlowSlots<PlanStep, HookPlan> {
  /** `start`: the index in the hook's operations where plans begin (after conntrack's lookup). */
  constructor(readonly start: number) {
    super(64, MAX_SHARED_PLANS);
  }

  /** Remember for `key` (entry `id`) the plan of `steps` under `c`. */
  remember(key: number, id: number, steps: readonly PlanStep[], c: FlowConditions): void {
    this.setSlot(key, id, this.shared(steps, c));
  }

  private shared(steps: readonly PlanStep[], c: FlowConditions): HookPlan {
    const stored = this.candidates(steps, c.gen);
    for (const p of stored) if (sameConditions(p, c)) return p;
    let walks = 0;
    for (const s of steps) if (s.walk) walks++;
    return this.store(stored, new HookPlan(c.gen, c.setGen, c.routeGen, c.ctState, c.markIn, c.markOut, c.inDev, c.outDev, c.physIn, c.physOut, steps.slice(), walks));
  }
}

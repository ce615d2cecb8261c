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
 * starts, while the ruleset generation and (when a walk tested a set) the ipset
 * generation are unchanged — the conditions under which each of its walks would
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

/** The conditions a plan was built under (WalkContext's, at the plan's start). */
interface PlanContext {
  readonly gen: number;
  readonly setGen: number;
  readonly ctState: number;
  readonly markIn: number;
  readonly markOut: number;
  readonly inDev: NetDevice | undefined;
  readonly outDev: NetDevice | undefined;
  readonly physIn: NetDevice | undefined;
  readonly physOut: NetDevice | undefined;
}

export class HookPlan implements PlanContext {
  constructor(
    readonly gen: number,
    readonly setGen: number,
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

interface TrieNode {
  next: Map<PlanStep, TrieNode> | undefined;
  plans: HookPlan[];
}

/** Stored plans above which the sharing trie starts again. */
const MAX_SHARED_PLANS = 4096;

/** The plans of one hook (for one set of its operations), by `slot * 2 + direction`. */
export class HookPlans {
  private ids = new Float64Array(64);
  private readonly byKey: Array<HookPlan | undefined> = [];
  private root: TrieNode = { next: undefined, plans: [] };
  private rootGen = -1;
  private stored = 0;

  /** `start`: the index in the hook's operations where plans begin (after conntrack's lookup). */
  constructor(readonly start: number) {}

  /** The plan remembered for `key` while it belonged to the conntrack entry `id`. */
  get(key: number, id: number): HookPlan | undefined {
    return key < this.byKey.length && this.ids[key] === id ? this.byKey[key] : undefined;
  }

  /** Remember for `key` (entry `id`) the plan of `steps` under `c`. */
  remember(key: number, id: number, steps: readonly PlanStep[], c: PlanContext): void {
    if (key >= this.ids.length) {
      let n = this.ids.length * 2;
      while (n <= key) n *= 2;
      const ids = new Float64Array(n);
      ids.set(this.ids);
      this.ids = ids;
    }
    const byKey = this.byKey;
    while (byKey.length <= key) byKey.push(undefined);
    this.ids[key] = id;
    byKey[key] = this.shared(steps, c);
  }

  private shared(steps: readonly PlanStep[], c: PlanContext): HookPlan {
    if (this.rootGen !== c.gen || this.stored >= MAX_SHARED_PLANS) {
      this.root = { next: undefined, plans: [] };
      this.rootGen = c.gen;
      this.stored = 0;
    }
    let node = this.root;
    let walks = 0;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i] as PlanStep;
      if (s.walk) walks++;
      let next = node.next?.get(s);
      if (next === undefined) {
        next = { next: undefined, plans: [] };
        (node.next ??= new Map()).set(s, next);
      }
      node = next;
    }
    for (const p of node.plans) {
      if (p.gen === c.gen && p.setGen === c.setGen && p.ctState === c.ctState && p.markIn === c.markIn && p.markOut === c.markOut
        && p.inDev === c.inDev && p.outDev === c.outDev && p.physIn === c.physIn && p.physOut === c.physOut) return p;
    }
    const p = new HookPlan(c.gen, c.setGen, c.ctState, c.markIn, c.markOut, c.inDev, c.outDev, c.physIn, c.physOut, steps.slice(), walks);
    node.plans.push(p);
    this.stored++;
    return p;
  }
}

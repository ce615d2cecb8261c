/**
 * The exact fast path of established flows: for each conntrack entry and direction,
 * the walk one table took at one hook, replayed instead of walked again when nothing
 * it depended on can differ. The kernel's nf_flowtable skips the hooks of offloaded
 * flows altogether; here the replay must be indistinguishable from the walk — the same
 * verdict, the same rule and policy counters, the same `rulesEvaluated` for the cost
 * model, the same mark — so a walk is remembered only when
 *
 * - every test it evaluated was flow-invariant (WalkRecord: no TCP flags, statistic,
 *   recent, addrtype, nfacct; no CONNMARK, LOG or NOTRACK target), and it accepted;
 *
 * and replayed only for a packet of the same entry (its unique id, not the reused
 * slot) and direction, in the same conntrack state, with the same devices (in, out,
 * bridge ports) and the same mark on entry, while the ruleset generation and (when the
 * walk tested a set) the ipset generation and (when it tested an address type) the
 * namespace's route generation are unchanged. RELATED packets (ICMP errors
 * carry other addresses) and IPVS's own packets always walk. With a tracer listening,
 * every packet walks (the trace is the walk).
 *
 * Flows walk alike: a walk is stored once and shared by every flow that took it, keyed
 * by the counters of the rules it counted (flow-slots.ts).
 */
import type { NetDevice } from '../link/net-device.ts';
import type { Chain, RuleCounter } from './iptables/model.ts';
import type { WalkRecord } from './iptables/evaluate.ts';
import { countAgain, FlowSlots, sameConditions, type FlowConditions } from './flow-slots.ts';

/** One remembered walk, shared by the flows that took it; never changed once stored. */
export class FlowWalk implements FlowConditions {
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
    readonly rules: readonly RuleCounter[],
    readonly policy: Chain | undefined,
    readonly evaluated: number,
  ) {}
}

/** Stored walks above which the trie starts again (walks of old ipset generations pile up otherwise). */
const MAX_SHARED_WALKS = 4096;

/** The walks of one table at one hook, by `slot * 2 + direction`. */
export class FlowWalks extends FlowSlots<RuleCounter, FlowWalk> {
  constructor() {
    super(256, MAX_SHARED_WALKS);
  }

  /** Remember for `key` (entry `id`) the walk `rec` recorded, `evaluated` rules long, in `ctx`; returns the (shared) walk stored. */
  remember(key: number, id: number, rec: WalkRecord, evaluated: number, ctx: FlowConditions): FlowWalk {
    const w = this.shared(rec, evaluated, ctx);
    this.setSlot(key, id, w);
    return w;
  }

  /** Remember for `key` (entry `id`) a walk another flow took (flow-classes.ts). */
  adopt(key: number, id: number, w: FlowWalk): void {
    this.setSlot(key, id, w);
  }

  /** The stored walk equal to this one, stored now if there is none. */
  private shared(rec: WalkRecord, evaluated: number, c: FlowConditions): FlowWalk {
    const rules = rec.rules;
    const stored = this.candidates(rules, c.gen);
    for (const w of stored) {
      if (w.policy === rec.policy && w.evaluated === evaluated && sameConditions(w, c)) return w;
    }
    return this.store(stored, new FlowWalk(c.gen, c.setGen, c.routeGen, c.ctState, c.markIn, c.markOut, c.inDev, c.outDev, c.physIn, c.physOut, rules.slice(), rec.policy, evaluated));
  }

  /** A remembered walk's effects on the counters (what the walk would have counted). */
  static replay(w: FlowWalk, len: number): void {
    countAgain(w.rules, w.policy, len);
  }
}

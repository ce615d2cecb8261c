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
 * walk tested a set) the ipset generation are unchanged. RELATED packets (ICMP errors
 * carry other addresses) and IPVS's own packets always walk. With a tracer listening,
 * every packet walks (the trace is the walk).
 *
 * Flows walk alike: a walk is stored once and shared by every flow that took it (a trie
 * over the counters of the rules it counted, then its scalar fields), and per flow only the conntrack
 * entry's id and a reference are kept, in arrays indexed by the key. A walk object per
 * flow lived as long as its conntrack entry (minutes of virtual time), so each was
 * promoted out of the young generation: ~40 % of the bytes that survived a scavenge.
 */
import type { NetDevice } from '../link/net-device.ts';
import type { Chain, RuleCounter } from './iptables/model.ts';
import type { WalkRecord } from './iptables/evaluate.ts';

/** One remembered walk, shared by the flows that took it; never changed once stored. */
export class FlowWalk {
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
    readonly rules: readonly RuleCounter[],
    readonly policy: Chain | undefined,
    readonly evaluated: number,
  ) {}
}

/** What a walk is remembered with, besides its record. */
export interface WalkContext {
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

/** A node of the trie over walks' rules: the walks that counted exactly the rules on its path. */
interface TrieNode {
  next: Map<RuleCounter, TrieNode> | undefined;
  walks: FlowWalk[];
}

/** Stored walks above which the trie starts again (walks of old ipset generations pile up otherwise). */
const MAX_SHARED_WALKS = 4096;

/** The walks of one table at one hook, by `slot * 2 + direction`. */
export class FlowWalks {
  /** Per key: the conntrack entry id its walk was remembered for, and the walk. */
  private ids = new Float64Array(256);
  private readonly byKey: Array<FlowWalk | undefined> = [];
  private root: TrieNode = { next: undefined, walks: [] };
  private rootGen = -1;
  private stored = 0;

  /** The walk remembered for `key` while it belonged to the conntrack entry `id`. */
  get(key: number, id: number): FlowWalk | undefined {
    return key < this.byKey.length && this.ids[key] === id ? this.byKey[key] : undefined;
  }

  /** Remember for `key` (entry `id`) the walk `rec` recorded, `evaluated` rules long, in `ctx`; returns the (shared) walk stored. */
  remember(key: number, id: number, rec: WalkRecord, evaluated: number, ctx: WalkContext): FlowWalk {
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
    const w = this.shared(rec, evaluated, ctx);
    byKey[key] = w;
    return w;
  }

  /** The stored walk equal to this one, stored now if there is none. */
  private shared(rec: WalkRecord, evaluated: number, c: WalkContext): FlowWalk {
    if (this.rootGen !== c.gen || this.stored >= MAX_SHARED_WALKS) {
      this.root = { next: undefined, walks: [] };
      this.rootGen = c.gen;
      this.stored = 0;
    }
    let node = this.root;
    const rules = rec.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as RuleCounter;
      let next = node.next?.get(r);
      if (next === undefined) {
        next = { next: undefined, walks: [] };
        (node.next ??= new Map()).set(r, next);
      }
      node = next;
    }
    for (const w of node.walks) {
      if (w.policy === rec.policy && w.evaluated === evaluated && w.gen === c.gen && w.setGen === c.setGen && w.ctState === c.ctState
        && w.markIn === c.markIn && w.markOut === c.markOut && w.inDev === c.inDev && w.outDev === c.outDev && w.physIn === c.physIn && w.physOut === c.physOut) return w;
    }
    const w = new FlowWalk(c.gen, c.setGen, c.ctState, c.markIn, c.markOut, c.inDev, c.outDev, c.physIn, c.physOut, rules.slice(), rec.policy, evaluated);
    node.walks.push(w);
    this.stored++;
    return w;
  }

  /** A remembered walk's effects on the counters (what the walk would have counted). */
  static replay(w: FlowWalk, len: number): void {
    const rules = w.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as RuleCounter;
      r.packets++;
      r.bytes += len;
    }
    if (w.policy !== undefined) {
      w.policy.packets++;
      w.policy.bytes += len;
    }
  }
}

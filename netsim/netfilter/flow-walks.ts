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
 */
import type { NetDevice } from '../link/net-device.ts';
import type { Chain, Rule } from './iptables/model.ts';
import type { WalkRecord } from './iptables/evaluate.ts';

/** One remembered walk (objects are reused when their key comes back). */
export class FlowWalk {
  id = 0;
  gen = -1;
  setGen = -1;
  ctState = 0;
  markIn = 0;
  markOut = 0;
  inDev: NetDevice | undefined = undefined;
  outDev: NetDevice | undefined = undefined;
  physIn: NetDevice | undefined = undefined;
  physOut: NetDevice | undefined = undefined;
  readonly rules: Rule[] = [];
  policy: Chain | undefined = undefined;
  evaluated = 0;
}

/** The walks of one table at one hook, by `slot * 2 + direction`. */
export class FlowWalks {
  private readonly walks = new Map<number, FlowWalk>();

  get(key: number): FlowWalk | undefined {
    return this.walks.get(key);
  }

  /** The key's walk object to fill (reused when the key comes back: no allocation per packet). */
  entry(key: number): FlowWalk {
    let w = this.walks.get(key);
    if (w === undefined) {
      w = new FlowWalk();
      this.walks.set(key, w);
    }
    return w;
  }

  /** Copy what `rec` recorded into `w`. */
  static fill(w: FlowWalk, rec: WalkRecord, evaluated: number): void {
    w.rules.length = 0;
    for (let i = 0; i < rec.rules.length; i++) w.rules.push(rec.rules[i] as Rule);
    w.policy = rec.policy;
    w.evaluated = evaluated;
  }

  /** A remembered walk's effects on the counters (what the walk would have counted). */
  static replay(w: FlowWalk, len: number): void {
    const rules = w.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as Rule;
      r.packets++;
      r.bytes += len;
    }
    if (w.policy !== undefined) {
      w.policy.packets++;
      w.policy.bytes += len;
    }
  }
}

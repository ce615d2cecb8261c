/**
 * The netfilter of one namespace as the stack sees it (the netfilter half of the
 * kernel's `struct net`): implements NetfilterHooks by running, at each hook, the
 * hook operations registered there in priority order (hook-ops.ts, nf_hook_slow).
 * The built-in operations, each in ops/ under its kernel name:
 *
 *   PREROUTING:  iptable_raw (-300) → ipv4_conntrack_in (-200) → iptable_mangle (-150) → nf_nat_ipv4_pre_routing (-100)
 *   INPUT:       iptable_mangle (-150) → iptable_filter (0) → ip_vs_reply4 (98) → ip_vs_remote_request4 (99) → nf_nat_ipv4_local_in (100) → ipv4_confirm (last)
 *   FORWARD:     iptable_mangle (-150) → iptable_filter (0) → ip_vs_reply4 (100)
 *   OUTPUT:      iptable_raw (-300) → ipv4_conntrack_local (-200) → iptable_mangle (-150) → nf_nat_ipv4_local_fn (-100) → ip_vs_local_reply4 (-99) → ip_vs_local_request4 (-98) → iptable_filter (0)
 *   POSTROUTING: iptable_mangle (-150) → nf_nat_ipv4_out (100) → ipv4_confirm (last)
 *
 * For a packet of a confirmed, established entry the operations after conntrack's
 * lookup run as one remembered plan when their outcome cannot differ (hook-plans.ts).
 * An iptables table is registered only while it is loaded, IPVS only while attached;
 * more operations (nftables base chains, a policy enforcer) plug in with
 * {@link NetfilterStack.registerOps}.
 *
 * The nat table is consulted only for a connection's first packet; every later
 * packet, in either direction, gets the translation recorded in its conntrack entry
 * (replies are un-NATed without rules), and ICMP errors about a connection are
 * RELATED and translated inside and out — those the stack generates itself are
 * attached to the offending packet's entry (nf_ct_attach), confirmed or not. Packets
 * conntrack finds invalid carry no entry (`--ctstate INVALID`) and get no NAT, as in
 * the kernel. REJECT answers with the ICMP error or TCP reset it names. Every rule hit
 * (what `-j TRACE` logs), NAT rewrite and conntrack change is traced.
 *
 * A packet's entry travels as `pkt.ct` (the slot number) and `pkt.ctInfo`
 * (CT_* state bits, direction at bit 7, the entry's tag from bit 8) — no per-packet
 * objects. IPVS traffic keeps its entry (net.ipv4.vs.conntrack=1): IPVS points the
 * entry's reply tuple at the real server, and the re-sent packet gets source NAT
 * and confirmation at POSTROUTING. The raw table's NOTRACK (and CT --notrack) marks a
 * packet untracked (ops/ipt-do-table.ts): conntrack ignores it, it gets no NAT and
 * `--ctstate UNTRACKED` matches it. Not modelled: the CT target's other options,
 * CONNMARK, conntrack zones, REJECT's RST inheriting the rejected packet's entry
 * (nf_ct_attach).
 */
import type { Packet } from '../packet/packet.ts';
import { AF_INET, setIpv4Context } from '../packet/packet.ts';
import type { Tracer } from '../trace/tracer.ts';
import type { NetNamespace } from '../stack/net-namespace.ts';
import { NF_ACCEPT, NF_DROP } from '../stack/netfilter-hooks.ts';
import type { NetfilterHooks, NfContext, NfHook, NfVerdict } from '../stack/netfilter-hooks.ts';
import { formatIpv4 } from '../wire/addr.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { Ipv4, L4 } from '../wire/ipv4.ts';
import { Iptables } from './iptables/iptables.ts';
import { Conntrack, DIR_ORIGINAL, DIR_REPLY } from './conntrack/conntrack.ts';
import { CT_INVALID, CT_RELATED, CT_UNTRACKED } from './eval-types.ts';
import type { AddrType, EvalContext, IpsetLookup, TableName } from './eval-types.ts';
import { MANIP_DST, MANIP_SRC, natNeeded, natPacket } from './nat.ts';
import type { Rng } from '../time/rng.ts';
import type { Ipvs } from '../ipvs/ipvs.ts';
import { NF_HOOKS, sortOps } from './hook-ops.ts';
import type { NfHookOps } from './hook-ops.ts';
import { NfConntrackIn } from './ops/nf-conntrack-in.ts';
import { NfConntrackConfirm } from './ops/nf-conntrack-confirm.ts';
import { NfNatIpv4 } from './ops/nf-nat-ipv4.ts';
import { iptableRawOps } from './ops/iptable-raw.ts';
import { iptableMangleOps } from './ops/iptable-mangle.ts';
import { iptableFilterOps } from './ops/iptable-filter.ts';
import { ipVsInOps } from './ops/ip-vs-in.ts';
import { ipVsOutOps } from './ops/ip-vs-out.ts';
import type { RuleExplainer, RuleExplanation } from './rule-explain.ts';
import { nftChainOps } from './ops/nft-do-chain.ts';
import { IptDoTable } from './ops/ipt-do-table.ts';
import { FlowWalk } from './flow-walks.ts';
import { countAgain, holdsNow } from './flow-slots.ts';
import { HookPlans, NO_CHAIN, emptyChainStep, natStep, walkStep } from './hook-plans.ts';
import type { HookPlan, PlanStep } from './hook-plans.ts';
import { Nftables } from './nftables/nftables.ts';

/** EvalContext with every field writable (the stack's reused context). */
type MutableEvalContext = { -readonly [K in keyof EvalContext]-?: EvalContext[K] | undefined };

export interface NetfilterStackOptions {
  readonly iptables?: Iptables;
  /** The namespace's nf_tables (default: its own, on the namespace's clock). */
  readonly nft?: Nftables;
  readonly conntrack?: Conntrack;
  readonly ipsets?: IpsetLookup;
  readonly ipvs?: Ipvs;
}

/** The default of {@link NetfilterStack.fastPath} for stacks created from now on (the differential test turns it off). */
export const fastPathDefault = { on: true };
/** The default of {@link NetfilterStack.hookPlans} for stacks created from now on (the differential test turns it off). */
export const hookPlansDefault = { on: true };

/** ctInfo layout: CT_* state bits below, the direction bit, the entry's tag from bit 8. */
export const CTINFO_STATE_MASK = 0x7f;
export const CTINFO_DIR_REPLY = 0x80;

export class NetfilterStack implements NetfilterHooks {
  readonly iptables: Iptables;
  readonly conntrack: Conntrack;
  /**
   * The namespace's nf_tables (`nft -f` / `nft list ruleset`): its filter and route base
   * chains register here at their priorities, its nat chains run inside NAT.
   */
  readonly nft: Nftables;
  private ipsetLookup: IpsetLookup | undefined = undefined;
  private ipvsOf: Ipvs | undefined = undefined;
  /**
   * Observation tap: called after every table evaluation with the packet and the
   * number of rules a real kernel would have evaluated (the cost model of
   * experiments). Nothing is counted when unset.
   */
  onRulesEvaluated: ((pkt: Packet, table: TableName, rules: number) => void) | undefined = undefined;
  readonly rng: Rng;
  /** The simulation's tracer (a plan is replayed only while nobody traces). */
  private readonly tracer: Tracer;
  /** Which CPU handles each packet, when the node has more than one (a stream of its own: one CPU draws nothing). */
  private readonly cpuRng: Rng;
  /**
   * Replay the filter/mangle walks of established flows when they provably cannot
   * differ (flow-walks.ts). Off only to prove that it changes nothing (the
   * differential test runs scenarios and experiments both ways).
   */
  fastPath = fastPathDefault.on;
  /** Walks replayed by the fast path (observation: the differential test checks it engaged). */
  fastPathReplays = 0;
  /** Of those, walks another flow took, replayed for a flow's first packet at a table (flow-classes.ts; observation). */
  classReplays = 0;
  /**
   * With the fast path on, replay an established flow's whole hook after conntrack's
   * lookup as one plan (hook-plans.ts) instead of one operation call per table, NAT and
   * confirmation. Off only to prove that it changes nothing.
   */
  hookPlans = hookPlansDefault.on;
  /** Hook runs replayed from a plan (observation, like fastPathReplays). */
  planReplays = 0;
  /** What rules stand for, registered by whoever writes them (a policy enforcer); asked while tracing (rule-explain.ts). */
  readonly explainers: RuleExplainer[] = [];
  /** Operations registered from outside (nftables, a policy enforcer). */
  private readonly extraOps: NfHookOps[] = [];
  /** The hook entries (nf_hook_entries), per hook; rebuilt when the layout moves. */
  private entries: Record<NfHook, NfHookOps[]> = { PREROUTING: [], INPUT: [], FORWARD: [], OUTPUT: [], POSTROUTING: [] };
  /** The same arrays as fields: `run` picks its hook's by comparing the name, not by a keyed load per call. */
  private pre: NfHookOps[] = [];
  private input: NfHookOps[] = [];
  private fwd: NfHookOps[] = [];
  private out: NfHookOps[] = [];
  private post: NfHookOps[] = [];
  /** Per hook, the plans of established flows when the hook's operations allow them (hook-plans.ts); dropped with the operations. */
  private prePlans: HookPlans | undefined = undefined;
  private inputPlans: HookPlans | undefined = undefined;
  private fwdPlans: HookPlans | undefined = undefined;
  private outPlans: HookPlans | undefined = undefined;
  private postPlans: HookPlans | undefined = undefined;
  /** iptables.layoutGeneration the entries were built for (-1: rebuild). */
  private builtLayout = -1;

  get ipsets(): IpsetLookup | undefined {
    return this.ipsetLookup;
  }

  /** Attach the namespace's ipsets: `-m set` tests them and restores refuse unknown sets. */
  set ipsets(s: IpsetLookup | undefined) {
    this.ipsetLookup = s;
    this.iptables.setExists = s === undefined ? undefined : (n) => s.has(n);
  }

  /** IPVS of the namespace (kube-proxy IPVS mode); its hook operations are registered while it is attached. */
  get ipvs(): Ipvs | undefined {
    return this.ipvsOf;
  }

  set ipvs(v: Ipvs | undefined) {
    this.ipvsOf = v;
    this.builtLayout = -1;
  }

  constructor(readonly ns: NetNamespace, opts: NetfilterStackOptions = {}) {
    this.iptables = opts.iptables ?? new Iptables();
    this.conntrack = opts.conntrack ?? new Conntrack(() => ns.sim.clock.now());
    this.rng = ns.sim.rng.fork(`netfilter:${ns.name}`);
    this.tracer = ns.sim.tracer;
    this.nft = opts.nft ?? new Nftables(() => ns.sim.clock.now());
    this.nft.onChange = () => { this.builtLayout = -1; };
    this.cpuRng = ns.sim.rng.fork(`cpu:${ns.name}`);
    this.ectx.rng = this.rng;
    if (opts.ipsets !== undefined) this.ipsets = opts.ipsets;
    if (opts.ipvs !== undefined) this.ipvs = opts.ipvs;
  }

  /** Install on the namespace (ns.hooks). */
  static install(ns: NetNamespace, opts: NetfilterStackOptions = {}): NetfilterStack {
    const s = new NetfilterStack(ns, opts);
    ns.hooks = s;
    return s;
  }

  // ------------------------------------------------------------ hook operations

  /** nf_register_net_hook: run `op` at its hook, ordered by its priority among the others. */
  registerOps(op: NfHookOps): void {
    this.extraOps.push(op);
    this.builtLayout = -1;
  }

  /** nf_unregister_net_hook. */
  unregisterOps(op: NfHookOps): void {
    const i = this.extraOps.indexOf(op);
    if (i >= 0) this.extraOps.splice(i, 1);
    this.builtLayout = -1;
  }

  /** The operations a hook runs, in order (for tests and `netsim` views). */
  hookOps(hook: NfHook): readonly NfHookOps[] {
    this.ensureEntries();
    return this.entries[hook];
  }

  private ensureEntries(): void {
    if (this.builtLayout === this.iptables.layoutGeneration) return;
    const ops: NfHookOps[] = [
      new NfConntrackIn(this, 'PREROUTING'), new NfConntrackIn(this, 'OUTPUT'),
      new NfNatIpv4(this, 'PREROUTING', MANIP_DST), new NfNatIpv4(this, 'OUTPUT', MANIP_DST),
      new NfNatIpv4(this, 'INPUT', MANIP_SRC), new NfNatIpv4(this, 'POSTROUTING', MANIP_SRC),
      new NfConntrackConfirm(this, 'INPUT'), new NfConntrackConfirm(this, 'POSTROUTING'),
      ...iptableRawOps(this), ...iptableMangleOps(this), ...iptableFilterOps(this), ...nftChainOps(this),
    ];
    if (this.ipvsOf !== undefined) ops.push(...ipVsOutOps(this, this.ipvsOf), ...ipVsInOps(this, this.ipvsOf));
    ops.push(...this.extraOps);
    const entries: Record<NfHook, NfHookOps[]> = { PREROUTING: [], INPUT: [], FORWARD: [], OUTPUT: [], POSTROUTING: [] };
    for (const h of NF_HOOKS) entries[h] = sortOps(ops.filter((o) => o.hook === h));
    this.entries = entries;
    this.pre = entries.PREROUTING;
    this.input = entries.INPUT;
    this.fwd = entries.FORWARD;
    this.out = entries.OUTPUT;
    this.post = entries.POSTROUTING;
    this.prePlans = plansFor(entries.PREROUTING);
    this.inputPlans = plansFor(entries.INPUT);
    this.fwdPlans = plansFor(entries.FORWARD);
    this.outPlans = plansFor(entries.OUTPUT);
    this.postPlans = plansFor(entries.POSTROUTING);
    this.builtLayout = this.iptables.layoutGeneration;
  }

  /**
   * nf_hook_slow: the hook's operations in priority order until one does not accept.
   * Packets IPVS already handled (skb->ipvs_property) only meet the operations that
   * say they see them. A dropped first packet takes its unconfirmed entry with it.
   */
  run(hook: NfHook, pkt: Packet, ctx: NfContext): NfVerdict {
    if (this.builtLayout !== this.iptables.layoutGeneration) this.ensureEntries();
    // The stack sets the context at ip_rcv / output; callers that hand a packet in directly get it here.
    if (pkt.family !== AF_INET || pkt.nh !== pkt.off) setIpv4Context(pkt);
    let ops: NfHookOps[];
    let plans: HookPlans | undefined;
    if (hook === 'PREROUTING') {
      ops = this.pre;
      plans = this.prePlans;
    } else if (hook === 'POSTROUTING') {
      ops = this.post;
      plans = this.postPlans;
    } else if (hook === 'FORWARD') {
      ops = this.fwd;
      plans = this.fwdPlans;
    } else if (hook === 'INPUT') {
      ops = this.input;
      plans = this.inputPlans;
    } else {
      ops = this.out;
      plans = this.outPlans;
    }
    if (ops.length === 0) return NF_ACCEPT;
    if (plans === undefined || !this.hookPlans || !this.fastPath || pkt.ipvs) return this.runOps(ops, 0, pkt, ctx);
    // Conntrack's lookup (and the raw table before it) runs as itself; what follows may be a plan.
    const start = plans.start;
    if (start > 0) {
      const v = this.runOps(ops, 0, pkt, ctx, start);
      if (v !== NF_ACCEPT) return v;
    }
    // Untraced, with a confirmed entry (the reference not stale), not RELATED: the hook may run from a plan.
    const slot = pkt.ct;
    if (typeof slot !== 'number' || (pkt.ctInfo & CT_RELATED) !== 0 || this.tracer.enabled) return this.runOps(ops, start, pkt, ctx);
    const id = this.conntrack.confirmedIdOf(slot, pkt.ctInfo >>> 8);
    if (id < 0) return this.runOps(ops, start, pkt, ctx);
    const dir = (pkt.ctInfo & CTINFO_DIR_REPLY) !== 0 ? DIR_REPLY : DIR_ORIGINAL;
    const key = slot * 2 + dir;
    const p = plans.get(key, id);
    if (p !== undefined && this.planFits(p, pkt, ctx)) {
      this.replayPlan(p, pkt, slot, dir);
      return NF_ACCEPT;
    }
    const markIn = pkt.mark;
    const ctState = pkt.ctInfo & CTINFO_STATE_MASK;
    const v = this.runOps(ops, start, pkt, ctx);
    if (v === NF_ACCEPT && this.slotOf(pkt) === slot && this.conntrack.idOf(slot) === id) this.rememberPlan(plans, ops, pkt, key, id, dir, markIn, ctState, ctx);
    return v;
  }

  /** Operations `from` … `to` − 1 of a hook in order until one does not accept (nf_hook_slow's loop). */
  private runOps(ops: NfHookOps[], from: number, pkt: Packet, ctx: NfContext, to = ops.length): NfVerdict {
    for (let i = from; i < to; i++) {
      const op = ops[i] as NfHookOps;
      if (pkt.ipvs && op.ipvsProperty !== true) continue;
      const v = op.run(pkt, ctx);
      if (v !== NF_ACCEPT) {
        if (v === NF_DROP) this.discardUnconfirmed(pkt);
        return v;
      }
    }
    return NF_ACCEPT;
  }

  // ------------------------------------------------------------ plans of established flows (hook-plans.ts)

  private planFits(p: HookPlan, pkt: Packet, ctx: NfContext): boolean {
    return holdsNow(p, this.iptables.generation, this.ipsetLookup?.generation, this.ns.routeGeneration, pkt.ctInfo & CTINFO_STATE_MASK, pkt.mark, ctx);
  }

  /** What the plan's operations would do: each table's counters and report, NAT's rewrites, in their order; then the mark. */
  private replayPlan(p: HookPlan, pkt: Packet, slot: number, dir: number): void {
    const len = pkt.len;
    const steps = p.steps;
    const report = this.onRulesEvaluated;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i] as PlanStep;
      if (s.manip >= 0) {
        natPacket(this.conntrack, slot, dir, s.manip as 0 | 1, pkt.buf, pkt.nh);
        continue;
      }
      countAgain(s.rules, s.policy, len);
      if (report !== undefined) report(pkt, s.table as TableName, s.evaluated);
    }
    pkt.mark = p.markOut;
    this.fastPathReplays += p.walks;
    this.planReplays++;
  }

  /** After the operations from the plan's start all accepted: their steps as a plan, when every one can be replayed. */
  private rememberPlan(plans: HookPlans, ops: readonly NfHookOps[], pkt: Packet, key: number, id: number, dir: number, markIn: number, ctState: number, ctx: NfContext): void {
    const steps: PlanStep[] = [];
    let setGen = -1;
    let routeGen = -1;
    const status = this.conntrack.statusOf(key >>> 1);
    for (let i = plans.start; i < ops.length; i++) {
      const op = ops[i];
      if (op instanceof IptDoTable) {
        const o = op.outcome;
        if (o === undefined) return;
        if (o === NO_CHAIN) continue;
        if (o instanceof FlowWalk) {
          if (o.setGen >= 0) setGen = o.setGen;
          if (o.routeGen >= 0) routeGen = o.routeGen;
          steps.push(walkStep(op.table, o));
        } else steps.push(emptyChainStep(op.table, o));
      } else if (op instanceof NfNatIpv4) {
        if (natNeeded(status, dir, op.manip)) steps.push(natStep(op.manip));
      } else if (!(op instanceof NfConntrackConfirm)) return;
    }
    plans.remember(key, id, steps, {
      gen: this.iptables.generation, setGen, routeGen, ctState, markIn, markOut: pkt.mark,
      inDev: ctx.inDev, outDev: ctx.outDev, physIn: ctx.physIn, physOut: ctx.physOut,
    });
  }

  /**
   * Implements {@link NetfilterHooks.attachRelated} (nf_ct_attach): the error joins the
   * offending packet's entry as RELATED in the other direction (an error about an
   * original-direction packet travels in the reply direction).
   */
  attachRelated(err: Packet, orig: Packet): void {
    const slot = this.slotOf(orig);
    if (slot < 0) return;
    this.attach(err, slot, (orig.ctInfo & CTINFO_DIR_REPLY) !== 0 ? DIR_ORIGINAL : DIR_REPLY, CT_RELATED);
  }

  // ------------------------------------------------------------ the packet's entry (for the operations)

  /** The packet's entry slot, or -1 (none, or a stale reference). */
  /**
   * The CPU whose softirq handles this packet's trip through the hooks: uniform over
   * the node's CPUs (RPS spreading, or the sending thread's CPU), from the seeded
   * stream; always 0 on one CPU. See conntrack.ts on the insertion race.
   */
  pickCpu(): number {
    const n = this.conntrack.cpus;
    return n > 1 ? this.cpuRng.int(n) : 0;
  }

  slotOf(pkt: Packet): number {
    const slot = pkt.ct;
    if (typeof slot !== 'number') return -1;
    return this.conntrack.holds(slot, pkt.ctInfo >>> 8) ? slot : -1;
  }

  attach(pkt: Packet, slot: number, dir: number, state: number): void {
    pkt.ct = slot;
    pkt.ctInfo = (state & CTINFO_STATE_MASK) | (dir === DIR_REPLY ? CTINFO_DIR_REPLY : 0) | (this.conntrack.tagOf(slot) << 8);
  }

  detach(pkt: Packet): void {
    pkt.ct = undefined;
    pkt.ctInfo = 0;
  }

  /** Mark the packet untracked (IP_CT_UNTRACKED): no entry, and conntrack leaves it alone. */
  untrack(pkt: Packet): void {
    pkt.ct = undefined;
    pkt.ctInfo = CT_UNTRACKED;
  }

  /** Whether a raw-table NOTRACK marked the packet untracked. */
  isUntracked(pkt: Packet): boolean {
    return pkt.ct === undefined && pkt.ctInfo === CT_UNTRACKED;
  }

  /** A dropped or stolen first packet takes its unconfirmed entry with it. */
  private discardUnconfirmed(pkt: Packet): void {
    const slot = this.slotOf(pkt);
    if (slot < 0) return;
    if (!this.conntrack.isConfirmed(slot) && (pkt.ctInfo & CT_RELATED) === 0) this.conntrack.kill(slot);
    this.detach(pkt);
  }

  // ------------------------------------------------------------ rule evaluation (for the table operations)

  /**
   * The context of a table evaluation. One object per stack, refilled for every
   * evaluation (evaluations do not nest: what a verdict causes happens after it
   * returns); the trace callback exists only when someone listens.
   */
  evalCtx(hook: NfHook, pkt: Packet, ctx: NfContext): EvalContext {
    const e = this.ectx;
    e.hook = hook;
    e.inDev = ctx.inDev?.name;
    e.outDev = ctx.outDev?.name;
    e.physIn = ctx.physIn?.name;
    e.physOut = ctx.physOut?.name;
    e.now = this.ns.sim.clock.now();
    e.ctState = this.slotOf(pkt) >= 0 ? pkt.ctInfo & CTINFO_STATE_MASK : this.isUntracked(pkt) ? CT_UNTRACKED : CT_INVALID;
    e.ipsets = this.ipsetLookup;
    e.onRuleHit = this.ns.sim.tracer.enabled ? this.ruleTracer(pkt, hook) : undefined;
    return e as EvalContext;
  }

  /** The trace callback, in its own function: a closure built inline would cost a context allocation per evaluation even untraced. */
  private ruleTracer(pkt: Packet, hook: NfHook): (t: TableName, chain: string, rule: number, target: string) => void {
    return (t, chain, rule, target) => this.traceRule(pkt, hook, t, chain, rule, target);
  }

  private readonly ectx: MutableEvalContext = {
    hook: 'PREROUTING', inDev: undefined, outDev: undefined, physIn: undefined, physOut: undefined, now: 0,
    rng: undefined as unknown as Rng, ctState: 0, addrType: (a) => this.addrType(a), ipsets: undefined, onRuleHit: undefined, ctMark: undefined, onLog: undefined,
  };

  private addrType(a: Ipv4Addr): AddrType {
    if (a === 0) return 'UNSPEC';
    if (a === 0xffffffff) return 'BROADCAST';
    if (a >= 0xe0000000 && a < 0xf0000000) return 'MULTICAST';
    if (this.ns.isLocalAddress(a)) return 'LOCAL';
    const r = this.ns.lookupRoute(a);
    if (r?.type === 'broadcast') return 'BROADCAST';
    if (r?.type === 'blackhole') return 'BLACKHOLE';
    if (r?.type === 'unreachable') return 'UNREACHABLE';
    if (r?.type === 'prohibit') return 'PROHIBIT';
    return 'UNICAST';
  }

  // ------------------------------------------------------------ tracing

  get tracing(): boolean {
    return this.tracer.enabled;
  }

  private traceRule(pkt: Packet, hook: NfHook, table: TableName, chain: string, rule: number, target: string): void {
    const why = this.explainRule(table, hook, chain, rule, pkt);
    this.ns.sim.tracer.emit({
      kind: 'nf', t: this.ns.sim.clock.now(), node: this.ns.node, netns: this.ns.name, pkt: pkt.id, hook, table, chain, rule,
      verdict: target, detail: `${rule === 0 ? `policy ${target}` : `-j ${target}`}${why !== undefined ? `: ${why.text}` : ''}`,
      ...(why !== undefined ? { explanation: why.text } : {}), ...this.packetAtHook(pkt),
    });
  }

  /** The registered explainers' word on rule `rule` of `chain` (the first that has one), for the packet as it is now. */
  explainRule(table: TableName, hook: NfHook, chain: string, rule: number, pkt: Packet): RuleExplanation | undefined {
    if (this.explainers.length === 0 || rule === 0 || !this.iptables.hasTable(table)) return undefined;
    const r = this.iptables.table(table).chains.get(chain)?.rules[rule - 1];
    if (r === undefined) return undefined;
    let comment: string | undefined;
    for (const m of r.matches) if (m.kind === 'comment') comment = m.comment;
    const view = { table, hook, chain, rule, comment, src: Ipv4.src(pkt.buf, pkt.nh), dst: Ipv4.dst(pkt.buf, pkt.nh) };
    for (const ex of this.explainers) {
      const why = ex(view);
      if (why !== undefined) return why;
    }
    return undefined;
  }

  /** The packet as this hook has it (TTL already decremented at FORWARD, NAT applied so far), for traces that asked for bytes. */
  private packetAtHook(pkt: Packet): { data?: Uint8Array } {
    return this.ns.sim.tracer.wantBytes ? { data: pkt.buf.slice(pkt.off, pkt.off + pkt.len) } : {};
  }

  traceNat(pkt: Packet, detail: string): void {
    this.ns.sim.tracer.emit({ kind: 'nat', t: this.ns.sim.clock.now(), node: this.ns.node, netns: this.ns.name, pkt: pkt.id, detail, ...this.packetAtHook(pkt) });
  }

  traceCt(pkt: Packet, detail: string): void {
    this.ns.sim.tracer.emit({ kind: 'ct', t: this.ns.sim.clock.now(), node: this.ns.node, netns: this.ns.name, pkt: pkt.id, detail });
  }
}

/**
 * The plans of a hook whose operations after conntrack's lookup (all of them at a hook
 * without one) are iptables tables, NAT and confirmation — what a plan can replay — or
 * undefined (nftables chains, IPVS and operations from outside always run as themselves).
 */
function plansFor(ops: readonly NfHookOps[]): HookPlans | undefined {
  let start = 0;
  for (let i = 0; i < ops.length; i++) if (ops[i] instanceof NfConntrackIn) start = i + 1;
  if (start === ops.length) return undefined;
  for (let i = start; i < ops.length; i++) {
    const op = ops[i];
    if (!(op instanceof IptDoTable || op instanceof NfNatIpv4 || op instanceof NfConntrackConfirm)) return undefined;
  }
  return new HookPlans(start);
}

/** `a.b.c.d:port → e.f.g.h:port` of the IPv4 packet at `o` (traces). */
export function describePacket(b: Uint8Array, o: number): string {
  const th = o + Ipv4.headerLen(b, o);
  const p = Ipv4.protocol(b, o);
  const s = formatIpv4(Ipv4.src(b, o));
  const d = formatIpv4(Ipv4.dst(b, o));
  if (p === 6 || p === 17) return `${s}:${L4.srcPort(b, th)} → ${d}:${L4.dstPort(b, th)}`;
  if (p === 1 && (L4.icmpType(b, th) === 8 || L4.icmpType(b, th) === 0)) return `${s} → ${d} id ${L4.icmpEchoId(b, th)}`;
  return `${s} → ${d}`;
}

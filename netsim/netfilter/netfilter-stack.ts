/**
 * The netfilter of one namespace as the stack sees it: implements NetfilterHooks by
 * running, at each hook, what the kernel registers there in priority order —
 *
 *   PREROUTING:  raw → conntrack → mangle → nat (destination NAT)
 *   INPUT:       mangle → filter → IPVS (replies, then requests) → nat (source NAT) → conntrack confirm
 *   FORWARD:     mangle → filter → IPVS (replies of real servers)
 *   OUTPUT:      raw → conntrack → mangle → nat (destination NAT) → IPVS (local replies, then requests) → filter
 *   POSTROUTING: mangle → nat (source NAT) → conntrack confirm
 *
 * The nat table is consulted only for a connection's first packet; every later
 * packet, in either direction, gets the translation recorded in its conntrack entry
 * (replies are un-NATed without rules), and ICMP errors about a connection are
 * RELATED and translated inside and out — those the stack generates itself are
 * attached to the offending packet's entry (nf_ct_attach), confirmed or not. Packets conntrack finds invalid carry no
 * entry (`--ctstate INVALID`) and get no NAT, as in the kernel. REJECT answers with
 * the ICMP error or TCP reset it names. Every rule hit (what `-j TRACE` logs), NAT
 * rewrite and conntrack change is traced.
 *
 * A packet's entry travels as `pkt.ct` (the slot number) and `pkt.ctInfo`
 * (CT_* state bits, direction at bit 7, the entry's tag from bit 8) — no per-packet
 * objects. IPVS traffic keeps its entry (net.ipv4.vs.conntrack=1): IPVS points the
 * entry's reply tuple at the real server, and the re-sent packet gets source NAT
 * and confirmation at POSTROUTING. Not modelled: the raw table's NOTRACK/CT
 * targets, CONNMARK, conntrack zones, per-CPU races, REJECT's RST inheriting the
 * rejected packet's entry (nf_ct_attach).
 */
import type { Packet } from '../packet/packet.ts';
import type { NetNamespace } from '../stack/net-namespace.ts';
import { NF_ACCEPT, NF_DROP, NF_STOLEN } from '../stack/netfilter-hooks.ts';
import type { NetfilterHooks, NfContext, NfHook, NfVerdict } from '../stack/netfilter-hooks.ts';
import { readU16, readU32 } from '../wire/field.ts';
import { formatIpv4 } from '../wire/addr.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { ipv4SetDst, ipv4SetSrc, l4SetDstPort, l4SetSrcPort } from '../wire/ipv4.ts';
import { Iptables } from './iptables/iptables.ts';
import { Conntrack, DIR_ORIGINAL, DIR_REPLY, IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SEEN_REPLY, IPS_SRC_NAT, IPS_SRC_NAT_DONE } from './conntrack/conntrack.ts';
import { TCP_STATE_NAMES } from './conntrack/tcp-state.ts';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, describeTuple } from './conntrack/tuple.ts';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT } from './eval-types.ts';
import type { AddrType, EvalContext, EvalResult, IpsetLookup, TableName } from './eval-types.ts';
import { MANIP_DST, MANIP_SRC, natIcmpError, natNullBinding, natPacket, natSetup, resolveNatRequest } from './nat.ts';
import type { Manip } from './nat.ts';
import type { Rng } from '../time/rng.ts';
import type { Ipvs } from '../ipvs/ipvs.ts';

/** EvalContext with every field writable (the stack's reused context). */
type MutableEvalContext = { -readonly [K in keyof EvalContext]-?: EvalContext[K] | undefined };

/** What the glue needs from a rule engine (the iptables evaluator implements it). */
export interface RuleEvaluator {
  evaluate(table: TableName, pkt: Packet, ctx: EvalContext): EvalResult;
  /** Whether the table has any rules or non-ACCEPT policies worth evaluating; absent = always evaluate. */
  hasTable?(table: TableName): boolean;
  /** Untraced shortcut: the hook's chain has nothing to walk (its policy counted); absent = always evaluate. */
  passesEmpty?(table: TableName, hook: NfHook, len: number): boolean;
}

export interface NetfilterStackOptions {
  readonly iptables?: Iptables;
  /** Evaluate rules with this engine instead of `iptables` (tests, other engines). */
  readonly rules?: RuleEvaluator;
  readonly conntrack?: Conntrack;
  readonly ipsets?: IpsetLookup;
  readonly ipvs?: Ipvs;
}

const REJECT_ICMP: Record<string, number> = {
  'icmp-net-unreachable': 0, 'icmp-host-unreachable': 1, 'icmp-proto-unreachable': 2, 'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9, 'icmp-host-prohibited': 10, 'icmp-admin-prohibited': 13,
};

const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);
const STATE_MASK = 0x7f;
const DIR_BIT = 0x80;

export class NetfilterStack implements NetfilterHooks {
  readonly iptables: Iptables;
  readonly conntrack: Conntrack;
  private readonly rules: RuleEvaluator;
  private ipsetLookup: IpsetLookup | undefined = undefined;
  /** IPVS of the namespace (kube-proxy IPVS mode); consulted at INPUT and for replies at FORWARD/INPUT. */
  ipvs: Ipvs | undefined = undefined;
  /**
   * Observation tap: called after every table evaluation with the packet and the
   * number of rules a real kernel would have evaluated (the cost model of
   * experiments). Nothing is counted when unset.
   */
  onRulesEvaluated: ((pkt: Packet, table: TableName, rules: number) => void) | undefined = undefined;
  private readonly rng: Rng;

  get ipsets(): IpsetLookup | undefined {
    return this.ipsetLookup;
  }

  /** Attach the namespace's ipsets: `-m set` tests them and restores refuse unknown sets. */
  set ipsets(s: IpsetLookup | undefined) {
    this.ipsetLookup = s;
    this.iptables.setExists = s === undefined ? undefined : (n) => s.has(n);
  }

  constructor(private readonly ns: NetNamespace, opts: NetfilterStackOptions = {}) {
    this.iptables = opts.iptables ?? new Iptables();
    this.rules = opts.rules ?? this.iptables;
    this.conntrack = opts.conntrack ?? new Conntrack(() => ns.sim.clock.now());
    this.rng = ns.sim.rng.fork(`netfilter:${ns.name}`);
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

  run(hook: NfHook, pkt: Packet, ctx: NfContext): NfVerdict {
    const v = this.runHook(hook, pkt, ctx);
    if (v === NF_DROP) this.discardUnconfirmed(pkt);
    return v;
  }

  private runHook(hook: NfHook, pkt: Packet, ctx: NfContext): NfVerdict {
    if (pkt.ipvs) {
      // Sent on by IPVS (skb->ipvs_property): the filter table at OUTPUT, and source NAT
      // and confirmation of its conntrack entry at POSTROUTING (net.ipv4.vs.conntrack=1),
      // which is where kube-proxy's IPVS mode masquerades.
      if (hook === 'OUTPUT') return this.table(hook, 'filter', pkt, ctx);
      if (hook !== 'POSTROUTING' || this.slotOf(pkt) < 0) return NF_ACCEPT;
      if (this.nat(hook, pkt, ctx, MANIP_SRC) !== NF_ACCEPT) return NF_DROP;
      return this.confirm(pkt, ctx);
    }
    if (hook === 'PREROUTING' || hook === 'OUTPUT') {
      if (this.table(hook, 'raw', pkt, ctx) !== NF_ACCEPT) return NF_DROP;
      this.track(pkt, ctx, hook);
      if (this.table(hook, 'mangle', pkt, ctx) !== NF_ACCEPT) return NF_DROP;
      if (this.nat(hook, pkt, ctx, MANIP_DST) !== NF_ACCEPT) return NF_DROP;
      if (hook === 'OUTPUT' && this.ipvs !== undefined && !this.ipvsReply(pkt)) {
        // ip_vs_local_request4: IPVS also sits at LOCAL_OUT, right after the nat table, so
        // the node's own connections to a virtual service are scheduled there and leave
        // towards the real server (never through lo).
        const v = this.ipvsRequest(pkt);
        if (v !== undefined) return v;
      }
      if (hook === 'OUTPUT' && this.table(hook, 'filter', pkt, ctx) !== NF_ACCEPT) return NF_DROP;
      return NF_ACCEPT;
    }
    if (hook === 'FORWARD') {
      if (this.table(hook, 'mangle', pkt, ctx) !== NF_ACCEPT) return NF_DROP;
      const v = this.table(hook, 'filter', pkt, ctx);
      if (v === NF_ACCEPT) this.ipvsReply(pkt);
      return v;
    }
    // INPUT and POSTROUTING
    if (this.table(hook, 'mangle', pkt, ctx) !== NF_ACCEPT) return NF_DROP;
    if (hook === 'INPUT' && this.table(hook, 'filter', pkt, ctx) !== NF_ACCEPT) return NF_DROP;
    if (hook === 'INPUT' && this.ipvs !== undefined) {
      if (this.ipvsReply(pkt)) return NF_ACCEPT;
      const v = this.ipvsRequest(pkt);
      if (v !== undefined) return v;
    }
    if (this.nat(hook, pkt, ctx, MANIP_SRC) !== NF_ACCEPT) return NF_DROP;
    return this.confirm(pkt, ctx);
  }

  /**
   * Implements {@link NetfilterHooks.attachRelated} (nf_ct_attach): the error joins the
   * offending packet's entry as RELATED in the other direction (an error about an
   * original-direction packet travels in the reply direction).
   */
  attachRelated(err: Packet, orig: Packet): void {
    const slot = this.slotOf(orig);
    if (slot < 0) return;
    this.attach(err, slot, (orig.ctInfo & DIR_BIT) !== 0 ? DIR_ORIGINAL : DIR_REPLY, CT_RELATED);
  }

  // ------------------------------------------------------------ the packet's entry

  /** The packet's entry slot, or -1 (none, or a stale reference). */
  private slotOf(pkt: Packet): number {
    const slot = pkt.ct;
    if (typeof slot !== 'number') return -1;
    return this.conntrack.holds(slot, pkt.ctInfo >>> 8) ? slot : -1;
  }

  private attach(pkt: Packet, slot: number, dir: number, state: number): void {
    pkt.ct = slot;
    pkt.ctInfo = (state & STATE_MASK) | (dir === DIR_REPLY ? DIR_BIT : 0) | (this.conntrack.tagOf(slot) << 8);
  }

  private detach(pkt: Packet): void {
    pkt.ct = undefined;
    pkt.ctInfo = 0;
  }

  /** A dropped or stolen first packet takes its unconfirmed entry with it. */
  private discardUnconfirmed(pkt: Packet): void {
    const slot = this.slotOf(pkt);
    if (slot < 0) return;
    if (!this.conntrack.isConfirmed(slot) && (pkt.ctInfo & CT_RELATED) === 0) this.conntrack.kill(slot);
    this.detach(pkt);
  }

  // ------------------------------------------------------------ IPVS

  /** The IPVS protocol of a TCP/UDP first fragment with room for its ports, else undefined. */
  private ipvsProto(pkt: Packet): 'TCP' | 'UDP' | undefined {
    const b = pkt.buf;
    const o = pkt.off;
    const p = b[o + 9] as number;
    if ((p !== 6 && p !== 17) || pkt.len < ipHl(b, o) + 4 || (readU16(b, o + 6) & 0x1fff) !== 0) return undefined;
    return p === 6 ? 'TCP' : 'UDP';
  }

  /** ip_vs_in: a packet to a virtual service is DNATed to a real server and sent on (stolen). */
  private ipvsRequest(pkt: Packet): NfVerdict | undefined {
    const ipvs = this.ipvs as Ipvs;
    const proto = this.ipvsProto(pkt);
    if (proto === undefined) return undefined;
    const b = pkt.buf;
    const o = pkt.off;
    const hl = ipHl(b, o);
    const src = readU32(b, o + 12);
    const dst = readU32(b, o + 16);
    const sport = readU16(b, o + hl);
    const dport = readU16(b, o + hl + 2);
    if (ipvs.lookupService(proto, dst, dport) === undefined) return undefined;
    const hit = ipvs.inbound(proto, src, sport, dst, dport, tcpFlags(pkt, proto, hl), pkt.len);
    if (hit === undefined) {
      // No real server available: the kernel answers like a closed port.
      this.ns.icmp.sendError(pkt, 3, 3, 0);
      this.ns.traceDrop(pkt, 'nf-reject', `IPVS ${proto} ${formatIpv4(dst)}:${dport}: no available real server`);
      return NF_DROP;
    }
    const before = this.ns.sim.tracer.enabled ? describePacket(b, o) : '';
    if (hit.rs.addr !== dst) ipv4SetDst(b, o, hit.rs.addr);
    if (hit.rs.port !== dport) l4SetDstPort(b, o, hit.rs.port);
    if (this.ns.sim.tracer.enabled) {
      this.traceNat(pkt, `IPVS ${proto} ${formatIpv4(dst)}:${dport} ${hit.conn.vs.scheduler}${hit.isNew ? ' (new connection)' : ''} → real server ${formatIpv4(hit.rs.addr)}:${hit.rs.port}: ${before} → ${describePacket(b, o)}`);
    }
    const slot = this.slotOf(pkt);
    if (slot >= 0 && !this.conntrack.isConfirmed(slot)) {
      // ip_vs_update_conntrack: the entry's replies now come from the real server. No NAT
      // status is set (later packets still reach IPVS at INPUT), and the nat table's
      // destination side is done for this connection.
      const rl4 = this.conntrack.field(slot, DIR_REPLY, 2);
      this.conntrack.setReply(slot, hit.rs.addr, this.conntrack.field(slot, DIR_REPLY, 1), hit.rs.port, rl4 & 0xffff);
      this.conntrack.setStatus(slot, IPS_DST_NAT_DONE);
    }
    pkt.ipvs = true;
    this.ns.sim.clock.soonest(() => {
      this.ns.sendIp(pkt);
    });
    return NF_STOLEN;
  }

  /** ip_vs_out: a real server's reply through this node gets the virtual address back. */
  private ipvsReply(pkt: Packet): boolean {
    const ipvs = this.ipvs;
    if (ipvs === undefined) return false;
    const proto = this.ipvsProto(pkt);
    if (proto === undefined) return false;
    const b = pkt.buf;
    const o = pkt.off;
    const hl = ipHl(b, o);
    const c = ipvs.outbound(proto, readU32(b, o + 12), readU16(b, o + hl), readU32(b, o + 16), readU16(b, o + hl + 2), tcpFlags(pkt, proto, hl), pkt.len);
    if (c === undefined) return false;
    const before = this.ns.sim.tracer.enabled ? describePacket(b, o) : '';
    ipv4SetSrc(b, o, c.vaddr);
    l4SetSrcPort(b, o, c.vport);
    if (this.ns.sim.tracer.enabled) this.traceNat(pkt, `IPVS reply un-DNAT: ${before} → ${describePacket(b, o)}`);
    pkt.ipvs = true;
    return true;
  }

  // ------------------------------------------------------------ tables

  /**
   * The context of a table evaluation. One object per stack, refilled for every
   * evaluation (evaluations do not nest: what a verdict causes happens after it
   * returns); the trace callback exists only when someone listens.
   */
  private evalCtx(hook: NfHook, pkt: Packet, ctx: NfContext): EvalContext {
    const e = this.ectx;
    e.hook = hook;
    e.inDev = ctx.inDev?.name;
    e.outDev = ctx.outDev?.name;
    e.physIn = ctx.physIn?.name;
    e.physOut = ctx.physOut?.name;
    e.now = this.ns.sim.clock.now();
    e.ctState = this.slotOf(pkt) < 0 ? CT_INVALID : pkt.ctInfo & STATE_MASK;
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

  private hasTable(t: TableName): boolean {
    return this.rules.hasTable === undefined || this.rules.hasTable(t);
  }

  /** Evaluate a non-nat table; REJECT answers and drops. */
  private table(hook: NfHook, table: TableName, pkt: Packet, ctx: NfContext): NfVerdict {
    if (!this.hasTable(table)) return NF_ACCEPT;
    if (!this.ns.sim.tracer.enabled && this.rules.passesEmpty?.(table, hook, pkt.len) === true) {
      this.onRulesEvaluated?.(pkt, table, 0);
      return NF_ACCEPT;
    }
    const r = this.rules.evaluate(table, pkt, this.evalCtx(hook, pkt, ctx));
    this.onRulesEvaluated?.(pkt, table, r.rulesEvaluated);
    if (r.verdict === 'ACCEPT') return NF_ACCEPT;
    if (r.rejectWith !== undefined) {
      this.reject(pkt, r.rejectWith);
      this.ns.traceDrop(pkt, 'nf-reject', `${table} ${r.chain}:${r.rule} REJECT --reject-with ${r.rejectWith}`, ctx.inDev?.name ?? ctx.outDev?.name);
    } else {
      this.ns.traceDrop(pkt, 'nf-drop', `${table} ${r.chain}:${r.rule} ${r.rule === 0 ? 'policy DROP' : 'DROP'}`, ctx.inDev?.name ?? ctx.outDev?.name);
    }
    return NF_DROP;
  }

  private reject(pkt: Packet, how: string): void {
    const b = pkt.buf;
    const o = pkt.off;
    if (how === 'tcp-reset') {
      if (b[o + 9] !== 6) return;
      const hl = ((b[o] as number) & 0x0f) * 4;
      const flags = b[o + hl + 13] as number;
      if ((flags & 0x04) !== 0) return;
      const src = readU32(b, o + 12);
      const dst = readU32(b, o + 16);
      const sport = readU16(b, o + hl);
      const dport = readU16(b, o + hl + 2);
      const seq = readU32(b, o + hl + 4);
      const ack = readU32(b, o + hl + 8);
      const len = pkt.len - hl - ((b[o + hl + 12] as number) >> 4) * 4 + ((flags & 0x02) !== 0 ? 1 : 0) + ((flags & 0x01) !== 0 ? 1 : 0);
      if ((flags & 0x10) !== 0) this.ns.tcp.sendReset(dst, dport, src, sport, ack, 0, false);
      else this.ns.tcp.sendReset(dst, dport, src, sport, 0, (seq + len) >>> 0, true);
      return;
    }
    this.ns.icmp.sendError(pkt, 3, REJECT_ICMP[how] ?? 3, 0);
  }

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

  // ------------------------------------------------------------ conntrack

  /** conntrack in: find or create the entry, set the packet's state (nf_conntrack_in). */
  private track(pkt: Packet, ctx: NfContext, hook: NfHook): void {
    // A locally generated packet looping back through lo keeps its entry (skb->_nfct survives).
    if (hook === 'PREROUTING' && ctx.inDev?.kind === 'loopback' && this.slotOf(pkt) >= 0) return;
    // An ICMP error the stack attached to its offending packet's entry (nf_ct_attach)
    // is not looked up again: nf_conntrack_in leaves a packet that has an entry alone.
    if (hook === 'OUTPUT' && (pkt.ctInfo & CT_RELATED) !== 0 && this.slotOf(pkt) >= 0) {
      if (this.ns.sim.tracer.enabled) {
        const slot = this.slotOf(pkt);
        this.traceCt(pkt, `related to ${describeTuple(this.conntrack.tuple(slot, 0))}${this.conntrack.isConfirmed(slot) ? '' : ' (unconfirmed)'} (ICMP error about one of its packets, ${(pkt.ctInfo & DIR_BIT) !== 0 ? 'reply' : 'original'} direction)`);
      }
      return;
    }
    this.detach(pkt);
    const b = pkt.buf;
    const o = pkt.off;
    const hl = ((b[o] as number) & 0x0f) * 4;
    const proto = b[o + 9] as number;
    if ((readU16(b, o + 6) & 0x1fff) !== 0) return; // non-first fragment: reassembly is not modelled
    let sport: number;
    let dport: number;
    let flags = 0;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      if (pkt.len < hl + (proto === IPPROTO_TCP ? 14 : 4)) return;
      sport = readU16(b, o + hl);
      dport = readU16(b, o + hl + 2);
      if (proto === IPPROTO_TCP) flags = b[o + hl + 13] as number;
    } else if (proto === IPPROTO_ICMP) {
      if (pkt.len < hl + 8) return;
      const type = b[o + hl] as number;
      if (ICMP_ERROR_TYPES.has(type)) {
        this.related(pkt);
        return;
      }
      sport = readU16(b, o + hl + 4);
      dport = (type << 8) | (b[o + hl + 1] as number);
    } else return;
    const ct = this.conntrack;
    const src = readU32(b, o + 12);
    const dst = readU32(b, o + 16);
    const ref = ct.packetIn(proto, src, dst, sport, dport, flags);
    const tracing = this.ns.sim.tracer.enabled;
    if (ref < 0) {
      if (tracing) this.traceCt(pkt, `invalid: ${describeTuple({ proto, src, dst, sport, dport })}${proto === IPPROTO_TCP ? ` (flags 0x${flags.toString(16).padStart(2, '0')} fit no state)` : ''}`);
      return;
    }
    const slot = ref >>> 1;
    const dir = ref & 1;
    const status = ct.statusOf(slot);
    let state = dir === DIR_REPLY || (status & IPS_SEEN_REPLY) !== 0 ? CT_ESTABLISHED : CT_NEW;
    if ((status & IPS_DST_NAT) !== 0) state |= CT_DNAT;
    if ((status & IPS_SRC_NAT) !== 0) state |= CT_SNAT;
    this.attach(pkt, slot, dir, state);
    if (!tracing) return;
    if (ct.lastCreated) this.traceCt(pkt, `new ${describeTuple(ct.tuple(slot, 0))}${proto === IPPROTO_TCP ? ` ${TCP_STATE_NAMES[ct.tcpStateOf(slot)]}` : ''}`);
    else if (!ct.isLive(slot)) this.traceCt(pkt, `destroyed ${describeTuple(ct.tuple(slot, 0))} (reset before any reply)`);
    else if (proto === IPPROTO_TCP && ct.tcpStateOf(slot) !== ct.lastOldState) {
      this.traceCt(pkt, `${describeTuple(ct.tuple(slot, 0))} ${TCP_STATE_NAMES[ct.lastOldState]} → ${TCP_STATE_NAMES[ct.tcpStateOf(slot)]}`);
    }
  }

  /** ICMP errors about a tracked connection are RELATED to it (icmp_error_message). */
  private related(pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.off;
    const hl = ((b[o] as number) & 0x0f) * 4;
    if (pkt.len < hl + 8 + 20) return;
    const q = o + hl + 8;
    const qhl = ((b[q] as number) & 0x0f) * 4;
    const qproto = b[q + 9] as number;
    if (pkt.len < hl + 8 + qhl + 8) return;
    const qsrc = readU32(b, q + 12);
    const qdst = readU32(b, q + 16);
    let ref = -1;
    // The quoted packet travelled the other way: look up its inverse.
    if (qproto === IPPROTO_TCP || qproto === IPPROTO_UDP) ref = this.conntrack.find(qproto, qdst, qsrc, readU16(b, q + qhl + 2), readU16(b, q + qhl));
    else if (qproto === IPPROTO_ICMP && b[q + qhl] === 8) ref = this.conntrack.find(IPPROTO_ICMP, qdst, qsrc, readU16(b, q + qhl + 4), 0);
    if (ref < 0) return;
    const slot = ref >>> 1;
    this.attach(pkt, slot, ref & 1, CT_RELATED);
    if (this.ns.sim.tracer.enabled) this.traceCt(pkt, `related to ${describeTuple(this.conntrack.tuple(slot, 0))} (ICMP error, ${ref & 1 ? 'reply' : 'original'} direction)`);
  }

  private confirm(pkt: Packet, ctx: NfContext): NfVerdict {
    const slot = this.slotOf(pkt);
    if (slot < 0 || (pkt.ctInfo & CT_RELATED) !== 0 || this.conntrack.isConfirmed(slot)) return NF_ACCEPT;
    if (!this.conntrack.confirm(slot)) {
      this.ns.traceDrop(pkt, 'nf-drop', `conntrack: ${describeTuple(this.conntrack.tuple(slot, 0))} clashes with an existing entry`, ctx.outDev?.name ?? ctx.inDev?.name);
      return NF_DROP;
    }
    if (this.ns.sim.tracer.enabled) {
      this.traceCt(pkt, `confirmed ${describeTuple(this.conntrack.tuple(slot, 0))} reply ${describeTuple(this.conntrack.tuple(slot, 1))}`);
    }
    return NF_ACCEPT;
  }

  // ------------------------------------------------------------ NAT

  /** NAT at a hook: destination NAT at PREROUTING/OUTPUT, source NAT at POSTROUTING/INPUT. */
  private nat(hook: NfHook, pkt: Packet, ctx: NfContext, manip: Manip): NfVerdict {
    const slot = this.slotOf(pkt);
    if (slot < 0) return NF_ACCEPT;
    const ct = this.conntrack;
    const dir = (pkt.ctInfo & DIR_BIT) !== 0 ? DIR_REPLY : DIR_ORIGINAL;
    const tracing = this.ns.sim.tracer.enabled;
    const b = pkt.buf;
    const o = pkt.off;
    if ((pkt.ctInfo & CT_RELATED) !== 0) {
      const before = tracing ? describeIcmpError(b, o) : '';
      if (natIcmpError(ct, slot, dir, manip, b, o, pkt.len) && tracing) this.traceNat(pkt, `ICMP error ${manip === MANIP_DST ? 'destination' : 'source'} un-NAT: ${before} → ${describeIcmpError(b, o)}`);
      return NF_ACCEPT;
    }
    const done = manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE;
    if (!ct.isConfirmed(slot) && dir === DIR_ORIGINAL && (ct.statusOf(slot) & done) === 0) {
      ct.setStatus(slot, done);
      let mapped = false;
      if (this.hasTable('nat')) {
        // First packet: the nat table decides this hook's mapping.
        const r = this.rules.evaluate('nat', pkt, this.evalCtx(hook, pkt, ctx));
        this.onRulesEvaluated?.(pkt, 'nat', r.rulesEvaluated);
        if (r.verdict === 'DROP') {
          this.ns.traceDrop(pkt, 'nf-drop', `nat ${r.chain}:${r.rule} DROP`, ctx.inDev?.name ?? ctx.outDev?.name);
          return NF_DROP;
        }
        if (r.nat !== undefined) {
          const range = resolveNatRequest(r.nat, this.ns, ctx.inDev?.name, ctx.outDev?.name, readU32(b, o + 16));
          if (range === undefined) {
            this.ns.traceDrop(pkt, 'nf-drop', `nat ${r.chain}:${r.rule}: no address for ${r.nat.kind} on ${ctx.outDev?.name ?? ctx.inDev?.name ?? 'no device'}`, ctx.outDev?.name ?? ctx.inDev?.name);
            return NF_DROP;
          }
          const unique = natSetup(ct, slot, manip, range, this.rng);
          if (!unique && tracing) this.traceCt(pkt, `${r.nat.kind}: no free tuple in the range; the entry will clash`);
          mapped = true;
          if (tracing) {
            const t = ct.tuple(slot, 1);
            const to = manip === MANIP_DST ? endpoint(t.proto, t.src, t.sport) : endpoint(t.proto, t.dst, t.proto === IPPROTO_ICMP ? t.sport : t.dport);
            this.traceNat(pkt, `${r.nat.kind}${r.nat.randomFully === true ? ' --random-fully' : ''}: ${describeTuple(ct.tuple(slot, 0))} → ${manip === MANIP_DST ? 'destination' : 'source'} ${to}`);
          }
        }
      }
      if (!mapped && manip === MANIP_SRC) {
        const before = ct.field(slot, 1, 2);
        natNullBinding(ct, slot, this.rng);
        if (tracing && ct.field(slot, 1, 2) !== before) this.traceNat(pkt, `source port clash: ${describeTuple(ct.tuple(slot, 0))} → source port ${ct.field(slot, 1, 2) & 0xffff}`);
      }
      const status = ct.statusOf(slot);
      pkt.ctInfo |= ((status & IPS_DST_NAT) !== 0 ? CT_DNAT : 0) | ((status & IPS_SRC_NAT) !== 0 ? CT_SNAT : 0);
    }
    const before = tracing ? describePacket(b, o) : '';
    if (natPacket(ct, slot, dir, manip, b, o) && tracing) {
      this.traceNat(pkt, `${manip === MANIP_DST ? 'destination' : 'source'} ${dir === DIR_ORIGINAL ? '' : 'un-'}NAT: ${before} → ${describePacket(b, o)}`);
    }
    return NF_ACCEPT;
  }

  // ------------------------------------------------------------ tracing

  private traceRule(pkt: Packet, hook: NfHook, table: TableName, chain: string, rule: number, target: string): void {
    this.ns.sim.tracer.emit({
      kind: 'nf', t: this.ns.sim.clock.now(), node: this.ns.node, netns: this.ns.name, pkt: pkt.id, hook, table, chain, rule,
      verdict: target, detail: rule === 0 ? `policy ${target}` : `-j ${target}`,
    });
  }

  private traceNat(pkt: Packet, detail: string): void {
    this.ns.sim.tracer.emit({ kind: 'nat', t: this.ns.sim.clock.now(), node: this.ns.node, netns: this.ns.name, pkt: pkt.id, detail });
  }

  private traceCt(pkt: Packet, detail: string): void {
    this.ns.sim.tracer.emit({ kind: 'ct', t: this.ns.sim.clock.now(), node: this.ns.node, netns: this.ns.name, pkt: pkt.id, detail });
  }
}

function ipHl(b: Uint8Array, o: number): number {
  return ((b[o] as number) & 0x0f) * 4;
}

/** A TCP segment's flags byte (0 for UDP or a header too short to hold it). */
function tcpFlags(pkt: Packet, proto: 'TCP' | 'UDP', hl: number): number {
  return proto === 'TCP' && pkt.len >= hl + 14 ? (pkt.buf[pkt.off + hl + 13] as number) : 0;
}

function endpoint(proto: number, addr: Ipv4Addr, port: number): string {
  return proto === IPPROTO_ICMP ? formatIpv4(addr) : `${formatIpv4(addr)}:${port}`;
}

function describePacket(b: Uint8Array, o: number): string {
  const hl = ((b[o] as number) & 0x0f) * 4;
  const p = b[o + 9] as number;
  const s = formatIpv4(readU32(b, o + 12));
  const d = formatIpv4(readU32(b, o + 16));
  if (p === 6 || p === 17) return `${s}:${readU16(b, o + hl)} → ${d}:${readU16(b, o + hl + 2)}`;
  if (p === 1 && ((b[o + hl] as number) === 8 || (b[o + hl] as number) === 0)) return `${s} → ${d} id ${readU16(b, o + hl + 4)}`;
  return `${s} → ${d}`;
}

function describeIcmpError(b: Uint8Array, o: number): string {
  const hl = ((b[o] as number) & 0x0f) * 4;
  return `${formatIpv4(readU32(b, o + 12))} → ${formatIpv4(readU32(b, o + 16))} quoting ${describePacket(b, o + hl + 8)}`;
}

/**
 * The netfilter of one namespace as the stack sees it: implements NetfilterHooks by
 * running, at each hook, what the kernel registers there in priority order —
 *
 *   PREROUTING:  raw → conntrack → mangle → nat (destination NAT)
 *   INPUT:       mangle → filter → nat (source NAT) → conntrack confirm
 *   FORWARD:     mangle → filter
 *   OUTPUT:      raw → conntrack → mangle → nat (destination NAT) → filter
 *   POSTROUTING: mangle → nat (source NAT) → conntrack confirm
 *
 * The nat table is consulted only for a connection's first packet; every later
 * packet, in either direction, gets the translation recorded in its conntrack entry
 * (replies are un-NATed without rules). REJECT answers with the ICMP error or TCP
 * reset it names. Every rule hit, NAT rewrite and conntrack change is traced.
 *
 * Not modelled here: IPVS and ipset (they plug in through eval-types.ts), NAT of ICMP
 * errors' inner headers beyond addresses, per-CPU conntrack races.
 */
import type { Packet } from '../packet/packet.ts';
import type { NetNamespace } from '../stack/net-namespace.ts';
import { NF_ACCEPT, NF_DROP, NF_STOLEN } from '../stack/netfilter-hooks.ts';
import type { NetfilterHooks, NfContext, NfHook, NfVerdict } from '../stack/netfilter-hooks.ts';
import { readU16, readU32 } from '../wire/field.ts';
import { formatIpv4, maskOf } from '../wire/addr.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { ipv4SetDst, ipv4SetSrc, l4SetDstPort, l4SetSrcPort, icmpSetEchoIdent } from '../wire/ipv4.ts';
import { Iptables } from './iptables/iptables.ts';
import { Conntrack, DIR_ORIGINAL, DIR_REPLY } from './conntrack.ts';
import type { ConntrackEntry, Tuple } from './conntrack.ts';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT } from './eval-types.ts';
import type { AddrType, EvalContext, IpsetLookup, NatRequest, TableName } from './eval-types.ts';
import type { Rng } from '../time/rng.ts';
import type { Ipvs } from '../ipvs/ipvs.ts';

const REJECT_ICMP: Record<string, number> = {
  'icmp-net-unreachable': 0, 'icmp-host-unreachable': 1, 'icmp-proto-unreachable': 2, 'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9, 'icmp-host-prohibited': 10, 'icmp-admin-prohibited': 13,
};

interface PacketCt {
  entry: ConntrackEntry;
  dir: number;
  state: number;
}

export class NetfilterStack implements NetfilterHooks {
  readonly iptables: Iptables;
  readonly conntrack: Conntrack;
  private ipsetLookup: IpsetLookup | undefined = undefined;
  /** IPVS of the namespace (kube-proxy IPVS mode); consulted at INPUT and for replies at FORWARD/INPUT. */
  ipvs: Ipvs | undefined = undefined;
  private readonly rng: Rng;

  get ipsets(): IpsetLookup | undefined {
    return this.ipsetLookup;
  }

  /** Attach the namespace's ipsets: `-m set` tests them and restores refuse unknown sets. */
  set ipsets(s: IpsetLookup | undefined) {
    this.ipsetLookup = s;
    this.iptables.setExists = s === undefined ? undefined : (n) => s.has(n);
  }

  constructor(private readonly ns: NetNamespace, opts: { iptables?: Iptables; conntrack?: Conntrack } = {}) {
    this.iptables = opts.iptables ?? new Iptables();
    this.conntrack = opts.conntrack ?? new Conntrack(() => ns.sim.clock.now());
    this.rng = ns.sim.rng.fork(`netfilter:${ns.name}`);
  }

  /** Install on the namespace (ns.hooks). */
  static install(ns: NetNamespace): NetfilterStack {
    const s = new NetfilterStack(ns);
    ns.hooks = s;
    return s;
  }

  run(hook: NfHook, pkt: Packet, ctx: NfContext): NfVerdict {
    if (pkt.ipvs) {
      // Sent on by IPVS: only the filter table still sees it (skb->ipvs_property).
      return hook === 'OUTPUT' ? this.table(hook, 'filter', pkt, ctx) : NF_ACCEPT;
    }
    if (hook === 'PREROUTING' || hook === 'OUTPUT') {
      if (this.table(hook, 'raw', pkt, ctx) !== NF_ACCEPT) return NF_DROP;
      this.track(pkt, ctx, hook);
      if (this.table(hook, 'mangle', pkt, ctx) !== NF_ACCEPT) return NF_DROP;
      if (this.nat(hook, pkt, ctx, 'dst') !== NF_ACCEPT) return NF_DROP;
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
    if (this.nat(hook, pkt, ctx, 'src') !== NF_ACCEPT) return NF_DROP;
    this.confirm(pkt);
    return NF_ACCEPT;
  }

  // ------------------------------------------------------------ IPVS

  private l4(pkt: Packet): { proto: 'TCP' | 'UDP'; hl: number; flags: number } | undefined {
    const b = pkt.buf;
    const o = pkt.off;
    const p = b[o + 9] as number;
    const hl = ((b[o] as number) & 0x0f) * 4;
    if ((p !== 6 && p !== 17) || pkt.len < hl + 4 || (readU16(b, o + 6) & 0x1fff) !== 0) return undefined;
    return { proto: p === 6 ? 'TCP' : 'UDP', hl, flags: p === 6 && pkt.len >= hl + 14 ? (b[o + hl + 13] as number) : 0 };
  }

  /** ip_vs_in: a packet to a virtual service is DNATed to a real server and sent on (stolen). */
  private ipvsRequest(pkt: Packet): NfVerdict | undefined {
    const ipvs = this.ipvs as Ipvs;
    const l = this.l4(pkt);
    if (l === undefined) return undefined;
    const b = pkt.buf;
    const o = pkt.off;
    const src = readU32(b, o + 12);
    const dst = readU32(b, o + 16);
    const sport = readU16(b, o + l.hl);
    const dport = readU16(b, o + l.hl + 2);
    if (ipvs.lookupService(l.proto, dst, dport) === undefined) return undefined;
    const hit = ipvs.inbound(l.proto, src, sport, dst, dport, l.flags);
    if (hit === undefined) {
      // No real server available: the kernel answers like a closed port.
      this.ns.icmp.sendError(pkt, 3, 3, 0);
      this.ns.traceDrop(pkt, 'nf-reject', `IPVS ${l.proto} ${formatIpv4(dst)}:${dport}: no available real server`);
      return NF_DROP;
    }
    const before = this.ns.sim.tracer.enabled ? describePacket(b, o) : '';
    if (hit.rs.addr !== dst) ipv4SetDst(b, o, hit.rs.addr);
    if (hit.rs.port !== dport) l4SetDstPort(b, o, hit.rs.port);
    if (this.ns.sim.tracer.enabled) {
      this.traceNat(pkt, `IPVS ${l.proto} ${formatIpv4(dst)}:${dport} ${hit.conn.vs.scheduler}${hit.isNew ? ' (new connection)' : ''} → real server ${formatIpv4(hit.rs.addr)}:${hit.rs.port}: ${before} → ${describePacket(b, o)}`);
    }
    pkt.ipvs = true;
    pkt.ct = undefined;
    this.ns.sim.clock.soonest(() => {
      this.ns.sendIp(pkt);
    });
    return NF_STOLEN;
  }

  /** ip_vs_out: a real server's reply through this node gets the virtual address back. */
  private ipvsReply(pkt: Packet): boolean {
    const ipvs = this.ipvs;
    if (ipvs === undefined) return false;
    const l = this.l4(pkt);
    if (l === undefined) return false;
    const b = pkt.buf;
    const o = pkt.off;
    const c = ipvs.outbound(l.proto, readU32(b, o + 12), readU16(b, o + l.hl), readU32(b, o + 16), readU16(b, o + l.hl + 2), l.flags);
    if (c === undefined) return false;
    const before = this.ns.sim.tracer.enabled ? describePacket(b, o) : '';
    ipv4SetSrc(b, o, c.vaddr);
    l4SetSrcPort(b, o, c.vport);
    if (this.ns.sim.tracer.enabled) this.traceNat(pkt, `IPVS reply un-DNAT: ${before} → ${describePacket(b, o)}`);
    pkt.ipvs = true;
    return true;
  }

  private evalCtx(hook: NfHook, pkt: Packet, ctx: NfContext): EvalContext {
    const ct = pkt.ct as PacketCt | undefined;
    return {
      hook,
      inDev: ctx.inDev?.name,
      outDev: ctx.outDev?.name,
      ...(ctx.physIn !== undefined ? { physIn: ctx.physIn.name } : {}),
      ...(ctx.physOut !== undefined ? { physOut: ctx.physOut.name } : {}),
      now: this.ns.sim.clock.now(),
      rng: this.rng,
      ctState: ct === undefined ? CT_INVALID : ct.state,
      addrType: (a) => this.addrType(a),
      ipsets: this.ipsetLookup,
      ...(this.ns.sim.tracer.enabled ? { onRuleHit: (t: TableName, chain: string, rule: number, target: string) => this.traceRule(pkt, hook, t, chain, rule, target) } : {}),
    };
  }

  /** Evaluate a non-nat table; REJECT answers and drops. */
  private table(hook: NfHook, table: TableName, pkt: Packet, ctx: NfContext): NfVerdict {
    if (!this.iptables.hasTable(table)) return NF_ACCEPT;
    const r = this.iptables.evaluate(table, pkt, this.evalCtx(hook, pkt, ctx));
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

  /** The packet's tuple; undefined for untrackable packets (other protocols, truncated). */
  private tuple(pkt: Packet): Tuple | undefined {
    const b = pkt.buf;
    const o = pkt.off;
    const hl = ((b[o] as number) & 0x0f) * 4;
    const proto = b[o + 9] as number;
    const src = readU32(b, o + 12);
    const dst = readU32(b, o + 16);
    if ((proto === 6 || proto === 17) && pkt.len >= hl + 4) return { proto, src, dst, sport: readU16(b, o + hl), dport: readU16(b, o + hl + 2), icmpType: 0 };
    if (proto === 1 && pkt.len >= hl + 8) {
      const type = b[o + hl] as number;
      if (type === 8 || type === 0) {
        const id = readU16(b, o + hl + 4);
        return { proto, src, dst, sport: id, dport: id, icmpType: type };
      }
    }
    return undefined;
  }

  /** conntrack in: find or create the entry, set the packet's state (nf_conntrack_in). */
  private track(pkt: Packet, ctx: NfContext, hook: NfHook): void {
    // A locally generated packet looping back through lo keeps its entry (skb->_nfct survives).
    if (hook === 'PREROUTING' && pkt.ct !== undefined && ctx.inDev?.kind === 'loopback') return;
    pkt.ct = undefined;
    const t = this.tuple(pkt);
    if (t === undefined) {
      this.related(pkt);
      return;
    }
    const hit = this.conntrack.lookup(t);
    const tcpFlags = t.proto === 6 ? (pkt.buf[pkt.off + ((pkt.buf[pkt.off] as number) & 0x0f) * 4 + 13] as number) : 0;
    if (hit !== undefined) {
      this.conntrack.touch(hit.entry, hit.dir, tcpFlags);
      let state = hit.dir === DIR_REPLY || hit.entry.seenReply ? CT_ESTABLISHED : CT_NEW;
      if (hit.entry.dnat) state |= CT_DNAT;
      if (hit.entry.snat) state |= CT_SNAT;
      pkt.ct = { entry: hit.entry, dir: hit.dir, state } satisfies PacketCt;
      return;
    }
    const e = this.conntrack.create(t);
    this.conntrack.touch(e, DIR_ORIGINAL, tcpFlags);
    pkt.ct = { entry: e, dir: DIR_ORIGINAL, state: CT_NEW } satisfies PacketCt;
    if (this.ns.sim.tracer.enabled) this.traceCt(pkt, `new ${describeTuple(t)}`);
  }

  /** ICMP errors about a tracked connection are RELATED (and get its NAT undone in the quote's addresses). */
  private related(pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.off;
    const hl = ((b[o] as number) & 0x0f) * 4;
    if (b[o + 9] !== 1 || pkt.len < hl + 8 + 20) return;
    const type = b[o + hl] as number;
    if (type !== 3 && type !== 11 && type !== 4 && type !== 12) return;
    const q = o + hl + 8;
    const qhl = ((b[q] as number) & 0x0f) * 4;
    const qproto = b[q + 9] as number;
    if (pkt.len < hl + 8 + qhl + 4) return;
    let inner: Tuple | undefined;
    if (qproto === 6 || qproto === 17) inner = { proto: qproto, src: readU32(b, q + 12), dst: readU32(b, q + 16), sport: readU16(b, q + qhl), dport: readU16(b, q + qhl + 2), icmpType: 0 };
    else if (qproto === 1 && b[q + qhl] === 8) {
      const id = readU16(b, q + qhl + 4);
      inner = { proto: 1, src: readU32(b, q + 12), dst: readU32(b, q + 16), sport: id, dport: id, icmpType: 8 };
    }
    if (inner === undefined) return;
    const hit = this.conntrack.lookup(inner);
    if (hit === undefined) return;
    // The error travels opposite to the quoted packet.
    pkt.ct = { entry: hit.entry, dir: hit.dir === DIR_ORIGINAL ? DIR_REPLY : DIR_ORIGINAL, state: CT_RELATED } satisfies PacketCt;
    if (this.ns.sim.tracer.enabled) this.traceCt(pkt, `related to ${describeTuple(hit.entry.orig)}`);
  }

  private confirm(pkt: Packet): void {
    const ct = pkt.ct as PacketCt | undefined;
    if (ct === undefined || ct.entry.confirmed || ct.state === CT_RELATED) return;
    if (this.conntrack.confirm(ct.entry) && this.ns.sim.tracer.enabled) {
      this.traceCt(pkt, `confirmed ${describeTuple(ct.entry.orig)} reply ${describeTuple(ct.entry.reply)}`);
    }
  }

  // ------------------------------------------------------------ NAT

  /**
   * NAT at a hook. `manip` is which address this hook may change: destination at
   * PREROUTING/OUTPUT, source at POSTROUTING/INPUT.
   */
  private nat(hook: NfHook, pkt: Packet, ctx: NfContext, manip: 'src' | 'dst'): NfVerdict {
    const ct = pkt.ct as PacketCt | undefined;
    if (ct === undefined) return NF_ACCEPT;
    const e = ct.entry;
    if (!e.confirmed && ct.state !== CT_RELATED && ct.dir === DIR_ORIGINAL && this.iptables.hasTable('nat')) {
      // First packet: the nat table decides this hook's mapping.
      const r = this.iptables.evaluate('nat', pkt, this.evalCtx(hook, pkt, ctx));
      if (r.verdict === 'DROP') {
        this.ns.traceDrop(pkt, 'nf-drop', `nat ${r.chain}:${r.rule} DROP`, ctx.inDev?.name ?? ctx.outDev?.name);
        return NF_DROP;
      }
      if (r.nat !== undefined) {
        if (!this.bind(e, r.nat, manip, pkt, ctx)) {
          this.ns.traceDrop(pkt, 'nf-drop', `nat ${r.chain}:${r.rule}: no free tuple for ${r.nat.kind}`, ctx.outDev?.name);
          return NF_DROP;
        }
        ct.state |= manip === 'dst' ? CT_DNAT : CT_SNAT;
      }
    }
    this.apply(pkt, ct, manip);
    return NF_ACCEPT;
  }

  /** Record a NAT mapping in the entry's reply tuple (nf_nat_setup_info). */
  private bind(e: ConntrackEntry, n: NatRequest, manip: 'src' | 'dst', pkt: Packet, ctx: NfContext): boolean {
    const r = e.reply;
    if (manip === 'dst') {
      let addr = n.addrMin ?? 0;
      if (n.kind === 'REDIRECT') addr = (ctx.inDev !== undefined ? this.ns.primaryAddress(ctx.inDev.name) : undefined) ?? 0x7f000001;
      else if (n.addrMin !== undefined && n.addrMax !== undefined && n.addrMax > n.addrMin) addr = n.addrMin + this.rng.int(n.addrMax - n.addrMin + 1);
      const port = n.portMin !== undefined ? (n.portMax !== undefined && n.portMax > n.portMin ? n.portMin + this.rng.int(n.portMax - n.portMin + 1) : n.portMin) : r.sport;
      e.reply = { ...r, src: addr >>> 0, sport: e.orig.proto === 1 ? r.sport : port };
      e.dnat = true;
      if (this.ns.sim.tracer.enabled) this.traceNat(pkt, `${n.kind}: ${describeTuple(e.orig)} → destination ${formatIpv4(addr)}${e.orig.proto === 1 ? '' : `:${port}`}`);
      return true;
    }
    let addr: Ipv4Addr;
    if (n.kind === 'MASQUERADE') {
      // The outgoing device's address that routing would pick towards the next hop.
      const out = ctx.outDev;
      const res = this.ns.lookupRoute(e.orig.dst);
      addr = (out !== undefined ? this.addrOn(out.name, res?.gateway ?? e.orig.dst) : undefined) ?? res?.prefsrc ?? 0;
      if (addr === 0) return false;
    } else addr = n.addrMin ?? 0;
    const proto = e.orig.proto;
    const want = e.orig.sport;
    const lo = n.portMin ?? (want < 512 ? 1 : want < 1024 ? 600 : 1024);
    const hi = n.portMax ?? (want < 512 ? 511 : want < 1024 ? 1023 : 65535);
    const free = (p: number): boolean => !this.conntrack.replyTaken({ ...r, dst: addr >>> 0, dport: p });
    let port = want;
    const keep = n.portMin === undefined && !n.randomFully && (proto === 1 || free(want));
    if (!keep) {
      // --random-fully: a pseudo-random port; otherwise the first free one after a random offset.
      const span = hi - lo + 1;
      const start = n.randomFully || n.random ? this.rng.int(span) : (want - lo + span) % span;
      let found = -1;
      for (let i = 0; i < span && i < 65536; i++) {
        const p = lo + ((start + i) % span);
        if (free(p)) {
          found = p;
          break;
        }
      }
      if (found < 0) return false;
      port = found;
    }
    e.reply = { ...r, dst: addr >>> 0, dport: proto === 1 ? r.dport : port };
    e.snat = true;
    if (this.ns.sim.tracer.enabled) this.traceNat(pkt, `${n.kind}${n.randomFully ? ' --random-fully' : ''}: ${describeTuple(e.orig)} → source ${formatIpv4(addr)}${proto === 1 ? '' : `:${port}`}`);
    return true;
  }

  private addrOn(dev: string, towards: Ipv4Addr): Ipv4Addr | undefined {
    const addrs = this.ns.addressesOf(dev).filter((a) => !a.secondary);
    for (const a of addrs) if (((a.addr ^ towards) & maskOf(a.prefixLen)) === 0) return a.addr;
    return addrs[0]?.addr;
  }

  /** Rewrite the packet as its entry says for this direction and manipulation (nf_nat_packet). */
  private apply(pkt: Packet, ct: PacketCt, manip: 'src' | 'dst'): void {
    const e = ct.entry;
    const b = pkt.buf;
    const o = pkt.off;
    const orig = e.orig;
    const rep = e.reply;
    let addr: Ipv4Addr | undefined;
    let port: number | undefined;
    if (ct.dir === DIR_ORIGINAL) {
      if (manip === 'dst' && e.dnat) [addr, port] = [rep.src, rep.sport];
      if (manip === 'src' && e.snat) [addr, port] = [rep.dst, rep.dport];
    } else {
      if (manip === 'dst' && e.snat) [addr, port] = [orig.src, orig.sport];
      if (manip === 'src' && e.dnat) [addr, port] = [orig.dst, orig.dport];
    }
    if (addr === undefined || port === undefined) return;
    if (ct.state === CT_RELATED) {
      // An ICMP error: fix the outer address only (the quoted header is left as sent).
      const before = readU32(b, o + (manip === 'dst' ? 16 : 12));
      if (before !== addr) (manip === 'dst' ? ipv4SetDst : ipv4SetSrc)(b, o, addr);
      return;
    }
    const beforeText = this.ns.sim.tracer.enabled ? describePacket(b, o) : '';
    if (manip === 'dst') {
      if (readU32(b, o + 16) !== addr) ipv4SetDst(b, o, addr);
      if (orig.proto === 1) icmpSetEchoIdent(b, o, port);
      else if (readU16(b, o + ((b[o] as number) & 0x0f) * 4 + 2) !== port) l4SetDstPort(b, o, port);
    } else {
      if (readU32(b, o + 12) !== addr) ipv4SetSrc(b, o, addr);
      if (orig.proto === 1) icmpSetEchoIdent(b, o, port);
      else if (readU16(b, o + ((b[o] as number) & 0x0f) * 4) !== port) l4SetSrcPort(b, o, port);
    }
    if (this.ns.sim.tracer.enabled) {
      const after = describePacket(b, o);
      if (after !== beforeText) this.traceNat(pkt, `${manip === 'dst' ? 'destination' : 'source'} ${ct.dir === DIR_ORIGINAL ? '' : 'un-'}NAT: ${beforeText} → ${after}`);
    }
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

function describeTuple(t: Tuple): string {
  const p = t.proto === 6 ? 'tcp' : t.proto === 17 ? 'udp' : 'icmp';
  return t.proto === 1 ? `${p} ${formatIpv4(t.src)} → ${formatIpv4(t.dst)} id ${t.sport}` : `${p} ${formatIpv4(t.src)}:${t.sport} → ${formatIpv4(t.dst)}:${t.dport}`;
}

function describePacket(b: Uint8Array, o: number): string {
  const hl = ((b[o] as number) & 0x0f) * 4;
  const p = b[o + 9] as number;
  const s = formatIpv4(readU32(b, o + 12));
  const d = formatIpv4(readU32(b, o + 16));
  if (p === 6 || p === 17) return `${s}:${readU16(b, o + hl)} → ${d}:${readU16(b, o + hl + 2)}`;
  return `${s} → ${d}`;
}

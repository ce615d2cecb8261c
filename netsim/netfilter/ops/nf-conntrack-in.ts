/**
 * ipv4_conntrack_in (PREROUTING) and ipv4_conntrack_local (OUTPUT) at
 * NF_IP_PRI_CONNTRACK: nf_conntrack_in finds or creates the packet's entry, runs the
 * protocol's state machine and sets the packet's state (NEW, ESTABLISHED, RELATED;
 * none for INVALID); ICMP errors about a tracked connection are RELATED to it
 * (icmp_error_message).
 */
import type { Packet } from '../../packet/packet.ts';
import { NF_ACCEPT } from '../../stack/netfilter-hooks.ts';
import type { NfContext, NfHook, NfVerdict } from '../../stack/netfilter-hooks.ts';
import { Ipv4, L4 } from '../../wire/ipv4.ts';
import { CtInResult, DIR_REPLY, IPS_DST_NAT, IPS_SEEN_REPLY, IPS_SRC_NAT } from '../conntrack/conntrack.ts';
import { TCP_STATE_NAMES } from '../conntrack/tcp-state.ts';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, describeTuple } from '../conntrack/tuple.ts';
import { CT_DNAT, CT_ESTABLISHED, CT_NEW, CT_RELATED, CT_SNAT } from '../eval-types.ts';
import { NF_IP_PRI_CONNTRACK } from '../hook-ops.ts';
import type { NfHookOps } from '../hook-ops.ts';
import { CTINFO_DIR_REPLY } from '../netfilter-stack.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';

/** ICMP types that are errors about another packet (RFC 792): destination unreachable, source quench, redirect, time exceeded, parameter problem. */
function isIcmpError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

export class NfConntrackIn implements NfHookOps {
  readonly priority = NF_IP_PRI_CONNTRACK;
  readonly name: string;
  /** What the lookup did besides finding the entry (read right after it; nothing between can run the op again). */
  private readonly res = new CtInResult();

  constructor(private readonly nf: NetfilterStack, readonly hook: NfHook) {
    this.name = hook === 'OUTPUT' ? 'ipv4_conntrack_local' : 'ipv4_conntrack_in';
  }

  run(pkt: Packet, state: NfContext): NfVerdict {
    const nf = this.nf;
    const hook = this.hook;
    const cpu = nf.pickCpu();
    // A locally generated packet looping back through lo keeps its entry (skb->_nfct survives): `ignore`.
    if (hook === 'PREROUTING' && state.inDev?.kind === 'loopback' && nf.slotOf(pkt) >= 0) {
      nf.conntrack.countStat(cpu, 'ignore');
      return NF_ACCEPT;
    }
    // Untracked by the raw table's NOTRACK: "Previously seen (loopback or untracked)? Ignore." (nf_conntrack_in; 'ignore' counted as 4.19–5.12 do).
    if (nf.isUntracked(pkt)) {
      nf.conntrack.countStat(cpu, 'ignore');
      return NF_ACCEPT;
    }
    // An ICMP error the stack attached to its offending packet's entry (nf_ct_attach)
    // is not looked up again: nf_conntrack_in leaves a packet that has an entry alone.
    if (hook === 'OUTPUT' && (pkt.ctInfo & CT_RELATED) !== 0 && nf.slotOf(pkt) >= 0) {
      if (nf.tracing) {
        const slot = nf.slotOf(pkt);
        nf.traceCt(pkt, `related to ${describeTuple(nf.conntrack.tuple(slot, 0))}${nf.conntrack.isConfirmed(slot) ? '' : ' (unconfirmed)'} (ICMP error about one of its packets, ${(pkt.ctInfo & CTINFO_DIR_REPLY) !== 0 ? 'reply' : 'original'} direction)`);
      }
      nf.conntrack.countStat(cpu, 'ignore');
      return NF_ACCEPT;
    }
    nf.detach(pkt);
    const b = pkt.buf;
    const o = pkt.nh;
    const th = pkt.th;
    const hl = th - o;
    const proto = pkt.l4proto;
    if (Ipv4.fragOffset(b, o) !== 0) return NF_ACCEPT; // non-first fragment: reassembly is not modelled
    let sport: number;
    let dport: number;
    let flags = 0;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      if (pkt.len < hl + (proto === IPPROTO_TCP ? 14 : 4)) return NF_ACCEPT;
      sport = L4.srcPort(b, th);
      dport = L4.dstPort(b, th);
      if (proto === IPPROTO_TCP) flags = L4.tcpFlags(b, th);
    } else if (proto === IPPROTO_ICMP) {
      if (pkt.len < hl + 8) return NF_ACCEPT;
      const type = L4.icmpType(b, th);
      if (isIcmpError(type)) {
        this.related(pkt);
        return NF_ACCEPT;
      }
      sport = L4.icmpEchoId(b, th);
      dport = (type << 8) | L4.icmpCode(b, th);
    } else return NF_ACCEPT;
    const ct = nf.conntrack;
    const src = Ipv4.src(b, o);
    const dst = Ipv4.dst(b, o);
    const out = this.res;
    const ref = ct.conntrackIn(proto, src, dst, sport, dport, flags, cpu, out);
    if (ref < 0) {
      if (nf.tracing) nf.traceCt(pkt, `invalid: ${describeTuple({ proto, src, dst, sport, dport })}${proto === IPPROTO_TCP ? ` (flags 0x${flags.toString(16).padStart(2, '0')} fit no state)` : ''}`);
      return NF_ACCEPT;
    }
    const slot = ref >>> 1;
    const dir = ref & 1;
    const status = ct.statusOf(slot);
    let st = dir === DIR_REPLY || (status & IPS_SEEN_REPLY) !== 0 ? CT_ESTABLISHED : CT_NEW;
    if ((status & IPS_DST_NAT) !== 0) st |= CT_DNAT;
    if ((status & IPS_SRC_NAT) !== 0) st |= CT_SNAT;
    nf.attach(pkt, slot, dir, st);
    if (!nf.tracing) return NF_ACCEPT;
    if (out.created) nf.traceCt(pkt, `new ${describeTuple(ct.tuple(slot, 0))}${proto === IPPROTO_TCP ? ` ${TCP_STATE_NAMES[ct.tcpStateOf(slot)]}` : ''}`);
    else if (!ct.isLive(slot)) nf.traceCt(pkt, `destroyed ${describeTuple(ct.tuple(slot, 0))} (reset before any reply)`);
    else if (proto === IPPROTO_TCP && ct.tcpStateOf(slot) !== out.oldState) {
      nf.traceCt(pkt, `${describeTuple(ct.tuple(slot, 0))} ${TCP_STATE_NAMES[out.oldState]} → ${TCP_STATE_NAMES[ct.tcpStateOf(slot)]}`);
    }
    return NF_ACCEPT;
  }

  /** ICMP errors about a tracked connection are RELATED to it (icmp_error_message). */
  private related(pkt: Packet): void {
    const nf = this.nf;
    const b = pkt.buf;
    const hl = pkt.th - pkt.nh;
    if (pkt.len < hl + 8 + 20) return;
    const q = pkt.th + 8;
    const qhl = Ipv4.headerLen(b, q);
    const qproto = Ipv4.protocol(b, q);
    if (pkt.len < hl + 8 + qhl + 8) return;
    const qsrc = Ipv4.src(b, q);
    const qdst = Ipv4.dst(b, q);
    const qth = q + qhl;
    let ref = -1;
    // The quoted packet travelled the other way: look up its inverse.
    if (qproto === IPPROTO_TCP || qproto === IPPROTO_UDP) ref = nf.conntrack.find(qproto, qdst, qsrc, L4.dstPort(b, qth), L4.srcPort(b, qth));
    else if (qproto === IPPROTO_ICMP && L4.icmpType(b, qth) === 8) ref = nf.conntrack.find(IPPROTO_ICMP, qdst, qsrc, L4.icmpEchoId(b, qth), 0);
    if (ref < 0) return;
    const slot = ref >>> 1;
    nf.attach(pkt, slot, ref & 1, CT_RELATED);
    if (nf.tracing) nf.traceCt(pkt, `related to ${describeTuple(nf.conntrack.tuple(slot, 0))} (ICMP error, ${ref & 1 ? 'reply' : 'original'} direction)`);
  }
}

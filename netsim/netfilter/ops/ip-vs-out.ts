/**
 * ip_vs_out for replies (net/netfilter/ipvs/ip_vs_core.c): ip_vs_reply4 at INPUT
 * (NF_IP_PRI_NAT_SRC - 2) and FORWARD (100), ip_vs_local_reply4 at OUTPUT
 * (NF_IP_PRI_NAT_DST + 1): a real server's reply through this node gets the virtual
 * address back, and is marked as IPVS's (skb->ipvs_property) so the hooks after it
 * leave it alone.
 */
import type { Packet } from '../../packet/packet.ts';
import { NF_ACCEPT } from '../../stack/netfilter-hooks.ts';
import type { NfContext, NfHook, NfVerdict } from '../../stack/netfilter-hooks.ts';
import { Ipv4, L4, ipv4SetSrc, l4SetSrcPort } from '../../wire/ipv4.ts';
import type { Ipvs } from '../../ipvs/ipvs.ts';
import { NF_IP_PRI_NAT_DST, NF_IP_PRI_NAT_SRC } from '../hook-ops.ts';
import type { NfHookOps } from '../hook-ops.ts';
import { describePacket } from '../netfilter-stack.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';

/** The IPVS protocol of a TCP/UDP first fragment with room for its ports, else undefined. */
export function ipvsProto(pkt: Packet): 'TCP' | 'UDP' | undefined {
  const p = pkt.l4proto;
  if ((p !== 6 && p !== 17) || pkt.len < pkt.th - pkt.nh + 4 || Ipv4.fragOffset(pkt.buf, pkt.nh) !== 0) return undefined;
  return p === 6 ? 'TCP' : 'UDP';
}

/** A TCP segment's flags byte (0 for UDP or a header too short to hold it). */
export function ipvsTcpFlags(pkt: Packet, proto: 'TCP' | 'UDP'): number {
  return proto === 'TCP' && pkt.len >= pkt.th - pkt.nh + 14 ? L4.tcpFlags(pkt.buf, pkt.th) : 0;
}

const PRIORITY: Record<NfHook, number> = { INPUT: NF_IP_PRI_NAT_SRC - 2, FORWARD: 100, OUTPUT: NF_IP_PRI_NAT_DST + 1, PREROUTING: 0, POSTROUTING: 0 };

export class IpVsOut implements NfHookOps {
  readonly priority: number;
  readonly name: string;

  constructor(private readonly nf: NetfilterStack, private readonly ipvs: Ipvs, readonly hook: NfHook) {
    this.priority = PRIORITY[hook];
    this.name = hook === 'OUTPUT' ? 'ip_vs_local_reply4' : 'ip_vs_reply4';
  }

  run(pkt: Packet, _state: NfContext): NfVerdict {
    const proto = ipvsProto(pkt);
    if (proto === undefined) return NF_ACCEPT;
    const b = pkt.buf;
    const o = pkt.nh;
    const th = pkt.th;
    const c = this.ipvs.outbound(proto, Ipv4.src(b, o), L4.srcPort(b, th), Ipv4.dst(b, o), L4.dstPort(b, th), ipvsTcpFlags(pkt, proto), pkt.len);
    if (c === undefined) return NF_ACCEPT;
    const nf = this.nf;
    const before = nf.tracing ? describePacket(b, o) : '';
    ipv4SetSrc(b, o, c.vaddr);
    l4SetSrcPort(b, o, c.vport);
    if (nf.tracing) nf.traceNat(pkt, `IPVS reply un-DNAT: ${before} → ${describePacket(b, o)}`);
    pkt.ipvs = true;
    return NF_ACCEPT;
  }
}

/** IPVS's reply operations. */
export function ipVsOutOps(nf: NetfilterStack, ipvs: Ipvs): NfHookOps[] {
  return [new IpVsOut(nf, ipvs, 'INPUT'), new IpVsOut(nf, ipvs, 'FORWARD'), new IpVsOut(nf, ipvs, 'OUTPUT')];
}

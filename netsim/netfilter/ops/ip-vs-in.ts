/**
 * ip_vs_in for requests (net/netfilter/ipvs/ip_vs_core.c): ip_vs_remote_request4 at
 * INPUT (NF_IP_PRI_NAT_SRC - 1, after the filter table) and ip_vs_local_request4 at
 * OUTPUT (NF_IP_PRI_NAT_DST + 2, right after the nat table, so the node's own
 * connections to a virtual service are scheduled there and leave towards the real
 * server, never through lo). A packet to a virtual service is DNATed to a real
 * server and sent on (NF_STOLEN); with no real server available the kernel answers
 * like a closed port.
 */
import type { Packet } from '../../packet/packet.ts';
import { NF_ACCEPT, NF_DROP, NF_STOLEN } from '../../stack/netfilter-hooks.ts';
import type { NfContext, NfHook, NfVerdict } from '../../stack/netfilter-hooks.ts';
import { formatIpv4 } from '../../wire/addr.ts';
import { Ipv4, L4, ipv4SetDst, l4SetDstPort } from '../../wire/ipv4.ts';
import type { Ipvs } from '../../ipvs/ipvs.ts';
import { DIR_REPLY, IPS_DST_NAT_DONE } from '../conntrack/conntrack.ts';
import { NF_IP_PRI_NAT_DST, NF_IP_PRI_NAT_SRC } from '../hook-ops.ts';
import type { NfHookOps } from '../hook-ops.ts';
import { describePacket } from '../netfilter-stack.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';
import { ipvsProto, ipvsTcpFlags } from './ip-vs-out.ts';

export class IpVsIn implements NfHookOps {
  readonly priority: number;
  readonly name: string;

  constructor(private readonly nf: NetfilterStack, private readonly ipvs: Ipvs, readonly hook: NfHook) {
    this.priority = hook === 'OUTPUT' ? NF_IP_PRI_NAT_DST + 2 : NF_IP_PRI_NAT_SRC - 1;
    this.name = hook === 'OUTPUT' ? 'ip_vs_local_request4' : 'ip_vs_remote_request4';
  }

  run(pkt: Packet, _state: NfContext): NfVerdict {
    const proto = ipvsProto(pkt);
    if (proto === undefined) return NF_ACCEPT;
    const nf = this.nf;
    const ns = nf.ns;
    const ipvs = this.ipvs;
    const b = pkt.buf;
    const o = pkt.nh;
    const th = pkt.th;
    const src = Ipv4.src(b, o);
    const dst = Ipv4.dst(b, o);
    const sport = L4.srcPort(b, th);
    const dport = L4.dstPort(b, th);
    if (ipvs.lookupService(proto, dst, dport) === undefined) return NF_ACCEPT;
    const hit = ipvs.inbound(proto, src, sport, dst, dport, ipvsTcpFlags(pkt, proto), pkt.len);
    if (hit === undefined) {
      ns.icmp.sendError(pkt, 3, 3, 0);
      ns.traceDrop(pkt, 'nf-reject', `IPVS ${proto} ${formatIpv4(dst)}:${dport}: no available real server`);
      return NF_DROP;
    }
    const before = nf.tracing ? describePacket(b, o) : '';
    if (hit.rs.addr !== dst) ipv4SetDst(b, o, hit.rs.addr);
    if (hit.rs.port !== dport) l4SetDstPort(b, o, hit.rs.port);
    if (nf.tracing) {
      nf.traceNat(pkt, `IPVS ${proto} ${formatIpv4(dst)}:${dport} ${hit.conn.vs.scheduler}${hit.isNew ? ' (new connection)' : ''} → real server ${formatIpv4(hit.rs.addr)}:${hit.rs.port}: ${before} → ${describePacket(b, o)}`);
    }
    const slot = nf.slotOf(pkt);
    const ct = nf.conntrack;
    if (slot >= 0 && !ct.isConfirmed(slot)) {
      // ip_vs_update_conntrack: the entry's replies now come from the real server. No NAT
      // status is set (later packets still reach IPVS at INPUT), and the nat table's
      // destination side is done for this connection.
      const rl4 = ct.field(slot, DIR_REPLY, 2);
      ct.setReply(slot, hit.rs.addr, ct.field(slot, DIR_REPLY, 1), hit.rs.port, rl4 & 0xffff);
      ct.setStatus(slot, IPS_DST_NAT_DONE);
    }
    pkt.ipvs = true;
    ns.sim.clock.soonest(() => {
      ns.sendIp(pkt);
    });
    return NF_STOLEN;
  }
}

/** IPVS's request operations. */
export function ipVsInOps(nf: NetfilterStack, ipvs: Ipvs): NfHookOps[] {
  return [new IpVsIn(nf, ipvs, 'INPUT'), new IpVsIn(nf, ipvs, 'OUTPUT')];
}

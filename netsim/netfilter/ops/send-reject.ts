/**
 * What a reject sends back (ipt_REJECT / nft_reject_ipv4): a TCP reset (send_reset)
 * or an ICMP destination unreachable with the named code (nf_send_unreach). Shared
 * by the iptables tables and nftables chains; the names are iptables' --reject-with.
 */
import type { Packet } from '../../packet/packet.ts';
import type { NetNamespace } from '../../stack/net-namespace.ts';
import { Ipv4, L4 } from '../../wire/ipv4.ts';

/** `--reject-with` ICMP types' codes (destination unreachable, RFC 792 / RFC 1812). */
const REJECT_ICMP: Record<string, number> = {
  'icmp-net-unreachable': 0, 'icmp-host-unreachable': 1, 'icmp-proto-unreachable': 2, 'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9, 'icmp-host-prohibited': 10, 'icmp-admin-prohibited': 13,
};

/** Answers `pkt` as `how` says ('tcp-reset' or an icmp-* name). */
export function sendReject(ns: NetNamespace, pkt: Packet, how: string): void {
  const b = pkt.buf;
  const o = pkt.nh;
  const th = pkt.th;
  if (how === 'tcp-reset') {
    if (pkt.l4proto !== 6) return;
    const flags = L4.tcpFlags(b, th);
    if ((flags & 0x04) !== 0) return;
    const src = Ipv4.src(b, o);
    const dst = Ipv4.dst(b, o);
    const sport = L4.srcPort(b, th);
    const dport = L4.dstPort(b, th);
    const len = pkt.len - (th - o) - L4.tcpHeaderLen(b, th) + ((flags & 0x02) !== 0 ? 1 : 0) + ((flags & 0x01) !== 0 ? 1 : 0);
    if ((flags & 0x10) !== 0) ns.tcp.sendReset(dst, dport, src, sport, L4.tcpAck(b, th), 0, false);
    else ns.tcp.sendReset(dst, dport, src, sport, 0, (L4.tcpSeq(b, th) + len) >>> 0, true);
    return;
  }
  ns.icmp.sendError(pkt, 3, REJECT_ICMP[how] ?? 3, 0);
}

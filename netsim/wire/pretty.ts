/**
 * tcpdump-like one-line summaries for traces and logs. Never throws: bytes
 * that do not parse render as `[malformed <layer>: <detail>]`, and unknown
 * protocol numbers as `proto-<n>` / `ethertype 0x<hex>`.
 *
 * Deviations from tcpdump, on purpose: sequence numbers are always absolute,
 * and the IP TTL is appended (`, ttl 64`) because forwarding is what traces
 * follow.
 */
import { formatIpv4, formatMac } from './addr.ts';
import { ArpOp, ArpPacket } from './arp.ts';
import { EthernetFrame, EtherType } from './ethernet.ts';
import { WireError } from './errors.ts';
import { readU16, readU32 } from './field.ts';
import { IcmpTimeExceededCode, IcmpType, IcmpUnreachCode, Icmpv4Packet } from './icmpv4.ts';
import { IpProtocol, Ipv4Packet } from './ipv4.ts';
import { formatTcpFlags, formatTcpOptions, TcpFlags, TcpSegment } from './tcp.ts';
import { UdpDatagram } from './udp.ts';

function malformed(e: unknown, fallbackLayer: string): string {
  if (e instanceof WireError) return `[malformed ${e.layer}: ${e.detail}]`;
  return `[malformed ${fallbackLayer}: ${e instanceof Error ? e.message : String(e)}]`;
}

const PROTO_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

function protoName(p: number): string {
  return PROTO_NAMES[p] ?? `proto-${p}`;
}

/** One line for an IPv4 packet (byte 0 is the IP header). */
export function formatIpv4Packet(bytes: Uint8Array): string {
  let ip: Ipv4Packet;
  try {
    ip = Ipv4Packet.checked(bytes);
  } catch (e) {
    return malformed(e, 'ipv4');
  }
  const src = formatIpv4(ip.src);
  const dst = formatIpv4(ip.dst);
  const ttl = `, ttl ${ip.ttl}`;
  const payload = ip.payload();
  if (ip.fragOffset !== 0) {
    // Non-first fragment: no L4 header to show.
    return `${src} > ${dst}: ${protoName(ip.protocol)} (frag ${ip.ident}:${payload.length}@${ip.fragOffset}${ip.moreFrags ? '+' : ''})${ttl}`;
  }
  try {
    switch (ip.protocol) {
      case IpProtocol.TCP:
        return formatTcp(src, dst, payload) + ttl;
      case IpProtocol.UDP:
        return formatUdp(src, dst, payload) + ttl;
      case IpProtocol.ICMP:
        return `${src} > ${dst}: ${formatIcmp(payload)}${ttl}`;
      default:
        return `${src} > ${dst}: proto-${ip.protocol}, length ${payload.length}${ttl}`;
    }
  } catch (e) {
    return `${src} > ${dst}: ${malformed(e, protoName(ip.protocol))}${ttl}`;
  }
}

function formatTcp(src: string, dst: string, bytes: Uint8Array): string {
  const t = TcpSegment.checked(bytes);
  const len = t.payload().length;
  const seq = len > 0 ? `${t.seq}:${(t.seq + len) >>> 0}` : `${t.seq}`;
  let s = `${src}.${t.srcPort} > ${dst}.${t.dstPort}: Flags ${formatTcpFlags(t.flags)}, seq ${seq}`;
  if ((t.flags & TcpFlags.ACK) !== 0) s += `, ack ${t.ack}`;
  s += `, win ${t.window}`;
  if ((t.flags & TcpFlags.URG) !== 0) s += `, urg ${t.urgent}`;
  const opts = t.options();
  if (opts.length > 0) s += `, options [${formatTcpOptions(opts)}]`;
  return `${s}, length ${len}`;
}

function formatUdp(src: string, dst: string, bytes: Uint8Array): string {
  const u = UdpDatagram.checked(bytes);
  return `${src}.${u.srcPort} > ${dst}.${u.dstPort}: UDP, length ${u.length - 8}`;
}

/** `ICMP ...` text for one ICMP message (without addresses). */
export function formatIcmp(bytes: Uint8Array): string {
  const m = Icmpv4Packet.checked(bytes);
  const len = bytes.length;
  switch (m.msgType) {
    case IcmpType.ECHO_REQUEST:
    case IcmpType.ECHO_REPLY:
      return `ICMP echo ${m.msgType === IcmpType.ECHO_REQUEST ? 'request' : 'reply'}, id ${m.echoIdent}, seq ${m.echoSeq}, length ${len}`;
    case IcmpType.DEST_UNREACHABLE:
      return `ICMP ${unreachText(m)}, length ${len}`;
    case IcmpType.TIME_EXCEEDED:
      return `ICMP ${m.msgCode === IcmpTimeExceededCode.TTL ? 'time exceeded in-transit' : m.msgCode === IcmpTimeExceededCode.REASSEMBLY ? 'ip reassembly time exceeded' : `time exceeded code ${m.msgCode}`}, length ${len}`;
    default:
      return `ICMP type-${m.msgType}, code ${m.msgCode}, length ${len}`;
  }
}

/** tcpdump's wording for destination unreachable, using the quoted datagram where it can. */
function unreachText(m: Icmpv4Packet): string {
  const q = m.data();
  // The quote: IP header (≥ 20) + 8 bytes of L4, possibly cut short.
  const qHl = q.length >= 20 ? ((q[0] as number) & 0x0f) << 2 : 0;
  const qDst = q.length >= 20 ? formatIpv4(readU32(q, 16)) : '?';
  const qProto = q.length >= 20 ? (q[9] as number) : -1;
  switch (m.msgCode) {
    case IcmpUnreachCode.NET:
      return `net ${qDst} unreachable`;
    case IcmpUnreachCode.HOST:
      return `host ${qDst} unreachable`;
    case IcmpUnreachCode.PROTOCOL:
      return `${qDst} protocol ${qProto} unreachable`;
    case IcmpUnreachCode.PORT: {
      const name = qProto === IpProtocol.UDP ? 'udp' : qProto === IpProtocol.TCP ? 'tcp' : protoName(qProto);
      const port = qHl >= 20 && q.length >= qHl + 4 ? `${readU16(q, qHl + 2)}` : '?';
      return `${qDst} ${name} port ${port} unreachable`;
    }
    case IcmpUnreachCode.FRAG_NEEDED:
      return `${qDst} unreachable - need to frag (mtu ${m.nextHopMtu})`;
    case IcmpUnreachCode.NET_PROHIBITED:
      return `net ${qDst} unreachable - admin prohibited`;
    case IcmpUnreachCode.HOST_PROHIBITED:
      return `host ${qDst} unreachable - admin prohibited`;
    case IcmpUnreachCode.ADMIN_PROHIBITED:
      return `host ${qDst} unreachable - admin prohibited filter`;
    default:
      return `${qDst} unreachable - code ${m.msgCode}`;
  }
}

/** One line for an ARP packet (the Ethernet payload). */
export function formatArpPacket(bytes: Uint8Array): string {
  let a: ArpPacket;
  try {
    a = ArpPacket.checked(bytes);
  } catch (e) {
    return malformed(e, 'arp');
  }
  switch (a.op) {
    case ArpOp.REQUEST:
      return `ARP, Request who-has ${formatIpv4(a.targetIp)} tell ${formatIpv4(a.senderIp)}`;
    case ArpOp.REPLY:
      return `ARP, Reply ${formatIpv4(a.senderIp)} is-at ${formatMac(a.senderMac)}`;
    default:
      return `ARP, op-${a.op} ${formatIpv4(a.senderIp)} > ${formatIpv4(a.targetIp)}`;
  }
}

const ETHERTYPE_NAMES: Readonly<Record<number, string>> = {
  [EtherType.IPV4]: 'IPv4',
  [EtherType.ARP]: 'ARP',
  [EtherType.VLAN]: '802.1Q',
  [EtherType.IPV6]: 'IPv6',
};

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

/**
 * One line for an Ethernet frame: the payload's summary (like tcpdump without
 * `-e`), or with `{ link: true }` prefixed by
 * `src > dst, ethertype IPv4 (0x0800), length N: ` (like `tcpdump -e`).
 */
export function formatEthernetFrame(bytes: Uint8Array, opts?: { link?: boolean }): string {
  let f: EthernetFrame;
  try {
    f = EthernetFrame.checked(bytes);
  } catch (e) {
    return malformed(e, 'ethernet');
  }
  const et = f.etherType;
  const prefix =
    opts?.link === true
      ? `${formatMac(f.src)} > ${formatMac(f.dst)}, ethertype ${ETHERTYPE_NAMES[et] ?? 'Unknown'} (0x${hex4(et)}), length ${bytes.length}: `
      : '';
  switch (et) {
    case EtherType.IPV4:
      return prefix + formatIpv4Packet(f.payload());
    case EtherType.ARP:
      return prefix + formatArpPacket(f.payload());
    default:
      return `${prefix}ethertype ${ETHERTYPE_NAMES[et] ?? 'Unknown'} (0x${hex4(et)}), length ${bytes.length}`;
  }
}

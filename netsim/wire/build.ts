/**
 * Allocating convenience builders: each returns one complete IPv4 packet
 * (byte 0 is the IP header) with every checksum correct. For tests, apps and
 * ICMP error generation; the forwarding path edits packets in place instead.
 */
import type { Ipv4Addr } from './addr.ts';
import { allocBytes } from '../packet/packet.ts';
import { emitIcmpv4, icmpv4ReprLen } from './icmpv4.ts';
import type { Icmpv4Repr } from './icmpv4.ts';
import { emitIpv4, emitIpv4Fields, ipv4HeaderLen, IpProtocol, IPV4_DF, IPV4_HEADER_LEN } from './ipv4.ts';
import type { Ipv4Repr } from './ipv4.ts';
import { emitTcp, emitTcpFields, tcpHeaderLen, TCP_HEADER_LEN } from './tcp.ts';
import type { TcpRepr } from './tcp.ts';
import { emitUdp, UDP_HEADER_LEN } from './udp.ts';
import type { UdpRepr } from './udp.ts';

/** IP header fields for the builders; defaults are what Linux sends. */
export type Ipv4BuildOptions = {
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  /** Default 64 (Linux `net.ipv4.ip_default_ttl`). */
  readonly ttl?: number;
  /** Default 0. */
  readonly ident?: number;
  /** Default true (Linux path-MTU discovery, `ip_no_pmtu_disc = 0`, sets DF). */
  readonly dontFrag?: boolean;
  /** Default 0. */
  readonly tos?: number;
  readonly options?: Uint8Array;
};

/** A full header description for `buildIpv4`: the build options plus the protocol (an `Ipv4Repr` fits). */
export type Ipv4BuildHeader = Ipv4BuildOptions &
  Pick<Ipv4Repr, 'moreFrags' | 'fragOffset'> & {
    readonly protocol: number;
  };

function reprOf(ip: Ipv4BuildOptions, protocol: number, payloadLen: number, frag?: Pick<Ipv4Repr, 'moreFrags' | 'fragOffset'>): Ipv4Repr {
  let r: Ipv4Repr = {
    src: ip.src >>> 0,
    dst: ip.dst >>> 0,
    protocol,
    ttl: ip.ttl ?? 64,
    payloadLen,
    ident: ip.ident ?? 0,
    dontFrag: ip.dontFrag ?? true,
    tos: ip.tos ?? 0,
  };
  if (ip.options !== undefined && ip.options.length > 0) r = { ...r, options: ip.options };
  if (frag?.moreFrags !== undefined) r = { ...r, moreFrags: frag.moreFrags };
  if (frag?.fragOffset !== undefined) r = { ...r, fragOffset: frag.fragOffset };
  return r;
}

/** IPv4 header + the given L4 bytes (copied verbatim; their checksum is the caller's). */
export function buildIpv4(ip: Ipv4BuildHeader, l4Bytes: Uint8Array): Uint8Array {
  const repr = reprOf(ip, ip.protocol, l4Bytes.length, ip);
  const hl = ipv4HeaderLen(repr);
  const out = allocBytes(hl + l4Bytes.length);
  emitIpv4(repr, out, 0);
  out.set(l4Bytes, hl);
  return out;
}

/**
 * IPv4 + UDP with the UDP checksum filled (never 0). With `headroom`, the packet
 * starts at that offset of the returned array (room for link and tunnel headers:
 * the stack's packets are built in place, not copied behind a headroom).
 */
export function buildIpv4Udp(ip: Ipv4BuildOptions, udp: UdpRepr, payload: Uint8Array, headroom = 0): Uint8Array {
  const repr = reprOf(ip, IpProtocol.UDP, UDP_HEADER_LEN + payload.length);
  const hl = ipv4HeaderLen(repr);
  const out = allocBytes(headroom + hl + repr.payloadLen);
  emitIpv4(repr, out, headroom);
  emitUdp(udp, payload, out, headroom + hl, repr.src, repr.dst);
  return out;
}

/** IPv4 + TCP (options padded) with the TCP checksum filled; `headroom` as for {@link buildIpv4Udp}. */
export function buildIpv4Tcp(ip: Ipv4BuildOptions, tcp: TcpRepr, payload: Uint8Array, headroom = 0): Uint8Array {
  const repr = reprOf(ip, IpProtocol.TCP, tcpHeaderLen(tcp) + payload.length);
  const hl = ipv4HeaderLen(repr);
  const out = allocBytes(headroom + hl + repr.payloadLen);
  emitIpv4(repr, out, headroom);
  emitTcp(tcp, payload, out, headroom + hl, repr.src, repr.dst);
  return out;
}

/**
 * {@link buildIpv4Tcp}'s bytes for a header with DF, TOS 0 and no IP options, from plain
 * fields: the stack sends every TCP segment this way, with no option or repr objects.
 */
export function buildIpv4TcpSegment(headroom: number, src: Ipv4Addr, dst: Ipv4Addr, ttl: number, ident: number, srcPort: number, dstPort: number, seq: number, ack: number, flags: number, window: number, options: Uint8Array | undefined, payload: Uint8Array): Uint8Array {
  const tcpLen = (options === undefined ? TCP_HEADER_LEN : TCP_HEADER_LEN + ((options.length + 3) & ~3)) + payload.length;
  const out = allocBytes(headroom + IPV4_HEADER_LEN + tcpLen);
  emitIpv4Fields(out, headroom, 0, tcpLen, ident, IPV4_DF, ttl, IpProtocol.TCP, src >>> 0, dst >>> 0);
  emitTcpFields(out, headroom + IPV4_HEADER_LEN, srcPort, dstPort, seq, ack, flags, window, 0, options, payload, src >>> 0, dst >>> 0);
  return out;
}

/** IPv4 + ICMP with the ICMP checksum filled. */
export function buildIpv4Icmp(ip: Ipv4BuildOptions, icmp: Icmpv4Repr): Uint8Array {
  const repr = reprOf(ip, IpProtocol.ICMP, icmpv4ReprLen(icmp));
  const hl = ipv4HeaderLen(repr);
  const out = allocBytes(hl + repr.payloadLen);
  emitIpv4(repr, out, 0);
  emitIcmpv4(icmp, out, hl);
  return out;
}

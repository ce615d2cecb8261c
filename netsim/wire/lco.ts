/**
 * Local checksum offload (Linux lco_csum, Documentation/networking/checksum-offloads.rst):
 * a tunnel's outer UDP checksum covers its payload, and when the payload carries an IPv4
 * packet whose TCP/UDP checksum is known right, the transport part sums to the complement
 * of its own pseudo-header — so the outer checksum needs only the inner IP header's
 * words, not a pass over the data. The result is the same number a full sum gives.
 */
import { foldSum, onesComplementSum, pseudoHeaderSum } from './checksum.ts';
import { Ipv4, IPV4_HEADER_LEN, IpProtocol } from './ipv4.ts';
import { readU16 } from './field.ts';

/**
 * The folded one's-complement sum of `b[o, end)`, which holds one whole IPv4 packet, equal
 * to `onesComplementSum(b, o, end)` — computed from the header alone when `l4Good` says
 * the TCP/UDP checksum verifies (Packet.l4Verified) and the packet is a whole,
 * unfragmented datagram with a checksum (a UDP checksum of 0 means none), by a full sum
 * otherwise.
 */
export function ipv4PacketSum(b: Uint8Array, o: number, end: number, l4Good: boolean): number {
  const len = end - o;
  if (!l4Good || len < IPV4_HEADER_LEN || Ipv4.version(b, o) !== 4) return onesComplementSum(b, o, end);
  const hl = Ipv4.headerLen(b, o);
  const proto = Ipv4.protocol(b, o);
  const l4len = len - hl;
  if (hl < IPV4_HEADER_LEN || Ipv4.totalLen(b, o) !== len || (Ipv4.flagsFrag(b, o) & 0x3fff) !== 0) return onesComplementSum(b, o, end);
  if (proto === IpProtocol.UDP ? l4len < 8 || readU16(b, o + hl + 6) === 0 : proto !== IpProtocol.TCP || l4len < 20) return onesComplementSum(b, o, end);
  // A verifying checksum: pseudo + Σ(transport words) ≡ 0 (mod 0xffff), so Σ ≡ 0xffff − pseudo.
  const pseudo = pseudoHeaderSum(Ipv4.src(b, o), Ipv4.dst(b, o), proto, l4len);
  return foldSum(onesComplementSum(b, o, o + hl) + (0xffff - pseudo));
}

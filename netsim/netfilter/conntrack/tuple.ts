/**
 * Conntrack tuples (struct nf_conntrack_tuple) as plain values for the API and
 * views, and the numeric packing the table uses on the hot path.
 *
 * A tuple is (protocol, source, destination, source "port", destination "port").
 * For TCP and UDP the ports are the ports. For ICMP, as in the kernel, the source
 * part is the echo identifier and the destination part is type and code
 * (`type << 8 | code`): the request 8/0 and its reply 0/0 invert into each other.
 * The table stores the two 16-bit parts as one 32-bit word (`sport << 16 | dport`).
 */
import { formatIpv4 } from '../../wire/addr.ts';
import type { Ipv4Addr } from '../../wire/addr.ts';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface Tuple {
  readonly proto: number;
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  /** TCP/UDP source port; ICMP: the echo identifier. */
  readonly sport: number;
  /** TCP/UDP destination port; ICMP: `type << 8 | code`. */
  readonly dport: number;
}

/** ICMP query types and the type their answer carries (nf_conntrack_proto_icmp invmap). */
const ICMP_INVERSE: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17 };

/** Whether an ICMP type opens a connection (echo, timestamp, info, address-mask requests). */
export function icmpTypeOpens(type: number): boolean {
  return type === 8 || type === 13 || type === 15 || type === 17;
}

/** The ICMP type of the reply to `type`, or -1 when it has none. */
export function icmpInverseType(type: number): number {
  return ICMP_INVERSE[type] ?? -1;
}

/** Pack the two 16-bit tuple parts into one word. */
export function packL4(sport: number, dport: number): number {
  return ((sport & 0xffff) * 65536 + (dport & 0xffff)) >>> 0;
}

/** The tuple a reply carries, before any NAT (nf_ct_invert_tuple). */
export function invertTuple(t: Tuple): Tuple {
  if (t.proto === IPPROTO_ICMP) {
    const inv = icmpInverseType(t.dport >> 8);
    return { proto: t.proto, src: t.dst, dst: t.src, sport: t.sport, dport: ((inv < 0 ? t.dport >> 8 : inv) << 8) | (t.dport & 0xff) };
  }
  return { proto: t.proto, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

/** An ICMP tuple for echo identifier `id` and message type/code. */
export function icmpTuple(src: Ipv4Addr, dst: Ipv4Addr, id: number, type = 8, code = 0): Tuple {
  return { proto: IPPROTO_ICMP, src, dst, sport: id, dport: (type << 8) | code };
}

export function tuplesEqual(a: Tuple, b: Tuple): boolean {
  return a.proto === b.proto && a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport;
}

/** 32-bit hash of a packed tuple (murmur3-style finaliser rounds; no allocation). */
export function hashTuple(proto: number, src: number, dst: number, l4: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ dst, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ l4, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ proto, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

/** `src=… dst=… sport=… dport=…` (or `type=… code=… id=…` for ICMP), as conntrack -L prints a tuple. */
export function formatTuple(t: Tuple): string {
  if (t.proto === IPPROTO_ICMP) return `src=${formatIpv4(t.src)} dst=${formatIpv4(t.dst)} type=${t.dport >> 8} code=${t.dport & 0xff} id=${t.sport}`;
  return `src=${formatIpv4(t.src)} dst=${formatIpv4(t.dst)} sport=${t.sport} dport=${t.dport}`;
}

/** Short text for traces: `tcp 10.0.0.1:4000 → 10.96.0.10:80`. */
export function describeTuple(t: Tuple): string {
  const p = PROTO_NAMES[t.proto] ?? `proto ${t.proto}`;
  return t.proto === IPPROTO_ICMP
    ? `${p} ${formatIpv4(t.src)} → ${formatIpv4(t.dst)} id ${t.sport}`
    : `${p} ${formatIpv4(t.src)}:${t.sport} → ${formatIpv4(t.dst)}:${t.dport}`;
}

/**
 * netsim/wire: packet bytes on the wire (Ethernet, ARP, IPv4, ICMPv4, UDP,
 * TCP, VXLAN, and the underlay datagram between netsim processes), in the style of smoltcp's `src/wire/`.
 *
 * Contract:
 * - Each protocol has a zero-copy **view** over a `Uint8Array` (`Ipv4Packet`,
 *   `TcpSegment`, ...) with accessors named after the RFC fields and offsets
 *   in one table per file, and a plain **Repr** object with symmetric
 *   `parse*`/`emit*` (`parse(emit(repr))` equals `repr`; tested).
 * - Untrusted bytes go through `X.checked(bytes)` or `parse*(bytes)`, which
 *   validate lengths once and throw only `WireError` (stable `code`, `layer`,
 *   `offset`); accessors never re-check. `X.unchecked` is for buffers this
 *   code allocated. Checksums are verified only when asked: callers decide.
 * - The in-place helpers (`ipv4DecrementTtl`, `ipv4SetSrc`/`ipv4SetDst`,
 *   `l4SetSrcPort`/`l4SetDstPort`, `icmpSetEchoIdent`) allocate nothing and
 *   fix every affected checksum incrementally (RFC 1624), so forwarding and
 *   NAT cost a few byte writes. UDP checksum 0 ("none") stays 0.
 * - Addresses are plain numbers (`Ipv4Addr` uint32, `MacAddr` 48-bit) so they
 *   are cheap `Map` keys; parse/format functions convert to and from text.
 * - Emitting into a buffer that is too small is a programmer error
 *   (`RangeError`); Repr field values are otherwise assumed in range and are
 *   truncated to their field width.
 *
 * Deliberately not modelled: IPv6 (EtherType recognised, payload opaque),
 * IP fragmentation and reassembly (fragments parse, and `moreFrags` /
 * `fragOffset` are carried, but nothing splits or joins them), 802.1Q VLAN
 * tags, TCP option semantics (options are carried verbatim and only named for
 * display), IP option semantics (carried verbatim), jumbo frames and the
 * Ethernet FCS / minimum-size padding.
 *
 * Naming note: `parseIpv4` exists twice by contract: addr.ts parses a dotted
 * quad, ipv4.ts parses a packet. This module exports one overloaded
 * `parseIpv4` that dispatches on the argument type, plus the unambiguous
 * aliases `parseIpv4Addr` and `parseIpv4Packet`.
 */
import type { Ipv4Addr } from './addr.ts';
import { parseIpv4Addr } from './addr.ts';
import type { Ipv4Repr } from './ipv4.ts';
import { parseIpv4Packet } from './ipv4.ts';

export * from './field.ts';
export * from './errors.ts';
export * from './addr.ts';
export * from './checksum.ts';
export * from './ethernet.ts';
export * from './arp.ts';
export * from './ipv4.ts';
export * from './icmpv4.ts';
export * from './udp.ts';
export * from './tcp.ts';
export * from './vxlan.ts';
export * from './underlay-datagram.ts';
export * from './build.ts';
export * from './pretty.ts';

/** Parses a dotted-quad address (throws `WIRE_BAD_ADDRESS`). */
export function parseIpv4(s: string): Ipv4Addr;
/** Parses an IPv4 packet header into a Repr (throws `WireError`). */
export function parseIpv4(bytes: Uint8Array, opts?: { verifyChecksum?: boolean }): Ipv4Repr;
export function parseIpv4(x: string | Uint8Array, opts?: { verifyChecksum?: boolean }): Ipv4Addr | Ipv4Repr {
  return typeof x === 'string' ? parseIpv4Addr(x) : parseIpv4Packet(x, opts);
}

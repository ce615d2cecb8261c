/**
 * A packet as the emulated kernel holds it (Linux: struct sk_buff).
 *
 * The bytes live in `buf[off, off + len)`. Packets are made with headroom in front
 * of the first header so a device can prepend an Ethernet header, or an overlay an
 * outer IP/UDP(/VXLAN) header, without copying (skb_push). Metadata that is never
 * on the wire (mark, conntrack reference, ingress device) travels beside the bytes.
 *
 * Ownership: a packet handed to a device or stack function belongs to the callee;
 * the caller must not touch it again. Whoever needs two copies (a bridge flooding,
 * a capture tap) calls {@link clonePacket} — two devices never share mutable bytes.
 */

import { Ipv4 } from '../wire/ipv4.ts';

/** Bytes reserved in front of new packets: Ethernet 14 + outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14, rounded up. */
export const DEFAULT_HEADROOM = 96;

/**
 * Zeroed bytes for a packet or a frame being built. Small arrays are views into a
 * shared slab: `new Uint8Array(n)` above 64 bytes gets its own off-heap backing store
 * (an allocation and a GC finaliser each), which at millions of packets costs more
 * than the header work. A slab is never reused, only dropped when no view is left,
 * so views are independent arrays for every purpose (their `byteOffset` is not 0).
 */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_ITEM) return new Uint8Array(n);
  if (slabOff + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabOff = 0;
  }
  const u = new Uint8Array(slab, slabOff, n);
  slabOff += (n + 7) & ~7;
  return u;
}

/** A copy of `src[start, end)` in slab memory (`Uint8Array.slice` gives every copy above 64 bytes its own off-heap store). */
export function copyBytes(src: Uint8Array, start: number, end: number): Uint8Array {
  const out = allocBytes(end - start);
  out.set(src.subarray(start, end));
  return out;
}

/**
 * Whether IP receives skip the header checksum of a header known right
 * ({@link Packet.ipHdrOk}). Off only to prove that it changes nothing (the differential
 * test runs clusters and experiments both ways).
 */
export const ipHeaderKnownGood = { on: true };

const SLAB_SIZE = 64 * 1024;
const SLAB_MAX_ITEM = 2048;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabOff = 0;

/**
 * The metadata a frame keeps when it crosses a wire: the checksum state and the parsed
 * context. (Conntrack, mark and IPVS state never cross: Segment.carry clears them.)
 * A Packet has these fields; a lockstep frame between workers carries them as data.
 */
export interface WireContext {
  readonly l4Verified: boolean;
  readonly family: number;
  readonly nh: number;
  readonly th: number;
  readonly l4proto: number;
}

export class Packet {
  /** Stable id across hops, NAT and encapsulation: the trace id (ns-3 Packet::GetUid). */
  id: number;
  buf: Uint8Array;
  off: number;
  len: number;
  /** skb->mark (e.g. 0x4000 set by KUBE-MARK-MASQ). */
  mark = 0;
  /** Conntrack entry this packet belongs to, set by the netfilter layer (opaque to the stack). */
  ct: unknown = undefined;
  /** Conntrack direction/state info, opaque to the stack (netfilter's ctinfo). */
  ctInfo = 0;
  /** skb->ipvs_property: IPVS already translated this packet; conntrack and NAT leave it alone. */
  ipvs = false;
  /**
   * skb->ip_summed == CHECKSUM_UNNECESSARY: the TCP/UDP checksum is known to be right —
   * an emulated stack built it (NAT keeps it right with incremental updates) — so
   * receivers skip verifying it, as Linux does for packets over veth (CHECKSUM_PARTIAL)
   * and from NICs with receive offload. Packets made from outside bytes (replays,
   * a TUN write, fragments) start without it and are verified.
   */
  l4Verified = false;
  /**
   * Absolute offset in `buf` of an IPv4 header whose checksum is known right, or -1: one
   * that an IP receive verified or that the stack emitted whole (emitIpv4 sums it), and
   * that has since been written only by the incremental rewrites of wire/ipv4.ts (NAT's
   * addresses, the forwarding TTL: RFC 1624, which keep a right checksum right). The next
   * receive of that header (ip_rcv_core's ip_fast_csum) has nothing to find and skips the
   * sum; lengths and version are still checked. Anything else that writes header bytes
   * must leave it -1 (a new packet, a scrubbed or reallocated one, a clone, a frame from
   * another worker). Off with {@link ipHeaderKnownGood}.on = false.
   */
  ipHdrOk = -1;
  /** Name of the device the packet arrived on in the current namespace ('' when locally generated). */
  inDev = '';
  /**
   * br_netfilter state (struct nf_bridge_info), opaque to everything but the bridge
   * and its namespace: BRNF_* bits, the ingress bridge port (physindev) and, while a
   * bridged-DNAT frame waits for its neighbour, the Ethernet source it came with.
   * Cleared when the frame leaves the bridge.
   */
  brnf = 0;
  brnfPhysIn: unknown = undefined;
  brnfSavedSrc = 0;
  /**
   * The parsed context (sk_buff's protocol, network_header, transport_header), set once
   * when the packet enters IPv4 processing (ip_rcv, local output) by
   * {@link setIpv4Context}: every per-packet consumer reads it instead of re-deriving
   * the header layout. `family` is AF_INET (2) while it is valid, 0 before.
   */
  family = 0;
  /** Absolute offset in `buf` of the network (IPv4) header. */
  nh = 0;
  /** Absolute offset in `buf` of the transport header (nh + IHL × 4). */
  th = 0;
  /** The IPv4 protocol field (IPPROTO_*). */
  l4proto = 0;

  constructor(id: number, buf: Uint8Array, off: number, len: number) {
    this.id = id;
    this.buf = buf;
    this.off = off;
    this.len = len;
  }

  /** Its checksum state and parsed context, as data (a lockstep frame for another worker). */
  wireContext(): WireContext {
    return { l4Verified: this.l4Verified, family: this.family, nh: this.nh, th: this.th, l4proto: this.l4proto };
  }

  /** Take `from`'s checksum state and parsed context ({@link clonePacket}; a frame from another lockstep worker). */
  setWireContext(from: WireContext): void {
    this.l4Verified = from.l4Verified;
    this.family = from.family;
    this.nh = from.nh;
    this.th = from.th;
    this.l4proto = from.l4proto;
  }

  /** The packet's bytes as a view (allocates a view object; not for the per-packet hot path). */
  bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.off + this.len);
  }

  /** Make room for `n` more bytes in front (skb_push); reallocates only when headroom is short. */
  push(n: number): number {
    if (this.off < n) {
      const head = Math.max(DEFAULT_HEADROOM, n);
      const nb = allocBytes(head + this.len);
      nb.set(this.buf.subarray(this.off, this.off + this.len), head);
      // pskb_expand_head: the header offsets move with the data.
      this.nh += head - this.off;
      this.th += head - this.off;
      this.ipHdrOk = -1;
      this.buf = nb;
      this.off = head;
    }
    this.off -= n;
    this.len += n;
    return this.off;
  }

  /**
   * Forget everything the namespace it leaves knew about it (skb_scrub_packet, which
   * iptunnel_xmit does before pushing a tunnel's outer headers): mark, conntrack, IPVS,
   * checksum state, ingress device, bridge state and the parsed context. The bytes and
   * id stay: the fields are those of a new packet over the same bytes.
   */
  scrub(): void {
    this.mark = 0;
    this.ct = undefined;
    this.ctInfo = 0;
    this.ipvs = false;
    this.l4Verified = false;
    this.ipHdrOk = -1;
    this.inDev = '';
    this.brnf = 0;
    this.brnfPhysIn = undefined;
    this.brnfSavedSrc = 0;
    this.family = 0;
    this.nh = 0;
    this.th = 0;
    this.l4proto = 0;
  }

  /** Drop `n` bytes from the front (skb_pull). */
  pull(n: number): void {
    if (n > this.len) throw new RangeError(`packet ${this.id}: pull ${n} > len ${this.len}`);
    this.off += n;
    this.len -= n;
  }

  /** Cut the packet to `len` bytes (skb_trim), e.g. to drop Ethernet padding beyond the IP total length. */
  trim(len: number): void {
    if (len < this.len) this.len = len;
  }
}

/** A packet holding a copy of `bytes`, with headroom. */
export function packetFromBytes(id: number, bytes: Uint8Array, headroom = DEFAULT_HEADROOM): Packet {
  const buf = allocBytes(headroom + bytes.length);
  buf.set(bytes, headroom);
  return new Packet(id, buf, headroom, bytes.length);
}

/** A deep copy: same id and metadata, its own bytes. */
export function clonePacket(p: Packet): Packet {
  const buf = allocBytes(p.off + p.len);
  buf.set(p.buf.subarray(p.off, p.off + p.len), p.off);
  const c = new Packet(p.id, buf, p.off, p.len);
  c.mark = p.mark;
  c.ct = p.ct;
  c.ctInfo = p.ctInfo;
  c.ipvs = p.ipvs;
  c.inDev = p.inDev;
  c.brnf = p.brnf;
  c.brnfPhysIn = p.brnfPhysIn;
  c.brnfSavedSrc = p.brnfSavedSrc;
  c.setWireContext(p);
  return c;
}

/** AF_INET: the packet's context describes an IPv4 header. */
export const AF_INET = 2;

/**
 * Parse the IPv4 header at `pkt.off` into the packet's context (ip_rcv_core sets
 * skb->transport_header the same way). The header must have been validated.
 */
export function setIpv4Context(pkt: Packet): void {
  const b = pkt.buf;
  const o = pkt.off;
  pkt.family = AF_INET;
  pkt.nh = o;
  pkt.th = o + Ipv4.headerLen(b, o);
  pkt.l4proto = Ipv4.protocol(b, o);
}

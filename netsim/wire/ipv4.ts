/**
 * IPv4 (RFC 791): the header view, its Repr, and allocation-free in-place
 * rewrites for the forwarding and NAT hot paths.
 *
 * RFC 791 §3.1, header format:
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |  0 VER_IHL, 1 TOS, 2 LENGTH
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |0|D|M|     Fragment Offset     |  4 IDENT, 6 FLG_OFF
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |  8 TTL, 9 PROTOCOL, 10 CHECKSUM
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          | 12 SRC
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        | 16 DST
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (IHL > 5)          |    Padding    | 20 OPTIONS
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * The fragment offset field counts 8-byte units; this API speaks bytes.
 */
import type { Ipv4Addr } from './addr.ts';
import { checksumUpdate16, checksumUpdate32, internetChecksum, ipv4HeaderChecksum, onesComplementSum } from './checksum.ts';
import { WireError } from './errors.ts';
import { readU16, readU32, writeU16, writeU32 } from './field.ts';

/** Field offsets, from the diagram above. */
export const IPV4_FIELD = {
  VER_IHL: 0,
  TOS: 1,
  LENGTH: 2,
  IDENT: 4,
  FLG_OFF: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;
const F = IPV4_FIELD;

/** Minimum header (IHL 5). */
export const IPV4_HEADER_LEN = 20;
/** IHL is 4 bits of 32-bit words: 15 × 4. */
export const IPV4_MAX_HEADER_LEN = 60;
/** Largest value of the 16-bit Total Length field. */
export const IPV4_MAX_PACKET_LEN = 65535;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_MASK = 0x1fff;

/** IANA "Assigned Internet Protocol Numbers"; open-ended, formatters print `proto-<n>`. */
export const IpProtocol = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
} as const;

/**
 * One unfragmented IPv4 header's fields. `payloadLen` is Total Length minus the
 * header. Parsing a fragment adds `moreFrags`/`fragOffset` (bytes); they are
 * absent for an unfragmented packet. `options` are carried verbatim (absent
 * when the header has none) and zero-padded to 4 bytes on emit; a parsed
 * `options` is a subarray sharing memory with the packet.
 */
export type Ipv4Repr = {
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  readonly protocol: number;
  readonly ttl: number;
  readonly payloadLen: number;
  readonly ident: number;
  readonly dontFrag: boolean;
  /** The whole TOS byte (DSCP << 2 | ECN). */
  readonly tos: number;
  readonly options?: Uint8Array;
  readonly moreFrags?: boolean;
  /** Offset of this fragment's data in the original datagram, in bytes (multiple of 8). */
  readonly fragOffset?: number;
};

function err(code: 'WIRE_TRUNCATED' | 'WIRE_BAD_VERSION' | 'WIRE_BAD_HEADER_LEN' | 'WIRE_BAD_LENGTH' | 'WIRE_BAD_CHECKSUM', detail: string, offset: number): WireError {
  return new WireError(code, 'ipv4', detail, offset);
}

/** Zero-copy view of an IPv4 packet starting at byte 0 of `bytes`. */
export class Ipv4Packet {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /**
   * For untrusted input. Validates, in order: length ≥ 20, version 4, IHL ≥ 5,
   * Total Length ≥ header length, Total Length ≤ buffer. Bytes past Total
   * Length (Ethernet padding) are tolerated and ignored by `payload()`.
   * The checksum is NOT checked here: see `verifyChecksum()`.
   */
  static checked(bytes: Uint8Array): Ipv4Packet {
    const n = bytes.length;
    if (n < IPV4_HEADER_LEN) {
      throw err('WIRE_TRUNCATED', `packet of ${n} bytes is shorter than the ${IPV4_HEADER_LEN}-byte header`, 0);
    }
    const p = new Ipv4Packet(bytes);
    if (p.version !== 4) throw err('WIRE_BAD_VERSION', `version ${p.version} is not 4`, F.VER_IHL);
    const hl = p.headerLen;
    if (hl < IPV4_HEADER_LEN) throw err('WIRE_BAD_HEADER_LEN', `header length ${hl} (IHL ${hl >>> 2}) is below 20`, F.VER_IHL);
    const total = p.totalLen;
    if (total < hl) throw err('WIRE_BAD_LENGTH', `total length ${total} is less than header length ${hl}`, F.LENGTH);
    if (total > n) throw err('WIRE_TRUNCATED', `total length ${total} exceeds buffer (${n} bytes)`, F.LENGTH);
    return p;
  }

  /** No validation: for buffers this code allocated with the right size. */
  static unchecked(bytes: Uint8Array): Ipv4Packet {
    return new Ipv4Packet(bytes);
  }

  get version(): number {
    return (this.bytes[F.VER_IHL] as number) >>> 4;
  }
  set version(v: number) {
    const b = this.bytes;
    b[F.VER_IHL] = ((v & 0x0f) << 4) | ((b[F.VER_IHL] as number) & 0x0f);
  }

  /** Header length in bytes (IHL × 4). */
  get headerLen(): number {
    return ((this.bytes[F.VER_IHL] as number) & 0x0f) << 2;
  }
  /** Sets IHL to `v / 4` (v a multiple of 4, 20-60). */
  set headerLen(v: number) {
    const b = this.bytes;
    b[F.VER_IHL] = ((b[F.VER_IHL] as number) & 0xf0) | ((v >>> 2) & 0x0f);
  }

  /** The whole TOS / traffic-class byte. */
  get tos(): number {
    return this.bytes[F.TOS] as number;
  }
  set tos(v: number) {
    this.bytes[F.TOS] = v;
  }
  get dscp(): number {
    return (this.bytes[F.TOS] as number) >>> 2;
  }
  get ecn(): number {
    return (this.bytes[F.TOS] as number) & 0x03;
  }

  get totalLen(): number {
    return readU16(this.bytes, F.LENGTH);
  }
  set totalLen(v: number) {
    writeU16(this.bytes, F.LENGTH, v);
  }

  get ident(): number {
    return readU16(this.bytes, F.IDENT);
  }
  set ident(v: number) {
    writeU16(this.bytes, F.IDENT, v);
  }

  get dontFrag(): boolean {
    return (readU16(this.bytes, F.FLG_OFF) & FLAG_DF) !== 0;
  }
  set dontFrag(v: boolean) {
    const w = readU16(this.bytes, F.FLG_OFF);
    writeU16(this.bytes, F.FLG_OFF, v ? w | FLAG_DF : w & ~FLAG_DF);
  }

  get moreFrags(): boolean {
    return (readU16(this.bytes, F.FLG_OFF) & FLAG_MF) !== 0;
  }
  set moreFrags(v: boolean) {
    const w = readU16(this.bytes, F.FLG_OFF);
    writeU16(this.bytes, F.FLG_OFF, v ? w | FLAG_MF : w & ~FLAG_MF);
  }

  /** Fragment offset in bytes (the field × 8). */
  get fragOffset(): number {
    return (readU16(this.bytes, F.FLG_OFF) & FRAG_MASK) << 3;
  }
  /** Sets the fragment offset from bytes (must be a multiple of 8). */
  set fragOffset(v: number) {
    const w = readU16(this.bytes, F.FLG_OFF);
    writeU16(this.bytes, F.FLG_OFF, (w & ~FRAG_MASK) | ((v >>> 3) & FRAG_MASK));
  }

  /** True for any fragment (MF set or non-zero offset). */
  get isFragment(): boolean {
    return (readU16(this.bytes, F.FLG_OFF) & (FLAG_MF | FRAG_MASK)) !== 0;
  }

  get ttl(): number {
    return this.bytes[F.TTL] as number;
  }
  set ttl(v: number) {
    this.bytes[F.TTL] = v;
  }

  get protocol(): number {
    return this.bytes[F.PROTOCOL] as number;
  }
  set protocol(v: number) {
    this.bytes[F.PROTOCOL] = v;
  }

  get checksum(): number {
    return readU16(this.bytes, F.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.bytes, F.CHECKSUM, v);
  }

  get src(): Ipv4Addr {
    return readU32(this.bytes, F.SRC);
  }
  set src(v: Ipv4Addr) {
    writeU32(this.bytes, F.SRC, v);
  }

  get dst(): Ipv4Addr {
    return readU32(this.bytes, F.DST);
  }
  set dst(v: Ipv4Addr) {
    writeU32(this.bytes, F.DST, v);
  }

  /** The option bytes (20..headerLen), empty when IHL is 5. */
  options(): Uint8Array {
    return this.bytes.subarray(F.OPTIONS, this.headerLen);
  }

  /** headerLen..totalLen: the L4 bytes, without any link-layer padding. */
  payload(): Uint8Array {
    return this.bytes.subarray(this.headerLen, this.totalLen);
  }

  /** True when the header checksum verifies (the sum over the header is 0xffff). */
  verifyChecksum(): boolean {
    return onesComplementSum(this.bytes, 0, this.headerLen) === 0xffff;
  }

  /** Recomputes the header checksum from scratch. */
  fillChecksum(): void {
    writeU16(this.bytes, F.CHECKSUM, 0);
    writeU16(this.bytes, F.CHECKSUM, internetChecksum(this.bytes, 0, this.headerLen));
  }
}

/** Header length `emitIpv4` writes for `repr`: 20 + options padded to 4 bytes. */
export function ipv4HeaderLen(repr: Pick<Ipv4Repr, 'options'>): number {
  const o = repr.options;
  return o === undefined ? IPV4_HEADER_LEN : IPV4_HEADER_LEN + ((o.length + 3) & ~3);
}

/** Parses a checked packet into a Repr; `verifyChecksum` adds a `WIRE_BAD_CHECKSUM` check. */
export function parseIpv4(bytes: Uint8Array, opts?: { verifyChecksum?: boolean }): Ipv4Repr {
  const p = Ipv4Packet.checked(bytes);
  if (opts?.verifyChecksum === true && !p.verifyChecksum()) {
    const stored = p.checksum;
    const expected = internetChecksum(bytes, 0, F.CHECKSUM, onesComplementSum(bytes, F.CHECKSUM + 2, p.headerLen));
    throw err('WIRE_BAD_CHECKSUM', `header checksum 0x${hex4(stored)} does not verify (expected 0x${hex4(expected)})`, F.CHECKSUM);
  }
  const hl = p.headerLen;
  const base: Ipv4Repr = {
    src: p.src,
    dst: p.dst,
    protocol: p.protocol,
    ttl: p.ttl,
    payloadLen: p.totalLen - hl,
    ident: p.ident,
    dontFrag: p.dontFrag,
    tos: p.tos,
  };
  const withOptions = hl > IPV4_HEADER_LEN ? { ...base, options: p.options() } : base;
  return p.isFragment ? { ...withOptions, moreFrags: p.moreFrags, fragOffset: p.fragOffset } : withOptions;
}

/** Alias of the packet `parseIpv4`, unambiguous next to the address parser. */
export const parseIpv4Packet = parseIpv4;

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

/**
 * Writes the header (options included, checksum filled) at `buf[off..]`.
 * The payload is not written; it belongs at `off + ipv4HeaderLen(repr)`.
 */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array, off = 0): void {
  let flg = (repr.fragOffset ?? 0) >>> 3;
  if (repr.dontFrag) flg |= FLAG_DF;
  if (repr.moreFrags === true) flg |= FLAG_MF;
  emitIpv4Fields(buf, off, repr.tos, repr.payloadLen, repr.ident, flg, repr.ttl, repr.protocol, repr.src, repr.dst, repr.options);
}

/**
 * {@link emitIpv4} from plain fields, for senders that build no header object per
 * packet (TCP's segments). `flagsFrag` is the flags and fragment-offset word (0x4000:
 * DF); options are padded with EOL.
 */
export function emitIpv4Fields(buf: Uint8Array, off: number, tos: number, payloadLen: number, ident: number, flagsFrag: number, ttl: number, protocol: number, src: Ipv4Addr, dst: Ipv4Addr, options?: Uint8Array): void {
  const hl = options === undefined ? IPV4_HEADER_LEN : IPV4_HEADER_LEN + ((options.length + 3) & ~3);
  if (hl > IPV4_MAX_HEADER_LEN) throw new RangeError(`ipv4: ${hl - IPV4_HEADER_LEN} option bytes exceed the 40-byte maximum`);
  const total = hl + payloadLen;
  if (total > IPV4_MAX_PACKET_LEN) throw new RangeError(`ipv4: total length ${total} exceeds ${IPV4_MAX_PACKET_LEN}`);
  if (buf.length < off + hl) throw new RangeError(`ipv4: emit needs ${hl} bytes at offset ${off}, buffer has ${buf.length}`);
  buf[off + F.VER_IHL] = 0x40 | (hl >>> 2);
  buf[off + F.TOS] = tos;
  writeU16(buf, off + F.LENGTH, total);
  writeU16(buf, off + F.IDENT, ident);
  writeU16(buf, off + F.FLG_OFF, flagsFrag);
  buf[off + F.TTL] = ttl;
  buf[off + F.PROTOCOL] = protocol;
  writeU16(buf, off + F.CHECKSUM, 0);
  writeU32(buf, off + F.SRC, src);
  writeU32(buf, off + F.DST, dst);
  if (options !== undefined) {
    buf.set(options, off + F.OPTIONS);
    buf.fill(0, off + F.OPTIONS + options.length, off + hl); // EOL padding
  }
  writeU16(buf, off + F.CHECKSUM, ipv4HeaderChecksum(buf, off, hl));
}

/** The flags word of {@link emitIpv4Fields} for Don't Fragment. */
export const IPV4_DF = FLAG_DF;

// ---------------------------------------------------------------------------
// In-place hot-path helpers. `off` is where the IPv4 header starts in `buf`;
// the header is trusted (validated earlier with `Ipv4Packet.checked`). No
// allocation; every checksum is fixed incrementally (RFC 1624 eqn. 3).
// ---------------------------------------------------------------------------

/** TCP checksum offset inside the TCP header (RFC 793). */
const TCP_CHECKSUM = 16;
/** UDP checksum offset inside the UDP header (RFC 768). */
const UDP_CHECKSUM = 6;
/** ICMP checksum / echo identifier offsets (RFC 792). */
const ICMP_CHECKSUM = 2;
const ICMP_ECHO_IDENT = 4;

/** Offset of the L4 header, or -1 for a non-first fragment. */
function l4Start(buf: Uint8Array, off: number): number {
  if ((readU16(buf, off + F.FLG_OFF) & FRAG_MASK) !== 0) return -1;
  return off + (((buf[off] as number) & 0x0f) << 2);
}

/** End of the IPv4 packet in `buf` (Total Length, clamped to the buffer). */
function packetEnd(buf: Uint8Array, off: number): number {
  const end = off + readU16(buf, off + F.LENGTH);
  return end < buf.length ? end : buf.length;
}

/**
 * Absolute offset of the TCP/UDP checksum field, or -1 when the packet is not
 * TCP/UDP, is a non-first fragment, or is too short to hold the field.
 */
function l4ChecksumAt(buf: Uint8Array, off: number): number {
  const proto = buf[off + F.PROTOCOL];
  let rel: number;
  if (proto === IpProtocol.TCP) rel = TCP_CHECKSUM;
  else if (proto === IpProtocol.UDP) rel = UDP_CHECKSUM;
  else return -1;
  const l4 = l4Start(buf, off);
  if (l4 < 0) return -1;
  const at = l4 + rel;
  return at + 2 <= packetEnd(buf, off) ? at : -1;
}

/** Applies a 16-bit change to the L4 checksum at `at`, keeping UDP's "no checksum" 0. */
function fixL4Checksum16(buf: Uint8Array, off: number, at: number, oldWord: number, newWord: number): void {
  const c = readU16(buf, at);
  if (buf[off + F.PROTOCOL] === IpProtocol.UDP) {
    if (c === 0) return;
    const n = checksumUpdate16(c, oldWord, newWord);
    writeU16(buf, at, n === 0 ? 0xffff : n);
  } else {
    writeU16(buf, at, checksumUpdate16(c, oldWord, newWord));
  }
}

function fixL4Checksum32(buf: Uint8Array, off: number, at: number, oldU32: number, newU32: number): void {
  const c = readU16(buf, at);
  if (buf[off + F.PROTOCOL] === IpProtocol.UDP) {
    if (c === 0) return;
    const n = checksumUpdate32(c, oldU32, newU32);
    writeU16(buf, at, n === 0 ? 0xffff : n);
  } else {
    writeU16(buf, at, checksumUpdate32(c, oldU32, newU32));
  }
}

/**
 * Decrements TTL and fixes the header checksum; returns the new TTL. Callers
 * check `ttl <= 1` first (to send ICMP time exceeded); a TTL of 0 is left at 0
 * rather than wrapping to 255.
 */
export function ipv4DecrementTtl(buf: Uint8Array, off: number): number {
  const ttl = buf[off + F.TTL] as number;
  if (ttl === 0) return 0;
  const proto = buf[off + F.PROTOCOL] as number;
  // TTL and protocol share one 16-bit word of the checksummed header.
  const oldWord = (ttl << 8) | proto;
  buf[off + F.TTL] = ttl - 1;
  writeU16(buf, off + F.CHECKSUM, checksumUpdate16(readU16(buf, off + F.CHECKSUM), oldWord, oldWord - 0x100));
  return ttl - 1;
}

function setAddr(buf: Uint8Array, off: number, field: number, addr: Ipv4Addr): void {
  const old = readU32(buf, off + field);
  const nv = addr >>> 0;
  if (old === nv) return;
  writeU32(buf, off + field, nv);
  writeU16(buf, off + F.CHECKSUM, checksumUpdate32(readU16(buf, off + F.CHECKSUM), old, nv));
  const at = l4ChecksumAt(buf, off);
  if (at >= 0) fixL4Checksum32(buf, off, at, old, nv); // the pseudo-header changed
}

/**
 * Rewrites the source address (SNAT, masquerade). Fixes the IPv4 header
 * checksum and, for TCP/UDP that is unfragmented or a first fragment with
 * room for the checksum, the L4 checksum (a UDP checksum of 0 stays 0).
 */
export function ipv4SetSrc(buf: Uint8Array, off: number, addr: Ipv4Addr): void {
  setAddr(buf, off, F.SRC, addr);
}

/** Rewrites the destination address (DNAT, un-SNAT); checksums as `ipv4SetSrc`. */
export function ipv4SetDst(buf: Uint8Array, off: number, addr: Ipv4Addr): void {
  setAddr(buf, off, F.DST, addr);
}

function setPort(buf: Uint8Array, off: number, rel: 0 | 2, port: number): boolean {
  const at = l4ChecksumAt(buf, off);
  if (at < 0) return false;
  const portAt = l4Start(buf, off) + rel;
  const old = readU16(buf, portAt);
  const nv = port & 0xffff;
  if (old !== nv) {
    writeU16(buf, portAt, nv);
    fixL4Checksum16(buf, off, at, old, nv);
  }
  return true;
}

/**
 * Rewrites the TCP/UDP source port and fixes the L4 checksum. Returns false
 * (packet untouched) when the packet is not TCP/UDP, is a non-first fragment,
 * or is too short to hold the checksum.
 */
export function l4SetSrcPort(buf: Uint8Array, off: number, port: number): boolean {
  return setPort(buf, off, 0, port);
}

/** Rewrites the TCP/UDP destination port; see `l4SetSrcPort`. */
export function l4SetDstPort(buf: Uint8Array, off: number, port: number): boolean {
  return setPort(buf, off, 2, port);
}

/**
 * Rewrites the identifier of an ICMP echo request/reply (the "port" conntrack
 * NATs for ICMP) and fixes the ICMP checksum. Returns false (untouched) when
 * the packet is not an unfragmented ICMP echo with a full 8-byte header.
 */
export function icmpSetEchoIdent(buf: Uint8Array, off: number, id: number): boolean {
  if (buf[off + F.PROTOCOL] !== IpProtocol.ICMP) return false;
  const l4 = l4Start(buf, off);
  if (l4 < 0 || l4 + 8 > packetEnd(buf, off)) return false;
  const type = buf[l4];
  if (type !== 0 && type !== 8) return false; // echo reply / echo request
  const old = readU16(buf, l4 + ICMP_ECHO_IDENT);
  const nv = id & 0xffff;
  if (old !== nv) {
    writeU16(buf, l4 + ICMP_ECHO_IDENT, nv);
    writeU16(buf, l4 + ICMP_CHECKSUM, checksumUpdate16(readU16(buf, l4 + ICMP_CHECKSUM), old, nv));
  }
  return true;
}

/**
 * Allocation-free reads of the IPv4 header at `off` in `b`, for the per-packet paths
 * (netfilter, conntrack, NAT, ipset, IPVS, overlays, taps): the header was validated
 * when the packet entered IPv4 processing (ip_rcv / local output), so these do not
 * check lengths. The kernel's ip_hdr(skb)->daddr and friends.
 */
export const Ipv4 = {
  version(b: Uint8Array, off: number): number {
    return (b[off + F.VER_IHL] as number) >> 4;
  },
  /** Header length in bytes (IHL × 4). */
  headerLen(b: Uint8Array, off: number): number {
    return ((b[off + F.VER_IHL] as number) & 0x0f) * 4;
  },
  /** The type-of-service byte (DSCP and ECN). */
  tos(b: Uint8Array, off: number): number {
    return b[off + F.TOS] as number;
  },
  totalLen(b: Uint8Array, off: number): number {
    return readU16(b, off + F.LENGTH);
  },
  ident(b: Uint8Array, off: number): number {
    return readU16(b, off + F.IDENT);
  },
  /** The flags and fragment offset word (DF is 0x4000, MF 0x2000, the offset in 8-byte units below). */
  flagsFrag(b: Uint8Array, off: number): number {
    return readU16(b, off + F.FLG_OFF);
  },
  /** Whether DF is set. */
  dontFragment(b: Uint8Array, off: number): boolean {
    return ((b[off + F.FLG_OFF] as number) & 0x40) !== 0;
  },
  /** The fragment offset in 8-byte units (0: unfragmented or a first fragment, which carries the L4 header). */
  fragOffset(b: Uint8Array, off: number): number {
    return readU16(b, off + F.FLG_OFF) & 0x1fff;
  },
  ttl(b: Uint8Array, off: number): number {
    return b[off + F.TTL] as number;
  },
  protocol(b: Uint8Array, off: number): number {
    return b[off + F.PROTOCOL] as number;
  },
  src(b: Uint8Array, off: number): Ipv4Addr {
    return readU32(b, off + F.SRC);
  },
  dst(b: Uint8Array, off: number): Ipv4Addr {
    return readU32(b, off + F.DST);
  },
} as const;

/**
 * TCP/UDP port reads at the transport header `th` (both protocols start with the source
 * and destination ports), and ICMP's type, code and echo identifier.
 */
export const L4 = {
  srcPort(b: Uint8Array, th: number): number {
    return readU16(b, th);
  },
  dstPort(b: Uint8Array, th: number): number {
    return readU16(b, th + 2);
  },
  /** TCP: the flags byte (needs th + 14 bytes). */
  tcpFlags(b: Uint8Array, th: number): number {
    return b[th + 13] as number;
  },
  /** TCP: header length in bytes (data offset × 4). */
  tcpHeaderLen(b: Uint8Array, th: number): number {
    return ((b[th + 12] as number) >> 4) * 4;
  },
  tcpSeq(b: Uint8Array, th: number): number {
    return readU32(b, th + 4);
  },
  tcpAck(b: Uint8Array, th: number): number {
    return readU32(b, th + 8);
  },
  tcpWindow(b: Uint8Array, th: number): number {
    return readU16(b, th + 14);
  },
  /** UDP: the length field (header and data). */
  udpLength(b: Uint8Array, th: number): number {
    return readU16(b, th + 4);
  },
  /** UDP: the checksum field (0: none sent). */
  udpChecksum(b: Uint8Array, th: number): number {
    return readU16(b, th + UDP_CHECKSUM);
  },
  icmpType(b: Uint8Array, th: number): number {
    return b[th] as number;
  },
  icmpCode(b: Uint8Array, th: number): number {
    return b[th + 1] as number;
  },
  /** ICMP echo request/reply identifier (conntrack's "port" for ICMP). */
  icmpEchoId(b: Uint8Array, th: number): number {
    return readU16(b, th + ICMP_ECHO_IDENT);
  },
  /** ICMP echo request/reply sequence number. */
  icmpEchoSeq(b: Uint8Array, th: number): number {
    return readU16(b, th + ICMP_ECHO_IDENT + 2);
  },
  /** ICMP destination unreachable, fragmentation needed: the next-hop MTU (RFC 1191), where echo has its sequence. */
  icmpNextHopMtu(b: Uint8Array, th: number): number {
    return readU16(b, th + ICMP_ECHO_IDENT + 2);
  },
} as const;

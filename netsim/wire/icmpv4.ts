/**
 * ICMPv4 (RFC 792): echo, destination unreachable (with RFC 1191 next-hop
 * MTU), time exceeded; everything else is carried opaquely.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |  0 TYPE, 1 CODE, 2 CHECKSUM
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   echo: Identifier            |   echo: Sequence Number       |  4 ECHO_IDENT, 6 ECHO_SEQ
 * |   frag needed: unused         |   Next-Hop MTU (RFC 1191)     |  6 NEXT_HOP_MTU
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  echo: data / errors: original IP header + first 8 data bytes |  8 DATA
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * The checksum covers the whole ICMP message and has no pseudo-header.
 */
import { internetChecksum, onesComplementSum } from './checksum.ts';
import { WireError } from './errors.ts';
import { readU16, writeU16 } from './field.ts';

/** Field offsets. */
const F = { TYPE: 0, CODE: 1, CHECKSUM: 2, REST: 4, ECHO_IDENT: 4, ECHO_SEQ: 6, NEXT_HOP_MTU: 6, DATA: 8 } as const;

/** Type, code, checksum and the 4-byte rest-of-header. */
export const ICMPV4_HEADER_LEN = 8;

/** ICMP message types (RFC 792); open-ended. */
export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
} as const;

/** Destination-unreachable codes (RFC 792, RFC 1122, RFC 1812). */
export const IcmpUnreachCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  /** "fragmentation needed and DF set"; carries the next-hop MTU (RFC 1191). */
  FRAG_NEEDED: 4,
  /** RFC 1122: communication with destination network administratively prohibited. */
  NET_PROHIBITED: 9,
  HOST_PROHIBITED: 10,
  /** RFC 1812: what iptables `REJECT --reject-with icmp-admin-prohibited` sends. */
  ADMIN_PROHIBITED: 13,
} as const;

/** Time-exceeded codes (RFC 792). */
export const IcmpTimeExceededCode = {
  TTL: 0,
  REASSEMBLY: 1,
} as const;

/**
 * An ICMP message. Byte fields (`data`, `original`, `rest`) returned by
 * `parseIcmpv4` are subarrays sharing memory with the parsed buffer.
 * - echo: the code is not represented (emitted as 0).
 * - dest-unreachable: `nextHopMtu` is present exactly when parsing code
 *   FRAG_NEEDED; on emit it is written when present, else 0.
 * - other: `rest` is everything after the checksum (rest-of-header + data).
 */
export type Icmpv4Repr =
  | { readonly type: 'echo-request' | 'echo-reply'; readonly ident: number; readonly seq: number; readonly data: Uint8Array }
  | { readonly type: 'dest-unreachable'; readonly code: number; readonly nextHopMtu?: number; readonly original: Uint8Array }
  | { readonly type: 'time-exceeded'; readonly code: number; readonly original: Uint8Array }
  | { readonly type: 'other'; readonly icmpType: number; readonly code: number; readonly rest: Uint8Array };

/** Zero-copy view of an ICMPv4 message (the whole IPv4 payload). */
export class Icmpv4Packet {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Validates that the 8-byte header is present. */
  static checked(bytes: Uint8Array): Icmpv4Packet {
    if (bytes.length < ICMPV4_HEADER_LEN) {
      throw new WireError('WIRE_TRUNCATED', 'icmpv4', `message of ${bytes.length} bytes is shorter than the ${ICMPV4_HEADER_LEN}-byte header`, 0);
    }
    return new Icmpv4Packet(bytes);
  }

  static unchecked(bytes: Uint8Array): Icmpv4Packet {
    return new Icmpv4Packet(bytes);
  }

  get msgType(): number {
    return this.bytes[F.TYPE] as number;
  }
  set msgType(v: number) {
    this.bytes[F.TYPE] = v;
  }
  get msgCode(): number {
    return this.bytes[F.CODE] as number;
  }
  set msgCode(v: number) {
    this.bytes[F.CODE] = v;
  }
  get checksum(): number {
    return readU16(this.bytes, F.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.bytes, F.CHECKSUM, v);
  }
  get echoIdent(): number {
    return readU16(this.bytes, F.ECHO_IDENT);
  }
  set echoIdent(v: number) {
    writeU16(this.bytes, F.ECHO_IDENT, v);
  }
  get echoSeq(): number {
    return readU16(this.bytes, F.ECHO_SEQ);
  }
  set echoSeq(v: number) {
    writeU16(this.bytes, F.ECHO_SEQ, v);
  }
  /** RFC 1191 next-hop MTU of a FRAG_NEEDED message. */
  get nextHopMtu(): number {
    return readU16(this.bytes, F.NEXT_HOP_MTU);
  }
  set nextHopMtu(v: number) {
    writeU16(this.bytes, F.NEXT_HOP_MTU, v);
  }
  /** Bytes 4..8 (rest-of-header) onwards. */
  rest(): Uint8Array {
    return this.bytes.subarray(F.REST);
  }
  /** Bytes 8.. : echo data or the quoted original datagram. */
  data(): Uint8Array {
    return this.bytes.subarray(F.DATA);
  }

  verifyChecksum(): boolean {
    return onesComplementSum(this.bytes, 0, this.bytes.length) === 0xffff;
  }

  fillChecksum(): void {
    writeU16(this.bytes, F.CHECKSUM, 0);
    writeU16(this.bytes, F.CHECKSUM, internetChecksum(this.bytes, 0, this.bytes.length));
  }
}

/** Parses an ICMP message (the whole IPv4 payload); optionally verifies the checksum. */
export function parseIcmpv4(bytes: Uint8Array, opts?: { verifyChecksum?: boolean }): Icmpv4Repr {
  const p = Icmpv4Packet.checked(bytes);
  if (opts?.verifyChecksum === true && !p.verifyChecksum()) {
    throw new WireError('WIRE_BAD_CHECKSUM', 'icmpv4', `checksum 0x${p.checksum.toString(16).padStart(4, '0')} does not verify`, F.CHECKSUM);
  }
  const type = p.msgType;
  const code = p.msgCode;
  switch (type) {
    case IcmpType.ECHO_REQUEST:
    case IcmpType.ECHO_REPLY:
      return {
        type: type === IcmpType.ECHO_REQUEST ? 'echo-request' : 'echo-reply',
        ident: p.echoIdent,
        seq: p.echoSeq,
        data: p.data(),
      };
    case IcmpType.DEST_UNREACHABLE:
      return code === IcmpUnreachCode.FRAG_NEEDED
        ? { type: 'dest-unreachable', code, nextHopMtu: p.nextHopMtu, original: p.data() }
        : { type: 'dest-unreachable', code, original: p.data() };
    case IcmpType.TIME_EXCEEDED:
      return { type: 'time-exceeded', code, original: p.data() };
    default:
      return { type: 'other', icmpType: type, code, rest: p.rest() };
  }
}

/** Bytes `emitIcmpv4` writes for `repr`. */
export function icmpv4ReprLen(repr: Icmpv4Repr): number {
  switch (repr.type) {
    case 'echo-request':
    case 'echo-reply':
      return ICMPV4_HEADER_LEN + repr.data.length;
    case 'dest-unreachable':
    case 'time-exceeded':
      return ICMPV4_HEADER_LEN + repr.original.length;
    case 'other':
      return F.REST + repr.rest.length;
  }
}

/** Writes the whole message (checksum filled) at `buf[off..off + icmpv4ReprLen(repr))`. */
export function emitIcmpv4(repr: Icmpv4Repr, buf: Uint8Array, off = 0): void {
  const len = icmpv4ReprLen(repr);
  if (buf.length < off + len) throw new RangeError(`icmpv4: emit needs ${len} bytes at offset ${off}, buffer has ${buf.length}`);
  writeU16(buf, off + F.CHECKSUM, 0);
  switch (repr.type) {
    case 'echo-request':
    case 'echo-reply':
      buf[off + F.TYPE] = repr.type === 'echo-request' ? IcmpType.ECHO_REQUEST : IcmpType.ECHO_REPLY;
      buf[off + F.CODE] = 0;
      writeU16(buf, off + F.ECHO_IDENT, repr.ident);
      writeU16(buf, off + F.ECHO_SEQ, repr.seq);
      buf.set(repr.data, off + F.DATA);
      break;
    case 'dest-unreachable':
      buf[off + F.TYPE] = IcmpType.DEST_UNREACHABLE;
      buf[off + F.CODE] = repr.code;
      writeU16(buf, off + F.REST, 0);
      writeU16(buf, off + F.NEXT_HOP_MTU, repr.nextHopMtu ?? 0);
      buf.set(repr.original, off + F.DATA);
      break;
    case 'time-exceeded':
      buf[off + F.TYPE] = IcmpType.TIME_EXCEEDED;
      buf[off + F.CODE] = repr.code;
      writeU16(buf, off + F.REST, 0);
      writeU16(buf, off + F.REST + 2, 0);
      buf.set(repr.original, off + F.DATA);
      break;
    case 'other':
      buf[off + F.TYPE] = repr.icmpType;
      buf[off + F.CODE] = repr.code;
      buf.set(repr.rest, off + F.REST);
      break;
  }
  writeU16(buf, off + F.CHECKSUM, internetChecksum(buf, off, off + len));
}

/**
 * The part of an offending datagram an ICMP error quotes (RFC 792): its IP
 * header including options plus the first 8 bytes of its payload, or less when
 * the datagram is shorter. Never throws; returns a subarray of the input.
 */
export function icmpErrorQuote(ipPacketBytes: Uint8Array): Uint8Array {
  const b = ipPacketBytes;
  if (b.length === 0) return b.subarray(0, 0);
  const hl = ((b[0] as number) & 0x0f) << 2;
  let end = hl + 8;
  if (b.length >= 4) {
    const total = readU16(b, 2);
    if (total >= hl && total < end) end = total;
  }
  return b.subarray(0, Math.min(end, b.length));
}

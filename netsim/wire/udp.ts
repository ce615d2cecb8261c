/**
 * UDP (RFC 768).
 *
 * ```
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |   Source Port   |    Dest Port    |   0 SRC_PORT, 2 DST_PORT
 * +--------+--------+--------+--------+
 * |     Length      |    Checksum     |   4 LENGTH, 6 CHECKSUM
 * +--------+--------+--------+--------+
 * |          data octets ...
 * ```
 * Length counts header + data. The checksum covers the IPv4 pseudo-header,
 * the header and the data; 0 means "no checksum" and a computed 0 is sent as
 * 0xffff (see checksum.ts).
 */
import type { Ipv4Addr } from './addr.ts';
import { foldSum, internetChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.ts';
import { WireError } from './errors.ts';
import { readU16, writeU16 } from './field.ts';

/** Field offsets. */
const F = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6, PAYLOAD: 8 } as const;

export const UDP_HEADER_LEN = 8;
const PROTO_UDP = 17;

/** Ports only: the payload travels beside the Repr (as in smoltcp). */
export type UdpRepr = {
  readonly srcPort: number;
  readonly dstPort: number;
};

/** Zero-copy view of a UDP datagram (the IPv4 payload). */
export class UdpDatagram {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Validates: 8-byte header present, 8 ≤ Length ≤ buffer. */
  static checked(bytes: Uint8Array): UdpDatagram {
    const n = bytes.length;
    if (n < UDP_HEADER_LEN) {
      throw new WireError('WIRE_TRUNCATED', 'udp', `datagram of ${n} bytes is shorter than the ${UDP_HEADER_LEN}-byte header`, 0);
    }
    const d = new UdpDatagram(bytes);
    const len = d.length;
    if (len < UDP_HEADER_LEN) throw new WireError('WIRE_BAD_LENGTH', 'udp', `length ${len} is less than the header`, F.LENGTH);
    if (len > n) throw new WireError('WIRE_TRUNCATED', 'udp', `length ${len} exceeds buffer (${n} bytes)`, F.LENGTH);
    return d;
  }

  static unchecked(bytes: Uint8Array): UdpDatagram {
    return new UdpDatagram(bytes);
  }

  get srcPort(): number {
    return readU16(this.bytes, F.SRC_PORT);
  }
  set srcPort(v: number) {
    writeU16(this.bytes, F.SRC_PORT, v);
  }
  get dstPort(): number {
    return readU16(this.bytes, F.DST_PORT);
  }
  set dstPort(v: number) {
    writeU16(this.bytes, F.DST_PORT, v);
  }
  /** Header + data length from the Length field. */
  get length(): number {
    return readU16(this.bytes, F.LENGTH);
  }
  set length(v: number) {
    writeU16(this.bytes, F.LENGTH, v);
  }
  get checksum(): number {
    return readU16(this.bytes, F.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.bytes, F.CHECKSUM, v);
  }

  /** Bytes 8..Length. */
  payload(): Uint8Array {
    return this.bytes.subarray(F.PAYLOAD, this.length);
  }

  /** True when the checksum verifies or is 0 ("none"). */
  verifyChecksum(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    if (this.checksum === 0) return true;
    const len = this.length;
    return onesComplementSum(this.bytes, 0, len, pseudoHeaderSum(src, dst, PROTO_UDP, len)) === 0xffff;
  }

  /** Computes and stores the checksum (0 is stored as 0xffff). */
  fillChecksum(src: Ipv4Addr, dst: Ipv4Addr): void {
    writeU16(this.bytes, F.CHECKSUM, 0);
    const len = this.length;
    const c = internetChecksum(this.bytes, 0, len, pseudoHeaderSum(src, dst, PROTO_UDP, len));
    writeU16(this.bytes, F.CHECKSUM, c === 0 ? 0xffff : c);
  }
}

/**
 * Parses the header. With `opts` (the IPv4 addresses) a non-zero checksum is
 * verified (`WIRE_BAD_CHECKSUM`); without, it is not looked at.
 */
export function parseUdp(bytes: Uint8Array, opts?: { src: Ipv4Addr; dst: Ipv4Addr }): UdpRepr {
  const d = UdpDatagram.checked(bytes);
  if (opts !== undefined && !d.verifyChecksum(opts.src, opts.dst)) {
    throw new WireError('WIRE_BAD_CHECKSUM', 'udp', `checksum 0x${d.checksum.toString(16).padStart(4, '0')} does not verify`, F.CHECKSUM);
  }
  return { srcPort: d.srcPort, dstPort: d.dstPort };
}

/** Header + payload length. */
export function udpReprLen(_repr: UdpRepr, payloadLen: number): number {
  return UDP_HEADER_LEN + payloadLen;
}

/**
 * Writes header and payload at `buf[off..off + 8 + payload.length)` with the
 * checksum computed over the pseudo-header for `src`/`dst` (0 → 0xffff).
 */
export function emitUdp(repr: UdpRepr, payload: Uint8Array, buf: Uint8Array, off: number, src: Ipv4Addr, dst: Ipv4Addr): void {
  const len = UDP_HEADER_LEN + payload.length;
  if (len > 0xffff) throw new RangeError(`udp: length ${len} exceeds 65535`);
  if (buf.length < off + len) throw new RangeError(`udp: emit needs ${len} bytes at offset ${off}, buffer has ${buf.length}`);
  buf.set(payload, off + F.PAYLOAD);
  emitUdpHeader(repr.srcPort, repr.dstPort, buf, off, len, src, dst);
}

/**
 * Writes the 8-byte header at `buf[off..]` in front of a payload already in place at
 * `off + 8` (a tunnel pushing headers into headroom), with the checksum over
 * `buf[off..off + len)` and the pseudo-header (0 → 0xffff). Allocation-free.
 * `payloadSum`, when given, is the folded sum of the payload (`onesComplementSum` of
 * `buf[off + 8, off + len)`, e.g. from lco.ts), which the checksum then uses instead of
 * reading the payload.
 */
export function emitUdpHeader(srcPort: number, dstPort: number, buf: Uint8Array, off: number, len: number, src: Ipv4Addr, dst: Ipv4Addr, payloadSum = -1): void {
  writeU16(buf, off + F.SRC_PORT, srcPort);
  writeU16(buf, off + F.DST_PORT, dstPort);
  writeU16(buf, off + F.LENGTH, len);
  writeU16(buf, off + F.CHECKSUM, 0);
  const pseudo = pseudoHeaderSum(src, dst, PROTO_UDP, len);
  const c = payloadSum < 0 ? internetChecksum(buf, off, off + len, pseudo) : ~foldSum(pseudo + srcPort + dstPort + len + payloadSum) & 0xffff;
  writeU16(buf, off + F.CHECKSUM, c === 0 ? 0xffff : c);
}

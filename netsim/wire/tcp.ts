/**
 * TCP segment headers (RFC 9293 §3.1). Options are carried verbatim; their
 * semantics (MSS, window scaling, SACK, timestamps) are not modelled here,
 * only named for display by `formatTcpOptions`.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |  0 SRC_PORT, 2 DST_PORT
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |  4 SEQ
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |  8 ACK
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |  12 DATA_OFF, 13 FLAGS, 14 WINDOW
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |  16 CHECKSUM, 18 URGENT
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |  20 OPTIONS
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */
import type { Ipv4Addr } from './addr.ts';
import { internetChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.ts';
import { WireError } from './errors.ts';
import { readU16, readU32, writeU16, writeU32 } from './field.ts';

/** Field offsets. */
const F = { SRC_PORT: 0, DST_PORT: 2, SEQ: 4, ACK: 8, DATA_OFF: 12, FLAGS: 13, WINDOW: 14, CHECKSUM: 16, URGENT: 18, OPTIONS: 20 } as const;

export const TCP_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;
const PROTO_TCP = 6;

/** Flag bits of byte 13. */
export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Option kinds (IANA "TCP Option Kind Numbers"), for display. */
export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
} as const;

/**
 * Header fields. `urgent` is present exactly when the urgent pointer is
 * non-zero; `options` exactly when the header has option bytes (emit pads
 * them to a multiple of 4 with EOL zeros). The payload travels beside it.
 */
export type TcpRepr = {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  readonly urgent?: number;
  readonly options?: Uint8Array;
};

/** Zero-copy view of a TCP segment (the whole IPv4 payload). */
export class TcpSegment {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Validates: 20-byte header present, data offset ≥ 5, header within the buffer. */
  static checked(bytes: Uint8Array): TcpSegment {
    const n = bytes.length;
    if (n < TCP_HEADER_LEN) {
      throw new WireError('WIRE_TRUNCATED', 'tcp', `segment of ${n} bytes is shorter than the ${TCP_HEADER_LEN}-byte header`, 0);
    }
    const s = new TcpSegment(bytes);
    const hl = s.headerLen;
    if (hl < TCP_HEADER_LEN) {
      throw new WireError('WIRE_BAD_HEADER_LEN', 'tcp', `header length ${hl} (data offset ${hl >>> 2}) is below 20`, F.DATA_OFF);
    }
    if (hl > n) throw new WireError('WIRE_TRUNCATED', 'tcp', `header length ${hl} exceeds buffer (${n} bytes)`, F.DATA_OFF);
    return s;
  }

  static unchecked(bytes: Uint8Array): TcpSegment {
    return new TcpSegment(bytes);
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
  /** Sequence number, uint32. */
  get seq(): number {
    return readU32(this.bytes, F.SEQ);
  }
  set seq(v: number) {
    writeU32(this.bytes, F.SEQ, v);
  }
  /** Acknowledgment number, uint32. */
  get ack(): number {
    return readU32(this.bytes, F.ACK);
  }
  set ack(v: number) {
    writeU32(this.bytes, F.ACK, v);
  }
  /** Data offset in 32-bit words (5-15). */
  get dataOffset(): number {
    return (this.bytes[F.DATA_OFF] as number) >>> 4;
  }
  set dataOffset(v: number) {
    const b = this.bytes;
    b[F.DATA_OFF] = ((v & 0x0f) << 4) | ((b[F.DATA_OFF] as number) & 0x0f);
  }
  /** Header length in bytes (data offset × 4). */
  get headerLen(): number {
    return ((this.bytes[F.DATA_OFF] as number) >>> 4) << 2;
  }
  set headerLen(v: number) {
    this.dataOffset = v >>> 2;
  }
  /** The 8 flag bits of byte 13 (`TcpFlags`). */
  get flags(): number {
    return this.bytes[F.FLAGS] as number;
  }
  set flags(v: number) {
    this.bytes[F.FLAGS] = v;
  }
  get window(): number {
    return readU16(this.bytes, F.WINDOW);
  }
  set window(v: number) {
    writeU16(this.bytes, F.WINDOW, v);
  }
  get checksum(): number {
    return readU16(this.bytes, F.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.bytes, F.CHECKSUM, v);
  }
  get urgent(): number {
    return readU16(this.bytes, F.URGENT);
  }
  set urgent(v: number) {
    writeU16(this.bytes, F.URGENT, v);
  }

  /** Option bytes (20..headerLen), including any padding. */
  options(): Uint8Array {
    return this.bytes.subarray(F.OPTIONS, this.headerLen);
  }

  /** headerLen..end. */
  payload(): Uint8Array {
    return this.bytes.subarray(this.headerLen);
  }

  /** Verifies over the pseudo-header with the segment length = `bytes.length`. */
  verifyChecksum(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    const n = this.bytes.length;
    return onesComplementSum(this.bytes, 0, n, pseudoHeaderSum(src, dst, PROTO_TCP, n)) === 0xffff;
  }

  fillChecksum(src: Ipv4Addr, dst: Ipv4Addr): void {
    const n = this.bytes.length;
    writeU16(this.bytes, F.CHECKSUM, 0);
    writeU16(this.bytes, F.CHECKSUM, internetChecksum(this.bytes, 0, n, pseudoHeaderSum(src, dst, PROTO_TCP, n)));
  }
}

/** The header fields the stack's receive path reads, written in place by {@link parseTcpInto}. */
export interface TcpFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** The option bytes (a view into the segment); undefined when the header has none. */
  options: Uint8Array | undefined;
}

/** A record for {@link parseTcpInto} (all fields present: one shape). */
export function tcpFields(): TcpFields {
  return { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, options: undefined };
}

/**
 * `parseTcp` of the segment at `b[off, off + len)` verified over the pseudo-header,
 * into `out`, without a view or header object per segment (the stack's receive path;
 * the urgent pointer is not read). Returns false, leaving `out` partly written, when
 * the segment is malformed or its checksum does not verify: call `parseTcp` on it for
 * the error. `verify` false skips the checksum (a packet whose checksum is known good:
 * Packet.l4Verified).
 */
export function parseTcpInto(out: TcpFields, b: Uint8Array, off: number, len: number, src: Ipv4Addr, dst: Ipv4Addr, verify = true): boolean {
  if (len < TCP_HEADER_LEN) return false;
  const hl = ((b[off + F.DATA_OFF] as number) >>> 4) << 2;
  if (hl < TCP_HEADER_LEN || hl > len) return false;
  if (verify && onesComplementSum(b, off, off + len, pseudoHeaderSum(src, dst, PROTO_TCP, len)) !== 0xffff) return false;
  out.srcPort = readU16(b, off);
  out.dstPort = readU16(b, off + F.DST_PORT);
  out.seq = readU32(b, off + F.SEQ);
  out.ack = readU32(b, off + F.ACK);
  out.flags = b[off + F.FLAGS] as number;
  out.window = readU16(b, off + F.WINDOW);
  out.options = hl === TCP_HEADER_LEN ? undefined : b.subarray(off + F.OPTIONS, off + hl);
  return true;
}

/** Header length `emitTcp` writes: 20 + options padded to 4. */
export function tcpHeaderLen(repr: Pick<TcpRepr, 'options'>): number {
  const o = repr.options;
  return o === undefined ? TCP_HEADER_LEN : TCP_HEADER_LEN + ((o.length + 3) & ~3);
}

/**
 * Parses a segment (the whole IPv4 payload). With `opts` (the IPv4 addresses)
 * the checksum is verified (`WIRE_BAD_CHECKSUM`).
 */
export function parseTcp(bytes: Uint8Array, opts?: { src: Ipv4Addr; dst: Ipv4Addr }): TcpRepr {
  const s = TcpSegment.checked(bytes);
  if (opts !== undefined && !s.verifyChecksum(opts.src, opts.dst)) {
    throw new WireError('WIRE_BAD_CHECKSUM', 'tcp', `checksum 0x${s.checksum.toString(16).padStart(4, '0')} does not verify`, F.CHECKSUM);
  }
  const base: TcpRepr = {
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    seq: s.seq,
    ack: s.ack,
    flags: s.flags,
    window: s.window,
  };
  const urgent = s.urgent;
  const withUrgent = urgent !== 0 ? { ...base, urgent } : base;
  return s.headerLen > TCP_HEADER_LEN ? { ...withUrgent, options: s.options() } : withUrgent;
}

/**
 * Writes header, options and payload at `buf[off..off + tcpHeaderLen + payload.length)`
 * with the checksum over the pseudo-header for `src`/`dst`.
 */
export function emitTcp(repr: TcpRepr, payload: Uint8Array, buf: Uint8Array, off: number, src: Ipv4Addr, dst: Ipv4Addr): void {
  emitTcpFields(buf, off, repr.srcPort, repr.dstPort, repr.seq, repr.ack, repr.flags, repr.window, repr.urgent ?? 0, repr.options, payload, src, dst);
}

/** {@link emitTcp} from plain fields, for senders that build no header object per segment. */
export function emitTcpFields(buf: Uint8Array, off: number, srcPort: number, dstPort: number, seq: number, ack: number, flags: number, window: number, urgent: number, options: Uint8Array | undefined, payload: Uint8Array, src: Ipv4Addr, dst: Ipv4Addr): void {
  const hl = options === undefined ? TCP_HEADER_LEN : TCP_HEADER_LEN + ((options.length + 3) & ~3);
  if (hl > TCP_MAX_HEADER_LEN) throw new RangeError(`tcp: ${hl - TCP_HEADER_LEN} option bytes exceed the 40-byte maximum`);
  const len = hl + payload.length;
  if (buf.length < off + len) throw new RangeError(`tcp: emit needs ${len} bytes at offset ${off}, buffer has ${buf.length}`);
  writeU16(buf, off + F.SRC_PORT, srcPort);
  writeU16(buf, off + F.DST_PORT, dstPort);
  writeU32(buf, off + F.SEQ, seq);
  writeU32(buf, off + F.ACK, ack);
  buf[off + F.DATA_OFF] = (hl >>> 2) << 4;
  buf[off + F.FLAGS] = flags;
  writeU16(buf, off + F.WINDOW, window);
  writeU16(buf, off + F.CHECKSUM, 0);
  writeU16(buf, off + F.URGENT, urgent);
  if (options !== undefined) {
    buf.set(options, off + F.OPTIONS);
    buf.fill(0, off + F.OPTIONS + options.length, off + hl);
  }
  buf.set(payload, off + hl);
  writeU16(buf, off + F.CHECKSUM, internetChecksum(buf, off, off + len, pseudoHeaderSum(src, dst, PROTO_TCP, len)));
}

/** tcpdump's flag letters, in tcpdump's order (print-tcp.c `tcp_flag_values`). */
const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [TcpFlags.FIN, 'F'],
  [TcpFlags.SYN, 'S'],
  [TcpFlags.RST, 'R'],
  [TcpFlags.PSH, 'P'],
  [TcpFlags.ACK, '.'],
  [TcpFlags.URG, 'U'],
  [TcpFlags.ECE, 'E'],
  [TcpFlags.CWR, 'W'],
];

/** tcpdump style: `[S]`, `[S.]`, `[P.]`, `[F.]`, `[R]`, `[none]`. */
export function formatTcpFlags(flags: number): string {
  let s = '';
  for (const [bit, letter] of FLAG_LETTERS) if ((flags & bit) !== 0) s += letter;
  return `[${s === '' ? 'none' : s}]`;
}

/**
 * tcpdump-style option list (`mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7`).
 * Never throws: a malformed option ends the list with `bad opt`.
 */
export function formatTcpOptions(options: Uint8Array): string {
  const out: string[] = [];
  let i = 0;
  while (i < options.length) {
    const kind = options[i] as number;
    if (kind === TcpOptionKind.EOL) {
      out.push('eol');
      break;
    }
    if (kind === TcpOptionKind.NOP) {
      out.push('nop');
      i++;
      continue;
    }
    const len = options[i + 1];
    if (len === undefined || len < 2 || i + len > options.length) {
      out.push('bad opt');
      break;
    }
    if (kind === TcpOptionKind.MSS && len === 4) out.push(`mss ${readU16(options, i + 2)}`);
    else if (kind === TcpOptionKind.WSCALE && len === 3) out.push(`wscale ${options[i + 2] as number}`);
    else if (kind === TcpOptionKind.SACK_PERMITTED && len === 2) out.push('sackOK');
    else if (kind === TcpOptionKind.TIMESTAMPS && len === 10) out.push(`TS val ${readU32(options, i + 2)} ecr ${readU32(options, i + 6)}`);
    else if (kind === TcpOptionKind.SACK && (len - 2) % 8 === 0) {
      const blocks: string[] = [];
      for (let j = i + 2; j < i + len; j += 8) blocks.push(`{${readU32(options, j)}:${readU32(options, j + 4)}}`);
      out.push(`sack ${blocks.length} ${blocks.join('')}`);
    } else out.push(`unknown-${kind}`);
    i += len;
  }
  return out.join(',');
}

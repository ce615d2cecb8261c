/**
 * The datagram that carries one underlay Ethernet frame between two netsim
 * processes (node partitions, `netsim up --partition`), as flanneld's UDP backend
 * carries a pod packet between hosts — but one layer lower: the whole frame a
 * node's eth0 put on the shared segment.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 MAGIC "NSUL" (0x4e53554c)                     |  0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  VERSION (1)  |     FLAGS     |       SOURCE PARTITION        |  4
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          FRAME LENGTH         | (FLAG_TRACE: TRACE ID, 32 bits |  8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ then) frame bytes ...         |
 * |  ... then, with FLAG_AUTH, a 32-byte HMAC-SHA256 tag over     |
 * |  every byte before it                                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * FLAG_TRACE (0x02) marks a frame of a traced packet (`netsim trace` in a live
 * cluster): a 4-byte trace id follows the header, and the receiving partition records
 * that packet's hops under it (cluster/trace-halves.ts). A version-1 reader that
 * predates the flag refuses such a datagram as "unknown flags", never misreads it.
 *
 * The datagram's length must be exactly header (+ trace id) + frame (+ tag): a datagram that a
 * peer truncated or padded is refused, never half-read. The frame must hold at
 * least an Ethernet header. The tag is computed and checked by the transport
 * (this layer holds no keys); here it is only located.
 */
import { WireError } from './errors.ts';
import { readU16, readU32, writeU16, writeU32 } from './field.ts';
import { ETHERNET_HEADER_LEN } from './ethernet.ts';

const F = { MAGIC: 0, VERSION: 4, FLAGS: 5, SOURCE: 6, LENGTH: 8, FRAME: 10 } as const;

/** "NSUL": netsim underlay. */
export const UNDERLAY_MAGIC = 0x4e53554c;
export const UNDERLAY_VERSION = 1;
export const UNDERLAY_HEADER_LEN = F.FRAME;
/** The datagram ends with an HMAC-SHA256 tag. */
export const UNDERLAY_FLAG_AUTH = 0x01;
/** A trace id follows the header. */
export const UNDERLAY_FLAG_TRACE = 0x02;
const TRACE_ID_LEN = 4;
/** HMAC-SHA256 output (RFC 2104 with SHA-256: 32 bytes). */
export const UNDERLAY_TAG_LEN = 32;
/** Largest frame: a UDP payload over IPv4 is at most 65 507 bytes. */
export const UNDERLAY_MAX_FRAME = 65_507 - UNDERLAY_HEADER_LEN - TRACE_ID_LEN - UNDERLAY_TAG_LEN;

export interface UnderlayDatagramRepr {
  /** The sending partition's index. */
  readonly source: number;
  /** Whether a tag follows the frame. */
  readonly auth: boolean;
  /** The trace the frame's packet belongs to, when FLAG_TRACE is set (0 to 2^32-1). */
  readonly traceId: number | undefined;
  /** The Ethernet frame (a view into the parsed buffer). */
  readonly frame: Uint8Array;
  /** The tag (a view), when `auth`. */
  readonly tag: Uint8Array | undefined;
  /** The bytes the tag covers (header + frame), when `auth`. */
  readonly signed: Uint8Array | undefined;
}

/** Parse untrusted datagram bytes; throws only {@link WireError}. */
export function parseUnderlayDatagram(b: Uint8Array): UnderlayDatagramRepr {
  if (b.length < UNDERLAY_HEADER_LEN) throw new WireError('WIRE_TRUNCATED', 'underlay', `datagram of ${b.length} bytes is shorter than its ${UNDERLAY_HEADER_LEN}-byte header`, 0);
  if (readU32(b, F.MAGIC) !== UNDERLAY_MAGIC) throw new WireError('WIRE_BAD_FIELD', 'underlay', `bad magic 0x${readU32(b, F.MAGIC).toString(16).padStart(8, '0')}`, F.MAGIC);
  const version = b[F.VERSION] as number;
  if (version !== UNDERLAY_VERSION) throw new WireError('WIRE_BAD_VERSION', 'underlay', `version ${version}, expected ${UNDERLAY_VERSION}`, F.VERSION);
  const flags = b[F.FLAGS] as number;
  if ((flags & ~(UNDERLAY_FLAG_AUTH | UNDERLAY_FLAG_TRACE)) !== 0) throw new WireError('WIRE_UNSUPPORTED', 'underlay', `unknown flags 0x${flags.toString(16)}`, F.FLAGS);
  const auth = (flags & UNDERLAY_FLAG_AUTH) !== 0;
  const traced = (flags & UNDERLAY_FLAG_TRACE) !== 0;
  const start = UNDERLAY_HEADER_LEN + (traced ? TRACE_ID_LEN : 0);
  const len = readU16(b, F.LENGTH);
  const want = start + len + (auth ? UNDERLAY_TAG_LEN : 0);
  if (b.length !== want) throw new WireError('WIRE_BAD_LENGTH', 'underlay', `frame length ${len} makes ${want} bytes, the datagram has ${b.length}`, F.LENGTH);
  if (len < ETHERNET_HEADER_LEN) throw new WireError('WIRE_BAD_LENGTH', 'underlay', `frame of ${len} bytes is shorter than an Ethernet header`, F.LENGTH);
  const end = start + len;
  return {
    source: readU16(b, F.SOURCE), auth, traceId: traced ? readU32(b, F.FRAME) : undefined, frame: b.subarray(start, end),
    tag: auth ? b.subarray(end, end + UNDERLAY_TAG_LEN) : undefined,
    signed: auth ? b.subarray(0, end) : undefined,
  };
}

/**
 * A datagram for `frame` from partition `source`: header and frame, and with `auth`
 * room for the tag at the end (zeros; the transport writes it over `signed`).
 */
export function emitUnderlayDatagram(source: number, frame: Uint8Array, auth: boolean, traceId?: number): { bytes: Uint8Array; signed: Uint8Array; tag: Uint8Array } {
  if (frame.length > UNDERLAY_MAX_FRAME) throw new RangeError(`underlay: frame of ${frame.length} bytes exceeds ${UNDERLAY_MAX_FRAME}`);
  if (!Number.isInteger(source) || source < 0 || source > 0xffff) throw new RangeError(`underlay: source partition ${source} outside 0-65535`);
  if (traceId !== undefined && (!Number.isInteger(traceId) || traceId < 0 || traceId > 0xffff_ffff)) throw new RangeError(`underlay: trace id ${traceId} outside 0-2^32-1`);
  const start = UNDERLAY_HEADER_LEN + (traceId !== undefined ? TRACE_ID_LEN : 0);
  const end = start + frame.length;
  const bytes = new Uint8Array(end + (auth ? UNDERLAY_TAG_LEN : 0));
  writeU32(bytes, F.MAGIC, UNDERLAY_MAGIC);
  bytes[F.VERSION] = UNDERLAY_VERSION;
  bytes[F.FLAGS] = (auth ? UNDERLAY_FLAG_AUTH : 0) | (traceId !== undefined ? UNDERLAY_FLAG_TRACE : 0);
  writeU16(bytes, F.SOURCE, source);
  writeU16(bytes, F.LENGTH, frame.length);
  if (traceId !== undefined) writeU32(bytes, F.FRAME, traceId);
  bytes.set(frame, start);
  return { bytes, signed: bytes.subarray(0, end), tag: bytes.subarray(end) };
}

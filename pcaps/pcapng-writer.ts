/**
 * pcapng writer (draft-ietf-opsawg-pcapng): one section in the chosen byte order
 * (little endian unless asked) with
 *
 * - a Section Header Block: version 1.0, section length −1 (unknown, so the file
 *   can be streamed), `shb_userappl` ("netsim" by default), optional
 *   `shb_hardware`, `shb_os` and `opt_comment`;
 * - one Interface Description Block per {@link PcapngWriter.addInterface} call:
 *   link type, snaplen, `if_name` (e.g. `node01/eth0`), optional
 *   `if_description`, and `if_tsresol` = 9 (nanoseconds);
 * - Enhanced Packet Blocks: interface id, 64-bit nanosecond timestamp (high, low),
 *   captured and original length, data padded to 32 bits, `epb_flags` with the
 *   direction in bits 0–1 (1 inbound, 2 outbound) and `opt_comment`s (UTF-8, e.g.
 *   "trace 7 hop 3");
 * - Name Resolution Blocks: `nrb_record_ipv4` / `nrb_record_ipv6` records (address
 *   + NUL-terminated names, e.g. pod names), then `nrb_record_end`.
 *
 * Every block is 32-bit aligned, ends with its total length repeated, and ends its
 * options with `opt_endofopt`. Blocks are written in call order, so an interface
 * added after packets were written still precedes every packet that uses it —
 * which is all pcapng asks of an IDB within a section.
 *
 * Bad arguments (unknown interface, a timestamp outside 0…2^64−1, an option value
 * longer than 65535 bytes) are programmer errors: `RangeError`.
 */
import { ByteWriter, type ChunkSink } from './byte-writer.ts';
import {
  BT_EPB, BT_IDB, BT_NRB, BT_SHB, BYTE_ORDER_MAGIC, DEFAULT_SNAPLEN, DIRECTION_INBOUND, DIRECTION_OUTBOUND,
  EPB_FLAGS, IF_DESCRIPTION, IF_NAME, IF_TSRESOL, NRB_RECORD_IPV4, NRB_RECORD_IPV6,
  OPT_COMMENT, SHB_HARDWARE, SHB_OS, SHB_USERAPPL, type Direction,
} from './pcapng-constants.ts';

export interface PcapngWriterOptions {
  /** `shb_userappl`; default "netsim". */
  readonly application?: string;
  /** `shb_hardware`. */
  readonly hardware?: string;
  /** `shb_os`. */
  readonly os?: string;
  /** Section comments (`opt_comment`), e.g. how to decode flannel ports. */
  readonly comment?: string | readonly string[];
  /** Default 'little'. */
  readonly byteOrder?: 'little' | 'big';
  /** Stream the file to this sink in batches instead of keeping it in memory. */
  readonly sink?: ChunkSink;
  /** Batch size for {@link sink} output; default 1 MiB. */
  readonly batchBytes?: number;
}

export interface PcapngInterface {
  /** `if_name`, e.g. `node01/eth0`. */
  readonly name: string;
  /** A LINKTYPE_* value: 1 Ethernet, 101 raw IP. */
  readonly linkType: number;
  /** `if_description`. */
  readonly description?: string;
  /** Bytes kept per packet; longer packets are truncated. Default 262144; 0 = unlimited. */
  readonly snaplen?: number;
}

export interface PcapngNameRecord {
  /** Dotted IPv4 text, or the address bytes (4 for IPv4, 16 for IPv6). */
  readonly ip: Uint8Array | string;
  /** At least one name; none may be empty or contain NUL. */
  readonly names: readonly string[];
}

export interface PcapngPacket {
  readonly interfaceId: number;
  /** Nanoseconds since the Unix epoch (the virtual clock); 0 … 2^64−1. */
  readonly timestampNs: bigint;
  readonly data: Uint8Array;
  /** Length on the wire; default `data.length`. Must be ≥ the captured length. */
  readonly originalLength?: number;
  readonly direction?: Direction;
  /** `opt_comment`(s), e.g. "trace 7 hop 3". */
  readonly comment?: string | readonly string[];
}

type Option = readonly [code: number, value: Uint8Array];

const utf8 = new TextEncoder();
const U64_MAX = (1n << 64n) - 1n;

/** Round up to a multiple of 4 (safe for lengths up to 2^53). */
const pad4 = (n: number): number => n + ((4 - (n % 4)) % 4);

function text(what: string, s: string): Uint8Array {
  const b = utf8.encode(s);
  if (b.length > 0xffff) throw new RangeError(`pcapng: ${what} is ${b.length} bytes; an option holds at most 65535`);
  return b;
}

function comments(c: string | readonly string[] | undefined): string[] {
  if (c === undefined) return [];
  return typeof c === 'string' ? [c] : [...c];
}

/** Bytes taken by an option list including opt_endofopt (0 when there are no options). */
function optionsSize(opts: readonly Option[], extra = 0): number {
  if (opts.length === 0 && extra === 0) return 0;
  let n = 4 + extra;
  for (const [, v] of opts) n += 4 + pad4(v.length);
  return n;
}

function ipv4Bytes(ip: string): Uint8Array {
  const parts = ip.split('.');
  const out = new Uint8Array(4);
  if (parts.length !== 4) throw new RangeError(`pcapng: not a dotted IPv4 address: ${JSON.stringify(ip)}`);
  parts.forEach((p, i) => {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new RangeError(`pcapng: not a dotted IPv4 address: ${JSON.stringify(ip)}`);
    out[i] = Number(p);
  });
  return out;
}

export class PcapngWriter {
  private readonly out: ByteWriter;
  private readonly snaplens: number[] = [];
  private packets = 0;

  constructor(opts: PcapngWriterOptions = {}) {
    this.out = new ByteWriter(opts.byteOrder !== 'big', opts.sink, opts.batchBytes);
    const o: Option[] = [];
    for (const c of comments(opts.comment)) o.push([OPT_COMMENT, text('section comment', c)]);
    if (opts.hardware !== undefined) o.push([SHB_HARDWARE, text('shb_hardware', opts.hardware)]);
    if (opts.os !== undefined) o.push([SHB_OS, text('shb_os', opts.os)]);
    o.push([SHB_USERAPPL, text('shb_userappl', opts.application ?? 'netsim')]);
    const at = this.begin(BT_SHB, 16, o);
    this.out.u32(at, BYTE_ORDER_MAGIC);
    this.out.u16(at + 4, 1); // major version
    this.out.u16(at + 6, 0); // minor version
    // Section length −1 (unknown): all ones in either byte order.
    this.out.u32(at + 8, 0xffffffff);
    this.out.u32(at + 12, 0xffffffff);
  }

  /** Number of interfaces described so far. */
  get interfaceCount(): number {
    return this.snaplens.length;
  }

  /** Number of packets written so far. */
  get packetCount(): number {
    return this.packets;
  }

  /** Bytes produced so far (including bytes already handed to the sink). */
  get byteLength(): number {
    return this.out.length;
  }

  /** Describe an interface (an IDB); returns its id: 0, 1, 2, … in call order. */
  addInterface(i: PcapngInterface): number {
    if (!Number.isInteger(i.linkType) || i.linkType < 0 || i.linkType > 0xffff) throw new RangeError(`pcapng: link type ${i.linkType} is not a 16-bit value`);
    const snaplen = i.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > 0xffffffff) throw new RangeError(`pcapng: snaplen ${snaplen} is not a 32-bit value`);
    const o: Option[] = [[IF_NAME, text('if_name', i.name)]];
    if (i.description !== undefined) o.push([IF_DESCRIPTION, text('if_description', i.description)]);
    o.push([IF_TSRESOL, Uint8Array.of(9)]);
    const at = this.begin(BT_IDB, 8, o);
    this.out.u16(at, i.linkType);
    this.out.u32(at + 4, snaplen);
    this.snaplens.push(snaplen);
    return this.snaplens.length - 1;
  }

  /** Write a Name Resolution Block (address → names, shown by Wireshark with `-N n`). */
  addNameRecords(records: readonly PcapngNameRecord[]): void {
    if (records.length === 0) return;
    const recs = records.map((r): Option => {
      const ip = typeof r.ip === 'string' ? ipv4Bytes(r.ip) : r.ip;
      if (ip.length !== 4 && ip.length !== 16) throw new RangeError(`pcapng: a name record address is 4 or 16 bytes (got ${ip.length})`);
      if (r.names.length === 0) throw new RangeError('pcapng: a name record needs at least one name');
      const names = r.names.map((n) => {
        if (n === '' || n.includes('\0')) throw new RangeError(`pcapng: bad name ${JSON.stringify(n)} (empty or containing NUL)`);
        return utf8.encode(n);
      });
      const value = new Uint8Array(ip.length + names.reduce((s, n) => s + n.length + 1, 0));
      value.set(ip);
      let o = ip.length;
      for (const n of names) {
        value.set(n, o);
        o += n.length + 1; // the NUL is already zero
      }
      if (value.length > 0xffff) throw new RangeError('pcapng: a name record holds at most 65535 bytes');
      return [ip.length === 4 ? NRB_RECORD_IPV4 : NRB_RECORD_IPV6, value];
    });
    // Records share the option layout (code, length, padded value); nrb_record_end = opt_endofopt.
    this.begin(BT_NRB, 0, recs);
  }

  /** Write one packet (an EPB). Data longer than the interface's snaplen is truncated. */
  writePacket(p: PcapngPacket): void {
    const snaplen = this.snaplens[p.interfaceId];
    if (snaplen === undefined || !Number.isInteger(p.interfaceId)) throw new RangeError(`pcapng: interface ${p.interfaceId} not declared (add it with addInterface first)`);
    if (typeof p.timestampNs !== 'bigint' || p.timestampNs < 0n || p.timestampNs > U64_MAX) throw new RangeError(`pcapng: timestamp ${String(p.timestampNs)} ns is not an unsigned 64-bit bigint`);
    const caplen = snaplen !== 0 && p.data.length > snaplen ? snaplen : p.data.length;
    const orig = p.originalLength ?? p.data.length;
    if (!Number.isInteger(orig) || orig < caplen || orig > 0xffffffff) throw new RangeError(`pcapng: original length ${orig} is below the captured length ${caplen} or not 32-bit`);
    const o: Option[] = [];
    for (const c of comments(p.comment)) o.push([OPT_COMMENT, text('opt_comment', c)]);
    const flags = p.direction === undefined ? 0 : p.direction === 'inbound' ? DIRECTION_INBOUND : DIRECTION_OUTBOUND;
    const flagsSize = flags === 0 ? 0 : 8;
    const dataSize = pad4(caplen);
    const at = this.begin(BT_EPB, 20 + dataSize, o, flagsSize);
    const w = this.out;
    w.u32(at, p.interfaceId);
    w.u32(at + 4, Number(p.timestampNs >> 32n));
    w.u32(at + 8, Number(p.timestampNs & 0xffffffffn));
    w.u32(at + 12, caplen);
    w.u32(at + 16, orig);
    w.bytes(at + 20, caplen === p.data.length ? p.data : p.data.subarray(0, caplen));
    if (flagsSize !== 0) {
      // epb_flags goes first among the options, before the comments begin() wrote.
      const f = at + 20 + dataSize;
      w.u16(f, EPB_FLAGS);
      w.u16(f + 2, 4);
      w.u32(f + 4, flags);
    }
    this.packets++;
  }

  /** Hand buffered bytes to the sink now (sink mode; no-op in memory). */
  flush(): void {
    this.out.flush();
  }

  /** Flush and refuse further writes. */
  close(): void {
    this.out.close();
  }

  /** The file so far (memory mode only; a copy — writing may continue). */
  toBytes(): Uint8Array {
    return this.out.toBytes();
  }

  /**
   * Reserve a whole block: header, `fixed` body bytes (returned offset points at
   * them, zeroed), `reservedOpts` bytes of options the caller fills in itself right
   * after the fixed part, then `opts`, opt_endofopt and the trailing length.
   */
  private begin(type: number, fixed: number, opts: readonly Option[], reservedOpts = 0): number {
    const optBytes = optionsSize(opts, reservedOpts);
    const total = 12 + fixed + optBytes;
    if (total > 0xffffffff) throw new RangeError('pcapng: block larger than 4 GiB');
    const w = this.out;
    const start = w.reserve(total);
    w.u32(start, type);
    w.u32(start + 4, total);
    let o = start + 8 + fixed + reservedOpts;
    for (const [code, v] of opts) {
      w.u16(o, code);
      w.u16(o + 2, v.length);
      w.bytes(o + 4, v);
      o += 4 + pad4(v.length);
    }
    // opt_endofopt (code 0, length 0) is already zero; the trailing length is not.
    w.u32(start + total - 4, total);
    return start + 8;
  }
}

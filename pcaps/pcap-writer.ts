/**
 * Classic libpcap writer (https://www.tcpdump.org/manpages/pcap-savefile.5.html,
 * draft-ietf-opsawg-pcap) for single-interface exports: a 24-byte global header
 * (magic 0xA1B23C4D for nanosecond or 0xA1B2C3D4 for microsecond timestamps,
 * version 2.4, thiszone 0, sigfigs 0, snaplen, one link type for the whole file)
 * and a 16-byte record header before each packet (seconds, fraction, captured
 * length, original length).
 *
 * Nanoseconds are the default. Tools that know only the original microsecond
 * magic (the npm `pcap-parser` package, very old tcpdump) need
 * `resolution: 'us'`; timestamps are then truncated to the microsecond.
 */
import { ByteWriter, type ChunkSink } from './byte-writer.ts';
import { DEFAULT_SNAPLEN } from './pcapng-constants.ts';

/** Microsecond-resolution magic. */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
/** Nanosecond-resolution magic. */
export const PCAP_MAGIC_NS = 0xa1b23c4d;

export interface PcapWriterOptions {
  /** A LINKTYPE_* value, for every packet in the file. */
  readonly linkType: number;
  /** Default 262144. Longer packets are truncated. */
  readonly snaplen?: number;
  /** Default 'ns'. */
  readonly resolution?: 'ns' | 'us';
  /** Default 'little'. */
  readonly byteOrder?: 'little' | 'big';
  readonly sink?: ChunkSink;
  readonly batchBytes?: number;
}

export interface PcapPacket {
  /** Nanoseconds since the Unix epoch; the seconds must fit 32 bits. */
  readonly timestampNs: bigint;
  readonly data: Uint8Array;
  /** Default `data.length`; must be ≥ the captured length. */
  readonly originalLength?: number;
}

const NS_PER_S = 1_000_000_000n;
const U32_SECONDS_MAX = 0xffffffffn;

export class PcapWriter {
  private readonly out: ByteWriter;
  private readonly snaplen: number;
  private readonly nanos: boolean;
  private packets = 0;

  constructor(opts: PcapWriterOptions) {
    if (!Number.isInteger(opts.linkType) || opts.linkType < 0 || opts.linkType > 0xffff) throw new RangeError(`pcap: link type ${opts.linkType} is not a 16-bit value`);
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 0xffffffff) throw new RangeError(`pcap: snaplen ${this.snaplen} must be 1 … 2^32−1`);
    this.nanos = (opts.resolution ?? 'ns') === 'ns';
    this.out = new ByteWriter(opts.byteOrder !== 'big', opts.sink, opts.batchBytes);
    const w = this.out;
    const at = w.reserve(24);
    w.u32(at, this.nanos ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    w.u16(at + 4, 2);
    w.u16(at + 6, 4);
    // thiszone (8) and sigfigs (12) stay 0.
    w.u32(at + 16, this.snaplen);
    w.u32(at + 20, opts.linkType);
  }

  get packetCount(): number {
    return this.packets;
  }

  get byteLength(): number {
    return this.out.length;
  }

  writePacket(p: PcapPacket): void {
    if (typeof p.timestampNs !== 'bigint' || p.timestampNs < 0n || p.timestampNs / NS_PER_S > U32_SECONDS_MAX) throw new RangeError(`pcap: timestamp ${String(p.timestampNs)} ns is negative or its seconds exceed 32 bits`);
    const caplen = Math.min(p.data.length, this.snaplen);
    const orig = p.originalLength ?? p.data.length;
    if (!Number.isInteger(orig) || orig < caplen || orig > 0xffffffff) throw new RangeError(`pcap: original length ${orig} is below the captured length ${caplen} or not 32-bit`);
    const w = this.out;
    const at = w.reserve(16 + caplen);
    const frac = Number(p.timestampNs % NS_PER_S);
    w.u32(at, Number(p.timestampNs / NS_PER_S));
    w.u32(at + 4, this.nanos ? frac : Math.floor(frac / 1000));
    w.u32(at + 8, caplen);
    w.u32(at + 12, orig);
    w.bytes(at + 16, caplen === p.data.length ? p.data : p.data.subarray(0, caplen));
    this.packets++;
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.out.close();
  }

  toBytes(): Uint8Array {
    return this.out.toBytes();
  }
}

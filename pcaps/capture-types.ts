/** What the readers return: one shape for classic pcap and pcapng. */
import type { Direction } from './pcapng-constants.ts';

/** Timestamp units per second = base ^ exponent (pcapng `if_tsresol`; pcap: 10^6 or 10^9). */
export interface TimestampResolution {
  readonly base: 2 | 10;
  readonly exponent: number;
}

export interface CaptureInterface {
  /** `if_name` (pcapng only). */
  readonly name?: string;
  /** `if_description` (pcapng only). */
  readonly description?: string;
  readonly linkType: number;
  readonly snaplen: number;
  readonly tsresol: TimestampResolution;
  /** `if_tsoffset` in seconds, already added to the packets' timestamps. */
  readonly tsoffsetSeconds?: bigint;
  /** Index of the pcapng section the interface belongs to (0 for pcap). */
  readonly section: number;
  readonly comments: readonly string[];
}

export interface CapturePacket {
  /** Index into {@link CaptureFile.interfaces} (numbered across sections). */
  readonly interfaceId: number;
  /** Nanoseconds since the Unix epoch (0 for Simple Packet Blocks, which carry none). */
  readonly timestampNs: bigint;
  /** The captured bytes: a view into the input, not a copy. */
  readonly data: Uint8Array;
  readonly originalLength: number;
  /** From `epb_flags` bits 0–1 (absent when unknown). */
  readonly direction?: Direction;
  /** Raw `epb_flags` when present. */
  readonly flags?: number;
  readonly comments: readonly string[];
}

export interface CaptureNameRecord {
  readonly family: 4 | 6;
  /** Dotted IPv4, or IPv6 text as RFC 5952 recommends. */
  readonly ip: string;
  readonly names: readonly string[];
}

export interface CaptureSection {
  readonly byteOrder: 'little' | 'big';
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly application?: string;
  readonly hardware?: string;
  readonly os?: string;
  readonly comments: readonly string[];
}

export interface CaptureFile {
  readonly format: 'pcap' | 'pcapng';
  /** Byte order of the file (of its first section for pcapng). */
  readonly byteOrder: 'little' | 'big';
  /** pcapng sections in order (empty for classic pcap). */
  readonly sections: readonly CaptureSection[];
  readonly interfaces: readonly CaptureInterface[];
  readonly packets: readonly CapturePacket[];
  readonly names: readonly CaptureNameRecord[];
}

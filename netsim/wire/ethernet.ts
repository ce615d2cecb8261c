/**
 * Ethernet II frames (IEEE 802.3 with an EtherType, no FCS: like a Linux tap,
 * frames start at the destination MAC and end with the payload).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Destination MAC (6 bytes)                     |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+    Source MAC (6 bytes)       +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          EtherType            |   Payload ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Minimum-frame padding (60 bytes) is NOT added on emit: Linux hands 42-byte
 * ARP frames to taps unpadded, and the NIC pads on the wire. Padding present
 * on input is carried in `payload()`; IPv4 ignores bytes past its total length.
 */
import type { MacAddr } from './addr.ts';
import { WireError } from './errors.ts';
import { readU16, readU48, writeU16, writeU48 } from './field.ts';

/** Field offsets. */
const F = { DST: 0, SRC: 6, ETHERTYPE: 12, PAYLOAD: 14 } as const;

export const ETHERNET_HEADER_LEN = 14;

/** EtherType values (IEEE registry); open-ended, formatters fall back to hex. */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  /** 802.1Q tag: not modelled, frames carrying it are opaque. */
  VLAN: 0x8100,
  /** Not modelled: carried opaquely. */
  IPV6: 0x86dd,
} as const;

export type EthernetRepr = {
  readonly dst: MacAddr;
  readonly src: MacAddr;
  readonly etherType: number;
};

/** Zero-copy view of an Ethernet II frame. */
export class EthernetFrame {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Validates that the 14-byte header is present. */
  static checked(bytes: Uint8Array): EthernetFrame {
    if (bytes.length < ETHERNET_HEADER_LEN) {
      throw new WireError(
        'WIRE_TRUNCATED',
        'ethernet',
        `frame of ${bytes.length} bytes is shorter than the ${ETHERNET_HEADER_LEN}-byte header`,
        0,
      );
    }
    return new EthernetFrame(bytes);
  }

  /** No validation: for buffers this code allocated with the right size. */
  static unchecked(bytes: Uint8Array): EthernetFrame {
    return new EthernetFrame(bytes);
  }

  get dst(): MacAddr {
    return readU48(this.bytes, F.DST);
  }
  set dst(v: MacAddr) {
    writeU48(this.bytes, F.DST, v);
  }

  get src(): MacAddr {
    return readU48(this.bytes, F.SRC);
  }
  set src(v: MacAddr) {
    writeU48(this.bytes, F.SRC, v);
  }

  get etherType(): number {
    return readU16(this.bytes, F.ETHERTYPE);
  }
  set etherType(v: number) {
    writeU16(this.bytes, F.ETHERTYPE, v);
  }

  /** The bytes after the header (a subarray sharing memory with the frame). */
  payload(): Uint8Array {
    return this.bytes.subarray(F.PAYLOAD);
  }
}

export function parseEthernet(bytes: Uint8Array): EthernetRepr {
  const f = EthernetFrame.checked(bytes);
  return { dst: f.dst, src: f.src, etherType: f.etherType };
}

/** Writes the 14-byte header at `buf[off..]`. */
export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, off = 0): void {
  if (buf.length < off + ETHERNET_HEADER_LEN) {
    throw new RangeError(`ethernet: emit needs ${ETHERNET_HEADER_LEN} bytes at offset ${off}, buffer has ${buf.length}`);
  }
  writeU48(buf, off + F.DST, repr.dst);
  writeU48(buf, off + F.SRC, repr.src);
  writeU16(buf, off + F.ETHERTYPE, repr.etherType);
}

/** Allocates header + payload (payload copied), without minimum-size padding. */
export function buildEthernetFrame(repr: EthernetRepr, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ETHERNET_HEADER_LEN + payload.length);
  emitEthernet(repr, out, 0);
  out.set(payload, ETHERNET_HEADER_LEN);
  return out;
}

/**
 * Allocation-free reads and writes of the header at `off` of a trusted buffer (the hot
 * path's view; {@link EthernetFrame} is the checked one).
 */
export const Ether = {
  dst(b: Uint8Array, off: number): MacAddr {
    return readU48(b, off + F.DST);
  },
  src(b: Uint8Array, off: number): MacAddr {
    return readU48(b, off + F.SRC);
  },
  etherType(b: Uint8Array, off: number): number {
    return readU16(b, off + F.ETHERTYPE);
  },
  /** The destination's I/G bit: a group (broadcast or multicast) address. */
  dstIsGroup(b: Uint8Array, off: number): boolean {
    return ((b[off + F.DST] as number) & 1) !== 0;
  },
  /** The source's I/G bit (a group source is invalid and never learned). */
  srcIsGroup(b: Uint8Array, off: number): boolean {
    return ((b[off + F.SRC] as number) & 1) !== 0;
  },
  setDst(b: Uint8Array, off: number, mac: MacAddr): void {
    writeU48(b, off + F.DST, mac);
  },
  setSrc(b: Uint8Array, off: number, mac: MacAddr): void {
    writeU48(b, off + F.SRC, mac);
  },
  /** The whole header. */
  write(b: Uint8Array, off: number, dst: MacAddr, src: MacAddr, etherType: number): void {
    writeU48(b, off + F.DST, dst);
    writeU48(b, off + F.SRC, src);
    writeU16(b, off + F.ETHERTYPE, etherType);
  },
} as const;

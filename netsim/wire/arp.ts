/**
 * ARP for Ethernet/IPv4 (RFC 826), the only combination the emulator speaks.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Hardware type (1)          |    Protocol type (0x0800)     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  HLEN (6)     |   PLEN (4)    |          Operation            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Sender hardware address (6)                    |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |  Sender protocol address (4)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                Target hardware address (6)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Target protocol address (4)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */
import type { Ipv4Addr, MacAddr } from './addr.ts';
import { WireError } from './errors.ts';
import { readU16, readU32, readU48, writeU16, writeU32, writeU48 } from './field.ts';

/** Field offsets. */
const F = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OPER: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24 } as const;

/** 8 fixed bytes + 2 × (6 + 4) addresses. */
export const ARP_PACKET_LEN = 28;
/** ARP hardware type for Ethernet (IANA "Hardware Types"). */
export const ARP_HTYPE_ETHERNET = 1;
/** ARP protocol type for IPv4 (the IPv4 EtherType). */
export const ARP_PTYPE_IPV4 = 0x0800;

/** ARP operation codes (RFC 826); open-ended, other values parse as plain numbers. */
export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

export type ArpRepr = {
  /** `ArpOp.REQUEST`, `ArpOp.REPLY` or any other 16-bit code. */
  readonly op: number;
  readonly senderMac: MacAddr;
  readonly senderIp: Ipv4Addr;
  readonly targetMac: MacAddr;
  readonly targetIp: Ipv4Addr;
};

/** Zero-copy view of an Ethernet/IPv4 ARP packet. */
export class ArpPacket {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Validates length and that the packet is Ethernet/IPv4 (else `WIRE_UNSUPPORTED`). */
  static checked(bytes: Uint8Array): ArpPacket {
    if (bytes.length < F.SHA) {
      throw new WireError('WIRE_TRUNCATED', 'arp', `packet of ${bytes.length} bytes is shorter than the 8-byte fixed header`, 0);
    }
    const p = new ArpPacket(bytes);
    if (p.hardwareType !== ARP_HTYPE_ETHERNET) {
      throw new WireError('WIRE_UNSUPPORTED', 'arp', `hardware type ${p.hardwareType} is not Ethernet (1)`, F.HTYPE);
    }
    if (p.protocolType !== ARP_PTYPE_IPV4) {
      throw new WireError('WIRE_UNSUPPORTED', 'arp', `protocol type 0x${p.protocolType.toString(16).padStart(4, '0')} is not IPv4`, F.PTYPE);
    }
    if (p.hardwareLen !== 6) {
      throw new WireError('WIRE_UNSUPPORTED', 'arp', `hardware address length ${p.hardwareLen} is not 6`, F.HLEN);
    }
    if (p.protocolLen !== 4) {
      throw new WireError('WIRE_UNSUPPORTED', 'arp', `protocol address length ${p.protocolLen} is not 4`, F.PLEN);
    }
    if (bytes.length < ARP_PACKET_LEN) {
      throw new WireError('WIRE_TRUNCATED', 'arp', `packet of ${bytes.length} bytes is shorter than ${ARP_PACKET_LEN}`, 0);
    }
    return p;
  }

  static unchecked(bytes: Uint8Array): ArpPacket {
    return new ArpPacket(bytes);
  }

  get hardwareType(): number {
    return readU16(this.bytes, F.HTYPE);
  }
  set hardwareType(v: number) {
    writeU16(this.bytes, F.HTYPE, v);
  }
  get protocolType(): number {
    return readU16(this.bytes, F.PTYPE);
  }
  set protocolType(v: number) {
    writeU16(this.bytes, F.PTYPE, v);
  }
  get hardwareLen(): number {
    return this.bytes[F.HLEN] as number;
  }
  set hardwareLen(v: number) {
    this.bytes[F.HLEN] = v;
  }
  get protocolLen(): number {
    return this.bytes[F.PLEN] as number;
  }
  set protocolLen(v: number) {
    this.bytes[F.PLEN] = v;
  }
  get op(): number {
    return readU16(this.bytes, F.OPER);
  }
  set op(v: number) {
    writeU16(this.bytes, F.OPER, v);
  }
  get senderMac(): MacAddr {
    return readU48(this.bytes, F.SHA);
  }
  set senderMac(v: MacAddr) {
    writeU48(this.bytes, F.SHA, v);
  }
  get senderIp(): Ipv4Addr {
    return readU32(this.bytes, F.SPA);
  }
  set senderIp(v: Ipv4Addr) {
    writeU32(this.bytes, F.SPA, v);
  }
  get targetMac(): MacAddr {
    return readU48(this.bytes, F.THA);
  }
  set targetMac(v: MacAddr) {
    writeU48(this.bytes, F.THA, v);
  }
  get targetIp(): Ipv4Addr {
    return readU32(this.bytes, F.TPA);
  }
  set targetIp(v: Ipv4Addr) {
    writeU32(this.bytes, F.TPA, v);
  }
}

export function parseArp(bytes: Uint8Array): ArpRepr {
  const p = ArpPacket.checked(bytes);
  return { op: p.op, senderMac: p.senderMac, senderIp: p.senderIp, targetMac: p.targetMac, targetIp: p.targetIp };
}

/** Writes the 28-byte packet at `buf[off..]`. */
export function emitArp(repr: ArpRepr, buf: Uint8Array, off = 0): void {
  if (buf.length < off + ARP_PACKET_LEN) {
    throw new RangeError(`arp: emit needs ${ARP_PACKET_LEN} bytes at offset ${off}, buffer has ${buf.length}`);
  }
  writeU16(buf, off + F.HTYPE, ARP_HTYPE_ETHERNET);
  writeU16(buf, off + F.PTYPE, ARP_PTYPE_IPV4);
  buf[off + F.HLEN] = 6;
  buf[off + F.PLEN] = 4;
  writeU16(buf, off + F.OPER, repr.op);
  writeU48(buf, off + F.SHA, repr.senderMac);
  writeU32(buf, off + F.SPA, repr.senderIp);
  writeU48(buf, off + F.THA, repr.targetMac);
  writeU32(buf, off + F.TPA, repr.targetIp);
}

/** Allocates a 28-byte ARP packet (the Ethernet payload, not the frame). */
export function buildArp(repr: ArpRepr): Uint8Array {
  const out = new Uint8Array(ARP_PACKET_LEN);
  emitArp(repr, out, 0);
  return out;
}

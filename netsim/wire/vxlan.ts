/**
 * VXLAN header (RFC 7348 §5): 8 bytes between the outer UDP header and the
 * inner Ethernet frame.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|R|R|I|R|R|R|            Reserved                           |  0 FLAGS
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |  4 VNI
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * The I flag must be set for a valid VNI; other flag and reserved bits are
 * ignored on receive and sent as zero.
 */
import { WireError } from './errors.ts';

/** Field offsets. */
const F = { FLAGS: 0, VNI: 4, PAYLOAD: 8 } as const;

export const VXLAN_HEADER_LEN = 8;
/** The I ("VNI valid") flag in the first byte. */
export const VXLAN_FLAG_I = 0x08;
/** Largest 24-bit VNI. */
export const VXLAN_VNI_MAX = 0xff_ffff;

/** RFC 7348 §5: "Destination Port: IANA has assigned the value 4789 for the VXLAN UDP port". */
export const VXLAN_PORT_IANA = 4789;
/**
 * Linux's default VXLAN port when `dstport` is not given, predating the IANA
 * assignment (drivers/net/vxlan: module parameter `udp_port`, default 8472).
 * flannel's vxlan backend leaves `Port` at 0 = "kernel default", so flannel.1
 * uses 8472 (flannel Documentation/backends.md).
 */
export const VXLAN_PORT_LINUX_DEFAULT = 8472;

export type VxlanRepr = {
  /** 24-bit VXLAN Network Identifier (flannel uses VNI 1 by default). */
  readonly vni: number;
};

/** Zero-copy view of a VXLAN header followed by the inner frame. */
export class VxlanHeader {
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Validates length and the I flag (`WIRE_BAD_FIELD` when clear). */
  static checked(bytes: Uint8Array): VxlanHeader {
    if (bytes.length < VXLAN_HEADER_LEN) {
      throw new WireError('WIRE_TRUNCATED', 'vxlan', `header of ${bytes.length} bytes is shorter than ${VXLAN_HEADER_LEN}`, 0);
    }
    const h = new VxlanHeader(bytes);
    if (!h.iFlag) {
      throw new WireError('WIRE_BAD_FIELD', 'vxlan', `I flag not set (flags 0x${h.flags.toString(16).padStart(2, '0')})`, F.FLAGS);
    }
    return h;
  }

  static unchecked(bytes: Uint8Array): VxlanHeader {
    return new VxlanHeader(bytes);
  }

  get flags(): number {
    return this.bytes[F.FLAGS] as number;
  }
  set flags(v: number) {
    this.bytes[F.FLAGS] = v;
  }
  get iFlag(): boolean {
    return ((this.bytes[F.FLAGS] as number) & VXLAN_FLAG_I) !== 0;
  }
  get vni(): number {
    const b = this.bytes;
    return ((b[F.VNI] as number) << 16) | ((b[F.VNI + 1] as number) << 8) | (b[F.VNI + 2] as number);
  }
  set vni(v: number) {
    const b = this.bytes;
    b[F.VNI] = v >>> 16;
    b[F.VNI + 1] = v >>> 8;
    b[F.VNI + 2] = v;
  }
  /** The inner Ethernet frame. */
  payload(): Uint8Array {
    return this.bytes.subarray(F.PAYLOAD);
  }
}

/**
 * The VNI of the header at `buf[off..off + len)`, or -1 when {@link parseVxlan} would
 * refuse it (short, or the I flag clear). Allocation-free, for the receive path.
 */
export function vxlanVniAt(buf: Uint8Array, off: number, len: number): number {
  if (len < VXLAN_HEADER_LEN || ((buf[off + F.FLAGS] as number) & VXLAN_FLAG_I) === 0) return -1;
  return ((buf[off + F.VNI] as number) << 16) | ((buf[off + F.VNI + 1] as number) << 8) | (buf[off + F.VNI + 2] as number);
}

export function parseVxlan(bytes: Uint8Array): VxlanRepr {
  return { vni: VxlanHeader.checked(bytes).vni };
}

/** Writes the 8-byte header at `buf[off..]` (I flag set, reserved bits zero). */
export function emitVxlan(repr: VxlanRepr, buf: Uint8Array, off = 0): void {
  if (!Number.isInteger(repr.vni) || repr.vni < 0 || repr.vni > VXLAN_VNI_MAX) {
    throw new RangeError(`vxlan: VNI ${repr.vni} outside 0-${VXLAN_VNI_MAX}`);
  }
  if (buf.length < off + VXLAN_HEADER_LEN) {
    throw new RangeError(`vxlan: emit needs ${VXLAN_HEADER_LEN} bytes at offset ${off}, buffer has ${buf.length}`);
  }
  buf[off] = VXLAN_FLAG_I;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + F.VNI] = repr.vni >>> 16;
  buf[off + F.VNI + 1] = repr.vni >>> 8;
  buf[off + F.VNI + 2] = repr.vni;
  buf[off + 7] = 0;
}

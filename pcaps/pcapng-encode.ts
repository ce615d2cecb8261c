/**
 * pcapng encoder (draft-ietf-opsawg-pcapng): one little-endian section with a
 * Section Header Block, an Interface Description Block per emulated interface
 * (`if_name` like `node01/eth0`, link type 1 Ethernet or 101 raw IPv4,
 * `if_tsresol` = 9 for nanoseconds), Enhanced Packet Blocks with direction flags
 * and comments, and a Name Resolution Block mapping IPs to pod names.
 *
 * Blocks are appended to an in-memory list of chunks; {@link PcapngEncoder.bytes}
 * concatenates them. Every block is padded to 32 bits and ends with its length.
 */

export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: packets start at the IP header (the flannel0 TUN). */
export const LINKTYPE_RAW = 101;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_NRB = 0x00000004;
const BT_EPB = 0x00000006;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
const NRB_RECORD_IPV4 = 1;

const enc = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

/** Options as (code, value) pairs, each padded, with opt_endofopt when any are present. */
function options(opts: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  const len = opts.reduce((n, [, v]) => n + 4 + pad4(v.length), 0) + 4;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const [code, v] of opts) {
    dv.setUint16(o, code, true);
    dv.setUint16(o + 2, v.length, true);
    out.set(v, o + 4);
    o += 4 + pad4(v.length);
  }
  dv.setUint16(o, OPT_ENDOFOPT, true);
  dv.setUint16(o + 2, 0, true);
  return out;
}

function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + pad4(body.length);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(4, total, true);
  out.set(body, 8);
  dv.setUint32(total - 4, total, true);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface InterfaceDesc {
  readonly name: string;
  readonly linkType: number;
  readonly description?: string;
  readonly snaplen?: number;
}

export interface PacketRecord {
  readonly interfaceId: number;
  /** Nanoseconds since the epoch of the capture (the virtual clock). */
  readonly timestampNs: bigint | number;
  readonly data: Uint8Array;
  readonly originalLength?: number;
  readonly direction?: 'inbound' | 'outbound';
  readonly comment?: string;
}

export class PcapngEncoder {
  private readonly chunks: Uint8Array[] = [];
  private interfaces = 0;

  constructor(opts: { application?: string; comment?: string } = {}) {
    const body = new Uint8Array(16);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, 0x1a2b3c4d, true);
    dv.setUint16(4, 1, true);
    dv.setUint16(6, 0, true);
    // Section length unknown: -1 as a 64-bit value.
    dv.setInt32(8, -1, true);
    dv.setInt32(12, -1, true);
    const o: Array<readonly [number, Uint8Array]> = [];
    if (opts.comment !== undefined) o.push([OPT_COMMENT, enc.encode(opts.comment)]);
    o.push([SHB_USERAPPL, enc.encode(opts.application ?? 'netsim')]);
    this.chunks.push(block(BT_SHB, concat([body, options(o)])));
  }

  /** Add an interface; returns its id (0, 1, 2, … in order). */
  addInterface(i: InterfaceDesc): number {
    const body = new Uint8Array(8);
    const dv = new DataView(body.buffer);
    dv.setUint16(0, i.linkType, true);
    dv.setUint32(4, i.snaplen ?? 262144, true);
    const o: Array<readonly [number, Uint8Array]> = [[IF_NAME, enc.encode(i.name)]];
    if (i.description !== undefined) o.push([IF_DESCRIPTION, enc.encode(i.description)]);
    o.push([IF_TSRESOL, Uint8Array.of(9)]);
    this.chunks.push(block(BT_IDB, concat([body, options(o)])));
    return this.interfaces++;
  }

  /** IPv4 address → names (shown by Wireshark with name resolution on). */
  addNames(records: ReadonlyArray<{ readonly ip: Uint8Array; readonly names: readonly string[] }>): void {
    const recs = records.map((r) => {
      const names = r.names.map((n) => concat([enc.encode(n), Uint8Array.of(0)]));
      const value = concat([r.ip, ...names]);
      const rec = new Uint8Array(4 + pad4(value.length));
      const dv = new DataView(rec.buffer);
      dv.setUint16(0, NRB_RECORD_IPV4, true);
      dv.setUint16(2, value.length, true);
      rec.set(value, 4);
      return rec;
    });
    this.chunks.push(block(BT_NRB, concat([...recs, new Uint8Array(4)])));
  }

  writePacket(p: PacketRecord): void {
    if (p.interfaceId < 0 || p.interfaceId >= this.interfaces) throw new RangeError(`pcapng: interface ${p.interfaceId} not declared`);
    const ts = BigInt(p.timestampNs);
    const head = new Uint8Array(20);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, p.interfaceId, true);
    dv.setUint32(4, Number(ts >> 32n), true);
    dv.setUint32(8, Number(ts & 0xffffffffn), true);
    dv.setUint32(12, p.data.length, true);
    dv.setUint32(16, p.originalLength ?? p.data.length, true);
    const data = new Uint8Array(pad4(p.data.length));
    data.set(p.data);
    const o: Array<readonly [number, Uint8Array]> = [];
    if (p.direction !== undefined) {
      const f = new Uint8Array(4);
      new DataView(f.buffer).setUint32(0, p.direction === 'inbound' ? 1 : 2, true);
      o.push([EPB_FLAGS, f]);
    }
    if (p.comment !== undefined) o.push([OPT_COMMENT, enc.encode(p.comment)]);
    this.chunks.push(block(BT_EPB, concat([head, data, options(o)])));
  }

  bytes(): Uint8Array {
    return concat(this.chunks);
  }
}

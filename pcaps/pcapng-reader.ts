/**
 * pcapng reader. Reads every section (either byte order, version 1.x) and the
 * blocks the emulator cares about — SHB, IDB, EPB, SPB, the obsolete Packet
 * Block, NRB — and skips the rest (ISB, Decryption Secrets, custom, unknown
 * types) by their length. Options read: opt_comment; shb_hardware, shb_os,
 * shb_userappl; if_name, if_description, if_tsresol (base 10 or power of 2),
 * if_tsoffset; epb_flags / pack_flags. Timestamps become nanoseconds since the
 * epoch whatever the interface's resolution (finer ones are truncated).
 *
 * Interfaces are numbered across the whole file: the n-th IDB of the file is
 * `interfaces[n]`, and a packet's `interfaceId` (section-relative in the file)
 * is translated to that index.
 *
 * Input is untrusted: each length is checked before use, and malformed input
 * throws {@link CaptureError} (code + offset) — nothing else. Each loop advances
 * by at least 4 bytes, so any input terminates.
 */
import { CaptureError } from './capture-error.ts';
import type { CaptureFile, CaptureInterface, CaptureNameRecord, CapturePacket, CaptureSection, TimestampResolution } from './capture-types.ts';
import {
  BT_EPB, BT_IDB, BT_NRB, BT_OPB, BT_SHB, BT_SPB, BYTE_ORDER_MAGIC, DIRECTION_INBOUND, DIRECTION_OUTBOUND, EPB_FLAGS,
  IF_DESCRIPTION, IF_NAME, IF_TSOFFSET, IF_TSRESOL, NRB_RECORD_END, NRB_RECORD_IPV4, NRB_RECORD_IPV6, OPT_COMMENT, OPT_ENDOFOPT,
  SHB_HARDWARE, SHB_OS, SHB_USERAPPL, type Direction,
} from './pcapng-constants.ts';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const pad4 = (n: number): number => n + ((4 - (n % 4)) % 4);
const NS_PER_S = 1_000_000_000n;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Nanoseconds from raw timestamp units for one interface. */
function converter(res: TimestampResolution, offsetSeconds: bigint): (ts: bigint) => bigint {
  const off = offsetSeconds * NS_PER_S;
  if (res.base === 10 && res.exponent <= 9) {
    const mul = 10n ** BigInt(9 - res.exponent);
    return mul === 1n && off === 0n ? (ts) => ts : (ts) => ts * mul + off;
  }
  const div = res.base === 10 ? 10n ** BigInt(res.exponent) : 1n << BigInt(res.exponent);
  return (ts) => (ts * NS_PER_S) / div + off;
}

function direction(flags: number): Direction | undefined {
  const d = flags & 3;
  return d === DIRECTION_INBOUND ? 'inbound' : d === DIRECTION_OUTBOUND ? 'outbound' : undefined;
}

/** IPv6 text in the RFC 5952 form: lower-case hex, the longest run of ≥ 2 zero groups as `::`. */
export function formatIpv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

export function readPcapng(input: Uint8Array): CaptureFile {
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const len = input.length;
  let le = true;
  const u16 = (o: number): number => dv.getUint16(o, le);
  const u32 = (o: number): number => dv.getUint32(o, le);
  /** UTF-8 text; short ASCII (trace comments, interface names) skips TextDecoder, which is slow on tiny inputs. */
  const str = (o: number, n: number): string => {
    if (n <= 64) {
      let s = '';
      for (let i = o; i < o + n; i++) {
        const c = input[i] ?? 0;
        if (c >= 0x80) return utf8.decode(input.subarray(o, o + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(input.subarray(o, o + n));
  };

  /** Walk options in [start, end); `visit` gets (code, value offset, value length, option offset). */
  const options = (start: number, end: number, visit: (code: number, at: number, n: number, opt: number) => void): void => {
    let o = start;
    while (o < end) {
      if (end - o < 4) throw new CaptureError('PCAP_BAD_OPTION', o, `${end - o} stray bytes where an option header was expected`);
      const code = u16(o);
      const n = u16(o + 2);
      if (code === OPT_ENDOFOPT) return;
      if (pad4(n) > end - o - 4) throw new CaptureError('PCAP_BAD_OPTION', o, `option ${code} of ${n} bytes overruns its block`);
      visit(code, o + 4, n, o);
      o += 4 + pad4(n);
    }
  };
  const expectLength = (code: number, n: number, want: number, opt: number, what: string): void => {
    if (n !== want) throw new CaptureError('PCAP_BAD_OPTION', opt, `${what} (option ${code}) must be ${want} bytes, not ${n}`);
  };
  const minBody = (off: number, body: number, end: number, need: number, what: string): void => {
    if (end - body < need) throw new CaptureError('PCAP_BAD_BLOCK_LENGTH', off + 4, `${what} of ${end - body + 12} bytes is too short for its ${need}-byte fixed part`);
  };

  const sections: CaptureSection[] = [];
  const interfaces: CaptureInterface[] = [];
  const toNs: Array<(ts: bigint) => bigint> = [];
  const packets: CapturePacket[] = [];
  const names: CaptureNameRecord[] = [];
  let firstIf = 0; // global index of the current section's interface 0

  const packetComments = (start: number, end: number, flagsCode: number): { comments: string[]; flags?: number } => {
    const comments: string[] = [];
    let flags: number | undefined;
    options(start, end, (code, at, n, opt) => {
      if (code === OPT_COMMENT) comments.push(str(at, n));
      else if (code === flagsCode) {
        expectLength(code, n, 4, opt, 'epb_flags');
        flags = u32(at);
      }
    });
    return flags === undefined ? { comments } : { comments, flags };
  };
  const pushPacket = (interfaceId: number, timestampNs: bigint, data: Uint8Array, originalLength: number, meta: { comments: string[]; flags?: number }): void => {
    const p: Mutable<CapturePacket> = { interfaceId, timestampNs, data, originalLength, comments: meta.comments };
    if (meta.flags !== undefined) {
      p.flags = meta.flags;
      const d = direction(meta.flags);
      if (d !== undefined) p.direction = d;
    }
    packets.push(p);
  };
  const localInterface = (id: number, at: number): number => {
    const g = firstIf + id;
    if (id >= interfaces.length - firstIf) throw new CaptureError('PCAP_BAD_INTERFACE', at, `interface ${id} has not been described in this section (${interfaces.length - firstIf} so far)`);
    return g;
  };

  if (len < 4) throw new CaptureError('PCAP_TRUNCATED', 0, `file of ${len} bytes has no block type`);
  if (dv.getUint32(0, true) !== BT_SHB) throw new CaptureError('PCAP_BAD_MAGIC', 0, 'a pcapng file starts with a Section Header Block (0x0a0d0d0a)');
  let off = 0;
  while (off < len) {
    if (len - off < 12) throw new CaptureError('PCAP_TRUNCATED', off, `file ends inside a block header (${len - off} bytes left)`);
    const type = u32(off);
    if (type === BT_SHB) {
      // The SHB type reads the same in both orders; its magic decides the section's order.
      if (dv.getUint32(off + 8, true) === BYTE_ORDER_MAGIC) le = true;
      else if (dv.getUint32(off + 8, false) === BYTE_ORDER_MAGIC) le = false;
      else throw new CaptureError('PCAP_BAD_MAGIC', off + 8, `bad byte-order magic 0x${dv.getUint32(off + 8, false).toString(16).padStart(8, '0')}`);
    }
    const total = u32(off + 4);
    if (total < 12 || total % 4 !== 0) throw new CaptureError('PCAP_BAD_BLOCK_LENGTH', off + 4, `block length ${total} is below 12 or not a multiple of 4`);
    if (total > len - off) throw new CaptureError('PCAP_TRUNCATED', off, `block of ${total} bytes runs past the end of the file (${len - off} bytes left)`);
    if (u32(off + total - 4) !== total) throw new CaptureError('PCAP_BAD_BLOCK_LENGTH', off + total - 4, `trailing block length ${u32(off + total - 4)} differs from ${total}`);
    const body = off + 8;
    const end = off + total - 4;

    switch (type) {
      case BT_SHB: {
        minBody(off, body, end, 16, 'section header block');
        const major = u16(body + 4);
        const minor = u16(body + 6);
        if (major !== 1) throw new CaptureError('PCAP_BAD_VERSION', body + 4, `pcapng version ${major}.${minor}; only 1.x is defined`);
        const s: Mutable<CaptureSection> = { byteOrder: le ? 'little' : 'big', versionMajor: major, versionMinor: minor, comments: [] };
        const comments: string[] = [];
        options(body + 16, end, (code, at, n) => {
          if (code === OPT_COMMENT) comments.push(str(at, n));
          else if (code === SHB_HARDWARE) s.hardware = str(at, n);
          else if (code === SHB_OS) s.os = str(at, n);
          else if (code === SHB_USERAPPL) s.application = str(at, n);
        });
        s.comments = comments;
        sections.push(s);
        firstIf = interfaces.length;
        break;
      }
      case BT_IDB: {
        minBody(off, body, end, 8, 'interface description block');
        const i: Mutable<CaptureInterface> = { linkType: u16(body), snaplen: u32(body + 4), tsresol: { base: 10, exponent: 6 }, section: sections.length - 1, comments: [] };
        const comments: string[] = [];
        options(body + 8, end, (code, at, n, opt) => {
          if (code === OPT_COMMENT) comments.push(str(at, n));
          else if (code === IF_NAME) i.name = str(at, n);
          else if (code === IF_DESCRIPTION) i.description = str(at, n);
          else if (code === IF_TSRESOL) {
            expectLength(code, n, 1, opt, 'if_tsresol');
            const v = input[at] ?? 0;
            i.tsresol = { base: v & 0x80 ? 2 : 10, exponent: v & 0x7f };
          } else if (code === IF_TSOFFSET) {
            expectLength(code, n, 8, opt, 'if_tsoffset');
            i.tsoffsetSeconds = dv.getBigInt64(at, le);
          }
        });
        i.comments = comments;
        interfaces.push(i);
        toNs.push(converter(i.tsresol, i.tsoffsetSeconds ?? 0n));
        break;
      }
      case BT_EPB: {
        minBody(off, body, end, 20, 'enhanced packet block');
        const id = localInterface(u32(body), body);
        const ts = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
        const caplen = u32(body + 12);
        if (caplen > end - body - 20) throw new CaptureError('PCAP_BAD_PACKET_LENGTH', body + 12, `captured length ${caplen} overruns its block (${end - body - 20} bytes of data room)`);
        const data = input.subarray(body + 20, body + 20 + caplen);
        pushPacket(id, (toNs[id] as (ts: bigint) => bigint)(ts), data, u32(body + 16), packetComments(body + 20 + pad4(caplen), end, EPB_FLAGS));
        break;
      }
      case BT_OPB: {
        minBody(off, body, end, 20, 'packet block');
        const id = localInterface(u16(body), body);
        const ts = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
        const caplen = u32(body + 12);
        if (caplen > end - body - 20) throw new CaptureError('PCAP_BAD_PACKET_LENGTH', body + 12, `captured length ${caplen} overruns its block (${end - body - 20} bytes of data room)`);
        const data = input.subarray(body + 20, body + 20 + caplen);
        pushPacket(id, (toNs[id] as (ts: bigint) => bigint)(ts), data, u32(body + 16), packetComments(body + 20 + pad4(caplen), end, EPB_FLAGS));
        break;
      }
      case BT_SPB: {
        minBody(off, body, end, 4, 'simple packet block');
        const id = localInterface(0, off);
        const orig = u32(body);
        const snap = (interfaces[id] as CaptureInterface).snaplen;
        let caplen = Math.min(orig, end - body - 4);
        if (snap !== 0) caplen = Math.min(caplen, snap);
        pushPacket(id, 0n, input.subarray(body + 4, body + 4 + caplen), orig, { comments: [] });
        break;
      }
      case BT_NRB: {
        let o = body;
        let ended = false;
        while (o < end) {
          if (end - o < 4) throw new CaptureError('PCAP_BAD_RECORD', o, `${end - o} stray bytes where a name record header was expected`);
          const rtype = u16(o);
          const n = u16(o + 2);
          if (rtype === NRB_RECORD_END) {
            o += 4;
            ended = true;
            break;
          }
          if (pad4(n) > end - o - 4) throw new CaptureError('PCAP_BAD_RECORD', o, `name record of ${n} bytes overruns its block`);
          if (rtype === NRB_RECORD_IPV4 || rtype === NRB_RECORD_IPV6) {
            const alen = rtype === NRB_RECORD_IPV4 ? 4 : 16;
            if (n < alen) throw new CaptureError('PCAP_BAD_RECORD', o, `name record of ${n} bytes is shorter than its ${alen}-byte address`);
            const a = input.subarray(o + 4, o + 4 + alen);
            const list = str(o + 4 + alen, n - alen).split('\0');
            if (list.length > 0 && list[list.length - 1] === '') list.pop();
            names.push({ family: alen === 4 ? 4 : 6, ip: alen === 4 ? a.join('.') : formatIpv6(a), names: list });
          }
          o += 4 + pad4(n);
        }
        if (ended) options(o, end, () => undefined);
        break;
      }
      default:
        // ISB, Decryption Secrets, systemd journal, custom and unknown blocks: skipped by length.
        break;
    }
    off += total;
  }
  const first = sections[0];
  return { format: 'pcapng', byteOrder: first?.byteOrder ?? 'little', sections, interfaces, packets, names };
}

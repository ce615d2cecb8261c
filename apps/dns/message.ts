/**
 * DNS messages on the wire (RFC 1035 §4, EDNS0 RFC 6891), encoded and decoded by
 * `dns-packet`; what this file adds is what a DNS server does around the codec:
 *
 * - {@link screenQuery}: miekg/dns's server front door, which CoreDNS inherits —
 *   fewer than 12 bytes are dropped (a reply to garbage can be used to amplify);
 *   a response (QR set) is ignored; an opcode other than QUERY/NOTIFY gets NOTIMP;
 *   Z set, QDCOUNT != 1, ANCOUNT or NSCOUNT != 0 or ARCOUNT > 2 gets FORMERR; a body
 *   that does not unpack gets FORMERR with the header only (DefaultMsgAcceptFunc and
 *   Server.serveDNS in miekg/dns).
 * - {@link fitToSize}: the size limit of the reply (512 bytes over UDP, or the
 *   client's EDNS0 buffer size; 65535 over TCP) and the TC bit, as miekg's
 *   Msg.Truncate: additional records go first, then authority; TC is set only when
 *   answer records had to go.
 *
 * dns-packet writes names without compression (RFC 1035 §4.1.4), so an encoded
 * reply is longer than the same reply from CoreDNS, and truncation starts with
 * fewer records than CoreDNS would fit.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, Question } from 'dns-packet';

export type { Answer as DnsRecord, Question as DnsQuestion, RecordType } from 'dns-packet';

/** RFC 1035 §4.1.1 RCODEs (and RFC 2136's NOTAUTH is not needed). */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type RcodeName = keyof typeof Rcode;
const RCODE_NAMES: readonly RcodeName[] = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export function rcodeName(n: number): string {
  return RCODE_NAMES[n] ?? `RCODE${n}`;
}

/** Header flag bits (RFC 1035 §4.1.1, RFC 4035 for AD/CD). */
export const Flag = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, Z: 0x0040, AD: 0x0020, CD: 0x0010 } as const;

/** The classic UDP payload limit without EDNS0 (RFC 1035 §2.3.4). */
export const UDP_LIMIT = 512;
/** A DNS message over TCP carries a 16-bit length (RFC 1035 §4.2.2). */
export const TCP_LIMIT = 65535;

/** A parsed message, with the header bits as fields. */
export interface DnsMessage {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  readonly ad: boolean;
  readonly cd: boolean;
  readonly rcode: number;
  readonly questions: readonly Question[];
  readonly answers: readonly Answer[];
  readonly authorities: readonly Answer[];
  /** Additional records without the OPT pseudo-record. */
  readonly additionals: readonly Answer[];
  /** EDNS0 (the OPT record), when present. */
  readonly edns?: { readonly udpSize: number; readonly do: boolean };
}

export type MessageInit = Partial<DnsMessage> & { readonly id: number };

const EMPTY: readonly Answer[] = [];

/** Encode a message (dns-packet does the sections; the header bits are set here). */
export function encodeMessage(m: MessageInit): Uint8Array {
  const flags = ((m.opcode ?? 0) & 0xf) << 11 | (m.aa ? Flag.AA : 0) | (m.tc ? Flag.TC : 0) | (m.rd ? Flag.RD : 0)
    | (m.ra ? Flag.RA : 0) | (m.ad ? Flag.AD : 0) | (m.cd ? Flag.CD : 0) | ((m.rcode ?? 0) & 0xf);
  const additionals: Answer[] = [...(m.additionals ?? EMPTY)];
  if (m.edns !== undefined) additionals.push({ type: 'OPT', name: '.', udpPayloadSize: m.edns.udpSize, extendedRcode: 0, ednsVersion: 0, flags: m.edns.do ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as Answer);
  const buf = dnsPacket.encode({
    type: m.qr ? 'response' : 'query', id: m.id, flags,
    questions: [...(m.questions ?? [])], answers: [...(m.answers ?? EMPTY)], authorities: [...(m.authorities ?? EMPTY)], additionals,
  });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Decode a whole message; throws on malformed bytes (trailing bytes are ignored, as miekg's Unpack does). */
export function decodeMessage(bytes: Uint8Array): DnsMessage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const p = dnsPacket.decode(buf);
  const bits = buf.readUInt16BE(2);
  let edns: DnsMessage['edns'];
  const additionals: Answer[] = [];
  for (const a of p.additionals ?? []) {
    if (a.type === 'OPT') {
      if (edns !== undefined) throw new Error('more than one OPT record');
      const o = a as unknown as { udpPayloadSize?: number; flags?: number };
      edns = { udpSize: o.udpPayloadSize ?? UDP_LIMIT, do: ((o.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0 };
    } else additionals.push(a);
  }
  for (const q of p.questions ?? []) if (typeof q.name !== 'string' || typeof q.type !== 'string') throw new Error('bad question');
  return {
    id: p.id ?? 0, qr: (bits & Flag.QR) !== 0, opcode: (bits >> 11) & 0xf,
    aa: (bits & Flag.AA) !== 0, tc: (bits & Flag.TC) !== 0, rd: (bits & Flag.RD) !== 0, ra: (bits & Flag.RA) !== 0,
    ad: (bits & Flag.AD) !== 0, cd: (bits & Flag.CD) !== 0, rcode: bits & 0xf,
    questions: p.questions ?? [], answers: p.answers ?? [], authorities: p.authorities ?? [], additionals,
    ...(edns !== undefined ? { edns } : {}),
  };
}

export type Screened =
  | { readonly action: 'accept'; readonly query: DnsMessage }
  | { readonly action: 'drop'; readonly reason: string }
  | { readonly action: 'reply'; readonly reply: Uint8Array; readonly reason: string };

/** The header-only error reply miekg's server writes (SetRcodeFormatError, opcode kept for NOTIMP). */
function headerReply(bytes: Uint8Array, rcode: number, keepOpcode: boolean): Uint8Array {
  const out = new Uint8Array(12);
  const bits = (bytes[2]! << 8) | bytes[3]!;
  const opcode = keepOpcode ? (bits >> 11) & 0xf : 0;
  // QR set, the request's RD kept (setHdr copies it), AA/TC/RA/Z/AD clear; CD kept.
  const flags = Flag.QR | (opcode << 11) | (bits & Flag.RD) | (bits & Flag.CD) | rcode;
  out[0] = bytes[0]!;
  out[1] = bytes[1]!;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  return out;
}

/** What a CoreDNS server does with the bytes of one incoming message before any plugin sees it. */
export function screenQuery(bytes: Uint8Array): Screened {
  if (bytes.length < 12) return { action: 'drop', reason: `short message (${bytes.length} bytes < 12)` };
  const bits = (bytes[2]! << 8) | bytes[3]!;
  if ((bits & Flag.QR) !== 0) return { action: 'drop', reason: 'a response, not a query' };
  const opcode = (bits >> 11) & 0xf;
  if (opcode !== 0 && opcode !== 4) return { action: 'reply', reply: headerReply(bytes, Rcode.NOTIMP, true), reason: `opcode ${opcode} not implemented` };
  const count = (o: number): number => (bytes[o]! << 8) | bytes[o + 1]!;
  const reject = (why: string): Screened => ({ action: 'reply', reply: headerReply(bytes, Rcode.FORMERR, false), reason: why });
  if ((bits & Flag.Z) !== 0) return reject('Z bit set');
  if (count(4) !== 1) return reject(`QDCOUNT ${count(4)}`);
  if (count(6) !== 0) return reject(`ANCOUNT ${count(6)}`);
  if (count(8) !== 0) return reject(`NSCOUNT ${count(8)}`);
  if (count(10) > 2) return reject(`ARCOUNT ${count(10)}`);
  let query: DnsMessage;
  try {
    query = decodeMessage(bytes);
  } catch (e) {
    return reject(`does not unpack: ${(e as Error).message}`);
  }
  return { action: 'accept', query };
}

/** SERVFAIL with the header only: what CoreDNS's server writes when a plugin panics (recovered in ServeDNS). */
export function servfailHeader(bytes: Uint8Array): Uint8Array {
  return headerReply(bytes, Rcode.SERVFAIL, true);
}

/** The reply size limit for a query over `transport` (EDNS0 raises UDP's; miekg's Request.Size). */
export function replyLimit(query: DnsMessage, transport: 'udp' | 'tcp'): number {
  if (transport === 'tcp') return TCP_LIMIT;
  return Math.max(UDP_LIMIT, Math.min(query.edns?.udpSize ?? UDP_LIMIT, TCP_LIMIT));
}

/**
 * Encode `m`, dropping records until it fits in `limit` bytes: additional records
 * first, then authority, then answers from the end; TC is set only when an answer
 * record was dropped (miekg/dns Msg.Truncate). The OPT record always stays.
 */
export function fitToSize(m: MessageInit, limit: number): Uint8Array {
  let bytes = encodeMessage(m);
  if (bytes.length <= limit) return bytes;
  const answers = [...(m.answers ?? EMPTY)];
  let cut: MessageInit = { ...m, additionals: [], authorities: [] };
  bytes = encodeMessage(cut);
  if (bytes.length <= limit) {
    // Answers fit: keep as much authority, then additional, as fits.
    for (const [key, list] of [['authorities', m.authorities ?? EMPTY], ['additionals', m.additionals ?? EMPTY]] as const) {
      const kept: Answer[] = [];
      for (const rr of list) {
        const next = encodeMessage({ ...cut, [key]: [...kept, rr] });
        if (next.length > limit) break;
        kept.push(rr);
        bytes = next;
      }
      cut = { ...cut, [key]: kept };
    }
    return bytes;
  }
  while (answers.length > 0) {
    answers.pop();
    bytes = encodeMessage({ ...cut, answers, tc: true });
    if (bytes.length <= limit) return bytes;
  }
  return encodeMessage({ ...cut, answers: [], tc: true });
}

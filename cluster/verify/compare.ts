/**
 * How two sides' observations of one probe are compared.
 *
 * Each observed packet becomes a *signature*: where it was seen, and every header
 * field that either kernel decides — TOS, length, DF, TTL, protocol, addresses,
 * ports, TCP flags/sequence/ack/window, ICMP type/code/identifier, the packet an ICMP
 * error quotes, payload — plus whether the IPv4 and transport checksums verify.
 * Values that differ from probe to probe by construction are replaced by tokens so
 * probes of one group compare: the probe's own source port / ICMP id (`$sport`), its
 * IP id (`$ipid`, when the packet is the probe by its content too; any other id, chosen
 * by the kernel that generated the packet, is `gen`), and ports neither side could predict (a masquerade with --random-fully
 * picks them: `rnd-high` etc., by the range the kernel draws from). With every other
 * field equal, equal checksums is the same thing as both verifying.
 *
 * A probe's outcome is the sorted list of its packets' signatures; no packet at
 * all is the outcome `dropped`.
 */
import { formatIpv4, formatMac } from '../../netsim/wire/addr.ts';
import { internetChecksum, pseudoHeaderSum } from '../../netsim/wire/checksum.ts';
import { Ipv4, L4 } from '../../netsim/wire/ipv4.ts';
import { formatIpv4Packet } from '../../netsim/wire/pretty.ts';
import { PROBE_PAYLOAD, PROBE_SEQ } from './probe.ts';
import type { Observation, Probe } from './probe.ts';
import { decapsulate } from '../../netsim/wire/encap.ts';
import type { Encapsulated } from '../../netsim/wire/encap.ts';
import { gammaQ } from '../../experiments/stats/gamma.ts';

export const DROPPED = 'dropped';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function payloadTok(p: Uint8Array): string {
  if (p.length === 0) return '-';
  if (sameBytes(p, PROBE_PAYLOAD)) return 'probe';
  return `${p.length}B:${Buffer.from(p.subarray(0, 24)).toString('hex')}`;
}

/** A port token: the probe's own, a port the cluster knows, or a randomly chosen one by its range. */
export function portTok(v: number, probe: Probe, known: ReadonlySet<number>): string {
  if (v === probe.sport) return '$sport';
  if (v === probe.dport || known.has(v)) return String(v);
  return rangeTok(v);
}

/** A randomly chosen port's token: the range the kernel draws it from. */
function rangeTok(v: number): string {
  return v < 512 ? 'rnd-low' : v < 1024 ? 'rnd-mid' : 'rnd-high';
}

/**
 * Signature of the transport part (wire/'s accessors at offset 0 of `l4`; each read is
 * behind a length check, as they do not check lengths); `quoted` for the 8 bytes an ICMP error quotes (no
 * checksum check). In the probe itself (`isProbe`: its IP id), a source port other
 * than the probe's own can only be one a source NAT drew, whatever port it happens to
 * equal, so it is tokenized by its range.
 */
function l4Sig(b: Uint8Array, hl: number, end: number, proto: number, src: number, dst: number, probe: Probe, known: ReadonlySet<number>, quoted: boolean, isProbe: boolean): string {
  const l4 = b.subarray(hl, end);
  const pt = (v: number): string => portTok(v, probe, known);
  const spt = (v: number): string => (isProbe && v !== probe.sport ? rangeTok(v) : pt(v));
  if (proto === 17 && l4.length >= 8) {
    let ck = 'quoted';
    if (!quoted) {
      const c = L4.udpChecksum(l4, 0);
      ck = c === 0 ? 'none' : internetChecksum(l4, 0, l4.length, pseudoHeaderSum(src, dst, 17, l4.length)) === 0 ? 'ok' : 'BAD';
    }
    return `udp ${spt(L4.srcPort(l4, 0))}>${pt(L4.dstPort(l4, 0))} ulen ${L4.udpLength(l4, 0)} csum ${ck}${quoted ? '' : ` data ${payloadTok(l4.subarray(8))}`}`;
  }
  if (proto === 6 && l4.length >= 8) {
    const seq = L4.tcpSeq(l4, 0);
    const seqTok = seq === PROBE_SEQ ? '$seq' : String(seq);
    if (quoted || l4.length < 20) return `tcp ${spt(L4.srcPort(l4, 0))}>${pt(L4.dstPort(l4, 0))} seq ${seqTok}`;
    const ack = L4.tcpAck(l4, 0);
    const ackTok = ack === PROBE_SEQ + 1 ? '$seq+1' : String(ack);
    const doff = L4.tcpHeaderLen(l4, 0);
    const ok = internetChecksum(l4, 0, l4.length, pseudoHeaderSum(src, dst, 6, l4.length)) === 0 ? 'ok' : 'BAD';
    return `tcp ${spt(L4.srcPort(l4, 0))}>${pt(L4.dstPort(l4, 0))} flags 0x${L4.tcpFlags(l4, 0).toString(16)} seq ${seqTok} ack ${ackTok} win ${L4.tcpWindow(l4, 0)} hdr ${doff} csum ${ok} data ${payloadTok(l4.subarray(doff))}`;
  }
  if (proto === 1 && l4.length >= 8) {
    const type = L4.icmpType(l4, 0);
    const code = L4.icmpCode(l4, 0);
    const ck = quoted ? 'quoted' : internetChecksum(l4, 0, l4.length) === 0 ? 'ok' : 'BAD';
    if (type === 0 || type === 8) {
      const id = L4.icmpEchoId(l4, 0);
      const idTok = id === probe.sport ? '$sport' : 'rnd-id';
      return `icmp ${type === 8 ? 'echo-request' : 'echo-reply'} id ${idTok} seq ${L4.icmpEchoSeq(l4, 0)} csum ${ck}${quoted ? '' : ` data ${payloadTok(l4.subarray(8))}`}`;
    }
    if (!quoted && (type === 3 || type === 11 || type === 12 || type === 5)) {
      const mtu = type === 3 && code === 4 ? ` mtu ${L4.icmpNextHopMtu(l4, 0)}` : '';
      const inner = l4.subarray(8);
      return `icmp ${type}/${code}${mtu} csum ${ck} quote ${inner.length}B [${ipSig(inner, probe, known, true)}]`;
    }
    return `icmp ${type}/${code} csum ${ck}`;
  }
  return `proto ${proto} ${l4.length}B`;
}

const PROBE_PROTO: Record<Probe['proto'], number> = { icmp: 1, tcp: 6, udp: 17 };

/**
 * Whether a packet carrying the probe's IP id is the probe (forwarded, NATed) by its
 * content too: the probe's protocol and an echo request, a SYN with the probe's
 * sequence number, or UDP with the probe's payload (not visible in a quote). A packet
 * some kernel generated — an ICMP error, a RST — may draw the same id from its hashed
 * generator (one in 65 536); it is still `gen`.
 */
function carriesProbe(l4: Uint8Array, proto: number, probe: Probe, quoted: boolean): boolean {
  if (proto !== PROBE_PROTO[probe.proto] || l4.length < 8) return false;
  if (proto === 1) return L4.icmpType(l4, 0) === 8;
  if (proto === 6) return L4.tcpSeq(l4, 0) === PROBE_SEQ && (l4.length < 14 || L4.tcpFlags(l4, 0) === 0x02);
  return quoted || sameBytes(l4.subarray(8), PROBE_PAYLOAD);
}

function ipSig(b: Uint8Array, probe: Probe, known: ReadonlySet<number>, quoted: boolean): string {
  // The fixed header's 20 bytes are there: wire/'s accessors read them unchecked.
  if (b.length < 20 || Ipv4.version(b, 0) !== 4) return `not-ipv4 ${b.length}B`;
  const hl = Ipv4.headerLen(b, 0);
  const total = Ipv4.totalLen(b, 0);
  const id = Ipv4.ident(b, 0);
  const df = Ipv4.dontFragment(b, 0) ? ' DF' : '';
  const ttl = Ipv4.ttl(b, 0);
  const proto = Ipv4.protocol(b, 0);
  const src = Ipv4.src(b, 0);
  const dst = Ipv4.dst(b, 0);
  const ipOk = hl <= b.length && internetChecksum(b, 0, hl) === 0 ? 'ok' : 'BAD';
  const end = quoted ? b.length : Math.min(total, b.length);
  const isProbe = id === probe.ipId && carriesProbe(b.subarray(hl, end), proto, probe, quoted);
  const enc = quoted ? undefined : decapsulate(b.subarray(0, end));
  if (enc !== undefined) {
    // The outer header of an encapsulation: its id is the sending kernel's choice (`gen`).
    return `${formatIpv4(src)}>${formatIpv4(dst)} tos 0x${Ipv4.tos(b, 0).toString(16)} len ${total}${df} ttl ${ttl} id gen ipcsum ${ipOk} | ${encapSig(b, hl, end, src, dst, enc, probe, known)}`;
  }
  return `${formatIpv4(src)}>${formatIpv4(dst)} tos 0x${Ipv4.tos(b, 0).toString(16)} len ${total}${df} ttl ${ttl} id ${isProbe ? '$ipid' : 'gen'} ipcsum ${ipOk} | ${l4Sig(b, hl, end, proto, src, dst, probe, known, quoted, isProbe)}`;
}

/**
 * The UDP header and encapsulation of an underlay packet, then the inner packet's own
 * signature. The one field masked is a VXLAN source port: both kernels draw it from a
 * hash of the inner flow (udp_flow_src_port), the real one keyed by a per-boot random
 * seed (skb_get_hash's hashrnd) no emulator can know, so it is only checked to lie in
 * the range the kernel draws from (`flow-hash`, 1024 and up). flanneld's IP-in-UDP
 * leaves from its bound port 8285: compared as is.
 */
function encapSig(b: Uint8Array, hl: number, end: number, src: number, dst: number, enc: Encapsulated, probe: Probe, known: ReadonlySet<number>): string {
  const l4 = b.subarray(hl, end);
  const c = L4.udpChecksum(l4, 0);
  // A checksum left to the device (CHECKSUM_PARTIAL: udp4_hwcsum writes the folded pseudo-header
  // sum and the NIC completes it) is what a real VXLAN device hands a veth: it counts as computed.
  const pseudo = pseudoHeaderSum(src, dst, 17, l4.length);
  const ck = c === 0 ? 'none' : internetChecksum(l4, 0, l4.length, pseudo) === 0 || c === pseudo ? 'ok' : 'BAD';
  const sp = L4.srcPort(l4, 0);
  const sport = enc.kind === 'vxlan' ? (sp >= 1024 ? 'flow-hash' : `${sp} (below 1024)`) : String(sp);
  const head = `udp ${sport}>${L4.dstPort(l4, 0)} ulen ${L4.udpLength(l4, 0)} csum ${ck}`;
  const vx = enc.kind === 'vxlan' ? ` vxlan vni ${enc.vni ?? '?'} eth ${formatMac(enc.innerSrcMac ?? 0)}>${formatMac(enc.innerDstMac ?? 0)}` : ' ip-in-udp';
  return `${head}${vx} || ${ipSig(enc.inner, probe, known, false)}`;
}

export function observationSignature(o: Observation, probe: Probe, known: ReadonlySet<number>): string {
  return `${o.where}: ${o.bytes.length === 0 ? 'no bytes' : ipSig(o.bytes, probe, known, false)}`;
}

/** The outcome of a probe on one side. */
export function outcomeSignature(obs: readonly Observation[], probe: Probe, known: ReadonlySet<number>): string {
  if (obs.length === 0) return DROPPED;
  return obs.map((o) => observationSignature(o, probe, known)).sort().join('\n');
}

/** One line per packet for reports: where, and the packet as tcpdump would print it. */
export function describeObservations(obs: readonly Observation[]): string[] {
  if (obs.length === 0) return ['(nothing: dropped)'];
  return obs.map((o) => `${o.where}: ${o.bytes.length === 0 ? '(no bytes)' : formatIpv4Packet(o.bytes)}`);
}

// ---------------------------------------------------------------- statistics

export { gammaQ };

export interface Homogeneity {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
}

/**
 * Pearson's chi-square test that two samples of categorical outcomes come from one
 * distribution (a 2 × k contingency table). Categories seen by neither side are ignored.
 */
export function chiSquareHomogeneity(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): Homogeneity {
  const cats = [...new Set([...a.keys(), ...b.keys()])];
  const na = [...a.values()].reduce((s, v) => s + v, 0);
  const nb = [...b.values()].reduce((s, v) => s + v, 0);
  const n = na + nb;
  if (cats.length < 2 || na === 0 || nb === 0) return { statistic: 0, df: Math.max(0, cats.length - 1), pValue: 1 };
  let x2 = 0;
  for (const k of cats) {
    const col = (a.get(k) ?? 0) + (b.get(k) ?? 0);
    for (const [obs, rowN] of [[a.get(k) ?? 0, na], [b.get(k) ?? 0, nb]] as const) {
      const e = (rowN * col) / n;
      x2 += ((obs - e) * (obs - e)) / e;
    }
  }
  const df = cats.length - 1;
  return { statistic: x2, df, pValue: gammaQ(df / 2, x2 / 2) };
}

/**
 * Turn the trace events of one traced packet (and its reply) into a hop-by-hop
 * report: the JSON form of `netsim trace -o json` and the basis of the text form.
 *
 * Every hop names where it happened (node, namespace), which component decided
 * (a device, the bridge, routing, the neighbour layer, netfilter, conntrack, an
 * encapsulation, a socket), what it did, and the packet's addresses, ports and TTL
 * as they are at that point: the bytes of the latest event that carried them — a
 * device's rx/tx, or a netfilter hook's own view (after FORWARD's TTL decrement,
 * after DNAT, flanneld's outer packet at its OUTPUT/POSTROUTING) — with a TTL
 * decrement applied where it happens.
 *
 * A reply that is an ICMP error (port unreachable, host unreachable after ARP gave
 * up, time exceeded, a REJECT) is labelled as one (`icmpError`).
 */
import type { TraceEvent } from './trace-event.ts';
import { formatIpv4 } from '../wire/addr.ts';
import { Ether, ETHERNET_HEADER_LEN, EtherType } from '../wire/ethernet.ts';
import { Ipv4, IPV4_HEADER_LEN, IpProtocol, L4 } from '../wire/ipv4.ts';

export interface HopPacket {
  readonly src: string;
  readonly dst: string;
  readonly proto: string;
  readonly sport?: number;
  readonly dport?: number;
  readonly ttl: number;
  readonly len: number;
}

export interface Hop {
  /** Virtual time in nanoseconds. */
  readonly t: number;
  readonly node: string;
  readonly netns: string;
  readonly component: string;
  readonly action: string;
  readonly device?: string;
  readonly packet?: HopPacket;
  /** For netfilter hops: "table CHAIN:rule". */
  readonly rule?: string;
  readonly detail: string;
}

export type TraceVerdict = 'delivered' | 'dropped' | 'rejected';

export interface TraceLeg {
  readonly verdict: TraceVerdict;
  readonly hops: Hop[];
  readonly drop?: { readonly reason: string; readonly node: string; readonly netns: string; readonly detail: string };
  /** When this leg is an ICMP error sent back about the request: what it says and who sent it ("ICMP port unreachable from 10.244.58.2"). */
  readonly icmpError?: string;
}

export interface TraceReport extends TraceLeg {
  readonly reply?: TraceLeg;
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

/** Addresses, ports and TTL of an IPv4 packet at the start of `b` (or after an Ethernet header). */
export function packetFields(bytes: Uint8Array, linkType: 'ether' | 'raw-ip'): HopPacket | undefined {
  let o = 0;
  if (linkType === 'ether') {
    if (bytes.length < ETHERNET_HEADER_LEN + IPV4_HEADER_LEN || Ether.etherType(bytes, 0) !== EtherType.IPV4) return undefined;
    o = ETHERNET_HEADER_LEN;
  }
  if (bytes.length < o + IPV4_HEADER_LEN || Ipv4.version(bytes, o) !== 4) return undefined;
  const hl = Ipv4.headerLen(bytes, o);
  const p = Ipv4.protocol(bytes, o);
  const base = { src: formatIpv4(Ipv4.src(bytes, o)), dst: formatIpv4(Ipv4.dst(bytes, o)), proto: PROTO[p] ?? `proto-${p}`, ttl: Ipv4.ttl(bytes, o), len: Ipv4.totalLen(bytes, o) };
  if ((p === 6 || p === 17) && bytes.length >= o + hl + 4) return { ...base, sport: L4.srcPort(bytes, o + hl), dport: L4.dstPort(bytes, o + hl) };
  return base;
}

function hopOf(e: TraceEvent, pkt: HopPacket | undefined): Hop {
  const base = { t: e.t, node: e.node, netns: e.netns, ...(pkt !== undefined ? { packet: pkt } : {}) };
  switch (e.kind) {
    case 'rx':
    case 'tx': return { ...base, component: 'device', action: e.kind, device: e.dev, detail: e.summary };
    case 'bridge': return { ...base, component: 'bridge', action: e.action, device: e.bridge, detail: e.detail };
    case 'route': return { ...base, component: 'route', action: 'lookup', detail: `${e.dst}: ${e.result} (table ${e.table})` };
    case 'neigh': return { ...base, component: 'neigh', action: e.action, device: e.dev, detail: `${e.ip}${e.mac !== undefined ? ` lladdr ${e.mac}` : ''}` };
    case 'ttl': return { ...base, component: 'ttl', action: 'decrement', detail: `${e.from} → ${e.to} (${e.by})` };
    case 'encap':
    case 'decap': return { ...base, component: e.dev, action: e.kind, device: e.dev, detail: e.detail };
    case 'nf': return { ...base, component: 'netfilter', action: e.hook, rule: `${e.table} ${e.chain}:${e.rule}`, detail: e.detail };
    case 'nat': return { ...base, component: 'nat', action: 'rewrite', detail: e.detail };
    case 'ct': return { ...base, component: 'conntrack', action: 'state', detail: e.detail };
    case 'deliver': return { ...base, component: 'socket', action: 'deliver', detail: e.to };
    case 'icmp-error': return { ...base, component: 'icmp', action: 'error', detail: e.detail };
    case 'drop': return { ...base, component: 'drop', action: e.reason, ...(e.dev !== undefined ? { device: e.dev } : {}), detail: e.detail };
    case 'app': return { ...base, component: e.app, action: 'app', detail: e.detail };
  }
}

const UNREACH: Record<number, string> = { 0: 'net unreachable', 1: 'host unreachable', 2: 'protocol unreachable', 3: 'port unreachable', 4: 'fragmentation needed', 9: 'net prohibited', 10: 'host prohibited', 13: 'administratively prohibited' };

/** "ICMP port unreachable from 10.244.58.2" for an IPv4 ICMP error, else undefined. */
export function icmpErrorLabel(ip: Uint8Array): string | undefined {
  if (ip.length < IPV4_HEADER_LEN || Ipv4.version(ip, 0) !== 4 || Ipv4.protocol(ip, 0) !== IpProtocol.ICMP) return undefined;
  const hl = Ipv4.headerLen(ip, 0);
  const type = L4.icmpType(ip, hl);
  const code = L4.icmpCode(ip, hl);
  const what = type === 3 ? UNREACH[code] ?? `unreachable code ${code}` : type === 11 ? (code === 0 ? 'time exceeded in transit' : 'fragment reassembly time exceeded') : undefined;
  return what !== undefined ? `ICMP ${what} from ${formatIpv4(Ipv4.src(ip, 0))}` : undefined;
}

/** The packet as an event shows it: its bytes (rx/tx with their link type; netfilter's view is IPv4), or the last one with the TTL an event changed. */
function packetAfter(e: TraceEvent, current: HopPacket | undefined): HopPacket | undefined {
  if ((e.kind === 'rx' || e.kind === 'tx') && e.data !== undefined) return packetFields(e.data, e.linkType) ?? current;
  if ((e.kind === 'nf' || e.kind === 'nat') && e.data !== undefined) return packetFields(e.data, 'raw-ip') ?? current;
  // A decrement of the packet last seen (flanneld's decrement of the inner packet while the outer one was last seen is not).
  if (e.kind === 'ttl' && current !== undefined && current.ttl === e.from) return { ...current, ttl: e.to };
  return current;
}

/** The packet a hop shows: none on a TTL hop about another header than the one last seen. */
function shown(e: TraceEvent, p: HopPacket | undefined): HopPacket | undefined {
  return e.kind === 'ttl' && p?.ttl !== e.to ? undefined : p;
}

/** Every event as a hop, each with its packet as it was there (per trace id): what the event-by-event text shows. */
export function eventHops(events: readonly TraceEvent[]): Hop[] {
  const current = new Map<number, HopPacket | undefined>();
  return events.map((e) => {
    const p = packetAfter(e, current.get(e.pkt));
    current.set(e.pkt, p);
    return hopOf(e, shown(e, p));
  });
}

/** The hops of packet `pkt` (in event order) and how its walk ended. */
export function buildLeg(events: readonly TraceEvent[], pkt: number): TraceLeg {
  const hops: Hop[] = [];
  let current: HopPacket | undefined;
  let drop: TraceLeg['drop'];
  let delivered = false;
  let rejected = false;
  let icmpError: string | undefined;
  for (const e of events) {
    if (e.pkt !== pkt) continue;
    current = packetAfter(e, current);
    if (e.kind === 'rx' && e.data !== undefined && icmpError === undefined) {
      const p = packetFields(e.data, e.linkType);
      if (p?.proto === 'icmp') icmpError = icmpErrorLabel(e.linkType === 'ether' ? e.data.subarray(ETHERNET_HEADER_LEN) : e.data);
    }
    hops.push(hopOf(e, shown(e, current)));
    if (e.kind === 'deliver') delivered = true;
    if (e.kind === 'drop') {
      drop = { reason: e.reason, node: e.node, netns: e.netns, detail: e.detail };
      if (e.reason === 'nf-reject' || e.reason === 'no-socket') rejected = true;
    }
  }
  const verdict: TraceVerdict = delivered && drop === undefined ? 'delivered' : rejected ? 'rejected' : drop !== undefined ? 'dropped' : delivered ? 'delivered' : 'dropped';
  return { verdict, hops, ...(drop !== undefined ? { drop } : {}), ...(icmpError !== undefined ? { icmpError } : {}) };
}

/** A request's report with its reply's (when the reply packet id is known). */
export function buildTraceReport(events: readonly TraceEvent[], request: number, reply?: number): TraceReport {
  const req = buildLeg(events, request);
  return reply === undefined || reply === 0 ? req : { ...req, reply: buildLeg(events, reply) };
}

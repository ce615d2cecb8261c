/**
 * Probes: one IPv4 packet injected into a node (from a pod, from the node itself, or
 * arriving from outside on an egress device), and what each side saw of it.
 */
import { buildIpv4Icmp, buildIpv4Tcp, buildIpv4Udp } from '../../netsim/wire/build.ts';
import { TcpFlags } from '../../netsim/wire/tcp.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';

export type ProbeProto = 'icmp' | 'udp' | 'tcp';

export interface ProbeTemplate {
  readonly suite: string;
  /** Probes of one group share everything but the source port / ICMP id; random choices are judged over a group. */
  readonly group: string;
  readonly description: string;
  /** Where it is injected: 'node', a pod key, or `egress:DEV` (arrives from outside on that device). */
  readonly from: string;
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  readonly proto: ProbeProto;
  readonly dport: number;
  readonly ttl: number;
  /** Why this probe cannot be checked here (e.g. IPVS), if so. */
  readonly skip?: string;
  /** The Service ("namespace/name") the probe is addressed to, when it is one. */
  readonly service?: string;
}

export interface Probe extends ProbeTemplate {
  readonly index: number;
  /** Source port (UDP/TCP) or ICMP echo identifier: unique per probe so conntrack keeps them apart. */
  readonly sport: number;
  /** IPv4 identification (non-zero: Linux keeps a non-zero id of an IP_HDRINCL packet). */
  readonly ipId: number;
}

/** Payload of UDP and ICMP probes. */
export const PROBE_PAYLOAD = new TextEncoder().encode('netsim-verify-01');
/** Initial sequence number of TCP SYN probes. */
export const PROBE_SEQ = 0x1000_0000;

export function probeBytes(p: Probe): Uint8Array {
  const ip = { src: p.src, dst: p.dst, ttl: p.ttl, ident: p.ipId, dontFrag: true };
  if (p.proto === 'udp') return buildIpv4Udp(ip, { srcPort: p.sport, dstPort: p.dport }, PROBE_PAYLOAD);
  if (p.proto === 'tcp') return buildIpv4Tcp(ip, { srcPort: p.sport, dstPort: p.dport, seq: PROBE_SEQ, ack: 0, flags: TcpFlags.SYN, window: 64240 }, new Uint8Array(0));
  return buildIpv4Icmp(ip, { type: 'echo-request', ident: p.sport, seq: 1, data: PROBE_PAYLOAD });
}

export function describeProbe(p: ProbeTemplate): string {
  const port = p.proto === 'icmp' ? '' : `:${p.dport}`;
  return `${p.proto} ${formatIpv4(p.src)} → ${formatIpv4(p.dst)}${port} ttl ${p.ttl} from ${p.from}`;
}

/** One packet a side saw: where, and its IPv4 bytes. */
export interface Observation {
  readonly where: string;
  readonly bytes: Uint8Array;
}

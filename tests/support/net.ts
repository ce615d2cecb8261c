/**
 * Small helpers for packet-core scenario tests: address parsing, trace filtering,
 * and checks that captured bytes carry valid checksums.
 */
import assert from 'node:assert/strict';
import { parseIpv4 as parseAddr } from '../../netsim/wire/addr.ts';
import { parseIpv4Packet } from '../../netsim/wire/ipv4.ts';
import { parseIcmpv4 } from '../../netsim/wire/icmpv4.ts';
import { parseUdp } from '../../netsim/wire/udp.ts';
import { parseTcp } from '../../netsim/wire/tcp.ts';
import type { TraceEvent } from '../../netsim/trace/trace-event.ts';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Segment } from '../../netsim/link/segment.ts';
import type { LinkProps } from '../../netsim/link/segment.ts';
import { attachNic } from '../../netsim/topology.ts';

export const ip = parseAddr;

/**
 * Two namespaces, `a` 192.168.0.1 and `b` 192.168.0.2, on one underlay segment with the
 * given link properties, each with a permanent neighbour entry for the other.
 */
export function segmentPair(props: Partial<LinkProps> = {}, seed = 1, names: [string, string] = ['a', 'b']): { sim: Sim; seg: Segment; a: NetNamespace; b: NetNamespace } {
  const sim = new Sim({ seed });
  const seg = new Segment(sim, 'wire', { latencyNs: 0, bandwidthBps: 0, loss: 0, queueLimit: 1000, ...props });
  const a = new NetNamespace(sim, names[0]);
  const b = new NetNamespace(sim, names[1]);
  attachNic(a, seg, 'eth0', '192.168.0.1/24');
  attachNic(b, seg, 'eth0', '192.168.0.2/24');
  a.neigh.create('eth0', parseAddr('192.168.0.2'), 'PERMANENT', b.device('eth0').mac, 0);
  b.neigh.create('eth0', parseAddr('192.168.0.1'), 'PERMANENT', a.device('eth0').mac, 0);
  return { sim, seg, a, b };
}

export type RxTx = Extract<TraceEvent, { kind: 'rx' | 'tx' }>;

export function rxtx(events: readonly TraceEvent[]): RxTx[] {
  return events.filter((e): e is RxTx => e.kind === 'rx' || e.kind === 'tx');
}

/** The IPv4 packet inside an rx/tx event's bytes (skipping Ethernet when present). */
export function ipBytes(ev: RxTx): Uint8Array {
  assert.ok(ev.data !== undefined, 'trace was recorded without bytes');
  if (ev.linkType === 'raw-ip') return ev.data;
  assert.equal((ev.data[12] as number) * 256 + (ev.data[13] as number), 0x0800, `not IPv4: ${ev.summary}`);
  return ev.data.subarray(14);
}

/** Assert the IPv4 header and the transport checksum of `bytes` are valid; returns the parsed header. */
export function assertValidChecksums(bytes: Uint8Array): ReturnType<typeof parseIpv4Packet> {
  const h = parseIpv4Packet(bytes, { verifyChecksum: true });
  const hl = ((bytes[0] as number) & 0x0f) * 4;
  const l4 = bytes.subarray(hl, h.payloadLen + hl);
  if (h.protocol === 1) parseIcmpv4(l4, { verifyChecksum: true });
  else if (h.protocol === 17) parseUdp(l4, { src: h.src, dst: h.dst });
  else if (h.protocol === 6) parseTcp(l4, { src: h.src, dst: h.dst });
  return h;
}

export function kinds(events: readonly TraceEvent[], pkt?: number): string[] {
  return events.filter((e) => pkt === undefined || e.pkt === pkt).map((e) => e.kind);
}

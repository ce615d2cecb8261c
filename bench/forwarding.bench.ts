/**
 * Packet-core forwarding benchmarks (issue: packet core).
 *
 * - `bridge`: frames injected at pod A's eth0 cross veth → docker0 (FDB lookup) → veth
 *   and are received by pod B's eth0: 4 device hops per frame.
 * - `routed`: IPv4 packets arrive on a host's bridge port, are routed (validate header,
 *   route lookup, TTL decrement with incremental checksum, neighbour lookup, MAC rewrite)
 *   and leave on another bridge towards pod B.
 * - baseline, measured in the same run: a tight loop doing only the header work of a
 *   routed hop (TTL decrement + incremental checksum + MAC rewrite) on one buffer — the
 *   "physical limit" a TypeScript forwarding path can approach.
 *
 * Tracing is off (no subscribers), as in a production run; the receiving pod's
 * delivery is replaced by a counting sink so the benchmark measures forwarding only.
 */
import { Sim } from '../netsim/sim.ts';
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { createBridge, attachPod } from '../netsim/topology.ts';
import { Packet } from '../netsim/packet/packet.ts';
import { buildEthernetFrame } from '../netsim/wire/ethernet.ts';
import { buildIpv4Udp } from '../netsim/wire/build.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import { ipv4DecrementTtl } from '../netsim/wire/ipv4.ts';
import { writeU48 } from '../netsim/wire/field.ts';
import type { NetDevice, DeviceOwner } from '../netsim/link/net-device.ts';
import type { DropReason } from '../netsim/trace/trace-event.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const N = 1_000_000;

/** Replaces a pod's stack so arrivals are only counted. */
class CountingOwner implements DeviceOwner {
  count = 0;
  drops = 0;
  constructor(readonly name: string, readonly node: string) {}
  deliverFromDevice(_dev: NetDevice, _pkt: Packet): void { this.count++; }
  traceDrop(_p: Packet, _r: DropReason, _d: string): void { this.drops++; }
}

function frameFor(srcMac: number, dstMac: number, src: string, dst: string, ttl = 64): Uint8Array {
  return buildEthernetFrame({ dst: dstMac, src: srcMac, etherType: 0x0800 },
    buildIpv4Udp({ src: parseIpv4(src), dst: parseIpv4(dst), ttl }, { srcPort: 40000, dstPort: 80 }, new Uint8Array(18)));
}

/** Inject `n` copies of `template` at `dev` (as if it arrived from its medium), in batches. */
function pump(sim: Sim, dev: NetDevice, template: Uint8Array, n: number): number {
  const headroom = 64;
  const pool: Packet[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    // Reuse buffers: a packet's bytes are restored from the template before each send.
    let p = pool.pop();
    if (p === undefined) {
      const buf = new Uint8Array(headroom + template.length);
      p = new Packet(0, buf, headroom, template.length);
    }
    p.buf.set(template, headroom);
    p.off = headroom;
    p.len = template.length;
    p.id = i + 1;
    dev.receive(p);
    if ((i & 1023) === 1023) sim.clock.run();
    pool.push(p);
  }
  sim.clock.run();
  return Number(process.hrtime.bigint() - t0);
}

export function benchBridge(n = N): BenchRow[] {
  const sim = new Sim({ seed: 1 });
  const host = new NetNamespace(sim, 'node01');
  const br = createBridge(host, 'docker0', '10.244.1.1/24');
  const a = attachPod(host, br, { name: 'a', cidr: '10.244.1.2/24' });
  const b = attachPod(host, br, { name: 'b', cidr: '10.244.1.3/24' });
  // Teach the FDB where B lives, then count arrivals at B's eth0.
  br.fdb.learn(b.eth.mac, b.hostVeth, 0);
  const sink = new CountingOwner('b', 'node01');
  b.eth.owner = sink;
  const frame = frameFor(a.eth.mac, b.eth.mac, '10.244.1.2', '10.244.1.3');
  // Inject at the host-side veth of A (the frame has just left A's eth0).
  pump(sim, a.hostVeth, frame, n / 10); // warm-up
  sink.count = 0;
  const ns = pump(sim, a.hostVeth, frame, n);
  if (sink.count !== n) throw new Error(`bridge bench: ${sink.count}/${n} frames arrived (${sink.drops} drops)`);
  const hops = 3; // bridge port rx → bridge forward → veth tx → peer rx
  return [
    { name: 'bridge: frames/s (veth → docker0 → veth)', value: (n / ns) * 1e9, unit: 'frames/s' },
    { name: 'bridge: ns per frame', value: ns / n, unit: 'ns' },
    { name: 'bridge: device hops/s', value: ((n * hops) / ns) * 1e9, unit: 'hops/s', note: `${hops} device hops per frame` },
  ];
}

export function benchRouted(n = N): BenchRow[] {
  const sim = new Sim({ seed: 1 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const br0 = createBridge(host, 'br0', '10.244.1.1/24');
  const br1 = createBridge(host, 'br1', '10.244.2.1/24');
  const a = attachPod(host, br0, { name: 'a', cidr: '10.244.1.2/24', gateway: '10.244.1.1' });
  const b = attachPod(host, br1, { name: 'b', cidr: '10.244.2.2/24', gateway: '10.244.2.1' });
  host.neigh.create('br1', b.ip, 'PERMANENT', b.eth.mac, 0);
  br1.fdb.learn(b.eth.mac, b.hostVeth, 0);
  br0.fdb.learn(a.eth.mac, a.hostVeth, 0);
  const sink = new CountingOwner('b', 'node01');
  b.eth.owner = sink;
  // TTL 255 so re-injected copies never expire; bytes are restored each time anyway.
  const frame = frameFor(a.eth.mac, br0.mac, '10.244.1.2', '10.244.2.2', 255);
  pump(sim, a.hostVeth, frame, n / 10);
  sink.count = 0;
  const ns = pump(sim, a.hostVeth, frame, n);
  if (sink.count !== n) throw new Error(`routed bench: ${sink.count}/${n} packets arrived (${sink.drops} drops)`);
  return [
    { name: 'routed: packets/s (veth → br0 → route → br1 → veth)', value: (n / ns) * 1e9, unit: 'pkts/s' },
    { name: 'routed: ns per packet', value: ns / n, unit: 'ns' },
  ];
}

/** Baseline: the header work of one routed hop in a tight loop on one buffer. */
export function benchBaseline(n = N * 10): BenchRow[] {
  const frame = frameFor(0x0242aabbccdd, 0x0242aabbccee, '10.244.1.2', '10.244.2.2', 255);
  const buf = new Uint8Array(frame);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (buf[22] === 1) buf[22] = 255;
    ipv4DecrementTtl(buf, 14);
    writeU48(buf, 0, 0x0242aabbccee);
    writeU48(buf, 6, 0x0242aabbccdd);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return [{ name: 'baseline: header rewrites/s (TTL + checksum + MACs, tight loop)', value: (n / ns) * 1e9, unit: 'rewrites/s' }];
}

export async function benchForwarding(): Promise<BenchRow[]> {
  const base = benchBaseline();
  const bridge = benchBridge();
  const routed = benchRouted();
  const rate = (rows: BenchRow[]): number => (rows[0] as BenchRow).value;
  return [
    ...base, ...bridge, ...routed,
    { name: 'ratio: baseline / bridge frames', value: rate(base) / rate(bridge), unit: 'x' },
    { name: 'ratio: baseline / routed packets', value: rate(base) / rate(routed), unit: 'x' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchForwarding()) console.log(`${r.name.padEnd(70)} ${r.value.toFixed(r.value < 100 ? 2 : 0).padStart(14)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
}

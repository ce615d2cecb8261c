/**
 * The cost of the underlay link between node partitions (issue 24): UDP datagrams/s
 * between an emulated node in one process and an emulated node in another over real
 * loopback UDP (cluster/underlay-link.ts, one underlay frame per datagram), against
 * the same traffic with both nodes in one process on one segment (the baseline,
 * measured in the same run).
 *
 * Traffic: node01 keeps WINDOW UDP echo requests (64-byte payload) in flight to node02's
 * echo on port 7 through the emulated stacks (ARP, IPv4, UDP, the segment); every reply
 * sends the next request. A datagram counted is one that crossed the underlay (requests
 * and replies both). The two-process run is real time (the far side injects each frame
 * as it arrives and drains its clock); a request lost on loopback is re-sent after 200 ms
 * without progress.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import type { Sim } from '../netsim/sim.ts';
import { A, B, buildHosts, uplink } from './underlay-host.ts';
import { startUdpEcho } from '../netsim/apps/echo.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const WINDOW = 64;
const PAYLOAD = new Uint8Array(64);
const WALL_MS = 3000;

interface Client {
  readonly stats: { replies: number };
  /** Keep `n` requests in flight from now on. */
  open(n: number): void;
  /** Forget what is in flight (lost) and send a full window again. */
  refill(): void;
}

/** node01's client: every reply sends the next request. */
function client(ns: NetNamespace): Client {
  const s = ns.udp.bind(40000);
  const stats = { replies: 0 };
  const dst = parseIpv4(B.address);
  let inFlight = 0;
  let target = 0;
  const fill = (): void => {
    for (; inFlight < target; inFlight++) s.send(dst, 7, PAYLOAD);
  };
  s.onMessage = () => {
    stats.replies++;
    inFlight--;
    fill();
  };
  return { stats, open: (n) => { target = n; fill(); }, refill: () => { inFlight = 0; fill(); } };
}

function singleProcess(): number {
  const { sim, ns } = buildHosts([A, B]);
  startUdpEcho(ns.get(B.name) as NetNamespace, 7);
  const c = client(ns.get(A.name) as NetNamespace);
  c.open(1);
  sim.clock.run(Number.POSITIVE_INFINITY, 100_000);
  c.open(WINDOW);
  // The exchange never lets virtual time pass (zero latency): run it by event count.
  sim.clock.run(Number.POSITIVE_INFINITY, 100_000);
  const before = c.stats.replies;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < WALL_MS) {
    sim.clock.run(Number.POSITIVE_INFINITY, 10_000);
    t = performance.now();
  }
  return ((c.stats.replies - before) * 2) / ((t - t0) / 1000);
}

async function freePorts(): Promise<[number, number]> {
  const socks = [createSocket('udp4'), createSocket('udp4')];
  const ports = await Promise.all(socks.map((s) => new Promise<number>((r) => s.bind(0, '127.0.0.1', () => r(s.address().port)))));
  for (const s of socks) s.close();
  return ports as [number, number];
}

async function twoProcesses(): Promise<{ rate: number; sent: number; received: number }> {
  const [pa, pb] = await freePorts();
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'underlay-host.ts'), String(pb), String(pa)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((r) => child.stdout.once('data', () => r()));
  const { sim, segment, ns } = buildHosts([A]);
  const link = await uplink(sim, segment, 0, pa, pb);
  const c = client(ns.get(A.name) as NetNamespace);
  const drive = (sim: Sim): void => { sim.clock.run(sim.clock.now() + 1); };
  // One request first, so both sides resolve each other's MAC before the window opens
  // (a neighbour entry being resolved queues only a few packets, as Linux's unres_qlen).
  c.open(1);
  drive(sim);
  while (c.stats.replies === 0) await new Promise((r) => setTimeout(r, 10));
  c.open(WINDOW);
  drive(sim);
  const settle = Date.now() + 500;
  let last = -1;
  let lastAt = Date.now();
  const watchdog = setInterval(() => {
    if (c.stats.replies === last && Date.now() - lastAt > 200) {
      c.refill();
      drive(sim);
      lastAt = Date.now();
    } else if (c.stats.replies !== last) {
      last = c.stats.replies;
      lastAt = Date.now();
    }
  }, 50);
  await new Promise((r) => setTimeout(r, Math.max(0, settle - Date.now())));
  const before = c.stats.replies;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, WALL_MS));
  const dt = performance.now() - t0;
  const replies = c.stats.replies - before;
  clearInterval(watchdog);
  child.stdin.end();
  await link.close();
  await new Promise((r) => child.once('exit', r));
  return { rate: (replies * 2) / (dt / 1000), sent: link.stats.sent, received: link.stats.received };
}

export async function benchUnderlayLink(): Promise<BenchRow[]> {
  const one = singleProcess();
  const two = await twoProcesses();
  return [
    { name: 'underlay: UDP echo datagrams/s, both nodes in one process (baseline)', value: one, unit: 'datagrams/s' },
    { name: 'underlay: UDP echo datagrams/s, nodes in two processes over loopback UDP', value: two.rate, unit: 'datagrams/s', note: `${two.sent} frames sent, ${two.received} received by node01's side` },
    { name: 'underlay: two processes / one process', value: two.rate / one, unit: '×' },
  ];
}

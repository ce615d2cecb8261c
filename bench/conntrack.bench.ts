/**
 * Connection tracking and IPVS scheduling at scale.
 *
 * - New connections per second: packetIn (create + UDP state) and confirm for
 *   1 000 000 distinct flows into one table.
 * - Lookups per second at 1 000 000 entries: packetIn of existing flows in random
 *   order (hash walk + state refresh), reply direction.
 * - Bytes per entry: process.memoryUsage() (heap + array buffers) before and after
 *   filling the table, with a forced GC when node runs with --expose-gc; and the
 *   table's own typed-array bytes per live entry.
 * - MASQUERADE port allocation with 20 000 flows from one port to one destination
 *   (every new flow after the first must search for a free port).
 * - IPVS scheduler picks per second for each scheduler over 10 real servers.
 *
 * Run alone: `node --expose-gc --import tsx bench/conntrack.bench.ts`.
 */
import { Conntrack } from '../netsim/netfilter/conntrack/conntrack.ts';
import { IPPROTO_UDP } from '../netsim/netfilter/conntrack/tuple.ts';
import { MANIP_SRC, natSetup } from '../netsim/netfilter/nat.ts';
import { Ipvs, IPVS_SCHEDULERS } from '../netsim/ipvs/ipvs.ts';
import { Rng } from '../netsim/time/rng.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const N = 1_000_000;
const VIP = 0x0a60000a; // 10.96.0.10

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

function mem(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Flow i: a distinct (pod address, source port) towards the VIP's port 53. */
const srcOf = (i: number): number => (0x0af40000 + (i >>> 4)) >>> 0; // 10.244.0.0/16 and beyond
const portOf = (i: number): number => 10000 + (i & 15);

function conntrackRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  let now = 0;
  gc();
  const before = mem();
  const ct = new Conntrack(() => now);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const r = ct.packetIn(IPPROTO_UDP, srcOf(i), VIP, portOf(i), 53, 0);
    ct.confirm(r >>> 1);
  }
  let secs = Number(process.hrtime.bigint() - t0) / 1e9;
  rows.push({ name: `conntrack: new connections (packetIn + confirm), ${N.toLocaleString('en-US')} flows`, value: N / secs, unit: 'conn/s', note: `${((secs * 1e9) / N).toFixed(0)} ns each` });
  gc();
  const after = mem();
  rows.push({ name: 'conntrack: memory per entry at 1M (heap + array buffers delta)', value: (after - before) / N, unit: 'B/entry', note: (globalThis as { gc?: unknown }).gc === undefined ? 'no --expose-gc: includes garbage' : 'after forced GC' });
  rows.push({ name: 'conntrack: typed-array bytes per live entry (capacity included)', value: ct.bytesAllocated() / ct.count, unit: 'B/entry' });

  const rng = new Rng(7);
  const order = new Uint32Array(N);
  for (let i = 0; i < N; i++) order[i] = rng.int(N);
  now = 1e6;
  t0 = process.hrtime.bigint();
  let hits = 0;
  for (let k = 0; k < N; k++) {
    const i = order[k] as number;
    if (ct.packetIn(IPPROTO_UDP, VIP, srcOf(i), 53, portOf(i), 0) >= 0) hits++;
  }
  secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (hits !== N) throw new Error(`lookup bench: ${hits} of ${N} found`);
  rows.push({ name: 'conntrack: lookups of existing flows at 1M entries (random order, reply direction)', value: N / secs, unit: 'lookup/s', note: `${((secs * 1e9) / N).toFixed(0)} ns each` });

  const fresh = new Conntrack(() => 0);
  const masq = 0xc0a8320b; // 192.168.50.11
  const nflows = 20000;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < nflows; i++) {
    const s = fresh.packetIn(IPPROTO_UDP, srcOf(i * 16), 0x08080808, 40000, 53, 0) >>> 1;
    if (!natSetup(fresh, s, MANIP_SRC, { addrMin: masq, addrMax: masq, randomFully: true }, rng)) throw new Error('no port');
    fresh.confirm(s);
  }
  secs = Number(process.hrtime.bigint() - t0) / 1e9;
  rows.push({ name: `MASQUERADE --random-fully port allocation, ${nflows.toLocaleString('en-US')} flows from port 40000 to one destination`, value: nflows / secs, unit: 'conn/s' });
  return rows;
}

function ipvsRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  const picks = 1_000_000;
  for (const sched of IPVS_SCHEDULERS) {
    const ipvs = new Ipvs(() => 0);
    const vs = ipvs.addService('TCP', VIP, 80, sched);
    for (let i = 0; i < 10; i++) {
      const rs = ipvs.addReal(vs, 0x0af40100 + i, 8080, 1 + (i % 3));
      rs.activeConns = (i * 7) % 5;
      rs.inactConns = (i * 3) % 4;
    }
    for (let i = 0; i < 10000; i++) ipvs.schedule(vs, srcOf(i));
    const t0 = process.hrtime.bigint();
    let sink = 0;
    for (let i = 0; i < picks; i++) sink += ipvs.schedule(vs, srcOf(i))?.port ?? 0;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (sink === 0) throw new Error('no picks');
    rows.push({ name: `IPVS ${sched}: scheduler picks, 10 real servers`, value: picks / secs, unit: 'pick/s', note: `${((secs * 1e9) / picks).toFixed(0)} ns each` });
  }
  return rows;
}

export async function benchConntrack(): Promise<BenchRow[]> {
  await Promise.resolve();
  return [...conntrackRows(), ...ipvsRows()];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchConntrack()) {
    const v = r.value >= 100 ? Math.round(r.value).toLocaleString('en-US') : r.value.toFixed(2);
    console.log(`${r.name.padEnd(100)} ${v.padStart(14)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
  }
}

/**
 * Load-balancing experiments through the full datapath (experiments/runner).
 *
 * - Baseline (same run): the bare datapath — HTTP GETs from one client pod to the
 *   seed nginx Service's ClusterIP with `httpGet`, one connection per request
 *   (handshake, request, response, teardown across flannel UDP), no runner.
 * - The runner in iptables and ipvs-rr mode: 10 client pods on both nodes, Poisson
 *   arrivals at 1000/s, a new connection per request; connections per second of
 *   wall time (cluster build included), and the ratio to the baseline.
 * - 100 000 connections (iptables): conn/s, wall time, peak RSS growth, and the heap
 *   after a full GC every 25 000 connections (flat once the 60 s TIME_WAIT and 120 s
 *   conntrack TIME_WAIT of 1000 conn/s of virtual time are in steady state).
 * - NETSIM_BENCH_EXP_1E6=1 adds the 1 000 000-connection run (wall time, peak RSS,
 *   heap every 250 000 connections).
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Cluster } from '../cluster/cluster.ts';
import { demoSpec } from '../cluster/demo-flows.ts';
import { httpGet } from '../netsim/apps/http.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import { runExperiment } from '../experiments/runner/index.ts';
import { experimentFromArgs } from '../cli/commands/experiment.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

async function baseline(n: number): Promise<number> {
  const c = await Cluster.build(demoSpec());
  const client = c.pods.get('default/webapp01');
  const svc = c.services.get('default/nginx-service');
  if (client === undefined || svc === undefined) throw new Error('seed cluster without webapp01 / nginx-service');
  let ok = 0;
  const t0 = c.sim.clock.now();
  for (let i = 0; i < n; i++) c.sim.clock.at(t0 + i * 1_000_000, () => void httpGet(client.ns, svc.clusterIP, 80, { onDone: (s) => { if (s.results.length > 0) ok++; } }));
  const w = performance.now();
  c.sim.clock.run(t0 + n * 1_000_000 + 2 * SECOND);
  const ms = performance.now() - w;
  await c.close();
  if (ok !== n) throw new Error(`baseline: ${ok}/${n} answered`);
  return (n / ms) * 1000;
}

/** A full (major) GC, for heap readings that mean something (no --expose-gc needed). */
const fullGc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

interface RunnerStats { perSec: number; wallS: number; peakRssMB: number; rssGrowthMB: number; heapAtMB: Map<number, number>; connections: number }

/** One mode of `n` connections; heap after a full GC whenever `done` crosses a multiple of `heapEvery`. */
async function runner(mode: string, n: number, heapEvery = 0): Promise<RunnerStats> {
  const exp = experimentFromArgs({ service: 'default/nginx-service', connections: n, rate: '1000/s', modes: mode, output: 'json', progress: false });
  fullGc();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const heapAtMB = new Map<number, number>();
  let nextHeap = heapEvery;
  const w = performance.now();
  const r = await runExperiment(exp, {
    onProgress: (p) => {
      const rss = process.memoryUsage.rss();
      if (rss > peak) peak = rss;
      if (heapEvery > 0 && p.done >= nextHeap) {
        fullGc();
        heapAtMB.set(nextHeap, process.memoryUsage().heapUsed / 1e6);
        nextHeap += heapEvery;
      }
    },
  });
  const ms = performance.now() - w;
  const connections = r.runs[0]?.connections ?? 0;
  return { perSec: (connections / ms) * 1000, wallS: ms / 1000, peakRssMB: peak / 1e6, rssGrowthMB: (peak - rss0) / 1e6, heapAtMB, connections };
}

export async function benchExperiment(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  await baseline(2000); // warm-up
  const base = await baseline(20_000);
  rows.push({ name: 'baseline: bare httpGet pod → ClusterIP (flannel UDP, iptables), 20 000 conns', value: base, unit: 'conn/s' });
  for (const mode of ['iptables', 'ipvs-rr']) {
    const r = await runner(mode, 20_000);
    rows.push({ name: `runner ${mode}: 20 000 connections, 10 clients, build included`, value: r.perSec, unit: 'conn/s' });
    rows.push({ name: `ratio runner ${mode} / baseline`, value: r.perSec / base, unit: '×' });
  }
  const big = await runner('iptables', 100_000, 25_000);
  rows.push({ name: 'runner iptables: 100 000 connections', value: big.perSec, unit: 'conn/s' });
  rows.push({ name: 'runner iptables: 100 000 connections, wall time (build included)', value: big.wallS, unit: 's' });
  rows.push({ name: 'runner iptables: peak RSS growth over the 100 000-connection run', value: big.rssGrowthMB, unit: 'MB' });
  for (const [at, mb] of big.heapAtMB) rows.push({ name: `runner iptables: heap after a full GC at ${at} connections`, value: mb, unit: 'MB' });
  if (process.env['NETSIM_BENCH_EXP_1E6'] === '1') {
    const m = await runner('iptables', 1_000_000, 250_000);
    rows.push({ name: 'runner iptables: 1 000 000 connections, wall time', value: m.wallS, unit: 's' });
    rows.push({ name: 'runner iptables: 1 000 000 connections', value: m.perSec, unit: 'conn/s' });
    rows.push({ name: 'runner iptables: peak RSS over the 1 000 000-connection run', value: m.peakRssMB, unit: 'MB' });
    for (const [at, mb] of m.heapAtMB) rows.push({ name: `runner iptables: heap after a full GC at ${at} connections`, value: mb, unit: 'MB' });
  }
  return rows;
}

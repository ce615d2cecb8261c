/**
 * Load-balancing experiments through the full datapath (experiments/runner).
 *
 * - Baseline (same run): the bare datapath — HTTP GETs from one client pod to the
 *   seed nginx Service's ClusterIP with `httpGet`, one connection per request
 *   (handshake, request, response, teardown across flannel UDP), no runner.
 * - The runner in iptables and ipvs-rr mode: 10 client pods on both nodes, Poisson
 *   arrivals at 1000/s, a new connection per request; connections per second of
 *   wall time (cluster build included), and the ratio to the baseline.
 * - Memory: RSS growth and heap after 100 000 connections (iptables); the
 *   1 000 000-connection run is measured with the CLI (see README.md: it takes
 *   minutes on this machine), set NETSIM_BENCH_EXP_1E6=1 to run it here.
 */
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

async function runner(mode: string, n: number): Promise<{ perSec: number; rssMB: number; heapMB: number; connections: number }> {
  const exp = experimentFromArgs({ service: 'default/nginx-service', connections: n, rate: '1000/s', modes: mode, output: 'json', progress: false });
  const rss0 = process.memoryUsage().rss;
  const w = performance.now();
  const r = await runExperiment(exp);
  const ms = performance.now() - w;
  const m = process.memoryUsage();
  return { perSec: ((r.runs[0]?.connections ?? 0) / ms) * 1000, rssMB: (m.rss - rss0) / 1e6, heapMB: m.heapUsed / 1e6, connections: r.runs[0]?.connections ?? 0 };
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
  const big = await runner('iptables', 100_000);
  rows.push({ name: 'runner iptables: 100 000 connections', value: big.perSec, unit: 'conn/s' });
  rows.push({ name: 'runner iptables: RSS growth over the 100 000-connection run', value: big.rssMB, unit: 'MB' });
  rows.push({ name: 'runner iptables: heap used after the 100 000-connection run', value: big.heapMB, unit: 'MB' });
  if (process.env['NETSIM_BENCH_EXP_1E6'] === '1') {
    const w = performance.now();
    const m = await runner('iptables', 1_000_000);
    rows.push({ name: 'runner iptables: 1 000 000 connections, wall time', value: (performance.now() - w) / 1000, unit: 's' });
    rows.push({ name: 'runner iptables: RSS growth over the 1 000 000-connection run', value: m.rssMB, unit: 'MB' });
  }
  return rows;
}

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
 * - 10 and 10 000 extra Services in the cluster (each selecting the nginx pods, so
 *   kube-proxy programs every one): connections per second of the driving phase only
 *   (from the runner's first progress report; the build is reported apart), for
 *   iptables and ipvs-rr, and the mean modelled latency, which grows with the rules
 *   iptables walks (RULE_COST_NS per rule) and not with IPVS's hash lookups.
 * - NETSIM_BENCH_EXP_1E6=1 adds the 1 000 000-connection runs: one mode (iptables)
 *   in this thread (wall time, peak RSS, heap every 250 000 connections), and an
 *   iptables vs ipvs-rr experiment of 500 000 connections each with `--workers 2`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

interface RunnerStats { perSec: number; wallS: number; peakRssMB: number; rssGrowthMB: number; heapAtMB: Map<number, number>; connections: number; buildS: number; drivePerSec: number; meanLatencyUs: number }

/** `count` Services named bench-N selecting the seed's nginx pods (kube-proxy programs each one). */
function extraServices(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name: `bench-${i}`, namespace: 'default' },
    spec: { selector: { app: 'nginx' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }] },
  }));
}

/**
 * `n` connections per mode (modes comma-separated); heap after a full GC whenever
 * `done` crosses a multiple of `heapEvery` (one mode in this thread only).
 */
async function runner(mode: string, n: number, heapEvery = 0, opts: { workers?: number; manifests?: Record<string, unknown>[] } = {}): Promise<RunnerStats> {
  const exp = experimentFromArgs({ service: 'default/nginx-service', connections: n, rate: '1000/s', modes: mode, output: 'json', progress: false });
  fullGc();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const heapAtMB = new Map<number, number>();
  let nextHeap = heapEvery;
  const w = performance.now();
  let driveStart = 0;
  const r = await runExperiment(exp, {
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.manifests !== undefined ? { manifests: opts.manifests } : {}),
    onProgress: (p) => {
      if (driveStart === 0) driveStart = performance.now();
      const rss = process.memoryUsage.rss();
      if (rss > peak) peak = rss;
      if (heapEvery > 0 && p.done >= nextHeap) {
        fullGc();
        heapAtMB.set(nextHeap, process.memoryUsage().heapUsed / 1e6);
        nextHeap += heapEvery;
      }
    },
  });
  const end = performance.now();
  const ms = end - w;
  const connections = r.runs.reduce((s, run) => s + run.connections, 0);
  const lat = r.runs[0]?.latency;
  return {
    perSec: (connections / ms) * 1000, wallS: ms / 1000, peakRssMB: peak / 1e6, rssGrowthMB: (peak - rss0) / 1e6, heapAtMB, connections,
    buildS: (driveStart - w) / 1000, drivePerSec: (connections / (end - driveStart)) * 1000, meanLatencyUs: (lat?.mean ?? 0) / 1000,
  };
}

/**
 * One runner case in a fresh process: after a 10 000-Service cluster the same process
 * carries its garbage and JIT state into the next case (±30 % swings seen), so the
 * Service-count comparison runs each case alone.
 */
function isolated(mode: string, n: number, services: number): RunnerStats {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), CASE_FLAG, mode, String(n), String(services)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as RunnerStats;
}

const CASE_FLAG = '--experiment-case';

if (process.argv[2] === CASE_FLAG) {
  const [mode, n, services] = process.argv.slice(3);
  const r = await runner(mode as string, Number(n), 0, { manifests: extraServices(Number(services)) });
  process.stdout.write(`${JSON.stringify({ ...r, heapAtMB: undefined })}\n`);
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
  for (const mode of ['iptables', 'ipvs-rr']) {
    const small = isolated(mode, 20_000, 10);
    const large = isolated(mode, 20_000, 10_000);
    rows.push({ name: `${mode}, 10 extra Services: conn/s while driving (20 000 connections)`, value: small.drivePerSec, unit: 'conn/s' });
    rows.push({ name: `${mode}, 10 000 extra Services: conn/s while driving`, value: large.drivePerSec, unit: 'conn/s' });
    rows.push({ name: `ratio ${mode} 10 Services / 10 000 Services (conn/s)`, value: small.drivePerSec / large.drivePerSec, unit: '×' });
    rows.push({ name: `${mode}, 10 000 extra Services: cluster build until driving starts`, value: large.buildS, unit: 's' });
    rows.push({ name: `${mode}: mean modelled latency with 10 / 10 000 extra Services`, value: small.meanLatencyUs, unit: 'µs', note: `${large.meanLatencyUs.toFixed(1)} µs with 10 000` });
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
    const pair = await runner('iptables,ipvs-rr', 500_000, 0, { workers: 2 });
    rows.push({ name: 'iptables vs ipvs-rr, 500 000 connections each, --workers 2: wall time', value: pair.wallS, unit: 's', note: `${pair.connections} connections` });
    rows.push({ name: 'iptables vs ipvs-rr, 500 000 each, --workers 2', value: pair.perSec, unit: 'conn/s' });
    rows.push({ name: 'iptables vs ipvs-rr, 500 000 each, --workers 2: peak RSS of this process (workers included)', value: pair.peakRssMB, unit: 'MB' });
  }
  return rows;
}

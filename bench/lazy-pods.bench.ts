/**
 * Lazy materialisation of pods (cluster/lazy-pods.ts): build-and-settle wall time, CPU
 * time, the heap after a full GC and the peak RSS of a cluster of N nodes × P pods
 * (largeSpecText: docker runtime, flannel udp, iptables mode, small rulesets),
 * with spec `scale.lazyPods` on and off. Each build runs in its own process (so RSS is
 * its own); the ratio off / on is the saving. Then one trace from a pod on the first
 * node to a pod on the last, which builds those two nodes only.
 *
 * NETSIM_BENCH_LAZY_NODES (default 50) and NETSIM_BENCH_LAZY_PODS (pods per node,
 * default 30) set the size.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { stringify } from 'yaml';
import { Cluster } from '../cluster/cluster.ts';
import { parseClusterSpec } from '../cluster/spec.ts';
import { resolveEndpoint } from '../cluster/endpoint.ts';
import { httpGet } from '../netsim/apps/http.ts';
import { SECOND } from '../netsim/time/scheduler.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

interface ChildResult { buildMs: number; cpuMs: number; heapMB: number; rssMB: number; lazyNodes: number; pods: number; traceMs: number; traced: string }

const deployment = (name: string, replicas: number): Record<string, unknown> => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } } },
});

/**
 * A spec of `nodes` nodes and `nodes × perNode` nginx pods: Deployment `front` (one pod
 * per node) behind 10 Services, Deployment `web` (the rest) behind none — so the nodes'
 * rulesets stay small and what is measured is the cost of the pods.
 */
function largeSpecText(nodes: number, perNode: number, lazyPods: boolean): string {
  const manifests = [
    deployment('front', nodes),
    deployment('web', nodes * (perNode - 1)),
    ...Array.from({ length: 10 }, (_, i) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `front-${i}` }, spec: { selector: { app: 'front' }, ports: [{ port: 80 + i, targetPort: 80 }] } })),
  ];
  return stringify({
    apiVersion: 'netsim/v1', kind: 'Cluster', metadata: { name: 'lazy-bench' }, seed: 1,
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `node${String(i + 1).padStart(3, '0')}`, address: `10.10.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}` })),
    network: { underlayCIDR: '10.10.0.0/16', clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', flannel: { backend: 'udp' } },
    runtime: 'docker', proxy: { mode: 'iptables' }, dns: { enabled: false },
    scale: { lazyPods },
    manifests: manifests.map((m) => stringify(m)).join('---\n'),
  });
}

async function child(nodes: number, perNode: number, lazyPods: boolean): Promise<ChildResult> {
  const spec = parseClusterSpec(largeSpecText(nodes, perNode, lazyPods), 'lazy-bench.yaml');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const c = await Cluster.build(spec);
  // Settled: every pod of the Deployments runs (the ReplicaSets create them in bursts), or 120 s of virtual time.
  for (let i = 0; i < 120 && c.pods.size < nodes * perNode; i++) await c.runFor(SECOND);
  const buildMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const gc = runInNewContext('gc') as () => void;
  gc();
  const heapMB = v8.getHeapStatistics().used_heap_size / 2 ** 20;
  const lazyNodes = [...c.clusterNodes.values()].filter((n) => n.lazyPods.lazy).length;
  const pods = [...c.pods.values()];
  const first = pods.find((p) => p.node === spec.nodes[0]?.name);
  const last = pods.find((p) => p.node === spec.nodes[spec.nodes.length - 1]?.name);
  let traced = 'no pods';
  const t1 = performance.now();
  if (first !== undefined && last !== undefined) {
    const from = resolveEndpoint(`pod:${first.key}`, c);
    const s = httpGet(from.ns as NonNullable<typeof from.ns>, last.ip, 80);
    await c.runFor(2 * SECOND);
    traced = s.results[0] !== undefined ? `HTTP ${s.results[0].status}` : `failed: ${s.error ?? ''}`;
  }
  const traceMs = performance.now() - t1;
  const rssMB = process.resourceUsage().maxRSS / 1024;
  await c.close();
  return { buildMs, cpuMs: (cpu.user + cpu.system) / 1000, heapMB, rssMB, lazyNodes, pods: pods.length, traceMs, traced };
}

function runChild(nodes: number, perNode: number, lazyPods: boolean): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--expose-gc', '--max-old-space-size=16384', self, '--child', String(nodes), String(perNode), String(lazyPods)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult;
}

export async function benchLazyPods(): Promise<BenchRow[]> {
  const nodes = Number(process.env['NETSIM_BENCH_LAZY_NODES'] ?? 50);
  const perNode = Number(process.env['NETSIM_BENCH_LAZY_PODS'] ?? 30);
  const size = `${nodes} nodes × ${perNode} pods`;
  const off = runChild(nodes, perNode, false);
  const on = runChild(nodes, perNode, true);
  const rows: BenchRow[] = [];
  for (const [label, r] of [['lazy off (eager)', off], ['lazy on', on]] as const) {
    rows.push(
      { name: `${size}, ${label}: build and settle, wall`, value: r.buildMs, unit: 'ms', note: `${r.pods} pods, ${r.lazyNodes} nodes still keeping records` },
      { name: `${size}, ${label}: build and settle, CPU`, value: r.cpuMs, unit: 'ms' },
      { name: `${size}, ${label}: heap after GC`, value: r.heapMB, unit: 'MB' },
      { name: `${size}, ${label}: peak RSS`, value: r.rssMB, unit: 'MB' },
      { name: `${size}, ${label}: first HTTP GET first node → last node (builds 2 nodes when lazy)`, value: r.traceMs, unit: 'ms', note: r.traced },
    );
  }
  rows.push(
    { name: `${size}: wall off / on`, value: off.buildMs / on.buildMs, unit: '×' },
    { name: `${size}: heap off / on`, value: off.heapMB / on.heapMB, unit: '×' },
    { name: `${size}: peak RSS off / on`, value: off.rssMB / on.rssMB, unit: '×' },
  );
  return rows;
}

if (process.argv[2] === '--child') {
  const [n, p, lazy] = process.argv.slice(3);
  console.log(JSON.stringify(await child(Number(n), Number(p), lazy === 'true')));
}

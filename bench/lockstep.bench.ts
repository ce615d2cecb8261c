/**
 * Parallel simulation in lockstep (cluster/lockstep-run.ts): the seed cluster (2 nodes,
 * flannel UDP, iptables) with declared clients on both nodes and outside, its data
 * plane run for N virtual seconds serially (baseline, same run) and in 2 worker
 * threads; wall time of the whole run (build + settle of every replica included) and
 * the speedup. The results are identical (cluster/lockstep-run.test.ts proves it by hash).
 */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { parseClusterSpec } from '../cluster/spec.ts';
import { runLockstep } from '../cluster/lockstep-run.ts';
import { SECOND } from '../netsim/time/scheduler.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

function spec(every: string) {
  const doc = parse(readFileSync(new URL('../examples/seed-cluster.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
  doc['clients'] = [
    { name: 'a', from: 'pod:default/webapp01', to: 'pod:default/backend', proto: 'tcp', port: 80, every },
    { name: 'b', from: 'pod:default/webapp02', to: 'service:default/nginx-service', proto: 'tcp', every },
    { name: 'c', from: 'pod:default/webapp03', to: 'service:default/nginx-service', proto: 'tcp', every },
    { name: 'd', from: 'pod:default/backend', to: 'pod:default/webapp01', proto: 'icmp', every },
  ];
  return parseClusterSpec(stringify(doc), 'lockstep-bench.yaml');
}

async function timed(workers: number, every: string, seconds: number): Promise<{ wall: number; windows: number; answered: number }> {
  const start = performance.now();
  const r = await runLockstep({ spec: spec(every), durationNs: seconds * SECOND, workers });
  return { wall: (performance.now() - start) / 1000, windows: r.windows, answered: r.clients.reduce((s, c) => s + c.answered, 0) };
}

export async function benchLockstep(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [every, seconds] of [['1ms', 2]] as const) {
    const serial = await timed(1, every, seconds);
    const par = await timed(2, every, seconds);
    rows.push(
      { name: `2-node seed cluster, 4 clients every ${every}, ${seconds} s virtual: serial`, value: Number(serial.wall.toFixed(2)), unit: 's', note: `${serial.answered} exchanges answered` },
      { name: `… 2 workers in lockstep (50 µs lookahead)`, value: Number(par.wall.toFixed(2)), unit: 's', note: `${par.windows} windows` },
      { name: '… speedup serial / 2 workers', value: Number((serial.wall / par.wall).toFixed(2)), unit: '×' },
    );
  }
  return rows;
}

/**
 * Kubernetes scale in one emulation (issue 23): build-and-settle of a whole cluster —
 * N nodes, 30 pods per node, S Services (each a Deployment of N·30/S replicas behind a
 * ClusterIP Service) — and the propagation of one Service change to every node's datapath.
 *
 * The idle case (`:idle`) also runs 31 s of virtual time with nothing changing, every
 * periodic sync rebuilt and then with syncs that have nothing to do skipped.
 *
 * Every size runs in its own process (`--case`), so one case's heap and JIT state do
 * not leak into the next and its peak RSS (getrusage maxrss) is its own. Per case:
 * - wall and CPU time (user + system) of `Cluster.build` (spec → settled cluster, 3 s
 *   of virtual time after the last object), and the process's peak RSS;
 * - the propagation of one Service change (a new port on an existing Service): the
 *   virtual time from the API write until the last node's kube-proxy has synced it into
 *   its datapath (iptables rules or IPVS virtual servers), and the wall time to compute it.
 * The growth exponent is the least-squares slope of log(CPU) against log(nodes + pods +
 * Services) over the cases measured in the same run.
 *
 * `node --import tsx bench/scale.bench.ts` runs the default sizes; SCALE_CASES picks
 * others (`100x1000,1000x10000:ipvs`: nodes x Services[:mode]); SCALE_LIMIT_S bounds each
 * child's wall time (default 600 s), SCALE_HEAP_MB its heap (default 12 000).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../cluster/cluster.ts';
import { parseClusterSpec } from '../cluster/spec.ts';
import { MS, SECOND } from '../netsim/time/scheduler.ts';
import type { Service } from '../control/api/service.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

export const PODS_PER_NODE = 30;

interface ScaleCase {
  readonly nodes: number;
  readonly services: number;
  readonly mode: 'iptables' | 'ipvs' | 'nftables';
  /** Also measure 31 s of idle virtual time (periodic syncs only), with kube-proxy's quiet syncs off and on. */
  readonly idle?: boolean;
}

interface CaseResult {
  readonly case: ScaleCase;
  readonly pods: number;
  readonly buildWallMs: number;
  readonly buildCpuMs: number;
  readonly peakRssMb: number;
  readonly propagationVirtualMs: number | undefined;
  readonly propagationWallMs: number | undefined;
  readonly nodesReached: number;
  /** Wall ms of 31 s idle virtual time: every sync rebuilt, then syncs with nothing to do skipped. */
  readonly idleWallMs?: { readonly rebuilt: number; readonly quiet: number };
  /** Further Service changes, each its own port, with the proxier's partial syncs off and on in turn (off, on, off; the first change had them on): wall ms to reach every node. */
  readonly changeWallMs?: { readonly full: readonly number[]; readonly partial: readonly number[] };
}

/**
 * The spec of a case: nodes and workloads in the spec's compact form (node pools and
 * workload generators). Pods are spread by the scheduler; replicas round up so every
 * Service has at least one endpoint.
 */
export function scaleSpec(c: ScaleCase): string {
  // At least one pod a Service, unless that would pass 110 pods a node (then Services without endpoints).
  const replicas = Math.min(Math.max(1, Math.round((c.nodes * PODS_PER_NODE) / c.services)), Math.floor((110 * c.nodes) / c.services));
  return [
    'apiVersion: netsim/v1',
    'kind: Cluster',
    `metadata: { name: scale-${c.nodes} }`,
    'seed: 1',
    'nodePools:',
    `  - { name: "node{n:5}", count: ${c.nodes}, addresses: 172.16.0.10-172.31.255.254 }`,
    'network:',
    '  underlayCIDR: 172.16.0.0/12',
    '  clusterCIDR: 100.64.0.0/10',
    '  serviceCIDR: 10.96.0.0/12',
    '  flannel: { backend: vxlan }',
    `proxy: { mode: ${c.mode} }`,
    'workloads:',
    `  - { name: "svc{n:5}", count: ${c.services}, replicas: ${replicas}, image: "nginx:1.27", port: 80 }`,
    '',
  ].join('\n');
}

function mb(kb: number): number {
  return Math.round(kb / 1024);
}

/** One case, in this process. */
async function runCase(c: ScaleCase): Promise<CaseResult> {
  const spec = parseClusterSpec(scaleSpec(c), `scale-${c.nodes}.yaml`);
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const cluster = await Cluster.build(spec);
  const buildWallMs = performance.now() - w0;
  const cpu = process.cpuUsage(c0);
  const pods = cluster.pods.size;
  // One Service change: another port on the first generated Service.
  const svcKey = 'default/svc00001';
  const svc = cluster.services$.items.get(svcKey) as Service;
  const basePorts = (svc.spec.ports ?? []).map((p) => ({ name: p.name ?? 'http', port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP' }));
  let extraPorts = 0;
  /** Applies the change and runs until every node's kube-proxy synced it: when each did, virtual time, and the wall ms it took. */
  const change = async (): Promise<{ reached: Map<string, number>; t0: number; wallMs: number }> => {
    // Past minSyncPeriod since the last sync, so every change is timed alike.
    await cluster.runFor(1100 * MS);
    // Each node's last sync before the change: the ones after it in its (bounded) list are new.
    const before = new Map([...cluster.clusterNodes].map(([n, cn]) => [n, cn.kubeProxy.syncs.at(-1)]));
    const reached = new Map<string, number>();
    extraPorts++;
    const ports = [...basePorts, ...Array.from({ length: extraPorts }, (_, i) => ({ name: `alt${i}`, port: 8080 + i, targetPort: 80, protocol: 'TCP' }))];
    const t0 = cluster.sim.clock.now();
    const w1 = performance.now();
    await cluster.control.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc00001', namespace: 'default' }, spec: { selector: svc.spec.selector, ports } });
    for (let step = 0; step < 5000 && reached.size < cluster.clusterNodes.size; step++) {
      await cluster.runFor(MS);
      for (const [n, cn] of cluster.clusterNodes) {
        if (reached.has(n)) continue;
        const syncs = cn.kubeProxy.syncs;
        const old = before.get(n);
        const fresh = old === undefined ? syncs : syncs.slice(syncs.indexOf(old) + 1);
        if (fresh.some((r) => r.updatedServices.includes(svcKey) || (r.full && r.quiet !== true))) reached.set(n, cluster.sim.clock.now());
      }
    }
    return { reached, t0, wallMs: performance.now() - w1 };
  };
  const first = await change();
  const { reached, t0 } = first;
  const propagationWallMs = first.wallMs;
  const last = Math.max(...reached.values());
  let idleWallMs: CaseResult['idleWallMs'];
  if (c.idle === true) {
    const idle = async (quiet: boolean): Promise<number> => {
      for (const cn of cluster.clusterNodes.values()) if (cn.kubeProxy.proxier.quietSyncs !== undefined) cn.kubeProxy.proxier.quietSyncs = quiet;
      const w = performance.now();
      await cluster.runFor(31 * SECOND);
      return performance.now() - w;
    };
    idleWallMs = { rebuilt: await idle(false), quiet: await idle(true) };
  }
  let changeWallMs: CaseResult['changeWallMs'];
  if (c.mode === 'ipvs') {
    const setPartial = (on: boolean): void => {
      for (const cn of cluster.clusterNodes.values()) if (cn.kubeProxy.proxier.partialSyncs !== undefined) cn.kubeProxy.proxier.partialSyncs = on;
    };
    const full: number[] = [];
    const partial: number[] = [];
    for (const on of [false, true, false]) {
      setPartial(on);
      (on ? partial : full).push((await change()).wallMs);
    }
    setPartial(true);
    changeWallMs = { full, partial };
  }
  await cluster.close();
  return {
    ...(changeWallMs !== undefined ? { changeWallMs } : {}),
    ...(idleWallMs !== undefined ? { idleWallMs } : {}),
    case: c, pods, buildWallMs, buildCpuMs: (cpu.user + cpu.system) / 1000, peakRssMb: mb(process.resourceUsage().maxRSS),
    propagationVirtualMs: reached.size > 0 ? (last - t0) / MS : undefined, propagationWallMs, nodesReached: reached.size,
  };
}

function parseCases(s: string): ScaleCase[] {
  return s.split(',').map((t) => {
    const m = /^(\d+)x(\d+)(?::(iptables|ipvs|nftables))?(:idle)?$/.exec(t.trim());
    if (m === null) throw new RangeError(`bad case "${t}" (use NODESxSERVICES[:mode][:idle])`);
    return { nodes: Number(m[1]), services: Number(m[2]), mode: (m[3] ?? 'iptables') as ScaleCase['mode'], ...(m[4] !== undefined ? { idle: true } : {}) };
  });
}

/** Run a case in a child process; undefined when it ran out of time or memory. */
function spawnCase(c: ScaleCase): CaseResult | { failed: string } {
  const limitS = Number(process.env['SCALE_LIMIT_S'] ?? 600);
  const heapMb = Number(process.env['SCALE_HEAP_MB'] ?? 12_000);
  const r = spawnSync(process.execPath, [`--max-old-space-size=${heapMb}`, '--import', 'tsx', fileURLToPath(import.meta.url), '--case', JSON.stringify(c)], {
    encoding: 'utf8', timeout: limitS * 1000, maxBuffer: 1 << 24, killSignal: 'SIGKILL',
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{') && l.includes('"case":'));
  if (line === undefined) return { failed: r.error !== undefined ? `${r.error.message} (limit ${limitS} s)` : `exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(line) as CaseResult;
}

/** Least-squares slope of log y against log x. */
export function growthExponent(points: ReadonlyArray<readonly [number, number]>): number {
  const xs = points.map(([x]) => Math.log(x));
  const ys = points.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return num / den;
}

const DEFAULT_CASES = '2x10000:ipvs:idle,100x1000,100x1000:ipvs,300x1000,1000x10000';

export async function benchScale(): Promise<BenchRow[]> {
  await Promise.resolve();
  const rows: BenchRow[] = [];
  const done: CaseResult[] = [];
  for (const c of parseCases(process.env['SCALE_CASES'] ?? DEFAULT_CASES)) {
    const label = `${c.nodes} nodes / ${c.nodes * PODS_PER_NODE} pods / ${c.services} Services, ${c.mode}`;
    const r = spawnCase(c);
    if ('failed' in r) {
      rows.push({ name: `build and settle, ${label}`, value: Number.NaN, unit: 'not measured', note: r.failed });
      continue;
    }
    done.push(r);
    rows.push({ name: `build and settle, ${label}: wall`, value: r.buildWallMs / 1000, unit: 's', note: `${r.pods} pods running` });
    rows.push({ name: `build and settle, ${label}: CPU`, value: r.buildCpuMs / 1000, unit: 's' });
    rows.push({ name: `build and settle, ${label}: peak RSS`, value: r.peakRssMb, unit: 'MB', note: `${(r.peakRssMb / c.nodes).toFixed(1)} MB per node` });
    rows.push({
      name: `one Service change reaches every node's datapath, ${label}`, value: r.propagationVirtualMs ?? Number.NaN, unit: 'ms virtual',
      note: `${r.nodesReached}/${c.nodes} nodes; ${((r.propagationWallMs ?? 0) / 1000).toFixed(1)} s wall to compute`,
    });
    if (r.changeWallMs !== undefined) {
      const med = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
      const fmt = (xs: readonly number[]): string => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
      rows.push({ name: `one more Service change, ${label}: every service port reconciled`, value: med(r.changeWallMs.full) / 1000, unit: 's wall', note: `runs ${fmt(r.changeWallMs.full)}` });
      rows.push({ name: `one more Service change, ${label}: changed service ports only`, value: med(r.changeWallMs.partial) / 1000, unit: 's wall', note: `runs ${fmt(r.changeWallMs.partial)}` });
    }
    if (r.idleWallMs !== undefined) {
      rows.push({ name: `31 s idle (periodic syncs), ${label}: every sync rebuilt`, value: r.idleWallMs.rebuilt / 1000, unit: 's wall' });
      rows.push({ name: `31 s idle (periodic syncs), ${label}: syncs with nothing to do skipped`, value: r.idleWallMs.quiet / 1000, unit: 's wall', note: `${(r.idleWallMs.rebuilt / r.idleWallMs.quiet).toFixed(0)}× less` });
    }
  }
  const fit = done.filter((r) => r.case.mode === 'iptables');
  if (fit.length >= 2) {
    const size = (r: CaseResult): number => r.case.nodes + r.pods + r.case.services;
    rows.push({ name: 'growth exponent of build CPU in nodes + pods + Services (iptables)', value: growthExponent(fit.map((r) => [size(r), r.buildCpuMs])), unit: '', note: 'target ≤ 1' });
    rows.push({ name: 'growth exponent of peak RSS in nodes + pods + Services (iptables)', value: growthExponent(fit.map((r) => [size(r), r.peakRssMb])), unit: '' });
  }
  return rows;
}

const caseArg = process.argv.indexOf('--case');
if (caseArg >= 0) {
  const r = await runCase(JSON.parse(process.argv[caseArg + 1] as string) as ScaleCase);
  console.log(JSON.stringify(r));
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchScale()) console.log(`${r.name.padEnd(100)} ${(Number.isNaN(r.value) ? '—' : r.value.toFixed(2)).padStart(10)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
}

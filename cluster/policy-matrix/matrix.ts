/**
 * The reachability matrix: for each port and protocol, every pod of the chosen
 * namespaces probes every other (probe.ts, through the datapath) and the observed table
 * is compared with the one the API's semantics give (semantics.ts), cell by cell, as the
 * upstream e2e suite's `ValidateOrFail` compares its hand-written expectation.
 */
import type { Cluster } from '../cluster.ts';
import type { Namespace, NetworkPolicy, Pod, Protocol } from '../../control/api/index.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { expectedReachable } from './semantics.ts';
import type { PolicyPod, PolicyWorld } from './semantics.ts';
import { isMeasurable, PROBE_TIMEOUT_NS, runProbes } from './probe.ts';
import type { ProbeJob } from './probe.ts';
import { summarize, TruthTable } from './truth-table.ts';

export interface MatrixOptions {
  readonly namespaces: readonly string[];
  readonly ports: readonly number[];
  readonly protocols: readonly Protocol[];
  readonly timeoutNs?: number;
}

/** One port and protocol: the three tables of upstream's PrintSummary. */
export interface MatrixCase {
  readonly port: number;
  readonly protocol: Protocol;
  /** False for a protocol the emulated stack cannot probe (SCTP): observed is all `?`. */
  readonly measured: boolean;
  readonly expected: TruthTable;
  readonly observed: TruthTable;
  readonly comparison: TruthTable;
  readonly correct: number;
  readonly incorrect: number;
  readonly ignored: number;
}

export interface MatrixResult {
  readonly pods: readonly string[];
  readonly cases: readonly MatrixCase[];
  /** Cells where the datapath and the semantics disagree (loopback cells not counted). */
  readonly disagreements: number;
}

/** The pods, namespaces and policies the semantics read, from the API (with its defaults applied) and the pods' runtime addresses. */
async function readPolicyWorld(cluster: Cluster): Promise<PolicyWorld> {
  const api = cluster.control.api;
  const [pods, nss, policies] = await Promise.all([api.list<Pod>('pods'), api.list<Namespace>('namespaces'), api.list<NetworkPolicy>('networkpolicies')]);
  const running = cluster.pods;
  const out: PolicyPod[] = [];
  for (const p of pods) {
    const ns = p.metadata.namespace ?? 'default';
    const key = `${ns}/${p.metadata.name ?? ''}`;
    const ref = running.get(key);
    const ip = ref !== undefined ? formatIpv4(ref.ip) : p.status?.podIP;
    if (ip === undefined || ip === '') continue;
    out.push({
      namespace: ns, name: p.metadata.name ?? '', labels: p.metadata.labels ?? {}, ip, hostNetwork: p.spec.hostNetwork === true,
      ports: (p.spec.containers ?? []).flatMap((c) => (c.ports ?? []).map((cp) => ({ ...(cp.name !== undefined ? { name: cp.name } : {}), port: cp.containerPort, protocol: cp.protocol ?? 'TCP' }))),
    });
  }
  return {
    pods: out,
    namespaces: new Map(nss.map((n) => [n.metadata.name ?? '', n.metadata.labels ?? {}])),
    policies,
  };
}

/** The matrix pods: running pods of the namespaces, ordered as the options list the namespaces, then by name. */
function matrixPods(world: PolicyWorld, cluster: Cluster, namespaces: readonly string[]): PolicyPod[] {
  const running = cluster.pods;
  return world.pods
    .filter((p) => namespaces.includes(p.namespace) && !p.hostNetwork && running.has(`${p.namespace}/${p.name}`))
    .sort((a, b) => namespaces.indexOf(a.namespace) - namespaces.indexOf(b.namespace) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Probe every cell of every port/protocol and compare with the semantics. */
export async function runPolicyMatrix(cluster: Cluster, o: MatrixOptions, idle: () => Promise<void> = () => Promise.resolve()): Promise<MatrixResult> {
  const world = await readPolicyWorld(cluster);
  const pods = matrixPods(world, cluster, o.namespaces);
  const names = pods.map((p) => `${p.namespace}/${p.name}`);
  const combos = o.ports.flatMap((port) => o.protocols.map((protocol) => ({ port, protocol })));
  const jobs: ProbeJob[] = combos.flatMap(({ port, protocol }) => names.flatMap((from) => names.map((to) => ({ from, to, port, protocol }))));
  await idle();
  const answers = runProbes(cluster, jobs, o.timeoutNs ?? PROBE_TIMEOUT_NS);
  let k = 0;
  const cases: MatrixCase[] = combos.map(({ port, protocol }) => {
    const expected = new TruthTable(names);
    const observed = new TruthTable(names);
    for (const from of pods) for (const to of pods) {
      const f = `${from.namespace}/${from.name}`;
      const t = `${to.namespace}/${to.name}`;
      expected.set(f, t, expectedReachable(world, from, to, port, protocol));
      const a = answers[k++];
      if (a !== undefined) observed.set(f, t, a);
    }
    const comparison = expected.compare(observed);
    return { port, protocol, measured: isMeasurable(protocol), expected, observed, comparison, ...summarize(comparison) };
  });
  return { pods: names, cases, disagreements: cases.reduce((s, c) => s + c.incorrect, 0) };
}

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** What the probe measured; null where the protocol cannot be probed (SCTP). */
  readonly reachable: boolean | null;
  /** What the policies allow. */
  readonly expected: boolean;
  /** A pod to itself: shown, never counted as a disagreement (upstream's ignoreLoopback). */
  readonly loopback?: true;
}

export interface MatrixJson {
  readonly cells: readonly MatrixCell[];
  readonly disagreements: number;
}

/** `-o json`: one record per cell, and the disagreement count. */
export function matrixJson(r: MatrixResult): MatrixJson {
  const cells = r.cases.flatMap((c) => r.pods.flatMap((from) => r.pods.map((to): MatrixCell => ({
    from, to, port: c.port, protocol: c.protocol, reachable: c.observed.get(from, to) ?? null, expected: c.expected.get(from, to) as boolean, ...(from === to ? { loopback: true as const } : {}),
  }))));
  return { cells, disagreements: r.disagreements };
}

/** The result back from its JSON (what a running `netsim up` answers), for the text renderer. */
export function matrixFromJson(j: MatrixJson, ports: readonly number[], protocols: readonly Protocol[]): MatrixResult {
  const pods: string[] = [];
  for (const c of j.cells) if (!pods.includes(c.from)) pods.push(c.from);
  const cases = ports.flatMap((port) => protocols.map((protocol): MatrixCase => {
    const expected = new TruthTable(pods);
    const observed = new TruthTable(pods);
    for (const c of j.cells) {
      if (c.port !== port || c.protocol !== protocol) continue;
      expected.set(c.from, c.to, c.expected);
      if (c.reachable !== null) observed.set(c.from, c.to, c.reachable);
    }
    const comparison = expected.compare(observed);
    return { port, protocol, measured: isMeasurable(protocol), expected, observed, comparison, ...summarize(comparison) };
  }));
  return { pods, cases, disagreements: cases.reduce((s, c) => s + c.incorrect, 0) };
}

/** The text: per port/protocol upstream's summary line and tables (expected and comparison only where they disagree). */
export function matrixText(r: MatrixResult): string {
  if (r.pods.length === 0) return 'no running pods in the chosen namespaces\n';
  const parts: string[] = [];
  for (const c of r.cases) {
    const head = `${c.protocol}/${c.port}`;
    if (!c.measured) {
      parts.push(`${head}: not measured: the emulated stack has no ${c.protocol} sockets (cells are ?); expected from the policies:\n\n${c.expected.render()}\n`);
      continue;
    }
    const lines = [`${head}: reachability: correct:${c.correct}, incorrect:${c.incorrect}, result=${c.incorrect === 0}${c.ignored > 0 ? ` (${c.ignored} pod->itself cases ignored, as upstream does)` : ''}`, '', 'observed:', '', c.observed.render(), ''];
    if (c.incorrect > 0) lines.push('expected:', '', c.expected.render(), '', 'comparison (X: the datapath disagrees with the policies):', '', c.comparison.render(), '');
    parts.push(lines.join('\n'));
  }
  parts.push(`${r.disagreements === 0 ? 'every measured cell agrees with the policies' : `${r.disagreements} cell${r.disagreements === 1 ? '' : 's'} disagree with the policies`}\n`);
  return parts.join('\n');
}

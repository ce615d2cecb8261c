/**
 * Upstream's e2e network-policy suite as data (tests/upstream/netpol/network-policy.yaml):
 * every scenario runs on one cluster with upstream's model (namespaces x, y, z; pods a,
 * b, c; ports 80, 81) and kube-router as its enforcer (policy/), in order, as upstream runs its cases — policies cleaned and
 * labels reset between scenarios, each step's policies and label changes applied through
 * the API, the enforcer given its sync time, then the matrix probed through the
 * datapath. For every check two tables must equal upstream's Reachability (pod → itself
 * ignored, as upstream's ignoreLoopback does):
 * - the measured one (every TCP/UDP cell a real connection) — the enforcer's fidelity;
 * - the one semantics.ts computes — the independent evaluator's correctness (SCTP
 *   checks, which cannot be probed, check this one only).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Cluster } from '../cluster.ts';
import { loadClusterSpec } from '../spec.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { Namespace, NetworkPolicy, NetworkPolicySpec, Pod, Protocol } from '../../control/api/index.ts';
import { MODEL_NAMESPACES, MODEL_PODS, modelManifests, runPolicyMatrix, TruthTable } from './index.ts';

type Peer = string;
type Op =
  | { peer: [Peer, Peer]; connected: boolean }
  | { allIngress: string; connected: boolean }
  | { allEgress: string; connected: boolean }
  | { expect: [string, string]; connected: boolean };
interface Check { port: number; protocol: Protocol; expect: Op[] }
interface Step {
  policies?: Array<{ name: string; namespace: string; spec: NetworkPolicySpec }>;
  podLabels?: Record<string, Record<string, string>>;
  namespaceLabels?: Record<string, Record<string, string>>;
  checks: Check[];
}
interface Scenario { name: string; steps: Step[] }

const scenarios = (parse(readFileSync('tests/upstream/netpol/network-policy.yaml', 'utf8')) as { scenarios: Scenario[] }).scenarios;
const PODS = MODEL_NAMESPACES.flatMap((ns) => MODEL_PODS.map((p) => `${ns}/${p}`));
/** Time for the enforcer to hear of a change and sync (virtual). */
const SETTLE_NS = 3 * SECOND;

/** upstream Peer.Matches: "*" any pod, "x" any pod of x, "*\/a" pod a of any namespace, "x/a" one pod. */
function matches(peer: Peer, pod: string): boolean {
  const [ns, name] = pod.split('/');
  const [pns, pname] = peer.includes('/') ? peer.split('/') : [peer, '*'];
  return (pns === '*' || pns === ns) && (pname === '*' || pname === name);
}

/** NewReachability(all, true) and the Expect… calls in order. */
function reachability(ops: readonly Op[]): TruthTable {
  const t = new TruthTable(PODS);
  for (const f of PODS) for (const to of PODS) t.set(f, to, true);
  for (const op of ops) {
    for (const f of PODS) for (const to of PODS) {
      if ('peer' in op ? matches(op.peer[0], f) && matches(op.peer[1], to)
        : 'allIngress' in op ? to === op.allIngress
          : 'allEgress' in op ? f === op.allEgress
            : f === op.expect[0] && to === op.expect[1]) t.set(f, to, op.connected);
    }
  }
  return t;
}

/** The cells (loopback excluded) where two tables differ, for the failure message. */
function differences(want: TruthTable, got: TruthTable): string[] {
  const out: string[] = [];
  for (const f of PODS) for (const to of PODS) if (f !== to && want.get(f, to) !== got.get(f, to)) out.push(`${f} → ${to}: want ${String(want.get(f, to))}, got ${String(got.get(f, to))}`);
  return out;
}

let c: Cluster;
before(async () => {
  c = await Cluster.build({ ...loadClusterSpec('examples/empty-cluster.yaml'), networkPolicy: { enforcer: 'kube-router', syncPeriodNs: 300 * SECOND } }, { manifests: modelManifests() });
});
after(async () => {
  await c?.close();
});

/** `${ip:x/b}` → that pod's address, anywhere in the object. */
function substitute<T>(v: T): T {
  return JSON.parse(JSON.stringify(v).replace(/\$\{ip:([a-z]\/[a-z])\}/g, (_m, k: string) => {
    const ip = c.podIp(k);
    assert.ok(ip !== undefined, `no pod ${k}`);
    return ip;
  })) as T;
}

/** CleanPolicies and the label resets of upstream's DeferCleanups. */
async function reset(): Promise<void> {
  const api = c.control.api;
  for (const p of await api.list<NetworkPolicy>('networkpolicies')) if ((MODEL_NAMESPACES as readonly string[]).includes(p.metadata.namespace ?? '')) await api.delete('networkpolicies', p.metadata.namespace, p.metadata.name ?? '');
  for (const n of await api.list<Namespace>('namespaces')) {
    const name = n.metadata.name ?? '';
    if (!(MODEL_NAMESPACES as readonly string[]).includes(name)) continue;
    const labels = { ns: name, 'kubernetes.io/metadata.name': name };
    if (JSON.stringify(n.metadata.labels) !== JSON.stringify(labels)) await api.update('namespaces', undefined, name, { ...n, metadata: { ...n.metadata, labels } });
  }
  for (const ns of MODEL_NAMESPACES) {
    for (const p of await api.list<Pod>('pods', ns)) {
      const labels = { pod: p.metadata.name ?? '' };
      if (JSON.stringify(p.metadata.labels) !== JSON.stringify(labels)) await api.update('pods', ns, p.metadata.name ?? '', { ...p, metadata: { ...p.metadata, labels } });
    }
  }
}

async function applyStep(s: Step): Promise<void> {
  const api = c.control.api;
  if (s.policies !== undefined) {
    const want = substitute(s.policies);
    const have = (await api.list<NetworkPolicy>('networkpolicies')).filter((p) => (MODEL_NAMESPACES as readonly string[]).includes(p.metadata.namespace ?? ''));
    for (const p of have) if (!want.some((w) => w.namespace === p.metadata.namespace && w.name === p.metadata.name)) await api.delete('networkpolicies', p.metadata.namespace, p.metadata.name ?? '');
    for (const w of want) {
      const obj: NetworkPolicy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: w.name, namespace: w.namespace }, spec: w.spec };
      const old = have.find((p) => p.metadata.namespace === w.namespace && p.metadata.name === w.name);
      if (old === undefined) await api.create('networkpolicies', w.namespace, obj);
      else await api.update('networkpolicies', w.namespace, w.name, { ...obj, metadata: { ...old.metadata } });
    }
  }
  for (const [key, add] of Object.entries(s.podLabels ?? {})) {
    const [ns, name] = key.split('/') as [string, string];
    const p = (await api.list<Pod>('pods', ns)).find((x) => x.metadata.name === name);
    assert.ok(p !== undefined, `no pod ${key}`);
    await api.update('pods', ns, name, { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, ...add } } });
  }
  for (const [name, add] of Object.entries(s.namespaceLabels ?? {})) {
    const n = (await api.list<Namespace>('namespaces')).find((x) => x.metadata.name === name);
    assert.ok(n !== undefined, `no namespace ${name}`);
    await api.update('namespaces', undefined, name, { ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, ...add } } });
  }
  await c.runFor(SETTLE_NS);
}

test('the corpus holds at least 30 scenarios, each with a check', () => {
  assert.ok(scenarios.length >= 30, `${scenarios.length} scenarios`);
  for (const s of scenarios) assert.ok(s.steps.length > 0 && s.steps.every((st) => st.checks.length > 0), s.name);
});

for (const s of scenarios) {
  test(`upstream netpol: ${s.name}`, async () => {
    await reset();
    for (const [i, step] of s.steps.entries()) {
      await applyStep(step);
      for (const check of step.checks) {
        const what = `step ${i + 1}, ${check.protocol}/${check.port}`;
        const want = reachability(check.expect);
        const r = await runPolicyMatrix(c, { namespaces: [...MODEL_NAMESPACES], ports: [check.port], protocols: [check.protocol] });
        assert.deepEqual(r.pods, PODS);
        const got = r.cases[0]!;
        assert.deepEqual(differences(want, got.expected), [], `${what}: the semantics disagree with upstream's expectation`);
        if (!got.measured) continue;
        assert.deepEqual(differences(want, got.observed), [], `${what}: the datapath disagrees with upstream's expectation\n${got.observed.render()}`);
      }
    }
  });
}

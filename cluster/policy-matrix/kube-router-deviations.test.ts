/**
 * Where kube-router's rules and the API's semantics part, the matrix says so. Two cases
 * the differential property (random-policies.test.ts) found, each what kube-router's own
 * code does (pkg/controllers/netpol):
 * - a policy of both types with rules: the pod chain jumps to its chain for every packet
 *   (setupPodNetpolRules, policyType "both"), so between two pods it selects the
 *   source's egress allow also passes the destination's ingress (k3s-io/k3s#2390);
 * - two ipBlock peers in one rule share one hash:net set whose nomatch entries are every
 *   block's excepts, so one block's except also cuts the other block.
 * The matrix reports exactly those cells as disagreements (exit 1 for the CLI).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../cluster.ts';
import { loadClusterSpec } from '../spec.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { NetworkPolicy } from '../../control/api/index.ts';
import { modelManifests, runPolicyMatrix } from './index.ts';

let c: Cluster;
before(async () => {
  c = await Cluster.build({ ...loadClusterSpec('examples/empty-cluster.yaml'), networkPolicy: { enforcer: 'kube-router', syncPeriodNs: 300 * SECOND } }, { manifests: modelManifests(['x', 'y']) });
});
after(async () => {
  await c?.close();
});

async function only(np: NetworkPolicy): Promise<void> {
  for (const p of await c.control.api.list<NetworkPolicy>('networkpolicies')) await c.control.api.delete('networkpolicies', p.metadata.namespace, p.metadata.name ?? '');
  await c.control.api.create('networkpolicies', np.metadata.namespace, np);
  await c.runFor(2 * SECOND);
}

/** The disagreeing cells as "FROM → TO observed" (loopback excluded). */
async function disagreements(): Promise<string[]> {
  const r = await runPolicyMatrix(c, { namespaces: ['x', 'y'], ports: [80], protocols: ['TCP'] });
  const k = r.cases[0]!;
  return r.pods.flatMap((f) => r.pods.filter((t) => t !== f && k.comparison.get(f, t) === false).map((t) => `${f} → ${t} ${k.observed.get(f, t) === true ? 'reachable' : 'refused'}`));
}

test('kube-router: egress allow-all of a both-types policy lets its own pods past its ingress deny', async () => {
  await only({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'in-deny-out-allow', namespace: 'x' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [{}] } });
  assert.deepEqual(await disagreements(), ['x/a → x/b reachable', 'x/a → x/c reachable', 'x/b → x/a reachable', 'x/b → x/c reachable', 'x/c → x/a reachable', 'x/c → x/b reachable']);
});

test('kube-router: two ipBlocks of one rule share their excepts', async () => {
  const ip = (k: string): string => c.podIp(k) as string;
  await only({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'two-blocks', namespace: 'x' },
    spec: { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`${ip('y/a')}/32`] } }, { ipBlock: { cidr: '10.244.0.0/16', except: [`${ip('y/b')}/32`] } }] }] },
  });
  // Each of y/a and y/b is inside the other block, so the API allows both; kube-router's one set excepts both.
  assert.deepEqual(await disagreements(), ['x/a → y/a refused', 'x/a → y/b refused']);
});

/**
 * A differential property beyond upstream's corpus: for random sets of NetworkPolicies
 * over upstream's model (pod and namespace selectors with labels and expressions, their
 * AND/OR forms, ipBlocks with excepts built from pod addresses, numbered and named
 * ports, endPort ranges, TCP and UDP, ingress and egress), the matrix measured through
 * kube-router and the datapath equals the one the independent evaluator computes, on
 * TCP and UDP ports 80 and 81. Any disagreement is shrunk to a small policy set and
 * printed. The enforcer is kube-router (policy/).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Cluster } from '../cluster.ts';
import { loadClusterSpec } from '../spec.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../../control/api/index.ts';
import { MODEL_NAMESPACES, modelManifests, runPolicyMatrix } from './index.ts';

let c: Cluster;
before(async () => {
  c = await Cluster.build({ ...loadClusterSpec('examples/empty-cluster.yaml'), networkPolicy: { enforcer: 'kube-router', syncPeriodNs: 300 * SECOND } }, { manifests: modelManifests() });
});
after(async () => {
  await c?.close();
});

const podName = fc.constantFrom('a', 'b', 'c');
const nsName = fc.constantFrom(...MODEL_NAMESPACES);
const podSelector: fc.Arbitrary<LabelSelector> = fc.oneof(
  fc.constant({}),
  podName.map((p) => ({ matchLabels: { pod: p } })),
  fc.record({ op: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.uniqueArray(podName, { minLength: 1, maxLength: 2 }) }).map(({ op, values }) => ({ matchExpressions: [{ key: 'pod', operator: op, values }] })),
);
const namespaceSelector: fc.Arbitrary<LabelSelector> = fc.oneof(
  fc.constant({}),
  nsName.map((n) => ({ matchLabels: { ns: n } })),
  fc.record({ op: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.uniqueArray(nsName, { minLength: 1, maxLength: 2 }) }).map(({ op, values }) => ({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: op, values }] })),
);
/** `${ip:x/a}` placeholders: pod addresses are known once the cluster runs. */
const podRef = fc.tuple(nsName, podName).map(([n, p]) => `${n}/${p}`);
const peer: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  podSelector.map((s) => ({ podSelector: s })),
  namespaceSelector.map((s) => ({ namespaceSelector: s })),
  fc.tuple(podSelector, namespaceSelector).map(([p, n]) => ({ podSelector: p, namespaceSelector: n })),
  podRef.map((r) => ({ ipBlock: { cidr: `\${ip:${r}}/32` } })),
  fc.uniqueArray(podRef, { minLength: 1, maxLength: 2 }).map((ex) => ({ ipBlock: { cidr: '10.244.0.0/16', except: ex.map((r) => `\${ip:${r}}/32`) } })),
);
const port: fc.Arbitrary<NetworkPolicyPort> = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const), port: fc.constantFrom(80, 81) }),
  fc.constantFrom('TCP' as const, 'UDP' as const).chain((proto) => fc.constantFrom(80, 81).map((n) => ({ protocol: proto, port: `serve-${n}-${proto.toLowerCase()}` }))),
  fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const), port: fc.constant(79), endPort: fc.constantFrom(80, 81) }),
  fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const) }),
);
interface RandomRule { ports: NetworkPolicyPort[] | undefined; peers: NetworkPolicyPeer[] | undefined }
interface RandomPolicy { namespace: string; podSelector: LabelSelector; types: string[] | undefined; ingress: RandomRule[]; egress: RandomRule[] }
/**
 * Left out, where kube-router's answer is not the API's:
 * - a named port beside an ipBlock peer: the API leaves open which port a name means for
 *   an address block; kube-router resolves names only on the pods a rule's selectors
 *   pick, so an ipBlock-only rule allows nothing on a name;
 * - two ipBlock peers in one rule: kube-router puts a rule's blocks into one hash:net set
 *   with every `except` as a nomatch entry, so one block's except also cuts the other.
 */
const rule: fc.Arbitrary<RandomRule> = fc.record({ ports: fc.option(fc.array(port, { minLength: 1, maxLength: 2 }), { nil: undefined }), peers: fc.option(fc.array(peer, { minLength: 1, maxLength: 2 }), { nil: undefined }) })
  .filter((r) => !((r.ports ?? []).some((p) => typeof p.port === 'string') && (r.peers ?? []).some((p) => p.ipBlock !== undefined)))
  .filter((r) => (r.peers ?? []).filter((p) => p.ipBlock !== undefined).length <= 1);
/**
 * One direction per policy, or both with no rules (deny all). kube-router deviates from
 * the API for a policy of both types with rules: its pod chain jumps to such a policy's
 * chain for every packet (setupPodNetpolRules, policyType "both"), so between two pods
 * the policy selects, the source's egress allow also passes the destination's ingress
 * and vice versa (k3s-io/k3s#2390). That case is pinned separately (matrix.test.ts).
 */
const policy: fc.Arbitrary<RandomPolicy> = fc.oneof(
  fc.record({ namespace: nsName, podSelector, types: fc.constantFrom<string[] | undefined>(['Ingress'], undefined), ingress: fc.array(rule, { maxLength: 2 }), egress: fc.constant<RandomRule[]>([]) }),
  fc.record({ namespace: nsName, podSelector, types: fc.constant<string[] | undefined>(['Egress']), ingress: fc.constant<RandomRule[]>([]), egress: fc.array(rule, { maxLength: 2 }) }),
  fc.record({ namespace: nsName, podSelector, types: fc.constant<string[] | undefined>(['Ingress', 'Egress']), ingress: fc.constant<RandomRule[]>([]), egress: fc.constant<RandomRule[]>([]) }),
);
const policies = fc.array(policy, { minLength: 1, maxLength: 3 });

function manifest(p: RandomPolicy, i: number): NetworkPolicy {
  const strip = <T extends object>(o: T): T => JSON.parse(JSON.stringify(o)) as T;
  return strip({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `random-${i}`, namespace: p.namespace },
    spec: {
      podSelector: p.podSelector,
      ...(p.types !== undefined ? { policyTypes: p.types as Array<'Ingress' | 'Egress'> } : {}),
      ingress: p.ingress.map((r) => ({ ...(r.ports !== undefined ? { ports: r.ports } : {}), ...(r.peers !== undefined ? { from: r.peers } : {}) })),
      egress: p.egress.map((r) => ({ ...(r.ports !== undefined ? { ports: r.ports } : {}), ...(r.peers !== undefined ? { to: r.peers } : {}) })),
    },
  });
}

function withAddresses(np: NetworkPolicy): NetworkPolicy {
  return JSON.parse(JSON.stringify(np).replace(/\$\{ip:([a-z]\/[a-z])\}/g, (_m, k: string) => c.podIp(k) as string)) as NetworkPolicy;
}

test('random policies: the matrix through kube-router equals the semantics', async () => {
  await fc.assert(fc.asyncProperty(policies, async (ps) => {
    const api = c.control.api;
    for (const p of await api.list<NetworkPolicy>('networkpolicies')) await api.delete('networkpolicies', p.metadata.namespace, p.metadata.name ?? '');
    const objs = ps.map((p, i) => withAddresses(manifest(p, i)));
    for (const o of objs) await api.create('networkpolicies', o.metadata.namespace, o);
    await c.runFor(2 * SECOND);
    const r = await runPolicyMatrix(c, { namespaces: [...MODEL_NAMESPACES], ports: [80, 81], protocols: ['TCP', 'UDP'] });
    const wrong = r.cases.flatMap((k) => r.pods.flatMap((f) => r.pods.filter((to) => to !== f && k.expected.get(f, to) !== k.observed.get(f, to)).map((to) => `${k.protocol}/${k.port} ${f} → ${to}: policies say ${String(k.expected.get(f, to))}, datapath ${String(k.observed.get(f, to))}`)));
    assert.deepEqual(wrong, [], JSON.stringify(objs.map((o) => ({ ns: o.metadata.namespace, spec: o.spec }))));
  }), { numRuns: 40, seed: 20261207, endOnFailure: false });
});

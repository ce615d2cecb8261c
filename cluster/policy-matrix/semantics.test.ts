/**
 * The independent evaluator of NetworkPolicy semantics, case by case from the API's
 * documentation (networking/v1 types.go): selector operators, isolation by
 * policyTypes, AND/OR peers, ipBlock `except`, named ports resolved on the destination,
 * endPort ranges, the TCP default, hostNetwork pods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedReachable, selectorMatches } from './semantics.ts';
import type { PolicyPod, PolicyWorld } from './semantics.ts';
import type { NetworkPolicy, NetworkPolicySpec } from '../../control/api/index.ts';

const pod = (namespace: string, name: string, ip: string, extra: Partial<PolicyPod> = {}): PolicyPod => ({
  namespace, name, labels: { pod: name }, ip, hostNetwork: false,
  ports: [{ name: 'serve-80-tcp', port: 80, protocol: 'TCP' }, { name: 'serve-81-tcp', port: 81, protocol: 'TCP' }, { name: 'serve-80-udp', port: 80, protocol: 'UDP' }],
  ...extra,
});
const xa = pod('x', 'a', '10.244.1.2');
const xb = pod('x', 'b', '10.244.1.3');
const ya = pod('y', 'a', '10.244.2.2');
const yb = pod('y', 'b', '10.244.2.3');
const np = (namespace: string, name: string, spec: NetworkPolicySpec): NetworkPolicy => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec });
const world = (...policies: NetworkPolicy[]): PolicyWorld => ({
  pods: [xa, xb, ya, yb],
  namespaces: new Map([['x', { ns: 'x', 'kubernetes.io/metadata.name': 'x' }], ['y', { ns: 'y', 'kubernetes.io/metadata.name': 'y' }]]),
  policies,
});

test('label selectors: matchLabels and every operator; empty matches all, an unknown operator nothing', () => {
  const l = { pod: 'a', tier: 'web' };
  assert.equal(selectorMatches({}, l), true);
  assert.equal(selectorMatches({ matchLabels: { pod: 'a' } }, l), true);
  assert.equal(selectorMatches({ matchLabels: { pod: 'b' } }, l), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'b'] }] }, l), true);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['a'] }] }, l), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, l), true);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, l), true);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, l), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Gt' as 'In', values: ['1'] }] }, l), false);
});

test('no policy: everything reaches everything; an empty ingress list isolates only the selected pods', () => {
  assert.equal(expectedReachable(world(), ya, xa, 80, 'TCP'), true);
  const w = world(np('x', 'deny', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] }));
  assert.equal(expectedReachable(w, ya, xa, 80, 'TCP'), false);
  assert.equal(expectedReachable(w, xb, xa, 80, 'UDP'), false);
  assert.equal(expectedReachable(w, ya, xb, 80, 'TCP'), true);
  // Egress of the isolated pod is untouched by an ingress-only policy.
  assert.equal(expectedReachable(w, xa, ya, 80, 'TCP'), true);
});

test('policyTypes absent: Ingress, plus Egress when the spec has egress rules', () => {
  const w = world(np('x', 'e', { podSelector: { matchLabels: { pod: 'a' } }, egress: [{ ports: [{ port: 80 }] }] }));
  assert.equal(expectedReachable(w, xa, ya, 80, 'TCP'), true);
  assert.equal(expectedReachable(w, xa, ya, 81, 'TCP'), false);
  // ...and Ingress with no rules: nothing gets in.
  assert.equal(expectedReachable(w, yb, xa, 80, 'TCP'), false);
});

test('peers: podSelector alone is the policy namespace, both selectors are AND, two peers are OR', () => {
  const and = world(np('x', 'and', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }] }));
  assert.equal(expectedReachable(and, yb, xa, 80, 'TCP'), true);
  assert.equal(expectedReachable(and, ya, xa, 80, 'TCP'), false);
  assert.equal(expectedReachable(and, xb, xa, 80, 'TCP'), false);
  const or = world(np('x', 'or', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }] }] }));
  assert.equal(expectedReachable(or, ya, xa, 80, 'TCP'), true);
  assert.equal(expectedReachable(or, xb, xa, 80, 'TCP'), true);
  assert.equal(expectedReachable(or, xa, xa, 80, 'TCP'), false);
});

test('ports: the TCP default, named ports of the destination, endPort ranges, a protocol with no port', () => {
  const named = world(np('x', 'n', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] }));
  assert.equal(expectedReachable(named, ya, xa, 81, 'TCP'), true);
  assert.equal(expectedReachable(named, ya, xa, 80, 'TCP'), false);
  const udpOnly = world(np('x', 'u', { podSelector: {}, ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] }));
  assert.equal(expectedReachable(udpOnly, ya, xa, 81, 'TCP'), false);
  assert.equal(expectedReachable(udpOnly, ya, xa, 81, 'UDP'), true);
  const range = world(np('x', 'r', { podSelector: {}, ingress: [{ ports: [{ port: 79, endPort: 80 }] }] }));
  assert.equal(expectedReachable(range, ya, xa, 80, 'TCP'), true);
  assert.equal(expectedReachable(range, ya, xa, 81, 'TCP'), false);
  const proto = world(np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP' }] }] }));
  assert.equal(expectedReachable(proto, ya, xa, 81, 'TCP'), true);
  assert.equal(expectedReachable(proto, ya, xa, 80, 'UDP'), false);
  // An egress named port is the destination's port of that name.
  const eg = world(np('x', 'eg', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] }));
  assert.equal(expectedReachable(eg, xa, yb, 80, 'TCP'), true);
  assert.equal(expectedReachable(eg, xa, yb, 81, 'TCP'), false);
});

test('ipBlock: inside the cidr and outside every except', () => {
  const w = world(np('x', 'cidr', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.3/32'] } }] }] }));
  assert.equal(expectedReachable(w, xa, ya, 80, 'TCP'), true);
  assert.equal(expectedReachable(w, xa, yb, 80, 'TCP'), false);
});

test('a hostNetwork pod is not subject to policies', () => {
  const host = pod('x', 'h', '192.168.50.11', { hostNetwork: true, labels: { pod: 'h' } });
  const w = { ...world(np('x', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })), pods: [xa, host] };
  assert.equal(expectedReachable(w, ya, host, 80, 'TCP'), true);
  assert.equal(expectedReachable(w, host, ya, 80, 'TCP'), true);
  assert.equal(expectedReachable(w, host, xa, 80, 'TCP'), false);
});

/**
 * NetworkPolicy events in an experiment file: parsed into typed events with the API's
 * defaults; a bad policy is a located NETSIM_EXP_VALUE error carrying upstream's
 * validation message and field path, before any cluster is built; fields of other
 * actions are refused. Also through the command line: exit 2, one line, no stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExperimentSpecError, parseExperimentSpec } from '../experiment-spec.ts';

const head = `cluster: c.yaml
clients: [{ count: 2, nodes: [node01] }]
target: { kind: ClusterIP, service: default/nginx-service, port: 80 }
modes: [iptables]
rate: 10/s
duration: 4s
events:
`;

function specError(text: string): ExperimentSpecError {
  try {
    parseExperimentSpec(text, 'exp.yaml');
  } catch (e) {
    assert.ok(e instanceof ExperimentSpecError, String(e));
    return e;
  }
  assert.fail('expected an error');
}

test('policy-apply and policy-delete parse into typed events with default labels', () => {
  const s = parseExperimentSpec(`${head}  - at: 1s
    action: policy-apply
    manifest: { apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: { name: deny }, spec: { podSelector: {} } }
  - { at: 3s, action: policy-delete, policy: default/deny }
  - { at: 2s, action: policy-delete, policy: other, label: lifted }
`);
  assert.deepEqual(s.events.map((e) => [e.at / 1e9, e.action, e.label]), [[1, 'policy-apply', 'policy default/deny applied'], [2, 'policy-delete', 'lifted'], [3, 'policy-delete', 'policy default/deny deleted']]);
  const a = s.events[0]!;
  assert.ok(a.action === 'policy-apply');
  assert.deepEqual(a.policy, { namespace: 'default', name: 'deny' });
  assert.deepEqual(a.manifest, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'default' }, spec: { podSelector: {} } });
  assert.deepEqual(s.networkPolicy, { enforcer: undefined });
  assert.deepEqual(parseExperimentSpec(`networkPolicy: { enforcer: kube-router }\n${head}  - { at: 1s, action: policy-delete, policy: p }\n`).networkPolicy, { enforcer: 'kube-router' });
  const d = s.events[1]!;
  assert.ok(d.action === 'policy-delete' && d.policy.namespace === 'default' && d.policy.name === 'other');
});

/** [what, events, path, message]. */
const bad: Array<[string, string, string, RegExp]> = [
  ['a bad CIDR', `  - at: 1s
    action: policy-apply
    manifest:
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: p, namespace: shop }
      spec: { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: 10.0.0.0/8, except: [192.168.0.0/16] } }] }] }
`, 'events.0.manifest', /NetworkPolicy\.networking\.k8s\.io "p" is invalid: spec\.egress\[0\]\.to\[0\]\.ipBlock\.except\[0\]: Invalid value: "192\.168\.0\.0\/16": must be a strict subset of `cidr`/],
  ['port 0', `  - { at: 1s, action: policy-apply, manifest: { apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: { name: p }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] } } }
`, 'events.0.manifest', /spec\.ingress\[0\]\.ports\[0\]\.port: Invalid value: 0: must be between 1 and 65535, inclusive/],
  ['an unknown protocol', `  - { at: 1s, action: policy-apply, manifest: { apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: { name: p }, spec: { podSelector: {}, ingress: [{ ports: [{ protocol: ICMP }] }] } } }
`, 'events.0.manifest', /spec\.ingress\[0\]\.ports\[0\]\.protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"/],
  ['a selector with a bad operator', `  - { at: 1s, action: policy-apply, manifest: { apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: { name: p }, spec: { podSelector: { matchExpressions: [{ key: a, operator: Near }] } } } }
`, 'events.0.manifest', /spec\.podSelector\.matchExpressions\[0\]\.operator: Invalid value: "Near": not a valid selector operator/],
  ['not a NetworkPolicy', `  - { at: 1s, action: policy-apply, manifest: { apiVersion: v1, kind: Pod, metadata: { name: p } } }
`, 'events.0.manifest', /must be a NetworkPolicy/],
  ['policy-delete without a policy', `  - { at: 1s, action: policy-delete }
`, 'events.0', /missing required field "policy" for action policy-delete/],
  ['a field of another action', `  - { at: 1s, action: policy-delete, policy: p, node: node01 }
`, 'events.0.node', /not used with action policy-delete/],
  ['an unknown enforcer for the run', `  - { at: 1s, action: policy-delete, policy: p }
networkPolicy: { enforcer: calico }
`, 'networkPolicy.enforcer', /must be one of "none", "kube-router"/],
  ['a manifest that is no mapping', `  - { at: 1s, action: policy-apply, manifest: deny-all }
`, 'events.0.manifest', /must be object/],
];

for (const [what, events, path, message] of bad) {
  test(`bad policy event: ${what} → NETSIM_EXP_*, located`, () => {
    const e = specError(head + events);
    assert.ok(e.code === 'NETSIM_EXP_VALUE' || e.code === 'NETSIM_EXP_SCHEMA', e.code);
    assert.equal(e.path, path);
    assert.match(e.message, message);
    assert.match(e.message, /^exp\.yaml:\d+:\d+: /);
  });
}

test('netsim experiment with a bad policy event exits 2 with one coded line, before building anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-policy-event-'));
  const f = join(dir, 'exp.yaml');
  writeFileSync(f, `${head}  - { at: 1s, action: policy-apply, manifest: { apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: { name: p }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] } } }\n`);
  const r = spawnSync(process.execPath, ['bin/netsim.mjs', 'experiment', f], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^netsim: NETSIM_EXP_VALUE: .*exp\.yaml:8:\d+: events\.0\.manifest: NetworkPolicy\.networking\.k8s\.io "p" is invalid: spec\.ingress\[0\]\.ports\[0\]\.port: Invalid value: 0/);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
});

/**
 * NetworkPolicy events in a running experiment, through kube-router (the experiment's
 * `networkPolicy.enforcer`) and the real datapath (examples/experiments/policy-deny-mid-run.yaml): a deny applied mid-run lets
 * every connection established before it finish (its conntrack entry is ESTABLISHED, so
 * the enforcer's stateful rule accepts it) and refuses every connection opened after
 * it; deleting the policy lets new connections through again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadExperimentSpec, parseExperimentSpec } from '../experiment-spec.ts';
import { runExperiment } from './index.ts';

test('policy-deny-mid-run: established connections outlive the deny, new ones are refused', async () => {
  const exp = loadExperimentSpec('examples/experiments/policy-deny-mid-run.yaml');
  const r = (await runExperiment(exp)).runs[0]!;
  const deny = r.events.find((e) => e.label === 'deny ingress to the backend');
  assert.ok(deny !== undefined, JSON.stringify(r.events));
  assert.ok(deny.across !== undefined && deny.across.connections >= 3, `connections in progress at the deny: ${JSON.stringify(deny.across)}`);
  assert.equal(deny.across.served, deny.across.connections, 'every established connection is served to its last request');
  assert.ok(deny.since !== undefined && deny.since.connections >= 35, JSON.stringify(deny.since));
  assert.equal(deny.since.served, 0, 'no connection opened after the deny is served');
  // Every failure is a connection opened after the deny: refused, not black-holed (the enforcer rejects).
  assert.equal(r.failed + r.blackholed, deny.since.connections);
  assert.equal(r.connections - r.failed - r.blackholed, r.connections - deny.since.connections);
  // The windows say the same: failures only from the deny on.
  for (const w of r.windows.rows) {
    if (w.t + r.windows.widthNs <= 1e9) assert.equal(w.failed + w.blackholed, 0, `window at ${w.t}`);
    else if (w.t >= 1e9) assert.equal(w.counts.reduce((s, n) => s + n, 0), 0, `window at ${w.t}`);
  }
});

test('policy-delete: connections opened after the policy is gone are served again', async () => {
  const exp = parseExperimentSpec(`apiVersion: netsim/v1
kind: Experiment
metadata: { name: policy-delete }
cluster: examples/seed-cluster.yaml
networkPolicy: { enforcer: kube-router }
clients: [{ name: pods, count: 4, nodes: [node01] }]
target: { kind: ClusterIP, service: default/backend, port: 80 }
modes: [iptables]
rate: 40/s
arrival: constant
duration: 3s
events:
  - at: 1s
    action: policy-apply
    manifest: { apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: { name: deny }, spec: { podSelector: { matchLabels: { app: backend } } } }
  - { at: 2s, action: policy-delete, policy: default/deny }
`);
  const r = (await runExperiment(exp)).runs[0]!;
  const [applied, deleted] = [r.events.find((e) => e.label === 'policy default/deny applied'), r.events.find((e) => e.label === 'policy default/deny deleted')];
  assert.ok(applied?.since !== undefined && deleted?.since !== undefined, JSON.stringify(r.events));
  assert.equal(applied.since.served, 0);
  assert.ok(applied.since.connections >= 35);
  assert.ok(deleted.since.connections >= 35);
  // kube-router hears of the deletion and resyncs at once: every connection opened after it is served.
  assert.equal(deleted.since.served, deleted.since.connections, JSON.stringify(deleted.since));
});

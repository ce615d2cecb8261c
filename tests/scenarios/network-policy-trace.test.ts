/**
 * Traces and flows name the NetworkPolicy: a denied connection's drop has reason
 * `policy-denied` and says which policy denied it, in which direction; an allowed
 * one names the allowing policy and rule; `netsim observe --verdict DROPPED` prints
 * the policy. The names come from the rule comments kube-router wrote, looked up in
 * its last sync (policy/explain.ts).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../cluster/cluster.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { LiveFlows, registerFlowRoutes } from '../../observe/index.ts';
import { observeCommand } from '../../cli/commands/observe.ts';
import { buildPolicyCluster, policy } from '../support/policy-cluster.ts';

let c: Cluster;
before(async () => {
  c = await buildPolicyCluster();
  await c.apply([
    policy('shop', 'deny-all', '{"podSelector":{}}'),
    policy('shop', 'allow-clients', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"ports":[{"port":81}]},{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}],"ports":[{"port":"http"}]}]}'),
    policy('other', 'no-egress', '{"podSelector":{},"policyTypes":["Egress"]}'),
  ]);
});
after(async () => {
  await c.close();
});

const trace = (from: string, to: string, port: number): ReturnType<typeof runTrace> => runTrace(c, resolveEndpoint(from, c), resolveEndpoint(to, c), { proto: 'tcp', port });

test('a denied connection: drop reason policy-denied, the hop names the policy and the direction (ingress, default deny)', () => {
  const t = trace('pod:shop/client', 'pod:shop/web', 8080);
  assert.equal(t.report.drop?.reason, 'policy-denied');
  assert.match(t.report.drop?.detail ?? '', /^filter KUBE-POD-FW-[A-Z2-7]{16}:\d+ REJECT --reject-with icmp-port-unreachable: dropped by NetworkPolicies shop\/allow-clients, shop\/deny-all \(ingress, default deny\)$/);
  const hop = t.report.hops.find((h) => h.component === 'netfilter' && /REJECT/.test(h.detail));
  assert.ok(hop !== undefined);
  assert.match(hop.detail, /dropped by NetworkPolicies shop\/allow-clients, shop\/deny-all \(ingress, default deny\)/);
  assert.match(t.report.reply?.icmpError ?? t.report.icmpError ?? '', /^ICMP port unreachable from /, 'kube-router REJECTs: the client hears a port unreachable');
});

test('egress default deny names the policy with direction egress', () => {
  const t = trace('pod:other/client', 'pod:shop/far', 80);
  assert.equal(t.report.drop?.reason, 'policy-denied');
  assert.match(t.report.drop?.detail ?? '', /dropped by NetworkPolicy other\/no-egress \(egress, default deny\)$/);
});

test('an allowed connection names the allowing policy and rule; the reply passes as established', () => {
  const t = trace('pod:shop/client', 'pod:shop/web', 80);
  assert.equal(t.report.drop, undefined);
  const allow = t.report.hops.filter((h) => h.component === 'netfilter' && /allowed by NetworkPolicy/.test(h.detail));
  assert.ok(allow.length > 0, 'a hop names the allowing rule');
  assert.match(allow[0]?.detail ?? '', /-j MARK: allowed by NetworkPolicy shop\/allow-clients \(ingress rule 2: from pods\)/);
  const reply = t.report.reply?.hops.filter((h) => h.component === 'netfilter' && /established connection/.test(h.detail)) ?? [];
  assert.ok(reply.length > 0, 'the SYN-ACK passes the common chain\'s ESTABLISHED accept');
  // Port 81 is open to any source (rule 1, no from): other/client's own egress is denied first, shop/far gets in.
  const any = trace('pod:shop/far', 'pod:shop/web', 81);
  assert.equal(any.report.drop, undefined);
  assert.ok(any.report.hops.some((h) => /allowed by NetworkPolicy shop\/allow-clients \(ingress rule 1: from anywhere\)/.test(h.detail)));
  // The egress side of shop/far has no policy: the default chain says so.
  assert.ok(any.report.hops.some((h) => /allowed: no NetworkPolicy selects shop\/far for egress/.test(h.detail)));
});

test('netsim observe --verdict DROPPED shows the denying policy; the JSON flow carries it', async () => {
  const live = new LiveFlows(c, (t) => Date.UTC(2026, 0, 1) + t / 1e6);
  await live.refresh();
  const close = registerFlowRoutes(c.control.app, live.hub);
  const base = await c.control.app.listen({ host: '127.0.0.1', port: 0 });
  try {
    trace('pod:shop/client', 'pod:shop/web', 8080);
    let printed = '';
    assert.equal(await observeCommand({ server: base, last: 500, verdict: 'DROPPED', output: 'compact', colour: false }, (s) => { printed += s; }), 0);
    assert.match(printed, /shop\/client:\d+ -> shop\/web:8080 DROPPED policy-denied \(TCP Flags: SYN\) \[filter KUBE-POD-FW-[A-Z2-7]{16}:\d+ REJECT\] dropped by NetworkPolicies shop\/allow-clients, shop\/deny-all \(ingress, default deny\)/);
    let json = '';
    assert.equal(await observeCommand({ server: base, last: 500, verdict: 'DROPPED', output: 'json', colour: false }, (s) => { json += s; }), 0);
    const flow = json.trim().split('\n').map((l) => JSON.parse(l) as { policy?: string; dropReason?: string }).find((f) => f.dropReason === 'policy-denied');
    assert.equal(flow?.policy, 'dropped by NetworkPolicies shop/allow-clients, shop/deny-all (ingress, default deny)');
  } finally {
    close();
    live.close();
  }
});

/**
 * Sharing between nodes (spec `scale.share`, netsim/netfilter/iptables/share.ts) is
 * unobservable: a cluster with every feature — three nodes, kube-router's NetworkPolicy
 * enforcer, cluster DNS, a LoadBalancer Service with externalTrafficPolicy Local (so
 * the nodes' rulesets differ), a Service with ClientIP affinity, NodePorts, masquerading — built and driven the same way
 * with sharing on and off gives the same outputs by hash, in each proxy mode: every
 * node view of every node (iptables-save, iptables -L -v, nft, ipvsadm, ipsets,
 * conntrack, routes, …), `iptables-save -c` with every counter, the trace events and
 * the pcapng bytes of each flow; and `netsim verify` reports the same (where it can run).
 * Each mode checks that its share engaged (iptables chains and restores loaded from a
 * plan, nf_tables statements, ipsets, virtual services).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import type { ProxyMode } from '../../cluster/spec.ts';
import { runFlows, seedFlowPlans } from '../../cluster/demo-flows.ts';
import { nodeViewNames } from '../../cluster/node-views.ts';
import type { Service } from '../../control/api/service.ts';
import { verifyNode } from '../../cluster/verify/verify.ts';
import { reportJson } from '../../cluster/verify/report.ts';
import { netnsUnavailableReason } from '../../cluster/verify/raw/netns.ts';
import { seedSpecText } from '../support/spec-cluster.ts';
import { SOLO_LOCAL_LB } from '../support/solo-local-lb.ts';
import { policy } from '../support/policy-cluster.ts';
import { parseManifests } from '../../cluster/spec.ts';

const sha = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

/** The seed with a third node, kube-router, a load-balancer pool, the mode, and `scale.share`. */
function specText(mode: ProxyMode, share: boolean): string {
  const t = seedSpecText({ mode, runtime: 'cni', networkExtra: '  loadBalancerPool: [198.51.100.0/28]' })
    .replace('  - name: node02\n    address: 192.168.50.12\n', '  - name: node02\n    address: 192.168.50.12\n  - name: node03\n    address: 192.168.50.13\n');
  assert.ok(t.includes('node03'));
  const i = t.indexOf('manifests: |\n');
  return `${t.slice(0, i)}networkPolicy: { enforcer: kube-router }\nscale: { share: ${share} }\n${t.slice(i)}`;
}

/** Only the outside may reach the solo pod, on port 80. */
const SOLO_POLICY = policy('default', 'solo-from-outside', '{"podSelector":{"matchLabels":{"app":"solo"}},"policyTypes":["Ingress"],"ingress":[{"from":[{"ipBlock":{"cidr":"203.0.113.0/24"}}],"ports":[{"port":80}]}]}');

/** The nginx pods again behind ClientIP affinity (recent lists in iptables mode, affinity sets in nftables, persistence in IPVS). */
const STICKY = parseManifests(`
apiVersion: v1
kind: Service
metadata: {name: nginx-sticky}
spec:
  selector: {app: nginx}
  sessionAffinity: ClientIP
  ports: [{port: 80}]
`);

async function build(mode: ProxyMode, share: boolean, apps = true): Promise<Cluster> {
  return Cluster.build(parseClusterSpec(specText(mode, share), 'share.yaml'), { manifests: [...SOLO_LOCAL_LB, SOLO_POLICY, ...STICKY], apps });
}

/** Flows (traces and captures), then every view of every node and every counter, as one digest per part. */
async function drive(mode: ProxyMode, share: boolean): Promise<{ parts: Record<string, string>; shared: number; nftShared: number; ipsetHits: number; ipvsHits: number; planned: number; textHits: number }> {
  const c = await build(mode, share);
  try {
    const lb = (await c.control.api.list<Service>('services')).find((s) => s.metadata.name === 'solo-local')?.status?.loadBalancer?.ingress?.[0]?.ip;
    assert.ok(lb !== undefined, 'the LoadBalancer Service got an address');
    const flows = await runFlows(c, [
      ...seedFlowPlans(c),
      { title: 'outside → LoadBalancer, Local policy', from: 'external:client', to: `ip:${lb}`, kind: 'http', port: 80 },
      { title: 'pod → LoadBalancer Service, refused by the policy', from: 'pod:webapp01', to: 'service:default/solo-local:80', kind: 'http', port: 80 },
      { title: 'pod → ClientIP-affinity Service', from: 'pod:webapp01', to: 'service:default/nginx-sticky:80', kind: 'http', port: 80 },
      { title: 'pod → ClientIP-affinity Service again', from: 'pod:webapp01', to: 'service:default/nginx-sticky:80', kind: 'http', port: 80 },
    ]);
    const parts: Record<string, string> = {};
    for (const f of flows) {
      parts[`${f.title} trace`] = sha(JSON.stringify(f.events, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
      parts[`${f.title} pcapng`] = sha(f.pcapng);
      parts[`${f.title} outcome`] = f.outcome;
    }
    for (const node of c.clusterNodes.keys()) {
      for (const view of nodeViewNames()) parts[`${node} ${view}`] = sha(c.nodeView(node, view) ?? '');
      parts[`${node} iptables-save -c`] = sha(c.clusterNodes.get(node)?.netfilter.iptables.save({ counters: true }) ?? '');
    }
    // What sharing did: chains whose rules one node holds in the same array as another.
    let shared = 0;
    const a = c.clusterNodes.get('node01')?.netfilter.iptables;
    const b = c.clusterNodes.get('node02')?.netfilter.iptables;
    for (const ch of a?.chains() ?? []) {
      const other = [...(b?.chains() ?? [])].find((x) => x.name === ch.name);
      if (ch.rules.length > 0 && other?.rules === ch.rules) shared++;
    }
    // And nf_tables rules holding the same statements (nftables mode's kube-proxy table).
    let nftShared = 0;
    const na = c.clusterNodes.get('node01')?.netfilter.nft.ruleset.tables.get('ip kube-proxy');
    const nb = c.clusterNodes.get('node02')?.netfilter.nft.ruleset.tables.get('ip kube-proxy');
    for (const [name, ch] of na?.chains ?? []) ch.rules.forEach((r, i) => { if (nb?.chains.get(name)?.rules[i]?.stmts === r.stmts) nftShared++; });
    return { parts, shared, nftShared, ipsetHits: c.ipsetShare?.stats().hits ?? 0, ipvsHits: c.ipvsShare?.stats().hits ?? 0, planned: c.iptablesShare?.stats().planned ?? 0, textHits: c.proxyObjects?.ruleFragments.textHits ?? 0 };
  } finally {
    await c.close();
  }
}

for (const mode of ['iptables', 'ipvs', 'nftables'] as const) {
  test(`kube-proxy ${mode}: every node's views and counters, the flows' traces and captures are identical with sharing on and off`, async () => {
    const on = await drive(mode, true);
    const off = await drive(mode, false);
    assert.equal(off.shared, 0);
    assert.ok(on.shared > 0, 'nodes shared chains');
    assert.equal(off.nftShared, 0);
    // Nodes whose kube-proxy wrote a text another node had committed loaded it from its plan (restore-plan.ts).
    if (mode === 'iptables') assert.ok(on.planned > 0, `restores loaded from a plan (${on.planned})`);
    // And wrote a text another node had built, by its fragments' ids (proxy/iptables/rule-fragments.ts).
    if (mode === 'iptables') assert.ok(on.textHits > 0, `restore texts served by key (${on.textHits})`);
    assert.equal(off.textHits, 0);
    if (mode === 'nftables') assert.ok(on.nftShared > 20, `nodes shared nf_tables rules (${on.nftShared})`);
    if (mode === 'ipvs') assert.ok(on.ipsetHits > 3 && on.ipvsHits > 3, `nodes shared ipsets (${on.ipsetHits}) and virtual services (${on.ipvsHits})`);
    assert.ok(Object.keys(on.parts).length > 60);
    assert.match(on.parts['outside → LoadBalancer, Local policy outcome'] ?? '', /HTTP 200/);
    assert.doesNotMatch(on.parts['pod → LoadBalancer Service, refused by the policy outcome'] ?? '', /HTTP 200/);
    assert.match(on.parts['pod → ClientIP-affinity Service again outcome'] ?? '', /HTTP 200/);
    assert.deepEqual(on.parts, off.parts);
  });
}

const why = netnsUnavailableReason();
if (why !== undefined) console.log(`# share verify test skipped: ${why}`);

test('netsim verify reports the same on node02 with sharing on and off', { skip: why ?? false }, async () => {
  const report = async (share: boolean): Promise<string> => {
    const c = await build('iptables', share, false);
    try {
      const r = await verifyNode(c, { node: 'node02', samples: 10, randomProbes: 0, suites: ['pod-pod', 'pod-remote', 'node-clusterip', 'external-nodeport', 'no-endpoint'] });
      assert.ok(r.probes > 10);
      return reportJson(r);
    } finally {
      await c.close();
    }
  };
  assert.equal(sha(await report(true)), sha(await report(false)));
});

/**
 * `netsim verify` on a node with NetworkPolicies: the real kernel, loaded with the same
 * iptables ruleset and ipsets (`ipset restore` of the emulator's `ipset save`, then
 * iptables-restore), answers every probe as the emulator does — pod-to-pod traffic
 * REJECTed by kube-router's pod chains, allowed through its policy chains' ipset
 * matches, an ipBlock `except` as a `nomatch` entry. Needs root, `ip netns`,
 * iptables-restore, ipset and the raw-socket addon; skips with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import { netnsUnavailableReason } from '../../cluster/verify/raw/netns.ts';
import { verifyNode } from '../../cluster/verify/verify.ts';
import { policySpecText, policy } from '../support/policy-cluster.ts';

const ipsetMissing = spawnSync('ipset', ['--version'], { encoding: 'utf8' }).status !== 0 ? 'ipset is not installed' : undefined;
const why = netnsUnavailableReason() ?? ipsetMissing;
if (why !== undefined) console.log(`# network policy verify tests skipped: ${why}`);

for (const runtime of ['docker', 'cni'] as const) {
  test(`a node enforcing NetworkPolicies (${runtime}) agrees with its real twin: pod-pod, pod-remote and 200 random probes`, { skip: why ?? false }, async () => {
    const c = await Cluster.build(parseClusterSpec(policySpecText({ runtime }), 'policy-verify.yaml'), { apps: false });
    try {
      const web = c.podIp('shop/web') as string;
      const far = c.podIp('shop/far') as string;
      await c.apply([
        policy('shop', 'deny-all', '{"podSelector":{}}'),
        policy('shop', 'allow-clients', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}],"ports":[{"port":"http"},{"port":53,"protocol":"UDP"}]}]}'),
        policy('shop', 'blocks', JSON.stringify({ podSelector: { matchLabels: { app: 'client' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: [far.replace(/\.\d+$/, '.0/24')] } }] }], egress: [{ to: [{ ipBlock: { cidr: `${web}/32` } }] }] })),
      ]);
      const sets = c.nodeView('node01', 'ipset-save') ?? '';
      assert.match(sets, / nomatch\n/, 'the except is a nomatch entry');
      const r = await verifyNode(c, { node: 'node01', samples: 4, randomProbes: 200, suites: ['pod-pod', 'pod-remote', 'random'] });
      assert.ok(r.probes > 20, `only ${r.probes} probes`);
      assert.deepEqual(r.disagreements.map((d) => `${d.suite}: ${d.description}: ${d.reason}`), []);
    } finally {
      await c.close();
    }
  });
}

test('the comparison sees the policy state: emptying one policy set in the emulator only is a disagreement on the pair it allowed', { skip: why ?? false }, async () => {
  const c = await Cluster.build(parseClusterSpec(policySpecText(), 'policy-verify.yaml'), { apps: false });
  try {
    await c.apply([
      policy('shop', 'deny-all', '{"podSelector":{}}'),
      policy('shop', 'allow-clients', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}]}]}'),
    ]);
    const sets = c.clusterNodes.get('node01')?.ipsets;
    assert.ok(sets !== undefined);
    // The ingress rule's source set (the allowed clients): the only KUBE-SRC- set with entries.
    const src = sets.names().find((n) => n.startsWith('KUBE-SRC-') && / timeout 0\n/.test(sets.list(n)));
    assert.ok(src !== undefined);
    const r = await verifyNode(c, { node: 'node01', samples: 4, randomProbes: 0, suites: ['pod-pod'], tamper: () => sets.flush(src) });
    const lines = r.disagreements.map((d) => d.description);
    assert.ok(lines.some((l) => /^shop\/client → shop\/web \(tcp\)/.test(l)), lines.join('\n'));
  } finally {
    await c.close();
  }
});

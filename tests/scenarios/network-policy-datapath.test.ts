/**
 * The enforcer in a running cluster: policies applied through the API, probes sent
 * through the emulated datapath (same-node traffic over the bridge, cross-node over
 * flannel's VXLAN), answers as a client sees them — connected, or refused by the
 * pod chain's REJECT (ICMP port unreachable).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../cluster/cluster.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { buildPolicyCluster, policy, tcpProbe } from '../support/policy-cluster.ts';

let c: Cluster;
before(async () => {
  c = await buildPolicyCluster();
});
after(async () => {
  await c.close();
});

async function withPolicies(list: Array<Record<string, unknown>>, body: () => Promise<void>): Promise<void> {
  await c.apply(list);
  try {
    await body();
  } finally {
    for (const p of list) {
      const m = p['metadata'] as { name: string; namespace: string };
      await c.control.api.delete('networkpolicies', m.namespace, m.name);
    }
    await c.runFor(SECOND);
  }
}

test('no policy: every pod reaches shop/web on 80, from the same node and across nodes', async () => {
  assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'connected');
  assert.equal(await tcpProbe(c, 'shop/far', 'shop/web', 80), 'connected');
  assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'connected');
});

test('default deny ingress: new connections to the selected pods are refused; egress from them is not affected', async () => {
  await withPolicies([policy('shop', 'deny-all', '{"podSelector":{}}')], async () => {
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'refused');
    assert.equal(await tcpProbe(c, 'shop/far', 'shop/web', 80), 'refused');
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'refused');
    // shop/web's own egress, and the reply, pass (its chain has no egress policy: the default chain marks it).
    assert.equal(await tcpProbe(c, 'shop/web', 'other/client', 80), 'refused', 'other/client serves nothing: a TCP RST, not a policy REJECT');
  });
  assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'connected', 'deleting the policy restores access');
});

test('allow from podSelector: only the selected pods of the policy\'s namespace get in', async () => {
  await withPolicies([
    policy('shop', 'deny-all', '{"podSelector":{}}'),
    policy('shop', 'allow-clients', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}]}]}'),
  ], async () => {
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'connected');
    assert.equal(await tcpProbe(c, 'shop/far', 'shop/web', 80), 'connected', 'a selected pod on the other node');
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'refused', 'same labels, other namespace');
  });
});

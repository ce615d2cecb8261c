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
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'rejected');
    assert.equal(await tcpProbe(c, 'shop/far', 'shop/web', 80), 'rejected');
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'rejected');
    // shop/web's own egress, and the reply, pass (its chain has no egress policy: the default chain marks it).
    assert.equal(await tcpProbe(c, 'shop/web', 'other/client', 80), 'refused', 'other/client serves nothing: its RST comes back, no policy REJECT');
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
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'rejected', 'same labels, other namespace');
  });
});

test('namespaceSelector AND podSelector in one peer: pods with those labels in namespaces with those labels; as two peers: either', async () => {
  await withPolicies([policy('shop', 'from-other-clients', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"other"}},"podSelector":{"matchLabels":{"app":"client"}}}]}]}')], async () => {
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'connected');
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'rejected', 'right labels, namespace not team=other');
  });
  await withPolicies([policy('shop', 'either', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"other"}}},{"podSelector":{"matchLabels":{"app":"nobody"}}}]}]}')], async () => {
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'connected', 'any pod of a team=other namespace');
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'rejected');
  });
});

test('a namespace relabelled: the enforcer resyncs and the namespaceSelector follows', async () => {
  await withPolicies([policy('shop', 'from-team-x', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"x"}}}]}]}')], async () => {
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'rejected');
    await c.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other', labels: { team: 'x' } } }]);
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'connected');
    await c.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other', labels: { team: 'other' } } }]);
  });
});

test('ipBlock with except: the excepted range (ipset nomatch) is refused, the rest of the block gets in', async () => {
  const far = c.podIp('shop/far') as string;
  const near = c.podIp('shop/client') as string;
  const farNet = far.replace(/\.\d+$/, '.0/24');
  await withPolicies([policy('shop', 'block', JSON.stringify({ podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: [farNet] } }] }] }))], async () => {
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'connected', `${near} is inside 10.244.0.0/16`);
    assert.equal(await tcpProbe(c, 'shop/far', 'shop/web', 80), 'rejected', `${far} is inside the except ${farNet}`);
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'rejected', 'also on node02');
    const sets = c.nodeView('node01', 'ipset') ?? '';
    assert.match(sets, new RegExp(`\\n${farNet.replace(/\./g, '\\.')} timeout 0 nomatch\\n`));
  });
});

test('named port and endPort: only the named port, or only the range, is open', async () => {
  await withPolicies([policy('shop', 'http-only', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"ports":[{"port":"http"}]}]}')], async () => {
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'connected', '"http" is containerPort 80');
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 81), 'rejected');
  });
  await withPolicies([policy('shop', 'range', '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"ports":[{"port":79,"endPort":81}]}]}')], async () => {
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'connected');
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 81), 'connected');
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 82), 'rejected', 'outside 79-81');
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 79), 'refused', 'inside the range, nothing listens: the RST comes back');
  });
});

test('egress deny: the selected pods cannot open connections, others still reach them; egress to an ipBlock opens only that block', async () => {
  await withPolicies([policy('shop', 'no-egress', '{"podSelector":{"matchLabels":{"app":"client"}},"policyTypes":["Egress"]}')], async () => {
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'rejected', 'same node');
    assert.equal(await tcpProbe(c, 'shop/far', 'shop/web', 80), 'rejected', 'across nodes: refused on the sender\'s node');
    assert.equal(await tcpProbe(c, 'other/client', 'shop/web', 80), 'connected', 'not selected');
  });
  const web = c.podIp('shop/web') as string;
  await withPolicies([policy('shop', 'egress-to-web', JSON.stringify({ podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: `${web}/32` } }], ports: [{ port: 80 }] }] }))], async () => {
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 80), 'connected');
    assert.equal(await tcpProbe(c, 'shop/client', 'shop/web', 81), 'rejected', 'port not in the rule');
    assert.equal(await tcpProbe(c, 'shop/client', 'node:node02', 8080), 'rejected', 'address not in the block');
  });
});

test('host-network pods are not subject; the node reaches its pods past a deny (kubelet probes)', async () => {
  await withPolicies([policy('other', 'deny-all', '{"podSelector":{}}'), policy('shop', 'deny-all', '{"podSelector":{}}')], async () => {
    assert.equal(await tcpProbe(c, 'shop/client', 'node:node02', 8080), 'connected', 'other/host serves on the node\'s address; no pod chain is written for it');
    assert.ok(!(c.nodeView('node02', 'iptables-save') ?? '').includes('POD name:host namespace: other'), 'no rule names other/host');
    assert.equal(await tcpProbe(c, 'shop/client', 'other/client', 80), 'rejected', 'a normal pod of the same namespace is');
    assert.equal(await tcpProbe(c, 'node:node01', 'shop/web', 80), 'connected', 'node01 → its own pod: the addrtype LOCAL accept');
    assert.equal(await tcpProbe(c, 'node:node02', 'shop/web', 80), 'rejected', 'another node is not the pod\'s local node');
  });
});

test('stateful: a connection opened before a deny keeps flowing through conntrack ESTABLISHED; a new one is rejected', async () => {
  const from = c.pods.get('shop/far')?.ns;
  const web = c.pods.get('shop/web')?.ip;
  assert.ok(from !== undefined && web !== undefined);
  const conn = from.tcp.connect(web, 80);
  let received = '';
  let closed = '';
  conn.onData = (d) => { received += new TextDecoder().decode(d); };
  conn.onClose = (r) => { closed = r; };
  const get = (): void => conn.send('GET / HTTP/1.1\r\nHost: web\r\n\r\n');
  conn.onConnect = get;
  await c.runFor(SECOND);
  const answers = (): number => received.split('HTTP/1.1 200 OK').length - 1;
  assert.equal(answers(), 1, 'the first request is answered');
  await c.apply([policy('shop', 'deny-all', '{"podSelector":{}}')]);
  try {
    assert.ok(c.clusterNodes.get('node01')?.networkPolicy?.last?.restoreText.includes('run through nw policy deny-all'), 'the deny is in force on the pod\'s node');
    get();
    await c.runFor(SECOND);
    assert.equal(answers(), 2, 'the established connection still gets its answer');
    assert.equal(closed, '');
    assert.equal(await tcpProbe(c, 'shop/far', 'shop/web', 80), 'rejected', 'a new connection is refused');
    get();
    await c.runFor(SECOND);
    assert.equal(answers(), 3, 'and the old one goes on');
  } finally {
    conn.abort();
    await c.control.api.delete('networkpolicies', 'shop', 'deny-all');
    await c.runFor(SECOND);
  }
});

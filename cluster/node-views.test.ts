import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './cluster.ts';
import { nodeViewNames, registerNodeView } from './node-views.ts';
import { nodeCommand } from '../cli/commands/node.ts';
import { IPVSADM_LIST_HEADER } from '../netsim/ipvs/ipvs.ts';
import { ipRoute } from '../netsim/tools/ip.ts';
import { seedSpec } from '../tests/support/spec-cluster.ts';

test('node views: every registered view prints on an iptables-mode node; for a part the node lacks, netsim node prints what the real tool does', async () => {
  const cluster = await Cluster.build(seedSpec({ mode: 'iptables' }));
  try {
    const print = (v: string): string => {
      let out = '';
      assert.equal(nodeCommand(cluster, 'node01', v, (s) => { out += s; }), 0, v);
      return out;
    };
    for (const v of nodeViewNames()) assert.equal(typeof print(v), 'string', v);
    // No IPVS here: the cluster has no such view, and `ipvsadm -Ln` prints its header and an empty table, `ipset list` nothing.
    assert.equal(cluster.nodeView('node01', 'ipvsadm'), undefined);
    assert.equal(print('ipvsadm'), IPVSADM_LIST_HEADER.join('\n') + '\n');
    assert.equal(print('ipset'), '');
    assert.equal(cluster.nodeView('node01', 'route'), ipRoute(cluster.nodes.get('node01')!));
    assert.equal(cluster.nodeView('node01', 'nope'), undefined);
    assert.equal(cluster.nodeView('node09', 'route'), undefined);
    // The CLI offers exactly the registry's views.
    assert.throws(() => nodeCommand(cluster, 'node01', 'routes', () => {}), /unknown view "routes"; did you mean "route"/);
    assert.throws(() => registerNodeView('route', { render: () => '' }), /registered twice/);
  } finally {
    await cluster.close();
  }
});

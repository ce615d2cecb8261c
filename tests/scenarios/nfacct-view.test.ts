/**
 * kube-proxy's nfacct counters on a running cluster (iptables mode) and `netsim node
 * NODE nfacct`, which prints them as `nfacct list` does: a connection from the node to
 * 127.0.0.1:NODEPORT counts in localhost_nps_accepted_pkts, a packet conntrack finds
 * INVALID on its way through counts in ct_state_invalid_dropped_pkts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../cluster/cluster.ts';
import { httpGet } from '../../netsim/apps/http.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { nodeCommand } from '../../cli/commands/node.ts';
import { seedSpec } from '../support/spec-cluster.ts';

const counter = (text: string, name: string): { pkts: number; bytes: number } => {
  const m = new RegExp(`^\\{ pkts = (\\d+), bytes = (\\d+) \\} = ${name};$`, 'm').exec(text);
  assert.ok(m !== null, `${name} in:\n${text}`);
  return { pkts: Number(m[1]), bytes: Number(m[2]) };
};

test('netsim node NODE nfacct: kube-proxy\'s counters, and a localhost NodePort connection counted', async () => {
  const cluster = await Cluster.build(seedSpec({ mode: 'iptables' }));
  try {
    await cluster.runFor(2e9);
    let out = '';
    assert.equal(nodeCommand(cluster, 'node01', 'nfacct', (s) => { out += s; }), 0);
    assert.match(out, /^\{ pkts = 0{20}, bytes = 0{20} \} = ct_state_invalid_dropped_pkts;\n\{ pkts = 0{20}, bytes = 0{20} \} = localhost_nps_accepted_pkts;\n$/);
    assert.match(cluster.nodeView('node01', 'iptables-save') ?? '', /-A KUBE-NODEPORTS -d 127\.0\.0\.0\/8 .*--dport 30000 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-/);

    const node = cluster.nodes.get('node01')!;
    const s = httpGet(node, parseIpv4('127.0.0.1'), 30000);
    await cluster.runFor(2e9);
    assert.equal(s.results[0]?.status, 200, `node01 → 127.0.0.1:30000: ${s.error ?? ''} ${s.errorDetail}`);
    const c = counter(cluster.nodeView('node01', 'nfacct') ?? '', 'localhost_nps_accepted_pkts');
    assert.equal(c.pkts, 1, 'the NAT rule sees the connection\'s first packet only');
    assert.equal(c.bytes, 44, 'the SYN: 20 + 24 bytes (the emulated TCP sends MSS only; Linux adds SACK, timestamps and window scale: 60)');
    assert.equal(counter(cluster.nodeView('node02', 'nfacct') ?? '', 'localhost_nps_accepted_pkts').pkts, 0, 'the other node counted nothing');
  } finally {
    await cluster.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseClusterSpec } from './spec.ts';
import { buildUnderlay } from './underlay.ts';
import { ping } from '../netsim/apps/ping.ts';
import { ipRoute } from '../netsim/tools/ip.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';

test('the seed spec builds nodes on the underlay, a router and an outside client that reaches them', () => {
  const spec = parseClusterSpec(readFileSync(new URL('../examples/seed-cluster.yaml', import.meta.url), 'utf8'));
  const u = buildUnderlay(spec);
  assert.deepEqual([...u.nodes.keys()], ['node01', 'node02']);
  const n1 = u.nodes.get('node01')!;
  assert.equal(ipRoute(n1), 'default via 192.168.50.1 dev eth0 \n192.168.50.0/24 dev eth0 proto kernel scope link src 192.168.50.11 \n');
  const client = u.outsideHosts.get('client')!;
  const p = ping(client, parseIpv4('192.168.50.12'));
  u.sim.clock.run();
  assert.equal(p.replies.length, 1);
  assert.equal(p.replies[0]?.ttl, 63, 'one router between the outside and the node');
  // 50 µs underlay + 500 µs outside latency, each way, plus serialisation at 1 Gbit/s.
  assert.ok((p.replies[0]?.rttNs ?? 0) > 2 * 550_000);
});

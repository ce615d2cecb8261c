/**
 * The underlay: bandwidth (serialisation delay), queue tail drop, a router to an
 * outside network, and TCP recovering from loss by retransmission.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { attachNic, createRouter } from '../../netsim/topology.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { startHttpServer, httpGet } from '../../netsim/apps/http.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { MS, US } from '../../netsim/time/scheduler.ts';
import { ip, segmentPair } from '../support/net.ts';

const pair = (props: Partial<{ latencyNs: number; bandwidthBps: number; loss: number; queueLimit: number }>, seed = 1) => segmentPair(props, seed);

test('bandwidth: a 98-byte frame takes 784 ns at 1 Gbit/s each way, plus latency', () => {
  const { sim, a } = pair({ bandwidthBps: 1e9, latencyNs: 10 * US });
  const p = ping(a, ip('192.168.0.2'));
  sim.clock.run();
  // 14 + 20 + 8 + 56 = 98 bytes → 784 ns serialisation per direction.
  assert.equal(p.replies[0]?.rttNs, 2 * (784 + 10 * US));
});

test('a full transmit queue tail-drops with reason queue-overflow', () => {
  const { sim, a } = pair({ bandwidthBps: 1e6, queueLimit: 3 });
  const rec = recordTrace(sim.tracer);
  const s = a.udp.bind(1000);
  for (let i = 0; i < 10; i++) s.send(ip('192.168.0.2'), 9, new Uint8Array(100));
  sim.clock.run();
  const drops = rec.events.filter((e) => e.kind === 'drop' && e.reason === 'queue-overflow');
  assert.equal(drops.length, 6, 'one frame on the wire, three queued, six dropped');
});

test('outside host reaches a node through a router; the node replies via its default route', () => {
  const sim = new Sim({ seed: 2 });
  const underlay = new Segment(sim, 'underlay', { latencyNs: 100 * US, bandwidthBps: 0, loss: 0, queueLimit: 100 });
  const outside = new Segment(sim, 'outside', { latencyNs: 1 * MS, bandwidthBps: 0, loss: 0, queueLimit: 100 });
  createRouter(sim, 'router', [
    { dev: 'eth0', segment: underlay, cidr: '192.168.50.1/24' },
    { dev: 'eth1', segment: outside, cidr: '203.0.113.1/24' },
  ]);
  const node = new NetNamespace(sim, 'node01');
  attachNic(node, underlay, 'eth0', '192.168.50.11/24');
  node.addRoute({ dst: 'default', via: '192.168.50.1' });
  const client = new NetNamespace(sim, 'client');
  attachNic(client, outside, 'eth0', '203.0.113.10/24');
  client.addRoute({ dst: 'default', via: '203.0.113.1' });
  startHttpServer(node, { port: 30000, podName: 'node01' });
  const s = httpGet(client, ip('192.168.50.11'), 30000);
  const p = ping(client, ip('192.168.50.11'), { count: 2 });
  sim.clock.run();
  assert.equal(s.results[0]?.status, 200);
  assert.equal(p.replies[1]?.ttl, 63);
  assert.equal(p.replies[1]?.rttNs, 2 * (1 * MS + 100 * US), 'cached neighbours: latency of both segments, both ways');
});

test('TCP over a lossy link still delivers every response by retransmitting', () => {
  const { sim, a, b } = pair({ loss: 0.2, latencyNs: 1 * MS }, 21);
  startHttpServer(b, { podName: 'b' });
  const rec = recordTrace(sim.tracer);
  const sessions = Array.from({ length: 10 }, () => httpGet(a, ip('192.168.0.2'), 80, { requests: 2 }));
  sim.clock.run();
  for (const s of sessions) {
    assert.equal(s.error, undefined, s.errorDetail);
    assert.deepEqual(s.results.map((r) => r.status), [200, 200]);
  }
  assert.ok(rec.events.filter((e) => e.kind === 'drop' && e.reason === 'link-loss').length > 5, 'frames were lost');
});

/**
 * Packets across routed hops: TTL decrement, TCP and UDP apps, ICMP errors
 * (port unreachable, time exceeded, fragmentation needed), RST for closed ports,
 * and two nodes over an underlay segment with latency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod, attachNic } from '../../netsim/topology.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { startHttpServer, httpGet } from '../../netsim/apps/http.ts';
import { startUdpEcho, udpRequest } from '../../netsim/apps/echo.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import { ipRouteGet } from '../../netsim/tools/ip.ts';
import { ip, rxtx, ipBytes, assertValidChecksums, segmentPair } from '../support/net.ts';

/** One host routing between two bridges: pod a (10.244.1.2) ↔ host ↔ pod b (10.244.2.2). */
function routedHost() {
  const sim = new Sim({ seed: 7 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const br0 = createBridge(host, 'br0', '10.244.1.1/24');
  const br1 = createBridge(host, 'br1', '10.244.2.1/24');
  const a = attachPod(host, br0, { name: 'default/a', cidr: '10.244.1.2/24', gateway: '10.244.1.1', hostVeth: 'veth-a' });
  const b = attachPod(host, br1, { name: 'default/b', cidr: '10.244.2.2/24', gateway: '10.244.2.1', hostVeth: 'veth-b' });
  return { sim, host, br0, br1, a, b };
}

test('one routed hop: echo arrives with TTL 63 and the trace shows the route and TTL change', () => {
  const { sim, a, b } = routedHost();
  const rec = recordTrace(sim.tracer, { bytes: true });
  const p = ping(a.ns, ip('10.244.2.2'));
  sim.clock.run();
  assert.equal(p.replies.length, 1);
  assert.equal(p.replies[0]?.ttl, 63, 'the reply crossed one router');
  const atB = rxtx(rec.events).find((e) => e.kind === 'rx' && e.netns === 'default/b' && e.summary.includes('echo request'));
  assert.ok(atB !== undefined);
  assert.equal(assertValidChecksums(ipBytes(atB)).ttl, 63, 'request arrives at b with TTL 63 and valid checksums');
  const route = rec.events.find((e) => e.kind === 'route' && e.netns === 'node01' && e.dst === '10.244.2.2');
  assert.ok(route !== undefined && route.kind === 'route');
  assert.equal(route.result, '10.244.2.0/24 dev br1 proto kernel scope link src 10.244.2.1');
  const ttl = rec.events.find((e) => e.kind === 'ttl' && e.netns === 'node01');
  assert.ok(ttl !== undefined && ttl.kind === 'ttl');
  assert.deepEqual([ttl.from, ttl.to], [64, 63]);
  void b;
});

test('ip_forward=0 drops transit traffic with reason not-forwarding', () => {
  const { sim, host, a } = routedHost();
  host.sysctl.ipForward = false;
  const rec = recordTrace(sim.tracer);
  const p = ping(a.ns, ip('10.244.2.2'));
  sim.clock.run();
  assert.equal(p.replies.length, 0);
  const drop = rec.events.find((e) => e.kind === 'drop');
  assert.ok(drop !== undefined && drop.kind === 'drop');
  assert.equal(drop.reason, 'not-forwarding');
  assert.equal(drop.netns, 'node01');
});

test('TCP and UDP apps across the routed hop', () => {
  const { sim, a, b } = routedHost();
  const server = startHttpServer(b.ns, { port: 80, podName: 'b' });
  startUdpEcho(b.ns, 7);
  const s = httpGet(a.ns, ip('10.244.2.2'), 80, { path: '/hello.html', requests: 3 });
  const u = udpRequest(a.ns, ip('10.244.2.2'), 7, new TextEncoder().encode('ping?'));
  sim.clock.run();
  assert.equal(s.error, undefined, s.errorDetail);
  assert.equal(s.results.length, 3, 'three requests on one keep-alive connection');
  for (const r of s.results) {
    assert.equal(r.status, 200);
    assert.equal(r.body, 'Hello World, Kubernetes! from b\n');
  }
  assert.equal(server.requests, 3);
  assert.equal(s.conn.state, 'CLOSED', 'client side fully closed after TIME_WAIT ran out');
  assert.ok(u.reply !== undefined);
  assert.equal(new TextDecoder().decode(u.reply.data), 'ping?');
  assert.equal(u.reply.ttl, 63);
  assert.equal(u.reply.sport, 7);
});

test('TCP to a closed port gets RST: the connect is refused', () => {
  const { sim, a } = routedHost();
  const rec = recordTrace(sim.tracer);
  const s = httpGet(a.ns, ip('10.244.2.2'), 8080);
  sim.clock.run();
  assert.equal(s.error, 'refused');
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'no-socket' && e.netns === 'default/b'));
  assert.ok(rec.events.some((e) => e.kind === 'tx' && e.netns === 'default/b' && /Flags \[R\.\]/.test(e.summary)), 'b answers the SYN with RST,ACK');
});

test('ICMP port unreachable for a closed UDP port reaches the sending socket', () => {
  const { sim, a } = routedHost();
  const u = udpRequest(a.ns, ip('10.244.2.2'), 9999, new Uint8Array([1, 2, 3]));
  sim.clock.run();
  assert.equal(u.reply, undefined);
  assert.ok(u.error !== undefined);
  assert.deepEqual([u.error.type, u.error.code, u.error.from], [3, 3, ip('10.244.2.2')]);
});

test('ICMP time exceeded from the router when TTL runs out', () => {
  const { sim, a } = routedHost();
  const rec = recordTrace(sim.tracer);
  const p = ping(a.ns, ip('10.244.2.2'), { ttl: 1 });
  sim.clock.run();
  assert.equal(p.replies.length, 0);
  assert.deepEqual(p.errors.map((e) => [e.type, e.code, e.from]), [[11, 0, ip('10.244.1.1')]], 'time exceeded comes from the router address facing the sender');
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'ttl-exceeded' && e.netns === 'node01'));
});

test('ICMP fragmentation needed when a DF packet exceeds the next hop MTU', () => {
  const { sim, host, a } = routedHost();
  host.setMtu('br1', 1400);
  const rec = recordTrace(sim.tracer);
  const p = ping(a.ns, ip('10.244.2.2'), { size: 1450, dontFrag: true });
  const small = ping(a.ns, ip('10.244.2.2'), { size: 1000, dontFrag: true });
  sim.clock.run();
  assert.equal(p.replies.length, 0);
  assert.deepEqual(p.errors.map((e) => [e.type, e.code, e.mtu]), [[3, 4, 1400]]);
  assert.equal(small.replies.length, 1, 'a packet that fits still passes');
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'mtu-exceeded'));
  const noDf = ping(a.ns, ip('10.244.2.2'), { size: 1450, dontFrag: false });
  sim.clock.run();
  assert.equal(noDf.replies.length, 0);
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'fragmentation-unsupported'));
});

test('two nodes over an underlay segment with latency: ARP on the wire, TTL 62 pod to pod, RTT from latency', () => {
  const sim = new Sim({ seed: 3 });
  const underlay = new Segment(sim, 'underlay', { latencyNs: 1 * MS, bandwidthBps: 0, loss: 0, queueLimit: 100 });
  const n1 = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const n2 = new NetNamespace(sim, 'node02', 'node02', { ipForward: true });
  attachNic(n1, underlay, 'eth0', '192.168.50.11/24');
  attachNic(n2, underlay, 'eth0', '192.168.50.12/24');
  const br1 = createBridge(n1, 'docker0', '10.244.1.1/24');
  const br2 = createBridge(n2, 'docker0', '10.244.2.1/24');
  n1.addRoute({ dst: '10.244.2.0/24', via: '192.168.50.12' });
  n2.addRoute({ dst: '10.244.1.0/24', via: '192.168.50.11' });
  const a = attachPod(n1, br1, { name: 'default/webapp01', cidr: '10.244.1.2/24', gateway: '10.244.1.1' });
  const b = attachPod(n2, br2, { name: 'default/backend', cidr: '10.244.2.2/24', gateway: '10.244.2.1' });
  assert.equal(ipRouteGet(n1, ip('10.244.2.2')), '10.244.2.2 via 192.168.50.12 dev eth0 src 192.168.50.11 uid 0 \n    cache \n');
  const rec = recordTrace(sim.tracer);
  const p = ping(a.ns, ip('10.244.2.2'), { count: 2 });
  sim.clock.run();
  assert.equal(p.replies.length, 2);
  assert.equal(p.replies[0]?.ttl, 62, 'two routers on the way back');
  // First ping waits for an ARP round trip on the underlay (2 ms) plus the echo round trip (2 ms).
  assert.equal(p.replies[0]?.rttNs, 4 * MS);
  assert.equal(p.replies[1]?.rttNs, 2 * MS, 'second ping: ARP cached, only the echo round trip');
  assert.ok(rec.events.some((e) => e.kind === 'tx' && e.netns === 'node01' && e.dev === 'eth0' && e.summary.startsWith('ARP, Request who-has 192.168.50.12')));
  void b;
});

test('underlay loss is drawn from the seeded RNG: same seed, same losses', () => {
  const run = (seed: number): number[] => {
    const { sim, a: n1 } = segmentPair({ loss: 0.3, queueLimit: 100 }, seed, ['n1', 'n2']);
    const p = ping(n1, ip('192.168.0.2'), { count: 40, intervalNs: MS });
    sim.clock.run();
    return p.replies.map((r) => r.seq);
  };
  const a = run(11);
  assert.deepEqual(run(11), a, 'deterministic per seed');
  assert.ok(a.length > 10 && a.length < 35, `about half of 40 pings survive 30% loss each way (got ${a.length})`);
  assert.notDeepEqual(run(12), a, 'another seed loses other frames');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { createBridge, attachPod } from '../topology.ts';
import { ping } from '../apps/ping.ts';
import { udpRequest } from '../apps/echo.ts';
import { recordTrace } from './tracer.ts';
import { buildTraceReport, packetFields } from './report.ts';
import { parseIpv4 } from '../wire/addr.ts';
import { buildIpv4Udp } from '../wire/build.ts';

test('a routed ping becomes a delivered request leg and a delivered reply leg with per-hop packet fields', () => {
  const sim = new Sim({ seed: 1 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const a = attachPod(host, createBridge(host, 'br0', '10.244.1.1/24'), { name: 'a', cidr: '10.244.1.2/24', gateway: '10.244.1.1' });
  const b = attachPod(host, createBridge(host, 'br1', '10.244.2.1/24'), { name: 'b', cidr: '10.244.2.2/24', gateway: '10.244.2.1' });
  const rec = recordTrace(sim.tracer, { bytes: true });
  const p = ping(a.ns, b.ip);
  sim.clock.run();
  const req = p.sent[0]!.pkt;
  const rep = p.replies[0]!.pkt;
  assert.notEqual(req, rep, 'the echo reply is a packet of its own');
  const r = buildTraceReport(rec.events, req, rep);
  assert.equal(r.verdict, 'delivered');
  assert.equal(r.reply?.verdict, 'delivered');
  const ttl = r.hops.find((h) => h.component === 'ttl');
  assert.equal(ttl?.node, 'node01');
  const last = r.hops.filter((h) => h.packet !== undefined).at(-1)!;
  assert.deepEqual(last.packet, { src: '10.244.1.2', dst: '10.244.2.2', proto: 'icmp', ttl: 63, len: 84 });
  assert.equal(r.hops.at(-1)?.component, 'socket');
  void JSON.stringify(r);
});

test('a closed UDP port gives a rejected leg with the drop named', () => {
  const sim = new Sim({ seed: 1 });
  const host = new NetNamespace(sim, 'node01');
  const br = createBridge(host, 'br0', '10.244.1.1/24');
  const a = attachPod(host, br, { name: 'a', cidr: '10.244.1.2/24' });
  const b = attachPod(host, br, { name: 'b', cidr: '10.244.1.3/24' });
  const rec = recordTrace(sim.tracer, { bytes: true });
  const u = udpRequest(a.ns, b.ip, 9999, new Uint8Array(4));
  sim.clock.run();
  const r = buildTraceReport(rec.events, u.sentPkt);
  assert.equal(r.verdict, 'rejected');
  assert.equal(r.drop?.reason, 'no-socket');
  assert.equal(r.drop?.netns, 'b');
});

test('packetFields reads addresses, ports and TTL after an Ethernet header or from raw IP', () => {
  const ipb = buildIpv4Udp({ src: parseIpv4('1.2.3.4'), dst: parseIpv4('5.6.7.8'), ttl: 9 }, { srcPort: 1000, dstPort: 53 }, new Uint8Array(3));
  assert.deepEqual(packetFields(ipb, 'raw-ip'), { src: '1.2.3.4', dst: '5.6.7.8', proto: 'udp', sport: 1000, dport: 53, ttl: 9, len: 31 });
  const eth = new Uint8Array(14 + ipb.length);
  eth[12] = 8;
  eth.set(ipb, 14);
  assert.equal(packetFields(eth, 'ether')?.dport, 53);
  assert.equal(packetFields(new Uint8Array(10), 'ether'), undefined);
});

/**
 * Two pods on one Linux bridge (docker0-style): ARP, MAC learning, flooding,
 * hairpin, echo with valid checksums and TTL 64 on arrival.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod } from '../../netsim/topology.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { bridgeFdb, ipNeigh } from '../../netsim/tools/ip.ts';
import { packetFromBytes } from '../../netsim/packet/packet.ts';
import { buildEthernetFrame } from '../../netsim/wire/ethernet.ts';
import { buildIpv4Udp } from '../../netsim/wire/build.ts';
import { parseMac, formatMac } from '../../netsim/wire/addr.ts';
import { ip, rxtx, ipBytes, assertValidChecksums } from '../support/net.ts';

function twoPods(seed = 1) {
  const sim = new Sim({ seed });
  const host = new NetNamespace(sim, 'node01');
  const br = createBridge(host, 'docker0', '10.244.1.1/24');
  const a = attachPod(host, br, { name: 'default/webapp01', cidr: '10.244.1.2/24', gateway: '10.244.1.1', hostVeth: 'veth-a' });
  const b = attachPod(host, br, { name: 'default/webapp02', cidr: '10.244.1.3/24', gateway: '10.244.1.1', hostVeth: 'veth-b' });
  return { sim, host, br, a, b };
}

test('pods on one bridge: ARP first, both MACs learned, echo with valid checksums and TTL 64', () => {
  const { sim, host, a, b } = twoPods();
  const rec = recordTrace(sim.tracer, { bytes: true });
  const p = ping(a.ns, ip('10.244.1.3'), { count: 1 });
  sim.clock.run();

  assert.equal(p.replies.length, 1, 'one echo reply');
  assert.equal(p.replies[0]?.ttl, 64, 'reply arrives with TTL 64 (no routed hop)');
  assert.equal(p.replies[0]?.from, ip('10.244.1.3'));

  const wire = rxtx(rec.events);
  // The first frame on the wire is the ARP request, broadcast from pod a.
  assert.match(wire[0]?.summary ?? '', /^ARP, Request who-has 10\.244\.1\.3 tell 10\.244\.1\.2/);
  const firstIcmp = wire.findIndex((e) => e.summary.includes('ICMP echo request'));
  const arpReply = wire.findIndex((e) => e.summary.startsWith('ARP, Reply 10.244.1.3 is-at 02:42:0a:f4:01:03'));
  assert.ok(arpReply >= 0 && arpReply < firstIcmp, 'the ARP reply precedes the echo request');

  // The bridge learned both pods' MACs on their ports.
  const learned = rec.events.filter((e) => e.kind === 'bridge' && e.action === 'learn').map((e) => (e.kind === 'bridge' ? `${e.mac}@${e.port}` : ''));
  assert.deepEqual(learned, ['02:42:0a:f4:01:02@veth-a', '02:42:0a:f4:01:03@veth-b']);
  const fdb = bridgeFdb(host, { br: 'docker0' });
  assert.match(fdb, /^02:42:0a:f4:01:02 dev veth-a master docker0 $/m);
  assert.match(fdb, /^02:42:0a:f4:01:03 dev veth-b master docker0 $/m);

  // The ARP request was flooded (broadcast) to the other port and to the bridge itself.
  const flood = rec.events.find((e) => e.kind === 'bridge' && e.action === 'flood');
  assert.ok(flood !== undefined && flood.kind === 'bridge');
  assert.equal(flood.detail, 'flood to veth-b and docker0');

  // Echo request and reply bytes: valid IPv4 and ICMP checksums, TTL 64 as received.
  const arrivals = wire.filter((e) => e.kind === 'rx' && e.dev === 'eth0' && e.summary.includes('ICMP echo'));
  assert.equal(arrivals.length, 2);
  for (const ev of arrivals) {
    const h = assertValidChecksums(ipBytes(ev));
    assert.equal(h.ttl, 64);
  }
  assert.match(ipNeigh(a.ns), /^10\.244\.1\.3 dev eth0 lladdr 02:42:0a:f4:01:03 REACHABLE$/m);
  assert.equal(b.ns.neighbours('eth0')[0]?.mac, parseMac('02:42:0a:f4:01:02'), 'b learned a from the ARP request');
});

test('a frame to an unknown MAC is flooded to every other port, and dropped by hosts it is not for', () => {
  const { sim, host, br, a } = twoPods();
  const c = attachPod(host, br, { name: 'default/c', cidr: '10.244.1.4/24', hostVeth: 'veth-c' });
  void c;
  const rec = recordTrace(sim.tracer);
  const unknown = parseMac('02:42:0a:f4:01:63');
  const frame = buildEthernetFrame({ dst: unknown, src: a.eth.mac, etherType: 0x0800 },
    buildIpv4Udp({ src: ip('10.244.1.2'), dst: ip('10.244.1.99') }, { srcPort: 1000, dstPort: 2000 }, new Uint8Array(4)));
  a.eth.transmit(packetFromBytes(sim.nextPacketId(), frame));
  sim.clock.run();
  const flood = rec.events.find((e) => e.kind === 'bridge' && e.action === 'flood');
  assert.ok(flood !== undefined && flood.kind === 'bridge');
  assert.equal(flood.mac, formatMac(unknown));
  assert.equal(flood.detail, 'flood to veth-b, veth-c', 'unknown unicast goes to every port but the ingress one, not up the bridge');
  const drops = rec.events.filter((e) => e.kind === 'drop');
  assert.deepEqual(drops.map((d) => `${d.netns}:${d.kind === 'drop' ? d.reason : ''}`).sort(), ['default/c:not-for-us', 'default/webapp02:not-for-us']);
  assert.ok(!rec.events.some((e) => e.kind === 'rx' && e.netns === 'default/webapp01' && e.pkt === flood.pkt), 'nothing reflected to the sender');
});

test('hairpin off: a frame whose destination is behind its ingress port is not sent back; hairpin on: it is', () => {
  for (const hairpin of [false, true]) {
    const { sim, host, br, a } = twoPods();
    br.setHairpin(a.hostVeth, hairpin);
    // Teach the bridge that a's own MAC lives behind veth-a, then send a frame to it from a.
    a.eth.transmit(packetFromBytes(sim.nextPacketId(), buildEthernetFrame({ dst: 0xffffffffffff, src: a.eth.mac, etherType: 0x0806 }, new Uint8Array(28))));
    sim.clock.run();
    const rec = recordTrace(sim.tracer);
    const frame = buildEthernetFrame({ dst: a.eth.mac, src: a.eth.mac, etherType: 0x0800 },
      buildIpv4Udp({ src: ip('10.244.1.2'), dst: ip('10.244.1.2') }, { srcPort: 1, dstPort: 9 }, new Uint8Array(1)));
    const id = sim.nextPacketId();
    a.eth.transmit(packetFromBytes(id, frame));
    sim.clock.run();
    const back = rec.events.filter((e) => e.kind === 'rx' && e.netns === 'default/webapp01' && e.pkt === id);
    const noReflect = rec.events.find((e) => e.kind === 'bridge' && e.action === 'no-reflect');
    if (hairpin) {
      assert.equal(back.length, 1, 'hairpin on reflects the frame to its ingress port');
      assert.equal(noReflect, undefined);
    } else {
      assert.equal(back.length, 0, 'hairpin off never reflects');
      assert.ok(noReflect !== undefined);
    }
    void host;
  }
});

test('bridge FDB entries age out after 300 s of virtual time', () => {
  const { sim, host, a } = twoPods();
  ping(a.ns, ip('10.244.1.3'), { count: 1 });
  sim.clock.run();
  assert.match(bridgeFdb(host, { br: 'docker0' }), /02:42:0a:f4:01:02 dev veth-a/);
  sim.clock.runFor(299e9);
  assert.match(bridgeFdb(host, { br: 'docker0' }), /02:42:0a:f4:01:02 dev veth-a/, 'still there before 300 s');
  sim.clock.runFor(10e9);
  assert.doesNotMatch(bridgeFdb(host, { br: 'docker0' }), /02:42:0a:f4:01:02 dev veth-a master docker0 $/m, 'aged out after 300 s');
});

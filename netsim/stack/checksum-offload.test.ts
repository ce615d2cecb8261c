/**
 * Checksum offload (skb->ip_summed): a receiver skips the TCP/UDP checksum of a
 * packet an emulated stack built (Packet.l4Verified), and verifies everything else —
 * bytes from outside, and what a TUN reader writes back. Likewise the IPv4 header's
 * checksum: summed at a receive unless the header is known right (Packet.ipHdrOk).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sim } from '../sim.ts';
import type { NetNamespace } from './net-namespace.ts';
import { TunDevice } from '../link/tun.ts';
import { ipHeaderKnownGood, packetFromBytes } from '../packet/packet.ts';
import type { Packet } from '../packet/packet.ts';
import { buildIpv4Tcp, buildIpv4Udp } from '../wire/build.ts';
import { ipv4HeaderChecksum } from '../wire/checksum.ts';
import { recordTrace } from '../trace/tracer.ts';
import { ip, segmentPair } from '../../tests/support/net.ts';

const pair = () => segmentPair({}, 3);

/** A UDP datagram to b:9 whose last payload byte was flipped after the checksum was computed. */
function corruptDatagram(sim: Sim, b: NetNamespace): Packet {
  const bytes = buildIpv4Udp({ src: ip('192.168.0.1'), dst: ip('192.168.0.2'), ident: 1 }, { srcPort: 1000, dstPort: 9 }, new Uint8Array([1, 2, 3, 4]));
  (bytes[bytes.length - 1] as number) ^= 0xff;
  const pkt = packetFromBytes(sim.nextPacketId(), bytes);
  b.pushEthernet(pkt, b.device('eth0'), b.device('eth0').mac, 0x0800);
  return pkt;
}

test('a datagram from outside bytes is verified: a flipped payload byte is dropped as bad-checksum', () => {
  const { sim, b } = pair();
  const got: number[] = [];
  b.udp.bind(9).onMessage = (m) => got.push(m.data.length);
  const rec = recordTrace(sim.tracer);
  b.device('eth0').receive(corruptDatagram(sim, b));
  sim.clock.run();
  assert.deepEqual(got, []);
  assert.deepEqual(rec.events.filter((e) => e.kind === 'drop').map((e) => e.kind === 'drop' && e.reason), ['bad-checksum']);
});

test('a packet marked as built by a stack (CHECKSUM_UNNECESSARY) is not verified again', () => {
  const { sim, b } = pair();
  const got: number[] = [];
  b.udp.bind(9).onMessage = (m) => got.push(m.data.length);
  const pkt = corruptDatagram(sim, b);
  pkt.l4Verified = true;
  b.device('eth0').receive(pkt);
  sim.clock.run();
  assert.deepEqual(got, [4], 'trusted, as Linux trusts veth and offloading NICs');
});

test('what a stack sends keeps the mark across the wire and is delivered', () => {
  const { sim, a, b } = pair();
  const seen: boolean[] = [];
  const nic = b.device('eth0');
  const receive = nic.receive.bind(nic);
  nic.receive = (p: Packet) => {
    seen.push(p.l4Verified);
    receive(p);
  };
  const got: string[] = [];
  b.udp.bind(9).onMessage = (m) => got.push(new TextDecoder().decode(m.data));
  a.udp.bind(1000).send(ip('192.168.0.2'), 9, new TextEncoder().encode('hi'));
  sim.clock.run();
  assert.deepEqual(got, ['hi']);
  assert.deepEqual(seen, [true]);
});

test('a segment a TUN reader writes back is verified (CHECKSUM_NONE): a bad TCP checksum is dropped', () => {
  const { sim, b } = pair();
  const tun = new TunDevice(sim, 'tun0');
  b.addDevice(tun);
  b.addAddress('tun0', '10.0.0.1/24');
  b.setUp('tun0', true);
  b.tcp.listen(80, () => {});
  const bytes = buildIpv4Tcp({ src: ip('10.0.0.2'), dst: ip('10.0.0.1'), ident: 7 }, { srcPort: 4000, dstPort: 80, seq: 1, ack: 0, flags: 0x02, window: 1000 }, new Uint8Array(0));
  (bytes[20 + 14] as number) ^= 0x01; // the TCP window's high byte, after the checksum was set
  const rec = recordTrace(sim.tracer);
  tun.write(packetFromBytes(sim.nextPacketId(), bytes));
  sim.clock.run();
  const drops = rec.events.filter((e) => e.kind === 'drop').map((e) => e.kind === 'drop' && e.reason);
  assert.deepEqual(drops, ['bad-checksum']);
});

/** A UDP datagram to b:9 from outside bytes, with its IPv4 header's TTL byte flipped after the header checksum was set when `bad`. */
function datagramFromOutside(sim: Sim, b: NetNamespace, bad: boolean): Packet {
  const bytes = buildIpv4Udp({ src: ip('192.168.0.1'), dst: ip('192.168.0.2'), ident: 2 }, { srcPort: 1000, dstPort: 9 }, new Uint8Array([5]));
  if (bad) (bytes[8] as number) ^= 0x10;
  const pkt = packetFromBytes(sim.nextPacketId(), bytes);
  b.pushEthernet(pkt, b.device('eth0'), b.device('eth0').mac, 0x0800);
  return pkt;
}

test('an IPv4 header from outside bytes is summed: a flipped header byte is dropped as bad-checksum; a right one is then known right', () => {
  const { sim, b } = pair();
  const got: number[] = [];
  b.udp.bind(9).onMessage = (m) => got.push(m.data.length);
  const rec = recordTrace(sim.tracer);
  const bad = datagramFromOutside(sim, b, true);
  assert.equal(bad.ipHdrOk, -1);
  b.device('eth0').receive(bad);
  const good = datagramFromOutside(sim, b, false);
  b.device('eth0').receive(good);
  sim.clock.run();
  assert.deepEqual(rec.events.filter((e) => e.kind === 'drop').map((e) => e.kind === 'drop' && e.reason), ['bad-checksum']);
  assert.deepEqual(got, [1]);
  assert.equal(bad.ipHdrOk, -1, 'a header that failed is not marked');
  assert.equal(good.ipHdrOk, good.off, 'the verified header is marked at its offset');
});

test('a header known right is not summed again (switch on), and is with the switch off', () => {
  for (const on of [true, false]) {
    const { sim, b } = pair();
    const got: number[] = [];
    b.udp.bind(9).onMessage = (m) => got.push(m.data.length);
    // Marked as if verified before, but its bytes are wrong: only a writer breaking the contract could do this.
    const pkt = datagramFromOutside(sim, b, true);
    pkt.ipHdrOk = pkt.off + 14;
    const prev = ipHeaderKnownGood.on;
    ipHeaderKnownGood.on = on;
    try {
      b.device('eth0').receive(pkt);
      sim.clock.run();
    } finally {
      ipHeaderKnownGood.on = prev;
    }
    assert.deepEqual(got, on ? [1] : [], `switch ${on ? 'on' : 'off'}`);
  }
});

test('what a stack emits is marked right, and the mark goes with a scrub or a reallocating push', () => {
  const { sim, a, b } = pair();
  const seen: Array<[number, number, number]> = [];
  const nic = b.device('eth0');
  const receive = nic.receive.bind(nic);
  nic.receive = (p: Packet) => {
    seen.push([p.ipHdrOk, p.off + 14, ipv4HeaderChecksum(p.buf, p.off + 14, 20)]);
    receive(p);
  };
  a.udp.bind(1000).send(ip('192.168.0.2'), 9, new Uint8Array([1]));
  sim.clock.run();
  assert.deepEqual(seen.map(([mark, at, sum]) => [mark === at, sum]), [[true, 0]]);
  const p = datagramFromOutside(sim, b, false);
  p.ipHdrOk = p.off;
  p.scrub();
  assert.equal(p.ipHdrOk, -1);
  p.ipHdrOk = p.off;
  p.push(p.off + 1);
  assert.equal(p.ipHdrOk, -1);
});

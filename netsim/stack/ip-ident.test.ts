/**
 * IPv4 ids as Linux 6.x picks them (ip-ident.ts): a TCP connection counts from its own
 * random start, SYN-ACKs and RSTs carry 0, and packets without a connected socket
 * (ICMP, UDP) take per-destination ids from the host's hashed ip_idents — each
 * destination its own sequence, jumping by a random amount when time passes — so
 * that no single counter leaks a host's traffic. Same seed, same ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { segmentPair, ip } from '../../tests/support/net.ts';
import type { NetNamespace } from './net-namespace.ts';
import type { Packet } from '../packet/packet.ts';
import { MS } from '../time/scheduler.ts';
import { IpIdents, ipIdentsOf } from './ip-ident.ts';
import { Rng } from '../time/rng.ts';

interface Sent { readonly proto: number; readonly dst: string; readonly id: number; readonly df: boolean; readonly flags: number }

/** Every IPv4 packet `ns` sends, as (protocol, destination, id, DF, TCP flags). */
function record(ns: NetNamespace): Sent[] {
  const out: Sent[] = [];
  const send = ns.sendIp.bind(ns);
  ns.sendIp = (pkt: Packet) => {
    const b = pkt.buf;
    const o = pkt.off;
    const hl = ((b[o] as number) & 0x0f) * 4;
    out.push({ proto: b[o + 9] as number, dst: `${b[o + 16]}.${b[o + 17]}.${b[o + 18]}.${b[o + 19]}`, id: ((b[o + 4] as number) << 8) | (b[o + 5] as number), df: ((b[o + 6] as number) & 0x40) !== 0, flags: b[o + 9] === 6 ? (b[o + hl + 13] as number) : 0 });
    return send(pkt);
  };
  return out;
}

const SYN = 0x02;
const ACK = 0x10;
const RST = 0x04;

test('TCP: each connection counts from its own random inet_id; the SYN-ACK and RSTs carry id 0', () => {
  const { sim, a, b } = segmentPair({}, 7);
  const sa = record(a);
  const sb = record(b);
  b.tcp.listen(80, (c) => { c.onData = () => c.send('pong'); c.onEnd = () => c.end(); });
  for (let i = 0; i < 2; i++) {
    const c = a.tcp.connect(ip('192.168.0.2'), 80);
    c.onConnect = () => c.send('ping');
    c.onData = () => c.end();
    sim.clock.runFor(50 * MS);
  }
  const tcpA = sa.filter((s) => s.proto === 6);
  const tcpB = sb.filter((s) => s.proto === 6);
  const synAck = tcpB.filter((s) => s.flags === (SYN | ACK));
  assert.equal(synAck.length, 2);
  for (const s of synAck) assert.deepEqual({ id: s.id, df: s.df }, { id: 0, df: true }, 'SYN-ACK: ip_build_and_send_pkt with DF, id 0');
  // The client's two connections: ids consecutive within a connection, from unrelated starts.
  const starts = tcpA.filter((s) => s.flags === SYN).map((s) => s.id);
  assert.equal(starts.length, 2);
  assert.notEqual(starts[0], starts[1]);
  const firstConn = tcpA.slice(0, tcpA.findIndex((s, i) => i > 0 && s.flags === SYN));
  assert.ok(firstConn.length >= 4);
  firstConn.forEach((s, i) => assert.equal(s.id, ((starts[0] as number) + i) & 0xffff, `segment ${i} of the first connection`));
  // The server's segments after its SYN-ACK count from their own start too.
  const serverData = tcpB.filter((s) => s.flags !== (SYN | ACK)).slice(0, 3);
  assert.equal((serverData[1] as Sent).id, ((serverData[0] as Sent).id + 1) & 0xffff);
  // A SYN to a closed port: the RST has id 0.
  a.tcp.connect(ip('192.168.0.2'), 81);
  sim.clock.runFor(10 * MS);
  const rst = sb.filter((s) => (s.flags & RST) !== 0);
  assert.ok(rst.length >= 1);
  for (const s of rst) assert.deepEqual({ id: s.id, df: s.df }, { id: 0, df: true });
});

test('ICMP and UDP: per-destination ids from the hashed ip_idents, consecutive within a jiffy, jumping when time passes', () => {
  const { sim, a, b } = segmentPair({}, 11);
  const sa = record(a);
  const sb = record(b);
  // b answers pings from two sources: a, and a second address of a's.
  a.addAddress('eth0', '192.168.0.9/24');
  b.neigh.create('eth0', ip('192.168.0.9'), 'PERMANENT', a.device('eth0').mac, 0);
  const echo = a.icmp.openEcho({});
  for (let seq = 1; seq <= 4; seq++) {
    a.icmp.sendEcho(ip('192.168.0.2'), echo, seq, { src: ip('192.168.0.1') });
    a.icmp.sendEcho(ip('192.168.0.2'), echo, seq, { src: ip('192.168.0.9') });
  }
  sim.clock.runFor(1 * MS);
  const replies = (dst: string) => sb.filter((s) => s.proto === 1 && s.dst === dst).map((s) => s.id);
  const to1 = replies('192.168.0.1');
  const to9 = replies('192.168.0.9');
  assert.equal(to1.length, 4);
  assert.equal(to9.length, 4);
  // Interleaved replies, yet each destination's ids are consecutive: no single counter.
  for (const ids of [to1, to9]) ids.forEach((id, i) => assert.equal(id, ((ids[0] as number) + i) & 0xffff));
  assert.notEqual(to1[0], to9[0]);
  // Later, the bucket jumps by a random amount below the jiffies elapsed.
  sim.clock.runFor(5000 * MS);
  a.icmp.sendEcho(ip('192.168.0.2'), echo, 5, { src: ip('192.168.0.1') });
  sim.clock.runFor(1 * MS);
  const later = replies('192.168.0.1')[4] as number;
  const jump = (later - (to1[3] as number) + 0x10000) & 0xffff;
  assert.ok(jump >= 1 && jump <= 5001, `jump ${jump}`);
  // Unconnected UDP: the same generator (protocol is part of the hash key).
  const u = a.udp.bind(5000);
  a.udp.send(u, ip('192.168.0.2'), 9, new Uint8Array(4), {});
  a.udp.send(u, ip('192.168.0.2'), 9, new Uint8Array(4), {});
  const udp = sa.filter((s) => s.proto === 17);
  assert.equal(udp.length, 2);
  assert.equal((udp[1] as Sent).id, ((udp[0] as Sent).id + 1) & 0xffff);
  assert.ok((udp[0] as Sent).df, 'DF stays set: only the id generator ignores it');
});

test('ip_idents: one table per host, a hash key per namespace; the same seed gives the same ids', () => {
  const ids = (seed: number) => {
    const { sim, a, b } = segmentPair({}, seed);
    const sb = record(b);
    const echo = a.icmp.openEcho({});
    for (let seq = 1; seq <= 3; seq++) {
      a.icmp.sendEcho(ip('192.168.0.2'), echo, seq);
      sim.clock.runFor(3 * MS);
    }
    assert.equal(ipIdentsOf(sim, 'b'), ipIdentsOf(sim, 'b'));
    assert.notEqual(ipIdentsOf(sim, 'a'), ipIdentsOf(sim, 'b'));
    return sb.map((s) => s.id);
  };
  assert.deepEqual(ids(5), ids(5));
  assert.notDeepEqual(ids(5), ids(6));
  // ip_idents_reserve: within one jiffy a bucket hands out consecutive ids; segs reserves a block.
  let jiffies = 100;
  const t = new IpIdents(new Rng(1), () => jiffies);
  const x = t.reserve(42, 1);
  assert.equal(t.reserve(42, 3), (x + 1) & 0xffff);
  assert.equal(t.reserve(42, 1), (x + 4) & 0xffff);
  assert.equal(t.reserve(42 + 2048, 1), (x + 5) & 0xffff, 'hashes 2048 apart share a bucket');
  jiffies = 101;
  const y = t.reserve(42, 1);
  assert.equal(y, (x + 6) & 0xffff, 'one jiffy later: the random delta is below 1, i.e. 0');
});

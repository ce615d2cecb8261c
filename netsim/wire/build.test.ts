import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIpv4 as ip } from './addr.ts';
import { buildIpv4, buildIpv4Icmp, buildIpv4Tcp, buildIpv4TcpSegment, buildIpv4Udp } from './build.ts';
import { parseIcmpv4 } from './icmpv4.ts';
import { IpProtocol, Ipv4Packet, parseIpv4 } from './ipv4.ts';
import { parseTcp, TcpFlags } from './tcp.ts';
import { parseUdp } from './udp.ts';
import { DNS_PACKET, hex, PING_ICMP, PING_PACKET, SYN_PACKET, SYN_TCP, toHex } from './test-support.ts';

test('build: reproduces the ICMP, TCP and UDP fixtures byte for byte', () => {
  const ping = buildIpv4Icmp({ src: ip('10.244.1.2'), dst: ip('10.244.1.3'), ident: 0x3b7e }, { type: 'echo-request', ident: 1, seq: 1, data: PING_ICMP.subarray(8) });
  assert.equal(toHex(ping), toHex(PING_PACKET));
  const syn = buildIpv4Tcp(
    { src: ip('10.244.1.2'), dst: ip('10.96.0.10'), ident: 0x5c2a },
    { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: TcpFlags.SYN, window: 64240, options: SYN_TCP.subarray(20, 40) },
    new Uint8Array(0),
  );
  assert.equal(toHex(syn), toHex(SYN_PACKET));
  const dns = buildIpv4Udp({ src: ip('10.244.1.2'), dst: ip('10.96.0.10'), ident: 0x1234, dontFrag: false }, { srcPort: 53000, dstPort: 53 }, DNS_PACKET.subarray(28));
  assert.equal(toHex(dns), toHex(DNS_PACKET));
});

test('build: defaults and verification of every checksum', () => {
  const src = ip('10.244.1.2');
  const dst = ip('10.244.2.9');
  const udp = buildIpv4Udp({ src, dst }, { srcPort: 1, dstPort: 2 }, hex('00 01 02'));
  const r = parseIpv4(udp, { verifyChecksum: true });
  assert.equal(r.ttl, 64);
  assert.equal(r.dontFrag, true);
  assert.equal(r.tos, 0);
  assert.equal(r.ident, 0);
  assert.equal(r.payloadLen, 11);
  assert.deepEqual(parseUdp(Ipv4Packet.checked(udp).payload(), { src, dst }), { srcPort: 1, dstPort: 2 });

  const tcp = buildIpv4Tcp({ src, dst, ttl: 3, tos: 0x10, options: hex('94 04 00 00') }, { srcPort: 5, dstPort: 6, seq: 7, ack: 8, flags: TcpFlags.ACK, window: 9 }, hex('ff'));
  const p = Ipv4Packet.checked(tcp);
  assert.equal(p.headerLen, 24);
  assert.ok(p.verifyChecksum());
  assert.equal(parseTcp(p.payload(), { src, dst }).seq, 7);

  const raw = buildIpv4({ src, dst, protocol: 47 }, hex('00 00 65 58'));
  assert.deepEqual(parseIpv4(raw, { verifyChecksum: true }), { src, dst, protocol: 47, ttl: 64, payloadLen: 4, ident: 0, dontFrag: true, tos: 0 });
  const icmp = buildIpv4Icmp({ src, dst }, { type: 'time-exceeded', code: 0, original: DNS_PACKET.subarray(0, 28) });
  assert.equal(Ipv4Packet.checked(icmp).protocol, IpProtocol.ICMP);
  assert.equal(parseIcmpv4(Ipv4Packet.checked(icmp).payload(), { verifyChecksum: true }).type, 'time-exceeded');
  // An Ipv4Repr can be handed straight to buildIpv4.
  const again = buildIpv4(parseIpv4(PING_PACKET), PING_ICMP);
  assert.deepEqual(again, PING_PACKET);
});

test('property: buildIpv4TcpSegment writes what buildIpv4Tcp writes for a DF header (any fields, options, payload, headroom)', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  fc.assert(fc.property(
    fc.record({ src: u32, dst: u32, ttl: fc.integer({ min: 0, max: 255 }), ident: u16, sport: u16, dport: u16, seq: u32, ack: u32, flags: fc.integer({ min: 0, max: 255 }), window: u16 }),
    fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
    fc.uint8Array({ maxLength: 300 }),
    fc.integer({ min: 0, max: 128 }),
    (f, options, payload, headroom) => {
      const want = buildIpv4Tcp(
        { src: f.src, dst: f.dst, ttl: f.ttl, ident: f.ident, dontFrag: true },
        { srcPort: f.sport, dstPort: f.dport, seq: f.seq, ack: f.ack, flags: f.flags, window: f.window, ...(options !== undefined ? { options } : {}) },
        payload,
        headroom,
      );
      const got = buildIpv4TcpSegment(headroom, f.src, f.dst, f.ttl, f.ident, f.sport, f.dport, f.seq, f.ack, f.flags, f.window, options, payload);
      assert.equal(toHex(got), toHex(want));
    },
  ), { numRuns: 500 });
  assert.throws(() => buildIpv4TcpSegment(0, 1, 2, 64, 0, 1, 2, 0, 0, 0, 0, new Uint8Array(41), new Uint8Array(0)), RangeError, 'more than 40 option bytes');
});

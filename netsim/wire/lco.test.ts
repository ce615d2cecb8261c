/**
 * Local checksum offload (lco.ts) gives the very sum a pass over the bytes gives, for
 * every whole IPv4 TCP/UDP packet with a right checksum (any addresses, ports, TTL, TOS,
 * options, payload length, odd or even), and falls back to that pass for everything
 * else; a tunnel's outer header built from it is the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { onesComplementSum } from './checksum.ts';
import { buildIpv4Tcp, buildIpv4Udp } from './build.ts';
import { ipv4PacketSum } from './lco.ts';
import { emitUdpHeader } from './udp.ts';
import { writeU16 } from './field.ts';

const ipOpts = fc.record({
  src: fc.integer({ min: 0, max: 0xffffffff }),
  dst: fc.integer({ min: 0, max: 0xffffffff }),
  ttl: fc.integer({ min: 0, max: 255 }),
  ident: fc.integer({ min: 0, max: 0xffff }),
  tos: fc.integer({ min: 0, max: 255 }),
  dontFrag: fc.boolean(),
  options: fc.uint8Array({ minLength: 0, maxLength: 10 }).map((o) => o.subarray(0, o.length & ~3)),
});
const port = fc.integer({ min: 0, max: 0xffff });
const payload = fc.uint8Array({ minLength: 0, maxLength: 300 });

/** A packet from the builders (checksums right), at an offset inside a larger buffer. */
const packet = fc.oneof(
  fc.tuple(ipOpts, port, port, payload).map(([ip, s, d, p]) => buildIpv4Udp(ip, { srcPort: s, dstPort: d }, p, 6)),
  fc.tuple(ipOpts, port, port, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0x3f }), payload)
    .map(([ip, s, d, seq, flags, p]) => buildIpv4Tcp(ip, { srcPort: s, dstPort: d, seq, ack: seq ^ 0x5a5a, flags, window: 0xffff - s }, p, 6)),
);

test('lco: a packet with a right TCP/UDP checksum sums to what a pass over its bytes gives', () => {
  fc.assert(fc.property(packet, (b) => {
    assert.equal(ipv4PacketSum(b, 6, b.length, true), onesComplementSum(b, 6, b.length));
  }), { numRuns: 2000 });
});

test('lco: anything else is summed byte by byte (checksum not known right, no UDP checksum, fragments, trailing bytes, not IPv4)', () => {
  fc.assert(fc.property(packet, fc.integer({ min: 0, max: 1000 }), fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 4 }), (b, at, junk, how) => {
    const o = 6;
    const th = o + ((b[o] as number) & 0x0f) * 4;
    let buf = b;
    let good = true;
    if (how === 0) {
      // A payload or port byte changed: the checksum no longer verifies, and nobody claims it does.
      const i = th + (at % (b.length - th));
      b[i] = (b[i] as number) ^ 0x5a;
      good = false;
    } else if (how === 1) {
      if (b[o + 9] !== 17) return;
      writeU16(b, th + 6, 0); // UDP without a checksum
    } else if (how === 2) {
      b[o + 6] = (b[o + 6] as number) | 0x20; // MF: the transport checksum covers the whole datagram
    } else if (how === 3) {
      buf = new Uint8Array(b.length + junk.length); // bytes after the IPv4 total length
      buf.set(b);
      buf.set(junk, b.length);
    } else {
      buf = new Uint8Array(o + 20 + junk.length);
      buf.set(junk, o + 20);
      buf[o] = 0x65; // version 6
    }
    assert.equal(ipv4PacketSum(buf, o, buf.length, good), onesComplementSum(buf, o, buf.length));
  }), { numRuns: 2000 });
});

test('lco: an outer UDP header from the payload sum is byte for byte the summed one', () => {
  fc.assert(fc.property(packet, port, port, fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 1, max: 0xffffffff }), (inner, sport, dport, src, dst) => {
    const len = 8 + inner.length - 6;
    const a = new Uint8Array(len);
    a.set(inner.subarray(6), 8);
    const b = a.slice();
    emitUdpHeader(sport, dport, a, 0, len, src, dst);
    emitUdpHeader(sport, dport, b, 0, len, src, dst, ipv4PacketSum(b, 8, len, true));
    assert.deepEqual(b, a);
  }), { numRuns: 2000 });
});

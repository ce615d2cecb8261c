/**
 * fast-check properties across the folder:
 * - random bytes fed to every parser / checked constructor either succeed or
 *   throw WireError, and the formatters never throw;
 * - parse(emit(repr)) deep-equals repr for arbitrary valid reprs;
 * - incremental checksum updates (TTL, addresses, ports, ICMP ident) equal a
 *   full recompute, and UDP checksum 0 survives rewrites.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ArpPacket, buildArp, parseArp } from './arp.ts';
import type { ArpRepr } from './arp.ts';
import { buildIpv4Icmp, buildIpv4Tcp, buildIpv4Udp } from './build.ts';
import { WireError } from './errors.ts';
import { EthernetFrame, emitEthernet, parseEthernet } from './ethernet.ts';
import type { EthernetRepr } from './ethernet.ts';
import { emitIcmpv4, Icmpv4Packet, icmpv4ReprLen, parseIcmpv4 } from './icmpv4.ts';
import type { Icmpv4Repr } from './icmpv4.ts';
import { readU16, writeU16 } from './field.ts';
import {
  emitIpv4,
  icmpSetEchoIdent,
  ipv4DecrementTtl,
  ipv4HeaderLen,
  Ipv4Packet,
  ipv4SetDst,
  ipv4SetSrc,
  IpProtocol,
  l4SetDstPort,
  l4SetSrcPort,
  parseIpv4,
} from './ipv4.ts';
import type { Ipv4Repr } from './ipv4.ts';
import { formatEthernetFrame, formatIpv4Packet } from './pretty.ts';
import { emitTcp, formatTcpOptions, parseTcp, tcpHeaderLen, TcpSegment } from './tcp.ts';
import type { TcpRepr } from './tcp.ts';
import { emitUdp, parseUdp, UdpDatagram } from './udp.ts';
import { emitVxlan, parseVxlan, VxlanHeader } from './vxlan.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mac = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
/** Option bytes: a non-empty multiple of 4, at most 40. */
const options = fc.integer({ min: 1, max: 10 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n }));

/** Random bytes biased to get past the first checks: plausible version/IHL and lengths. */
const ipv4ish = fc
  .tuple(fc.uint8Array({ minLength: 0, maxLength: 96 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 100 }), fc.boolean())
  .map(([b, ihl, total, fix]) => {
    const c = b.slice();
    if (fix && c.length >= 4) {
      c[0] = 0x40 | ihl;
      writeU16(c, 2, total);
    }
    return c;
  });

function onlyWireErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof WireError) return true;
    throw e;
  }
}

test('properties: random bytes → success or WireError, never another exception', () => {
  fc.assert(
    fc.property(ipv4ish, u32, u32, (b, src, dst) => {
      const parsers: Array<() => unknown> = [
        () => EthernetFrame.checked(b),
        () => parseEthernet(b),
        () => ArpPacket.checked(b),
        () => parseArp(b),
        () => Ipv4Packet.checked(b),
        () => parseIpv4(b),
        () => parseIpv4(b, { verifyChecksum: true }),
        () => Icmpv4Packet.checked(b),
        () => parseIcmpv4(b),
        () => parseIcmpv4(b, { verifyChecksum: true }),
        () => UdpDatagram.checked(b),
        () => parseUdp(b),
        () => parseUdp(b, { src, dst }),
        () => TcpSegment.checked(b),
        () => parseTcp(b),
        () => parseTcp(b, { src, dst }),
        () => VxlanHeader.checked(b),
        () => parseVxlan(b),
      ];
      for (const p of parsers) onlyWireErrors(p);
      assert.equal(typeof formatIpv4Packet(b), 'string');
      assert.equal(typeof formatEthernetFrame(b), 'string');
      assert.equal(typeof formatEthernetFrame(b, { link: true }), 'string');
      assert.equal(typeof formatTcpOptions(b), 'string');
      return true;
    }),
    { numRuns: 1000 },
  );
});

test('properties: in-place helpers never throw on a checked packet and keep the IP checksum valid', () => {
  fc.assert(
    fc.property(ipv4ish, u32, u16, u8, (b, addr, port, proto) => {
      const c = b.slice();
      let p: Ipv4Packet;
      try {
        p = Ipv4Packet.checked(c);
      } catch {
        return true;
      }
      p.protocol = [IpProtocol.TCP, IpProtocol.UDP, IpProtocol.ICMP, proto][proto % 4] as number;
      p.fillChecksum();
      if (p.ttl > 0) ipv4DecrementTtl(c, 0);
      ipv4SetSrc(c, 0, addr);
      ipv4SetDst(c, 0, addr ^ 0x5a5a5a5a);
      l4SetSrcPort(c, 0, port);
      l4SetDstPort(c, 0, port ^ 0x1234);
      icmpSetEchoIdent(c, 0, port);
      return p.verifyChecksum();
    }),
    { numRuns: 500 },
  );
});

// --- round trips -------------------------------------------------------------

const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc.record({ dst: mac, src: mac, etherType: u16 }, { noNullPrototype: true });
const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({ op: u16, senderMac: mac, senderIp: u32, targetMac: mac, targetIp: u32 }, { noNullPrototype: true });

const fragment = fc
  .record({ moreFrags: fc.boolean(), fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8) })
  .filter((f) => f.moreFrags || f.fragOffset !== 0);

const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc
  .record({
    src: u32,
    dst: u32,
    protocol: u8,
    ttl: u8,
    payloadLen: fc.integer({ min: 0, max: 65535 - 60 }),
    ident: u16,
    dontFrag: fc.boolean(),
    tos: u8,
    options: fc.option(options, { nil: undefined }),
    frag: fc.option(fragment, { nil: undefined }),
  })
  .map(({ options: o, frag, ...rest }) => {
    let r: Ipv4Repr = rest;
    if (o !== undefined) r = { ...r, options: o };
    if (frag !== undefined) r = { ...r, ...frag };
    return r;
  });

const icmpRepr: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
  fc.record({ type: fc.constantFrom('echo-request' as const, 'echo-reply' as const), ident: u16, seq: u16, data: bytes(64) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('dest-unreachable' as const), code: u8.filter((c) => c !== 4), original: bytes(64) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('dest-unreachable' as const), code: fc.constant(4), nextHopMtu: u16, original: bytes(64) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('time-exceeded' as const), code: u8, original: bytes(64) }, { noNullPrototype: true }),
  fc.record({
    type: fc.constant('other' as const),
    icmpType: u8.filter((t) => t !== 0 && t !== 3 && t !== 8 && t !== 11),
    code: u8,
    rest: fc.uint8Array({ minLength: 4, maxLength: 64 }),
  }, { noNullPrototype: true }),
);

const tcpRepr: fc.Arbitrary<TcpRepr> = fc
  .record({
    srcPort: u16,
    dstPort: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    urgent: fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: undefined }),
    options: fc.option(options, { nil: undefined }),
  })
  .map(({ urgent, options: o, ...rest }) => {
    let r: TcpRepr = rest;
    if (urgent !== undefined) r = { ...r, urgent };
    if (o !== undefined) r = { ...r, options: o };
    return r;
  });

test('properties: parse(emit(repr)) equals repr for every protocol', () => {
  fc.assert(
    fc.property(ethernetRepr, (r) => {
      const b = new Uint8Array(14);
      emitEthernet(r, b);
      assert.deepEqual(parseEthernet(b), r);
    }),
  );
  fc.assert(fc.property(arpRepr, (r) => assert.deepEqual(parseArp(buildArp(r)), r)));
  fc.assert(
    fc.property(ipv4Repr, (r) => {
      const b = new Uint8Array(ipv4HeaderLen(r) + r.payloadLen);
      emitIpv4(r, b);
      assert.deepEqual(parseIpv4(b, { verifyChecksum: true }), r);
    }),
  );
  fc.assert(
    fc.property(icmpRepr, (r) => {
      const b = new Uint8Array(icmpv4ReprLen(r));
      emitIcmpv4(r, b, 0);
      assert.deepEqual(parseIcmpv4(b, { verifyChecksum: true }), r);
    }),
  );
  fc.assert(
    fc.property(u16, u16, bytes(64), u32, u32, (srcPort, dstPort, payload, src, dst) => {
      const b = new Uint8Array(8 + payload.length);
      emitUdp({ srcPort, dstPort }, payload, b, 0, src, dst);
      assert.deepEqual(parseUdp(b, { src, dst }), { srcPort, dstPort });
      assert.notEqual(UdpDatagram.checked(b).checksum, 0);
      assert.deepEqual(UdpDatagram.checked(b).payload(), payload);
    }),
  );
  fc.assert(
    fc.property(tcpRepr, bytes(64), u32, u32, (r, payload, src, dst) => {
      const b = new Uint8Array(tcpHeaderLen(r) + payload.length);
      emitTcp(r, payload, b, 0, src, dst);
      assert.deepEqual(parseTcp(b, { src, dst }), r);
      assert.deepEqual(TcpSegment.checked(b).payload(), payload);
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffff }), (vni) => {
      const b = new Uint8Array(8);
      emitVxlan({ vni }, b);
      assert.deepEqual(parseVxlan(b), { vni });
    }),
  );
});

// --- incremental checksums ---------------------------------------------------

const ipOpts = fc
  .record({ src: u32, dst: u32, ttl: fc.integer({ min: 1, max: 255 }), ident: u16, dontFrag: fc.boolean(), tos: u8, options: fc.option(options, { nil: undefined }) })
  .map(({ options: o, ...rest }) => (o === undefined ? rest : { ...rest, options: o }));

/** A random checksum-correct TCP, UDP or ICMP echo packet. */
const packet = fc.oneof(
  fc.tuple(ipOpts, tcpRepr, bytes(40)).map(([ip, t, p]) => buildIpv4Tcp(ip, t, p)),
  fc.tuple(ipOpts, u16, u16, bytes(40)).map(([ip, s, d, p]) => buildIpv4Udp(ip, { srcPort: s, dstPort: d }, p)),
  fc.tuple(ipOpts, u16, u16, bytes(40)).map(([ip, id, seq, data]) => buildIpv4Icmp(ip, { type: 'echo-request', ident: id, seq, data })),
);

/** The oracle: every checksum recomputed from scratch. UDP checksum 0 ("none") is left alone. */
function recomputed(pkt: Uint8Array): Uint8Array {
  const c = pkt.slice();
  const p = Ipv4Packet.checked(c);
  p.fillChecksum();
  const l4 = p.payload();
  if (p.protocol === IpProtocol.TCP) TcpSegment.unchecked(l4).fillChecksum(p.src, p.dst);
  if (p.protocol === IpProtocol.UDP && readU16(l4, 6) !== 0) UdpDatagram.unchecked(l4).fillChecksum(p.src, p.dst);
  if (p.protocol === IpProtocol.ICMP) Icmpv4Packet.unchecked(l4).fillChecksum();
  return c;
}

type Op = { kind: 'ttl' } | { kind: 'src' | 'dst'; addr: number } | { kind: 'sport' | 'dport' | 'ident'; port: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ kind: 'ttl' as const }),
  fc.record({ kind: fc.constantFrom('src' as const, 'dst' as const), addr: u32 }, { noNullPrototype: true }),
  fc.record({ kind: fc.constantFrom('sport' as const, 'dport' as const, 'ident' as const), port: u16 }, { noNullPrototype: true }),
);

function apply(buf: Uint8Array, off: number, o: Op): void {
  switch (o.kind) {
    case 'ttl':
      ipv4DecrementTtl(buf, off);
      break;
    case 'src':
      ipv4SetSrc(buf, off, o.addr);
      break;
    case 'dst':
      ipv4SetDst(buf, off, o.addr);
      break;
    case 'sport':
      l4SetSrcPort(buf, off, o.port);
      break;
    case 'dport':
      l4SetDstPort(buf, off, o.port);
      break;
    case 'ident':
      icmpSetEchoIdent(buf, off, o.port);
      break;
  }
}

test('properties: incremental rewrites equal a full recompute', () => {
  fc.assert(
    fc.property(packet, fc.array(op, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 20 }), (pkt, ops, lead) => {
      // Work at a non-zero offset too (the packet inside a frame).
      const buf = new Uint8Array(lead + pkt.length);
      buf.set(pkt, lead);
      for (const o of ops) apply(buf, lead, o);
      const after = buf.subarray(lead);
      assert.deepEqual(after, recomputed(after));
      const p = Ipv4Packet.checked(after);
      assert.ok(p.verifyChecksum());
      if (p.protocol === IpProtocol.TCP) assert.ok(TcpSegment.checked(p.payload()).verifyChecksum(p.src, p.dst));
      if (p.protocol === IpProtocol.UDP) assert.ok(UdpDatagram.checked(p.payload()).verifyChecksum(p.src, p.dst));
      if (p.protocol === IpProtocol.ICMP) assert.ok(Icmpv4Packet.checked(p.payload()).verifyChecksum());
    }),
    { numRuns: 500 },
  );
});

test('properties: UDP checksum 0 is preserved across rewrites', () => {
  fc.assert(
    fc.property(ipOpts, u16, u16, bytes(40), fc.array(op, { minLength: 1, maxLength: 6 }), (ip, s, d, payload, ops) => {
      const pkt = buildIpv4Udp(ip, { srcPort: s, dstPort: d }, payload);
      const hl = Ipv4Packet.checked(pkt).headerLen;
      writeU16(pkt, hl + 6, 0);
      for (const o of ops) apply(pkt, 0, o);
      assert.equal(readU16(pkt, hl + 6), 0);
      assert.ok(Ipv4Packet.checked(pkt).verifyChecksum());
    }),
    { numRuns: 300 },
  );
});

test('properties: UDP rewrites never produce checksum 0 from a real checksum', () => {
  fc.assert(
    fc.property(ipOpts, u16, u16, bytes(8), fc.array(op, { minLength: 1, maxLength: 6 }), (ip, s, d, payload, ops) => {
      const pkt = buildIpv4Udp(ip, { srcPort: s, dstPort: d }, payload);
      for (const o of ops) apply(pkt, 0, o);
      return readU16(pkt, Ipv4Packet.checked(pkt).headerLen + 6) !== 0;
    }),
    { numRuns: 300 },
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4 as ip } from './addr.ts';
import { WireError } from './errors.ts';
import type { WireErrorCode } from './errors.ts';
import { readU16 } from './field.ts';
import {
  emitIpv4,
  icmpSetEchoIdent,
  ipv4DecrementTtl,
  Ipv4,
  ipv4HeaderLen,
  Ipv4Packet,
  L4,
  ipv4SetDst,
  ipv4SetSrc,
  IpProtocol,
  l4SetDstPort,
  l4SetSrcPort,
  parseIpv4,
} from './ipv4.ts';
import type { Ipv4Repr } from './ipv4.ts';
import { CLASSIC_IPV4_HEADER, concat, DNS_PACKET, hex, IP_WITH_OPTIONS, PING_PACKET, SYN_PACKET, toHex } from './test-support.ts';
import { TcpFlags, TcpSegment } from './tcp.ts';
import { buildIpv4Icmp, buildIpv4Tcp, buildIpv4Udp } from './build.ts';
import { UdpDatagram } from './udp.ts';
import { Icmpv4Packet } from './icmpv4.ts';

function throwsCode(fn: () => unknown, code: WireErrorCode, offset?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof WireError, `expected WireError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.layer, 'ipv4');
    if (offset !== undefined) assert.equal(e.offset, offset);
    return true;
  });
}

const PING_REPR: Ipv4Repr = {
  src: ip('10.244.1.2'),
  dst: ip('10.244.1.3'),
  protocol: IpProtocol.ICMP,
  ttl: 64,
  payloadLen: 64,
  ident: 0x3b7e,
  dontFrag: true,
  tos: 0,
};

test('ipv4: deconstruct the classic header', () => {
  // Header only: total length 115 exceeds the 20 bytes, so use unchecked.
  const p = Ipv4Packet.unchecked(CLASSIC_IPV4_HEADER);
  assert.equal(p.version, 4);
  assert.equal(p.headerLen, 20);
  assert.equal(p.tos, 0);
  assert.equal(p.totalLen, 0x73);
  assert.equal(p.ident, 0);
  assert.equal(p.dontFrag, true);
  assert.equal(p.moreFrags, false);
  assert.equal(p.fragOffset, 0);
  assert.equal(p.ttl, 64);
  assert.equal(p.protocol, IpProtocol.UDP);
  assert.equal(p.checksum, 0xb861);
  assert.equal(p.src, ip('192.168.0.1'));
  assert.equal(p.dst, ip('192.168.0.199'));
  assert.ok(p.verifyChecksum());
});

test('ipv4: deconstruct a ping packet', () => {
  const p = Ipv4Packet.checked(PING_PACKET);
  assert.equal(p.totalLen, 84);
  assert.equal(p.ident, 0x3b7e);
  assert.equal(p.protocol, IpProtocol.ICMP);
  assert.equal(p.checksum, 0xe73e);
  assert.ok(p.verifyChecksum());
  assert.equal(p.options().length, 0);
  assert.equal(p.payload().length, 64);
  assert.equal(p.payload()[0], 8); // echo request
  assert.equal(p.isFragment, false);
});

test('ipv4: construct with setters, fillChecksum', () => {
  const b = new Uint8Array(20);
  const p = Ipv4Packet.unchecked(b);
  p.version = 4;
  p.headerLen = 20;
  p.tos = 0;
  p.totalLen = 0x73;
  p.ident = 0;
  p.dontFrag = true;
  p.moreFrags = false;
  p.fragOffset = 0;
  p.ttl = 64;
  p.protocol = IpProtocol.UDP;
  p.src = ip('192.168.0.1');
  p.dst = ip('192.168.0.199');
  p.fillChecksum();
  assert.equal(toHex(b), toHex(CLASSIC_IPV4_HEADER));
  p.moreFrags = true;
  p.fragOffset = 1480;
  assert.equal(readU16(b, 6), 0x4000 | 0x2000 | 185);
  assert.equal(p.fragOffset, 1480);
  assert.ok(p.isFragment);
  p.dontFrag = false;
  p.moreFrags = false;
  assert.equal(readU16(b, 6), 185);
  p.tos = 0xb9;
  assert.equal(p.dscp, 46); // EF
  assert.equal(p.ecn, 1);
});

test('ipv4: parse / emit the ping header', () => {
  assert.deepEqual(parseIpv4(PING_PACKET), PING_REPR);
  assert.deepEqual(parseIpv4(PING_PACKET, { verifyChecksum: true }), PING_REPR);
  const b = new Uint8Array(20);
  emitIpv4(PING_REPR, b);
  assert.equal(toHex(b), toHex(PING_PACKET.subarray(0, 20)));
  assert.equal(ipv4HeaderLen(PING_REPR), 20);
});

test('ipv4: options are carried, padded on emit', () => {
  const p = Ipv4Packet.checked(IP_WITH_OPTIONS);
  assert.equal(p.headerLen, 24);
  assert.deepEqual(p.options(), hex('94 04 00 00'));
  assert.equal(p.payload().length, 0);
  assert.ok(p.verifyChecksum());
  const r = parseIpv4(IP_WITH_OPTIONS, { verifyChecksum: true });
  assert.deepEqual(r, { src: ip('10.0.0.1'), dst: ip('224.0.0.22'), protocol: 2, ttl: 1, payloadLen: 0, ident: 0, dontFrag: true, tos: 0xc0, options: hex('94 04 00 00') });
  const b = new Uint8Array(24);
  emitIpv4(r, b);
  assert.equal(toHex(b), toHex(IP_WITH_OPTIONS));
  // 3 option bytes are padded with one EOL (0) byte.
  const padded = { ...r, options: hex('94 04 00') };
  assert.equal(ipv4HeaderLen(padded), 24);
  const b2 = new Uint8Array(24).fill(0xee);
  emitIpv4(padded, b2);
  assert.equal(toHex(b2), toHex(IP_WITH_OPTIONS));
  assert.throws(() => emitIpv4({ ...r, options: new Uint8Array(44) }, new Uint8Array(64)), RangeError);
});

test('ipv4: fragments keep moreFrags / fragOffset', () => {
  const repr: Ipv4Repr = { ...PING_REPR, dontFrag: false, payloadLen: 8, moreFrags: true, fragOffset: 2960 };
  const b = new Uint8Array(28);
  emitIpv4(repr, b);
  assert.deepEqual(parseIpv4(b, { verifyChecksum: true }), repr);
});

test('ipv4: Ethernet padding past total length is tolerated and ignored', () => {
  const padded = concat(DNS_PACKET, new Uint8Array(6));
  const p = Ipv4Packet.checked(padded);
  assert.equal(p.payload().length, 20);
  assert.equal(parseIpv4(padded).payloadLen, 20);
});

test('ipv4: truncated at every length', () => {
  for (const pkt of [PING_PACKET, IP_WITH_OPTIONS, SYN_PACKET]) {
    for (let n = 0; n < pkt.length; n++) throwsCode(() => parseIpv4(pkt.subarray(0, n)), 'WIRE_TRUNCATED');
    assert.doesNotThrow(() => parseIpv4(pkt));
  }
});

test('ipv4: malformed headers', () => {
  const bad = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = PING_PACKET.slice();
    f(b);
    return b;
  };
  throwsCode(() => parseIpv4(bad((b) => (b[0] = 0x65))), 'WIRE_BAD_VERSION', 0);
  throwsCode(() => parseIpv4(bad((b) => (b[0] = 0x44))), 'WIRE_BAD_HEADER_LEN', 0);
  throwsCode(() => parseIpv4(bad((b) => (b[0] = 0x40))), 'WIRE_BAD_HEADER_LEN', 0);
  throwsCode(() => parseIpv4(bad((b) => (b[3] = 19))), 'WIRE_BAD_LENGTH', 2);
  // IHL 15 (60 bytes) but total length 40: the lengths disagree.
  const short = PING_PACKET.slice(0, 40);
  short[0] = 0x4f;
  short[3] = 40;
  throwsCode(() => parseIpv4(short), 'WIRE_BAD_LENGTH', 2);
  // IHL 15 inside an 84-byte packet is just a header with 40 option bytes.
  assert.equal(Ipv4Packet.checked(bad((b) => (b[0] = 0x4f))).options().length, 40);
});

test('ipv4: total length too big, with the documented message', () => {
  const b = PING_PACKET.slice(0, 60);
  b[2] = 0;
  b[3] = 80;
  assert.throws(
    () => Ipv4Packet.checked(b),
    (e: unknown) => e instanceof WireError && e.code === 'WIRE_TRUNCATED' && e.offset === 2 && e.message === 'ipv4: total length 80 exceeds buffer (60 bytes) at offset 2',
  );
});

test('ipv4: checksum is only checked when asked', () => {
  const b = PING_PACKET.slice();
  b[11] = (b[11] as number) ^ 0xff;
  assert.doesNotThrow(() => Ipv4Packet.checked(b));
  assert.equal(Ipv4Packet.checked(b).verifyChecksum(), false);
  assert.doesNotThrow(() => parseIpv4(b));
  throwsCode(() => parseIpv4(b, { verifyChecksum: true }), 'WIRE_BAD_CHECKSUM', 10);
  assert.throws(() => parseIpv4(b, { verifyChecksum: true }), /expected 0xe73e/);
});

// --- in-place helpers -------------------------------------------------------

/** Recomputes every checksum from scratch (the oracle for incremental updates). */
function recomputed(pkt: Uint8Array, off: number, udpHadChecksum: boolean): Uint8Array {
  const c = pkt.slice();
  const p = Ipv4Packet.checked(c.subarray(off));
  p.fillChecksum();
  if (p.fragOffset === 0) {
    if (p.protocol === IpProtocol.TCP) TcpSegment.unchecked(p.payload()).fillChecksum(p.src, p.dst);
    if (p.protocol === IpProtocol.UDP && udpHadChecksum) UdpDatagram.unchecked(p.payload()).fillChecksum(p.src, p.dst);
    if (p.protocol === IpProtocol.ICMP) Icmpv4Packet.unchecked(p.payload()).fillChecksum();
  }
  return c;
}

test('ipv4: in-place TTL decrement', () => {
  const b = PING_PACKET.slice();
  assert.equal(ipv4DecrementTtl(b, 0), 63);
  assert.equal(b[8], 63);
  assert.ok(Ipv4Packet.checked(b).verifyChecksum());
  assert.equal(toHex(b), toHex(recomputed(b, 0, true)));
  // At an offset (inside an Ethernet frame), down to 0 and no wrap.
  const f = concat(new Uint8Array(14), PING_PACKET);
  f[14 + 8] = 1;
  Ipv4Packet.checked(f.subarray(14)).fillChecksum();
  assert.equal(ipv4DecrementTtl(f, 14), 0);
  assert.ok(Ipv4Packet.checked(f.subarray(14)).verifyChecksum());
  assert.equal(ipv4DecrementTtl(f, 14), 0);
  assert.equal(f[14 + 8], 0);
});

test('ipv4: in-place DNAT/SNAT of a TCP SYN fixes IP and TCP checksums', () => {
  const b = SYN_PACKET.slice();
  ipv4SetDst(b, 0, ip('10.244.2.7'));
  assert.ok(l4SetDstPort(b, 0, 8080));
  ipv4SetSrc(b, 0, ip('192.168.1.10'));
  assert.ok(l4SetSrcPort(b, 0, 61000));
  const p = Ipv4Packet.checked(b);
  assert.equal(p.dst, ip('10.244.2.7'));
  assert.equal(p.src, ip('192.168.1.10'));
  const t = TcpSegment.checked(p.payload());
  assert.equal(t.dstPort, 8080);
  assert.equal(t.srcPort, 61000);
  assert.ok(p.verifyChecksum());
  assert.ok(t.verifyChecksum(p.src, p.dst));
  assert.equal(toHex(b), toHex(recomputed(b, 0, true)));
});

test('ipv4: in-place NAT of UDP; checksum 0 stays 0', () => {
  const b = DNS_PACKET.slice();
  ipv4SetDst(b, 0, ip('10.244.2.5'));
  l4SetDstPort(b, 0, 5353);
  const p = Ipv4Packet.checked(b);
  assert.ok(UdpDatagram.checked(p.payload()).verifyChecksum(p.src, p.dst));
  assert.equal(toHex(b), toHex(recomputed(b, 0, true)));

  const z = DNS_PACKET.slice();
  z[20 + 6] = 0;
  z[20 + 7] = 0;
  ipv4SetSrc(z, 0, ip('172.16.0.1'));
  ipv4SetDst(z, 0, ip('172.16.0.2'));
  assert.ok(l4SetSrcPort(z, 0, 1));
  assert.ok(l4SetDstPort(z, 0, 2));
  assert.equal(readU16(z, 26), 0);
  assert.ok(Ipv4Packet.checked(z).verifyChecksum());
});

test('ipv4: port helpers refuse non-TCP/UDP, fragments and short packets', () => {
  const ping = PING_PACKET.slice();
  assert.equal(l4SetSrcPort(ping, 0, 1), false);
  assert.deepEqual(ping, PING_PACKET);
  const frag = SYN_PACKET.slice();
  Ipv4Packet.unchecked(frag).fragOffset = 8;
  Ipv4Packet.unchecked(frag).fillChecksum();
  const before = frag.slice();
  assert.equal(l4SetDstPort(frag, 0, 1), false);
  assert.deepEqual(frag, before);
  ipv4SetDst(frag, 0, ip('1.2.3.4')); // IP checksum fixed, TCP bytes untouched
  assert.ok(Ipv4Packet.checked(frag).verifyChecksum());
  assert.deepEqual(frag.subarray(20), before.subarray(20));
  // TCP header cut before the checksum field.
  const short = SYN_PACKET.slice(0, 36);
  short[3] = 36;
  Ipv4Packet.unchecked(short).fillChecksum();
  assert.equal(l4SetSrcPort(short, 0, 1), false);
});

test('ipv4: ICMP echo identifier rewrite', () => {
  const b = PING_PACKET.slice();
  assert.ok(icmpSetEchoIdent(b, 0, 0xbeef));
  const icmp = Icmpv4Packet.checked(Ipv4Packet.checked(b).payload());
  assert.equal(icmp.echoIdent, 0xbeef);
  assert.ok(icmp.verifyChecksum());
  assert.equal(icmpSetEchoIdent(SYN_PACKET.slice(), 0, 1), false);
});

test('ipv4: the unchecked accessors read TOS, and UDP length/checksum, TCP window and the ICMP next-hop MTU at their RFC offsets', () => {
  const udp = buildIpv4Udp({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), ttl: 64, ident: 1, tos: 0xb8 }, { srcPort: 1000, dstPort: 53 }, new Uint8Array(5));
  assert.equal(Ipv4.tos(udp, 0), 0xb8);
  assert.equal(L4.udpLength(udp, 20), 13);
  assert.equal(L4.udpChecksum(udp, 20), (udp[26]! << 8) | udp[27]!);
  assert.notEqual(L4.udpChecksum(udp, 20), 0);
  const tcp = buildIpv4Tcp({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), ttl: 64, ident: 1 }, { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TcpFlags.ACK, window: 0xbeef }, new Uint8Array(0));
  assert.equal(L4.tcpWindow(tcp, 20), 0xbeef);
  const icmp = buildIpv4Icmp({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), ttl: 64, ident: 1 }, { type: 'dest-unreachable', code: 4, nextHopMtu: 1450, original: udp });
  assert.equal(L4.icmpNextHopMtu(icmp, 20), 1450);
});

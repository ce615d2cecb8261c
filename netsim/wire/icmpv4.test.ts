import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError } from './errors.ts';
import {
  emitIcmpv4,
  icmpErrorQuote,
  IcmpTimeExceededCode,
  IcmpType,
  IcmpUnreachCode,
  Icmpv4Packet,
  icmpv4ReprLen,
  parseIcmpv4,
} from './icmpv4.ts';
import type { Icmpv4Repr } from './icmpv4.ts';
import { concat, DNS_PACKET, hex, IP_WITH_OPTIONS, PING_ICMP, toHex } from './test-support.ts';

const ECHO: Icmpv4Repr = { type: 'echo-request', ident: 1, seq: 1, data: PING_ICMP.subarray(8) };

test('icmpv4: deconstruct the ping', () => {
  const m = Icmpv4Packet.checked(PING_ICMP);
  assert.equal(m.msgType, IcmpType.ECHO_REQUEST);
  assert.equal(m.msgCode, 0);
  assert.equal(m.checksum, 0xf72d);
  assert.equal(m.echoIdent, 1);
  assert.equal(m.echoSeq, 1);
  assert.equal(m.data().length, 56);
  assert.ok(m.verifyChecksum());
});

test('icmpv4: construct with setters', () => {
  const b = new Uint8Array(PING_ICMP.length);
  const m = Icmpv4Packet.unchecked(b);
  m.msgType = IcmpType.ECHO_REQUEST;
  m.msgCode = 0;
  m.echoIdent = 1;
  m.echoSeq = 1;
  m.data().set(PING_ICMP.subarray(8));
  m.fillChecksum();
  assert.equal(toHex(b), toHex(PING_ICMP));
});

test('icmpv4: parse / emit echo', () => {
  assert.deepEqual(parseIcmpv4(PING_ICMP, { verifyChecksum: true }), ECHO);
  assert.equal(icmpv4ReprLen(ECHO), 64);
  const b = new Uint8Array(64);
  emitIcmpv4(ECHO, b, 0);
  assert.equal(toHex(b), toHex(PING_ICMP));
  // The reply differs only in type and checksum (0xf72d + 0x0800, RFC 1624 style).
  const reply = new Uint8Array(64);
  emitIcmpv4({ ...ECHO, type: 'echo-reply' }, reply, 0);
  assert.equal(reply[0], 0);
  assert.equal((reply[2]! << 8) | reply[3]!, 0xff2d);
});

test('icmpv4: errors quote the IP header + 8 bytes', () => {
  const quote = icmpErrorQuote(DNS_PACKET);
  assert.equal(quote.length, 28);
  assert.deepEqual(quote, DNS_PACKET.subarray(0, 28));
  assert.equal(icmpErrorQuote(concat(IP_WITH_OPTIONS, new Uint8Array(0))).length, 24); // total length 24 < 24 + 8
  assert.equal(icmpErrorQuote(new Uint8Array(0)).length, 0);
  assert.equal(icmpErrorQuote(DNS_PACKET.subarray(0, 10)).length, 10);

  const unreach: Icmpv4Repr = { type: 'dest-unreachable', code: IcmpUnreachCode.PORT, original: quote };
  const b = new Uint8Array(icmpv4ReprLen(unreach));
  emitIcmpv4(unreach, b, 0);
  assert.equal(b[0], IcmpType.DEST_UNREACHABLE);
  assert.equal(b[1], IcmpUnreachCode.PORT);
  assert.equal(toHex(b.subarray(4, 8)), '00 00 00 00'); // unused
  assert.deepEqual(parseIcmpv4(b, { verifyChecksum: true }), unreach);

  const frag: Icmpv4Repr = { type: 'dest-unreachable', code: IcmpUnreachCode.FRAG_NEEDED, nextHopMtu: 1450, original: quote };
  const fb = new Uint8Array(icmpv4ReprLen(frag));
  emitIcmpv4(frag, fb, 0);
  assert.equal(Icmpv4Packet.checked(fb).nextHopMtu, 1450);
  assert.deepEqual(parseIcmpv4(fb, { verifyChecksum: true }), frag);

  const ttl: Icmpv4Repr = { type: 'time-exceeded', code: IcmpTimeExceededCode.TTL, original: quote };
  const tb = new Uint8Array(icmpv4ReprLen(ttl));
  emitIcmpv4(ttl, tb, 0);
  assert.deepEqual(parseIcmpv4(tb, { verifyChecksum: true }), ttl);
});

test('icmpv4: unknown types are carried as other', () => {
  // Timestamp request (type 13): id, seq, three timestamps.
  const ts = hex('0d 00 00 00 00 07 00 01 00 00 00 01 00 00 00 00 00 00 00 00');
  Icmpv4Packet.unchecked(ts).fillChecksum();
  const r = parseIcmpv4(ts, { verifyChecksum: true });
  assert.deepEqual(r, { type: 'other', icmpType: 13, code: 0, rest: ts.subarray(4) });
  const b = new Uint8Array(icmpv4ReprLen(r));
  emitIcmpv4(r, b, 0);
  assert.deepEqual(b, ts);
});

test('icmpv4: truncated and bad checksum', () => {
  for (let n = 0; n < 8; n++) {
    assert.throws(() => parseIcmpv4(PING_ICMP.subarray(0, n)), (e: unknown) => e instanceof WireError && e.code === 'WIRE_TRUNCATED' && e.layer === 'icmpv4');
  }
  const b = PING_ICMP.slice();
  b[20] = (b[20] as number) ^ 1;
  assert.doesNotThrow(() => parseIcmpv4(b));
  assert.throws(() => parseIcmpv4(b, { verifyChecksum: true }), (e: unknown) => e instanceof WireError && e.code === 'WIRE_BAD_CHECKSUM' && e.offset === 2);
  assert.throws(() => emitIcmpv4(ECHO, new Uint8Array(63), 0), RangeError);
});

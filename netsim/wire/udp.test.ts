import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4 as ip } from './addr.ts';
import { WireError } from './errors.ts';
import type { WireErrorCode } from './errors.ts';
import { emitUdp, parseUdp, UDP_HEADER_LEN, UdpDatagram } from './udp.ts';
import { DNS_UDP, toHex } from './test-support.ts';

const SRC = ip('10.244.1.2');
const DST = ip('10.96.0.10');

function throwsCode(fn: () => unknown, code: WireErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.code === code && e.layer === 'udp');
}

test('udp: deconstruct', () => {
  const d = UdpDatagram.checked(DNS_UDP);
  assert.equal(d.srcPort, 53000);
  assert.equal(d.dstPort, 53);
  assert.equal(d.length, 20);
  assert.equal(d.checksum, 0xfefc);
  assert.equal(toHex(d.payload()), '1a 2b 01 00 00 01 00 00 00 00 00 00');
  assert.ok(d.verifyChecksum(SRC, DST));
  assert.ok(!d.verifyChecksum(SRC, DST + 1));
});

test('udp: construct with setters', () => {
  const b = new Uint8Array(20);
  const d = UdpDatagram.unchecked(b);
  d.srcPort = 53000;
  d.dstPort = 53;
  d.length = 20;
  d.payload().set(DNS_UDP.subarray(8));
  d.fillChecksum(SRC, DST);
  assert.equal(toHex(b), toHex(DNS_UDP));
});

test('udp: parse / emit', () => {
  assert.deepEqual(parseUdp(DNS_UDP), { srcPort: 53000, dstPort: 53 });
  assert.deepEqual(parseUdp(DNS_UDP, { src: SRC, dst: DST }), { srcPort: 53000, dstPort: 53 });
  const b = new Uint8Array(22);
  emitUdp({ srcPort: 53000, dstPort: 53 }, DNS_UDP.subarray(8), b, 2, SRC, DST);
  assert.equal(toHex(b.subarray(2)), toHex(DNS_UDP));
  assert.throws(() => emitUdp({ srcPort: 1, dstPort: 2 }, new Uint8Array(4), new Uint8Array(11), 0, SRC, DST), RangeError);
});

test('udp: a computed checksum of 0 is sent as 0xffff; 0 on receive means none', () => {
  // Search a payload word that makes the computed checksum 0.
  const b = new Uint8Array(10);
  const d = UdpDatagram.unchecked(b);
  d.srcPort = 1;
  d.dstPort = 2;
  d.length = 10;
  let found = false;
  for (let w = 0; w <= 0xffff && !found; w++) {
    b[8] = w >>> 8;
    b[9] = w & 0xff;
    emitUdp({ srcPort: 1, dstPort: 2 }, b.slice(8), b, 0, SRC, DST);
    if (d.checksum === 0xffff) found = true;
  }
  assert.ok(found);
  assert.ok(d.verifyChecksum(SRC, DST));
  d.checksum = 0;
  assert.ok(d.verifyChecksum(SRC, DST));
  assert.doesNotThrow(() => parseUdp(b, { src: SRC, dst: DST + 12345 }));
});

test('udp: malformed', () => {
  for (let n = 0; n < DNS_UDP.length; n++) throwsCode(() => parseUdp(DNS_UDP.subarray(0, n)), 'WIRE_TRUNCATED');
  const short = DNS_UDP.slice();
  short[5] = 7; // length 7 < header
  throwsCode(() => parseUdp(short), 'WIRE_BAD_LENGTH');
  const long = DNS_UDP.slice();
  long[5] = 21; // length beyond the buffer
  throwsCode(() => parseUdp(long), 'WIRE_TRUNCATED');
  const bad = DNS_UDP.slice();
  bad[10] = (bad[10] as number) ^ 0x40;
  assert.doesNotThrow(() => parseUdp(bad));
  throwsCode(() => parseUdp(bad, { src: SRC, dst: DST }), 'WIRE_BAD_CHECKSUM');
  // Trailing bytes beyond the UDP length are ignored by payload().
  const d = UdpDatagram.checked(Uint8Array.from([...DNS_UDP, 0, 0]));
  assert.equal(d.payload().length, 12);
  assert.equal(UDP_HEADER_LEN, 8);
});

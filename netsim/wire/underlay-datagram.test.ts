import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError } from './errors.ts';
import { emitUnderlayDatagram, parseUnderlayDatagram, UNDERLAY_HEADER_LEN, UNDERLAY_TAG_LEN } from './underlay-datagram.ts';
import { ARP_REQUEST_FRAME, concat, hex, toHex } from './test-support.ts';

/** Partition 1 sending the ARP request frame, no tag. */
const HEADER = hex(`4e 53 55 4c 01 00 00 01 00 ${ARP_REQUEST_FRAME.length.toString(16).padStart(2, '0')}`);
const DATAGRAM = concat(HEADER, ARP_REQUEST_FRAME);

test('underlay datagram: emit gives the documented bytes, parse gives them back', () => {
  const { bytes } = emitUnderlayDatagram(1, ARP_REQUEST_FRAME, false);
  assert.equal(toHex(bytes), toHex(DATAGRAM));
  const r = parseUnderlayDatagram(DATAGRAM);
  assert.equal(r.source, 1);
  assert.equal(r.auth, false);
  assert.deepEqual(r.frame, ARP_REQUEST_FRAME);
  assert.equal(r.tag, undefined);
});

test('underlay datagram: with a tag, the tag is the last 32 bytes and covers header + frame', () => {
  const { bytes, signed, tag } = emitUnderlayDatagram(7, ARP_REQUEST_FRAME, true);
  tag.fill(0xab);
  assert.equal(bytes.length, UNDERLAY_HEADER_LEN + ARP_REQUEST_FRAME.length + UNDERLAY_TAG_LEN);
  assert.equal(bytes[5], 0x01);
  const r = parseUnderlayDatagram(bytes);
  assert.deepEqual(r.tag, new Uint8Array(32).fill(0xab));
  assert.deepEqual(r.signed, signed);
  assert.deepEqual(r.frame, ARP_REQUEST_FRAME);
});

test('underlay datagram: FLAG_TRACE puts a 4-byte trace id between header and frame', () => {
  const { bytes } = emitUnderlayDatagram(1, ARP_REQUEST_FRAME, false, 0xdeadbeef);
  assert.equal(toHex(bytes), toHex(concat(hex(`4e 53 55 4c 01 02 00 01 00 ${ARP_REQUEST_FRAME.length.toString(16).padStart(2, '0')} de ad be ef`), ARP_REQUEST_FRAME)));
  const r = parseUnderlayDatagram(bytes);
  assert.equal(r.traceId, 0xdeadbeef);
  assert.deepEqual(r.frame, ARP_REQUEST_FRAME);
  assert.equal(parseUnderlayDatagram(DATAGRAM).traceId, undefined);
  // The flag set without the id's 4 bytes: the length no longer adds up.
  assert.equal(code(concat(DATAGRAM.subarray(0, 5), hex('02'), DATAGRAM.subarray(6))), 'WIRE_BAD_LENGTH');
  assert.throws(() => emitUnderlayDatagram(1, ARP_REQUEST_FRAME, false, 2 ** 32), RangeError);
});

const code = (b: Uint8Array): string => {
  try {
    parseUnderlayDatagram(b);
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof WireError, `threw ${String(e)}`);
    return e.code;
  }
};

test('underlay datagram: malformed input is a WireError naming what is wrong', () => {
  assert.equal(code(DATAGRAM.subarray(0, 9)), 'WIRE_TRUNCATED');
  assert.equal(code(concat(hex('4e 53 55 4d'), DATAGRAM.subarray(4))), 'WIRE_BAD_FIELD');
  assert.equal(code(concat(DATAGRAM.subarray(0, 4), hex('02'), DATAGRAM.subarray(5))), 'WIRE_BAD_VERSION');
  assert.equal(code(concat(DATAGRAM.subarray(0, 5), hex('80'), DATAGRAM.subarray(6))), 'WIRE_UNSUPPORTED');
  // Truncated, padded, and a length that claims less than an Ethernet header.
  assert.equal(code(DATAGRAM.subarray(0, DATAGRAM.length - 1)), 'WIRE_BAD_LENGTH');
  assert.equal(code(concat(DATAGRAM, hex('00'))), 'WIRE_BAD_LENGTH');
  assert.equal(code(concat(hex('4e 53 55 4c 01 00 00 01 00 04'), hex('00 00 00 00'))), 'WIRE_BAD_LENGTH');
  // An auth flag without room for the tag.
  assert.equal(code(concat(DATAGRAM.subarray(0, 5), hex('01'), DATAGRAM.subarray(6))), 'WIRE_BAD_LENGTH');
});

test('underlay datagram: property — any bytes parse or throw WireError; emit then parse is the identity', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
    code(b);
  }), { numRuns: 2000 });
  // Random bytes behind a valid magic and version reach the length checks.
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (rest) => {
    code(concat(hex('4e 53 55 4c 01'), rest));
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ minLength: 14, maxLength: 1600 }), fc.boolean(), fc.option(fc.nat({ max: 0xffff_ffff }), { nil: undefined }), (source, frame, auth, traceId) => {
    const { bytes } = emitUnderlayDatagram(source, frame, auth, traceId);
    const r = parseUnderlayDatagram(bytes);
    assert.equal(r.source, source);
    assert.equal(r.auth, auth);
    assert.equal(r.traceId, traceId);
    assert.deepEqual(r.frame, frame);
    // Every shorter cut of a datagram is refused, never read as a shorter frame.
    for (const cut of [1, 4, bytes.length - UNDERLAY_HEADER_LEN]) assert.notEqual(code(bytes.subarray(0, bytes.length - cut)), 'ok');
  }));
  // Random bytes behind a header with the trace flag reach the length checks too.
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (rest) => {
    code(concat(hex('4e 53 55 4c 01 02 00 01'), rest));
  }), { numRuns: 2000 });
});

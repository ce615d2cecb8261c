import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checksumUpdate16, checksumUpdate32, internetChecksum, ipv4HeaderChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.ts';
import { readU16, readU32, writeU16, writeU32 } from './field.ts';
import { CLASSIC_IPV4_HEADER, hex } from './test-support.ts';

test('checksum: the classic published header checksum is 0xb861', () => {
  const h = CLASSIC_IPV4_HEADER.slice();
  assert.equal(onesComplementSum(h, 0, 20), 0xffff); // verifies as published
  writeU16(h, 10, 0);
  assert.equal(internetChecksum(h, 0, 20), 0xb861);
});

test('checksum: RFC 1071 §3 worked example', () => {
  // 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2 (RFC 1071 numerical example).
  assert.equal(onesComplementSum(hex('00 01 f2 03 f4 f5 f6 f7'), 0, 8), 0xddf2);
  assert.equal(internetChecksum(hex('00 01 f2 03 f4 f5 f6 f7'), 0, 8), 0x220d);
});

test('checksum: odd length pads with a zero byte; ranges chain through initial', () => {
  assert.equal(onesComplementSum(hex('ab'), 0, 1), 0xab00);
  assert.equal(onesComplementSum(hex('12 34 ab'), 0, 3), 0x1234 + 0xab00);
  const b = hex('12 34 56 78 9a bc de f0');
  assert.equal(onesComplementSum(b, 4, 8, onesComplementSum(b, 0, 4)), onesComplementSum(b, 0, 8));
  assert.equal(onesComplementSum(new Uint8Array(0), 0, 0, 0x1234), 0x1234);
});

test('checksum: large buffers fold exactly (64 KiB of 0xff)', () => {
  const b = new Uint8Array(65536).fill(0xff);
  assert.equal(onesComplementSum(b, 0, b.length), 0xffff);
  assert.equal(onesComplementSum(b, 0, b.length, 0xffff), 0xffff);
});

test('checksum: pseudo-header sum', () => {
  // 10.244.1.2 -> 10.96.0.10, UDP, length 20
  const expected = 0x0af4 + 0x0102 + 0x0a60 + 0x000a + 17 + 20;
  assert.equal(pseudoHeaderSum(0x0af40102, 0x0a60000a, 17, 20), expected);
  assert.equal(pseudoHeaderSum(0xffffffff, 0xffffffff, 255, 0xffff) <= 0xffff, true);
});

test('checksum: RFC 1624 incremental updates equal a full recompute (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 8, maxLength: 64 }).map((b) => (b.length % 2 === 0 ? b : b.subarray(1))),
      fc.nat(),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (data, pick, w16, w32) => {
        const b = data.slice();
        writeU16(b, 0, 0); // checksum field at 0
        writeU16(b, 0, internetChecksum(b, 0, b.length));
        const words = b.length / 2;
        const at16 = 2 + 2 * (pick % (words - 1));
        const at32 = 2 + 2 * (pick % (words - 2));

        const c16 = b.slice();
        const old16 = readU16(c16, at16);
        writeU16(c16, at16, w16);
        const inc16 = checksumUpdate16(readU16(c16, 0), old16, w16);
        const full16 = (() => {
          const t = c16.slice();
          writeU16(t, 0, 0);
          return internetChecksum(t, 0, t.length);
        })();

        const c32 = b.slice();
        const old32 = readU32(c32, at32);
        writeU32(c32, at32, w32);
        const inc32 = checksumUpdate32(readU16(c32, 0), old32, w32);
        const full32 = (() => {
          const t = c32.slice();
          writeU16(t, 0, 0);
          return internetChecksum(t, 0, t.length);
        })();
        // Equal unless the covered data became all zeros (one's-complement
        // has two zeros; RFC 1624 §5). Then both are valid encodings.
        const allZero = (t: Uint8Array): boolean => t.subarray(2).every((x) => x === 0);
        return (allZero(c16) || inc16 === full16) && (allZero(c32) || inc32 === full32);
      },
    ),
    { numRuns: 500 },
  );
});

test('checksum: TTL decrement example (RFC 1624 style)', () => {
  const h = CLASSIC_IPV4_HEADER.slice();
  // TTL 64 -> 63: word at 8 goes 0x4011 -> 0x3f11.
  const c = checksumUpdate16(0xb861, 0x4011, 0x3f11);
  h[8] = 63;
  writeU16(h, 10, 0);
  assert.equal(c, internetChecksum(h, 0, 20));
  assert.equal(c, 0xb961);
});

test('checksum: ipv4HeaderChecksum equals internetChecksum over the header, any bytes, any header length, any offset (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 80, maxLength: 80 }), fc.nat(20), fc.constantFrom(20, 20, 20, 24, 40, 60), (b, o, hl) => {
      assert.equal(ipv4HeaderChecksum(b, o, hl), internetChecksum(b, o, o + hl));
    }),
    { numRuns: 2000 },
  );
  // All ones: the largest sum ten words can make.
  const ones = new Uint8Array(20).fill(0xff);
  assert.equal(ipv4HeaderChecksum(ones, 0, 20), internetChecksum(ones, 0, 20));
  assert.equal(ipv4HeaderChecksum(CLASSIC_IPV4_HEADER, 0, 20), 0);
});

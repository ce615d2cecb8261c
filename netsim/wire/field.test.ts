import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readU16, readU32, readU48, writeU16, writeU32, writeU48 } from './field.ts';
import { hex } from './test-support.ts';

test('field: big-endian reads', () => {
  const b = hex('12 34 fe dc ba 98 76 54');
  assert.equal(readU16(b, 0), 0x1234);
  assert.equal(readU16(b, 2), 0xfedc);
  assert.equal(readU32(b, 2), 0xfedcba98); // unsigned, not negative
  assert.equal(readU48(b, 2), 0xfedcba987654);
});

test('field: big-endian writes', () => {
  const b = new Uint8Array(8);
  writeU16(b, 0, 0xabcd);
  writeU32(b, 2, 0xdeadbeef);
  assert.deepEqual(b, hex('ab cd de ad be ef 00 00'));
  writeU32(b, 2, -1); // signed input is taken mod 2^32
  assert.equal(readU32(b, 2), 0xffffffff);
  writeU48(b, 2, 0xffffffffffff);
  assert.deepEqual(b, hex('ab cd ff ff ff ff ff ff'));
});

test('field: write/read round trip (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), (a, b, c) => {
      const buf = new Uint8Array(13);
      writeU16(buf, 1, a);
      writeU32(buf, 3, b);
      writeU48(buf, 7, c);
      return readU16(buf, 1) === a && readU32(buf, 3) === b && readU48(buf, 7) === c;
    }),
  );
});

test('field: writeU48 writes what v mod 2^32 for the low word wrote, for any safe integer (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (v) => {
      const got = new Uint8Array(6);
      writeU48(got, 0, v);
      const want = new Uint8Array(6);
      writeU16(want, 0, Math.floor(v / 2 ** 32));
      writeU32(want, 2, v % 2 ** 32);
      assert.deepEqual(got, want);
    }),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError } from './errors.ts';
import { emitVxlan, parseVxlan, vxlanVniAt, VXLAN_HEADER_LEN, VXLAN_PORT_IANA, VXLAN_PORT_LINUX_DEFAULT, VxlanHeader } from './vxlan.ts';
import { ARP_REQUEST_FRAME, concat, hex, toHex } from './test-support.ts';

/** flannel.1 (VNI 1) carrying an ARP request frame. */
const HEADER = hex('08 00 00 00 00 00 01 00');
const PACKET = concat(HEADER, ARP_REQUEST_FRAME);

test('vxlan: deconstruct / construct', () => {
  const h = VxlanHeader.checked(PACKET);
  assert.equal(h.flags, 0x08);
  assert.ok(h.iFlag);
  assert.equal(h.vni, 1);
  assert.deepEqual(h.payload(), ARP_REQUEST_FRAME);
  const b = new Uint8Array(8);
  const v = VxlanHeader.unchecked(b);
  v.flags = 0x08;
  v.vni = 0xabcdef;
  assert.equal(toHex(b), '08 00 00 00 ab cd ef 00');
  assert.equal(v.vni, 0xabcdef);
});

test('vxlan: parse / emit', () => {
  assert.deepEqual(parseVxlan(PACKET), { vni: 1 });
  const b = new Uint8Array(8).fill(0xff);
  emitVxlan({ vni: 1 }, b);
  assert.deepEqual(b, HEADER);
  assert.throws(() => emitVxlan({ vni: 0x1000000 }, b), RangeError);
  assert.throws(() => emitVxlan({ vni: 1 }, new Uint8Array(7)), RangeError);
  assert.equal(VXLAN_PORT_IANA, 4789);
  assert.equal(VXLAN_PORT_LINUX_DEFAULT, 8472);
});

test('vxlan: malformed', () => {
  for (let n = 0; n < VXLAN_HEADER_LEN; n++) {
    assert.throws(() => parseVxlan(HEADER.subarray(0, n)), (e: unknown) => e instanceof WireError && e.code === 'WIRE_TRUNCATED' && e.layer === 'vxlan');
  }
  assert.throws(() => parseVxlan(hex('00 00 00 00 00 00 01 00')), (e: unknown) => e instanceof WireError && e.code === 'WIRE_BAD_FIELD' && e.offset === 0);
  // Reserved bits are ignored on receive.
  assert.deepEqual(parseVxlan(hex('ff ff ff ff 00 00 2a ff')), { vni: 42 });
});

test('vxlan: vxlanVniAt agrees with parseVxlan on any bytes at any offset (-1 exactly where it throws)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 24 }), fc.nat(8), (bytes, pre) => {
      const buf = new Uint8Array(pre + bytes.length);
      buf.set(bytes, pre);
      let want = -1;
      try {
        want = parseVxlan(bytes).vni;
      } catch (e) {
        assert.ok(e instanceof WireError);
      }
      assert.equal(vxlanVniAt(buf, pre, bytes.length), want);
    }),
    { numRuns: 2000 },
  );
  assert.equal(vxlanVniAt(PACKET, 0, PACKET.length), 1);
});

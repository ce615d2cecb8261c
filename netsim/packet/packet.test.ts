import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clonePacket, Packet, packetFromBytes } from './packet.ts';

test('the wire context (checksum state, parsed context) round-trips as data and survives a clone; the bytes are copied', () => {
  const p = packetFromBytes(7, new Uint8Array([0x45, 0, 0, 20]));
  p.l4Verified = true;
  p.family = 2;
  p.nh = p.off;
  p.th = p.off + 20;
  p.l4proto = 17;
  p.mark = 0x4000;
  const ctx = p.wireContext();
  assert.deepEqual(ctx, { l4Verified: true, family: 2, nh: p.off, th: p.off + 20, l4proto: 17 });
  const q = new Packet(7, new Uint8Array(p.off + p.len), p.off, p.len);
  q.setWireContext(ctx);
  assert.deepEqual(q.wireContext(), ctx);
  assert.equal(q.mark, 0, 'only the wire context is taken');
  const c = clonePacket(p);
  assert.deepEqual(c.wireContext(), ctx);
  assert.equal(c.mark, 0x4000);
  assert.notEqual(c.buf, p.buf);
  assert.deepEqual(c.bytes(), p.bytes());
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMac } from './addr.ts';
import { WireError } from './errors.ts';
import { buildEthernetFrame, emitEthernet, ETHERNET_HEADER_LEN, EthernetFrame, EtherType, parseEthernet } from './ethernet.ts';
import type { EthernetRepr } from './ethernet.ts';
import { ARP_REQUEST_FRAME, hex } from './test-support.ts';

const REPR: EthernetRepr = { dst: 0xffffffffffff, src: parseMac('02:42:0a:f4:01:02'), etherType: EtherType.ARP };

test('ethernet: deconstruct', () => {
  const f = EthernetFrame.checked(ARP_REQUEST_FRAME);
  assert.equal(f.dst, 0xffffffffffff);
  assert.equal(f.src, 0x02420af40102);
  assert.equal(f.etherType, EtherType.ARP);
  assert.equal(f.payload().length, 28);
  assert.equal(f.payload().byteOffset, ARP_REQUEST_FRAME.byteOffset + ETHERNET_HEADER_LEN); // zero-copy
});

test('ethernet: construct with setters', () => {
  const b = new Uint8Array(42);
  const f = EthernetFrame.unchecked(b);
  f.dst = REPR.dst;
  f.src = REPR.src;
  f.etherType = EtherType.ARP;
  f.payload().set(ARP_REQUEST_FRAME.subarray(14));
  assert.deepEqual(b, ARP_REQUEST_FRAME);
});

test('ethernet: parse / emit / build', () => {
  assert.deepEqual(parseEthernet(ARP_REQUEST_FRAME), REPR);
  const b = new Uint8Array(14);
  emitEthernet(REPR, b);
  assert.deepEqual(b, ARP_REQUEST_FRAME.subarray(0, 14));
  const built = buildEthernetFrame(REPR, ARP_REQUEST_FRAME.subarray(14));
  assert.equal(built.length, 42); // no minimum-size padding
  assert.deepEqual(built, ARP_REQUEST_FRAME);
  assert.throws(() => emitEthernet(REPR, new Uint8Array(13)), RangeError);
});

test('ethernet: truncated at every length', () => {
  for (let n = 0; n < ETHERNET_HEADER_LEN; n++) {
    assert.throws(() => parseEthernet(ARP_REQUEST_FRAME.subarray(0, n)), (e: unknown) => e instanceof WireError && e.code === 'WIRE_TRUNCATED' && e.layer === 'ethernet');
  }
  assert.equal(EthernetFrame.checked(hex('ff ff ff ff ff ff 00 00 00 00 00 01 86 dd')).payload().length, 0);
});

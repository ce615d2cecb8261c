import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4, parseMac } from './addr.ts';
import { ARP_PACKET_LEN, ArpOp, ArpPacket, buildArp, emitArp, parseArp } from './arp.ts';
import type { ArpRepr } from './arp.ts';
import { WireError } from './errors.ts';
import { ARP_REQUEST_FRAME, hex } from './test-support.ts';

const ARP = ARP_REQUEST_FRAME.subarray(14);
const REQUEST: ArpRepr = {
  op: ArpOp.REQUEST,
  senderMac: parseMac('02:42:0a:f4:01:02'),
  senderIp: parseIpv4('10.244.1.2'),
  targetMac: 0,
  targetIp: parseIpv4('10.244.1.3'),
};

test('arp: deconstruct', () => {
  const p = ArpPacket.checked(ARP);
  assert.equal(p.hardwareType, 1);
  assert.equal(p.protocolType, 0x0800);
  assert.equal(p.hardwareLen, 6);
  assert.equal(p.protocolLen, 4);
  assert.equal(p.op, ArpOp.REQUEST);
  assert.equal(p.senderMac, 0x02420af40102);
  assert.equal(p.senderIp, 0x0af40102);
  assert.equal(p.targetMac, 0);
  assert.equal(p.targetIp, 0x0af40103);
});

test('arp: construct with setters', () => {
  const b = new Uint8Array(ARP_PACKET_LEN);
  const p = ArpPacket.unchecked(b);
  p.hardwareType = 1;
  p.protocolType = 0x0800;
  p.hardwareLen = 6;
  p.protocolLen = 4;
  p.op = ArpOp.REQUEST;
  p.senderMac = REQUEST.senderMac;
  p.senderIp = REQUEST.senderIp;
  p.targetMac = 0;
  p.targetIp = REQUEST.targetIp;
  assert.deepEqual(b, ARP);
});

test('arp: parse / emit', () => {
  assert.deepEqual(parseArp(ARP), REQUEST);
  assert.deepEqual(buildArp(REQUEST), ARP);
  const b = new Uint8Array(30).fill(0xee);
  emitArp(REQUEST, b, 2);
  assert.deepEqual(b.subarray(2), ARP);
  const reply: ArpRepr = { op: ArpOp.REPLY, senderMac: parseMac('02:42:0a:f4:01:03'), senderIp: REQUEST.targetIp, targetMac: REQUEST.senderMac, targetIp: REQUEST.senderIp };
  assert.deepEqual(parseArp(buildArp(reply)), reply);
  assert.deepEqual(
    buildArp(reply),
    hex('00 01 08 00 06 04 00 02 02 42 0a f4 01 03 0a f4 01 03 02 42 0a f4 01 02 0a f4 01 02'),
  );
});

test('arp: truncated at every length, unsupported types', () => {
  for (let n = 0; n < ARP_PACKET_LEN; n++) {
    assert.throws(() => parseArp(ARP.subarray(0, n)), (e: unknown) => e instanceof WireError && e.code === 'WIRE_TRUNCATED' && e.layer === 'arp');
  }
  const cases: Array<[number, number]> = [[0, 0x06], [3, 0xdd], [4, 0x10], [5, 0x10]]; // IEEE 802 htype, IPv6 ptype, hlen 16, plen 16
  for (const [at, v] of cases) {
    const b = ARP.slice();
    b[at] = v;
    assert.throws(() => parseArp(b), (e: unknown) => e instanceof WireError && e.code === 'WIRE_UNSUPPORTED');
  }
});

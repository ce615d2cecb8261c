import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4 as ip } from './addr.ts';
import { WireError } from './errors.ts';
import { emitTcp, formatTcpFlags, formatTcpOptions, parseTcp, tcpHeaderLen, TcpFlags, TcpSegment } from './tcp.ts';
import type { TcpRepr } from './tcp.ts';
import { hex, SYN_TCP, toHex } from './test-support.ts';

const SRC = ip('10.244.1.2');
const DST = ip('10.96.0.10');
const OPTIONS = hex('02 04 05 b4 04 02 08 0a 00 12 d6 87 00 00 00 00 01 03 03 07');
const SYN: TcpRepr = { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: TcpFlags.SYN, window: 64240, options: OPTIONS };

test('tcp: deconstruct a SYN with options', () => {
  const s = TcpSegment.checked(SYN_TCP);
  assert.equal(s.srcPort, 40000);
  assert.equal(s.dstPort, 80);
  assert.equal(s.seq, 1000);
  assert.equal(s.ack, 0);
  assert.equal(s.dataOffset, 10);
  assert.equal(s.headerLen, 40);
  assert.equal(s.flags, TcpFlags.SYN);
  assert.equal(s.window, 64240);
  assert.equal(s.checksum, 0xbf9d);
  assert.equal(s.urgent, 0);
  assert.deepEqual(s.options(), OPTIONS);
  assert.equal(s.payload().length, 0);
  assert.ok(s.verifyChecksum(SRC, DST));
  assert.equal(formatTcpOptions(s.options()), 'mss 1460,sackOK,TS val 1234567 ecr 0,nop,wscale 7');
});

test('tcp: construct with setters', () => {
  const b = new Uint8Array(40);
  const s = TcpSegment.unchecked(b);
  s.srcPort = 40000;
  s.dstPort = 80;
  s.seq = 1000;
  s.ack = 0;
  s.headerLen = 40;
  s.flags = TcpFlags.SYN;
  s.window = 64240;
  s.urgent = 0;
  s.options().set(OPTIONS);
  s.fillChecksum(SRC, DST);
  assert.equal(toHex(b), toHex(SYN_TCP));
  s.seq = 0xfffffffe; // unsigned round trip
  assert.equal(s.seq, 0xfffffffe);
});

test('tcp: parse / emit', () => {
  assert.deepEqual(parseTcp(SYN_TCP, { src: SRC, dst: DST }), SYN);
  assert.equal(tcpHeaderLen(SYN), 40);
  const b = new Uint8Array(40);
  emitTcp(SYN, new Uint8Array(0), b, 0, SRC, DST);
  assert.equal(toHex(b), toHex(SYN_TCP));
  // Data segment with URG and unpadded options (3 bytes → padded to 4).
  const repr: TcpRepr = { srcPort: 1, dstPort: 2, seq: 0xffffffff, ack: 7, flags: TcpFlags.ACK | TcpFlags.PSH | TcpFlags.URG, window: 1, urgent: 3, options: hex('03 03 07') };
  const payload = hex('68 65 6c 6c 6f');
  const out = new Uint8Array(tcpHeaderLen(repr) + payload.length);
  emitTcp(repr, payload, out, 0, SRC, DST);
  const parsed = parseTcp(out, { src: SRC, dst: DST });
  assert.deepEqual(parsed, { ...repr, options: hex('03 03 07 00') });
  assert.deepEqual(TcpSegment.checked(out).payload(), payload);
  assert.throws(() => emitTcp(SYN, new Uint8Array(1), new Uint8Array(40), 0, SRC, DST), RangeError);
});

test('tcp: malformed', () => {
  const isCode = (code: string) => (e: unknown) => e instanceof WireError && e.code === code && e.layer === 'tcp';
  for (let n = 0; n < SYN_TCP.length; n++) assert.throws(() => parseTcp(SYN_TCP.subarray(0, n)), isCode('WIRE_TRUNCATED'));
  const b = SYN_TCP.slice();
  b[12] = 0x40; // data offset 4
  assert.throws(() => parseTcp(b), isCode('WIRE_BAD_HEADER_LEN'));
  const c = SYN_TCP.slice();
  c[30] = (c[30] as number) ^ 1;
  assert.doesNotThrow(() => parseTcp(c));
  assert.throws(() => parseTcp(c, { src: SRC, dst: DST }), isCode('WIRE_BAD_CHECKSUM'));
});

test('tcp: tcpdump flag strings', () => {
  assert.equal(formatTcpFlags(TcpFlags.SYN), '[S]');
  assert.equal(formatTcpFlags(TcpFlags.SYN | TcpFlags.ACK), '[S.]');
  assert.equal(formatTcpFlags(TcpFlags.PSH | TcpFlags.ACK), '[P.]');
  assert.equal(formatTcpFlags(TcpFlags.FIN | TcpFlags.ACK), '[F.]');
  assert.equal(formatTcpFlags(TcpFlags.FIN | TcpFlags.PSH | TcpFlags.ACK), '[FP.]');
  assert.equal(formatTcpFlags(TcpFlags.RST), '[R]');
  assert.equal(formatTcpFlags(TcpFlags.RST | TcpFlags.ACK), '[R.]');
  assert.equal(formatTcpFlags(TcpFlags.SYN | TcpFlags.ECE | TcpFlags.CWR), '[SEW]');
  assert.equal(formatTcpFlags(0), '[none]');
});

test('tcp: option formatting never throws', () => {
  assert.equal(formatTcpOptions(hex('01 01 05 0a 00 00 00 01 00 00 00 02')), 'nop,nop,sack 1 {1:2}');
  assert.equal(formatTcpOptions(hex('02 04 05')), 'bad opt');
  assert.equal(formatTcpOptions(hex('fe 02 00')), 'unknown-254,eol');
  assert.equal(formatTcpOptions(hex('02 00')), 'bad opt');
});

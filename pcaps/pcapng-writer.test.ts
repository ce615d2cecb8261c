import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapngWriter } from './pcapng-writer.ts';
import { fdSink } from './byte-writer.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './pcapng-constants.ts';
import { readPcapng } from './pcapng-reader.ts';
import { hex, utf8hex } from './test-support.ts';

// Hand-assembled from draft-ietf-opsawg-pcapng, little endian, field by field.
const SHB_N =
  '0a0d0d0a' + '1c000000' + //            block type, total length 28
  '4d3c2b1a' + '0100' + '0000' + //        byte-order magic, version 1.0
  'ffffffffffffffff' + //                  section length −1 (unknown)
  '1c000000'; //                           (no options) trailing length
const shbWithApp = (app: string): string => {
  const v = utf8hex(app);
  const padded = v + '00'.repeat((4 - (app.length % 4)) % 4);
  const total = 28 + 4 + padded.length / 2 + 4;
  const t = Buffer.alloc(4);
  t.writeUInt32LE(total);
  return '0a0d0d0a' + t.toString('hex') + '4d3c2b1a01000000ffffffffffffffff' + '0400' + Buffer.from([app.length, 0]).toString('hex') + padded + '00000000' + t.toString('hex');
};

test('minimal pcapng (SHB + IDB + EPB) matches a hand-assembled fixture byte for byte', () => {
  const w = new PcapngWriter({ application: 'n' });
  const id = w.addInterface({ name: 'n1/flannel0', linkType: LINKTYPE_RAW, snaplen: 65535 });
  w.writePacket({ interfaceId: id, timestampNs: 0x1_0000_0002n, data: Uint8Array.of(0x45, 1, 2), direction: 'outbound', comment: 'trace 7' });
  const shb =
    '0a0d0d0a' + '28000000' + '4d3c2b1a' + '0100' + '0000' + 'ffffffffffffffff' +
    '0400' + '0100' + '6e000000' + //      shb_userappl "n" + 3 pad
    '00000000' + //                        opt_endofopt
    '28000000';
  const idb =
    '01000000' + '30000000' +
    '6500' + '0000' + 'ffff0000' + //      LINKTYPE_RAW, reserved, snaplen 65535
    '0200' + '0b00' + utf8hex('n1/flannel0') + '00' + // if_name (11 bytes + 1 pad)
    '0900' + '0100' + '09000000' + //      if_tsresol = 9 + 3 pad
    '00000000' + '30000000';
  const epb =
    '06000000' + '3c000000' +
    '00000000' + //                        interface 0
    '01000000' + '02000000' + //           ts high, ts low (ns)
    '03000000' + '03000000' + //           captured, original length
    '45010200' + //                        data + 1 pad
    '0200' + '0400' + '02000000' + //      epb_flags: outbound
    '0100' + '0700' + utf8hex('trace 7') + '00' + // opt_comment + 1 pad
    '00000000' + '3c000000';
  assert.equal(hex(w.toBytes()), shb + idb + epb);
  assert.equal(hex(w.toBytes()).length / 2, w.byteLength);
});

test('the helper-built SHB fixtures agree with the writer (default application "netsim")', () => {
  assert.equal(hex(new PcapngWriter().toBytes()), shbWithApp('netsim'));
  assert.equal(SHB_N.length / 2, 28);
});

test('SHB options: comments, shb_hardware, shb_os, shb_userappl — in that order', () => {
  const b = new PcapngWriter({ application: 'app', hardware: 'hw', os: 'os1', comment: ['c'] }).toBytes();
  const opts = '0100' + '0100' + '63000000' + '0200' + '0200' + '68770000' + '0300' + '0300' + '6f733100' + '0400' + '0300' + '61707000' + '00000000';
  const total = 28 + opts.length / 2;
  assert.equal(hex(b), '0a0d0d0a' + Buffer.from(Uint32Array.of(total).buffer).toString('hex') + '4d3c2b1a01000000ffffffffffffffff' + opts + Buffer.from(Uint32Array.of(total).buffer).toString('hex'));
  const s = readPcapng(b).sections[0];
  assert.deepEqual(s, { byteOrder: 'little', versionMajor: 1, versionMinor: 0, comments: ['c'], hardware: 'hw', os: 'os1', application: 'app' });
});

test('big-endian output: same layout, fields swapped', () => {
  const w = new PcapngWriter({ application: 'n', byteOrder: 'big' });
  w.addInterface({ name: 'a', linkType: LINKTYPE_ETHERNET, snaplen: 1500 });
  w.writePacket({ interfaceId: 0, timestampNs: 5n, data: Uint8Array.of(9) });
  const shb = '0a0d0d0a' + '00000028' + '1a2b3c4d' + '0001' + '0000' + 'ffffffffffffffff' + '0004' + '0001' + '6e000000' + '00000000' + '00000028';
  const idb = '00000001' + '00000028' + '0001' + '0000' + '000005dc' + '0002' + '0001' + '61000000' + '0009' + '0001' + '09000000' + '00000000' + '00000028';
  const epb = '00000006' + '00000024' + '00000000' + '00000000' + '00000005' + '00000001' + '00000001' + '09000000' + '00000024';
  assert.equal(hex(w.toBytes()), shb + idb + epb);
});

test('EPB without direction or comment has no options at all; inbound sets bits 0-1 to 1', () => {
  const w = new PcapngWriter({ application: 'n' });
  w.addInterface({ name: 'x', linkType: 1 });
  const before = w.byteLength;
  w.writePacket({ interfaceId: 0, timestampNs: 0n, data: new Uint8Array(4) });
  assert.equal(w.byteLength - before, 32 + 4);
  const mid = w.byteLength;
  w.writePacket({ interfaceId: 0, timestampNs: 0n, data: new Uint8Array(4), direction: 'inbound' });
  const epb = w.toBytes().subarray(mid);
  assert.equal(hex(epb.subarray(32, 44)), '0200' + '0400' + '01000000' + '00000000');
});

test('name resolution block: IPv4 + NUL-terminated names, IPv6, end record', () => {
  const w = new PcapngWriter({ application: 'n' });
  const before = w.byteLength;
  w.addNameRecords([{ ip: '10.244.1.2', names: ['web', 'default.web'] }, { ip: new Uint8Array(16).fill(0).map((_, i) => (i === 15 ? 1 : 0)), names: ['lo6'] }]);
  const nrb = w.toBytes().subarray(before);
  const v4 = '0100' + '1400' + '0af40102' + utf8hex('web') + '00' + utf8hex('default.web') + '00';
  const v6 = '0200' + '1400' + '00000000000000000000000000000001' + utf8hex('lo6') + '00';
  assert.equal(hex(nrb), '04000000' + '40000000' + v4 + v6 + '00000000' + '40000000');
  assert.deepEqual(readPcapng(w.toBytes()).names, [{ family: 4, ip: '10.244.1.2', names: ['web', 'default.web'] }, { family: 6, ip: '::1', names: ['lo6'] }]);
});

test('an interface added after packets were written is still valid: IDBs precede their packets', () => {
  const w = new PcapngWriter();
  w.addInterface({ name: 'node01/eth0', linkType: LINKTYPE_ETHERNET });
  w.writePacket({ interfaceId: 0, timestampNs: 1n, data: Uint8Array.of(1) });
  const late = w.addInterface({ name: 'node01/flannel0', linkType: LINKTYPE_RAW });
  w.writePacket({ interfaceId: late, timestampNs: 2n, data: Uint8Array.of(2) });
  w.writePacket({ interfaceId: 0, timestampNs: 3n, data: Uint8Array.of(3) });
  const f = readPcapng(w.toBytes());
  assert.deepEqual(f.interfaces.map((i) => i.name), ['node01/eth0', 'node01/flannel0']);
  assert.deepEqual(f.packets.map((p) => [p.interfaceId, p.timestampNs, p.data[0]]), [[0, 1n, 1], [1, 2n, 2], [0, 3n, 3]]);
});

test('snaplen truncates captured bytes but keeps the original length; 0 means unlimited', () => {
  const w = new PcapngWriter();
  w.addInterface({ name: 'a', linkType: 1, snaplen: 4 });
  w.addInterface({ name: 'b', linkType: 1, snaplen: 0 });
  const data = Uint8Array.from({ length: 10 }, (_, i) => i);
  w.writePacket({ interfaceId: 0, timestampNs: 0n, data });
  w.writePacket({ interfaceId: 1, timestampNs: 0n, data, originalLength: 60 });
  const [a, b] = readPcapng(w.toBytes()).packets;
  assert.deepEqual([hex(a!.data), a!.originalLength], ['00010203', 10]);
  assert.deepEqual([b!.data.length, b!.originalLength], [10, 60]);
});

test('programmer errors are RangeErrors', () => {
  const w = new PcapngWriter();
  assert.throws(() => w.writePacket({ interfaceId: 0, timestampNs: 0n, data: new Uint8Array(1) }), RangeError);
  w.addInterface({ name: 'a', linkType: 1 });
  assert.throws(() => w.writePacket({ interfaceId: 1, timestampNs: 0n, data: new Uint8Array(1) }), RangeError);
  assert.throws(() => w.writePacket({ interfaceId: 0, timestampNs: -1n, data: new Uint8Array(1) }), RangeError);
  assert.throws(() => w.writePacket({ interfaceId: 0, timestampNs: 1n << 64n, data: new Uint8Array(1) }), RangeError);
  assert.throws(() => w.writePacket({ interfaceId: 0, timestampNs: 0n, data: new Uint8Array(5), originalLength: 4 }), RangeError);
  assert.throws(() => w.writePacket({ interfaceId: 0, timestampNs: 0n, data: new Uint8Array(1), comment: 'x'.repeat(70000) }), RangeError);
  assert.throws(() => w.addInterface({ name: 'b', linkType: 70000 }), RangeError);
  assert.throws(() => w.addNameRecords([{ ip: '10.0.0.256', names: ['x'] }]), RangeError);
  assert.throws(() => w.addNameRecords([{ ip: '10.0.0.1', names: [] }]), RangeError);
  assert.throws(() => w.addNameRecords([{ ip: '10.0.0.1', names: ['a\0b'] }]), RangeError);
  assert.throws(() => w.addNameRecords([{ ip: new Uint8Array(5), names: ['a'] }]), RangeError);
  // Nothing half-written: the file still reads.
  assert.equal(readPcapng(w.toBytes()).packets.length, 0);
});

function sample(w: PcapngWriter, n: number): void {
  const eth = w.addInterface({ name: 'node01/eth0', linkType: LINKTYPE_ETHERNET, description: 'eth0 in node node01' });
  const tun = w.addInterface({ name: 'node01/flannel0', linkType: LINKTYPE_RAW });
  w.addNameRecords([{ ip: '10.244.1.2', names: ['default/web'] }]);
  for (let i = 0; i < n; i++) {
    w.writePacket({ interfaceId: i % 3 === 0 ? tun : eth, timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000n, data: Uint8Array.from({ length: (i * 37) % 1600 }, (_, k) => (k + i) & 255), direction: i % 2 ? 'inbound' : 'outbound', comment: `trace ${i} hop ${i % 5}` });
  }
}

test('sink mode in small batches produces exactly the in-memory bytes; toBytes is refused', () => {
  const mem = new PcapngWriter();
  sample(mem, 500);
  const chunks: Uint8Array[] = [];
  const s = new PcapngWriter({ sink: (c) => chunks.push(c), batchBytes: 4096 });
  sample(s, 500);
  assert.ok(chunks.length > 10, 'flushed in batches while writing');
  s.close();
  assert.throws(() => s.toBytes());
  assert.throws(() => s.writePacket({ interfaceId: 0, timestampNs: 0n, data: new Uint8Array(1) }));
  assert.ok(chunks.every((c) => c.length <= 4096 || c.length > 4096 - 64), 'chunks are batch-sized unless one block is bigger');
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(mem.toBytes()));
  assert.equal(s.byteLength, mem.byteLength);
});

test('fdSink streams to a file descriptor (1 MiB batches by default)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcaps-'));
  try {
    const file = join(dir, 'x.pcapng');
    const fd = openSync(file, 'w');
    const w = new PcapngWriter({ sink: fdSink(fd) });
    sample(w, 3000);
    w.close();
    closeSync(fd);
    const mem = new PcapngWriter();
    sample(mem, 3000);
    assert.ok(mem.byteLength > 1 << 20, 'more than one batch');
    assert.deepEqual(readFileSync(file), Buffer.from(mem.toBytes()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a block bigger than the batch still goes out whole', () => {
  const chunks: Uint8Array[] = [];
  const w = new PcapngWriter({ sink: (c) => chunks.push(c), batchBytes: 256 });
  w.addInterface({ name: 'a', linkType: 1, snaplen: 0 });
  w.writePacket({ interfaceId: 0, timestampNs: 9n, data: new Uint8Array(1000).fill(7) });
  w.close();
  const f = readPcapng(Buffer.concat(chunks));
  assert.equal(f.packets[0]!.data.length, 1000);
  assert.ok(f.packets[0]!.data.every((b) => b === 7));
});

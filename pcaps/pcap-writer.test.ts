import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { PcapWriter, PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap-writer.ts';
import { readPcap } from './pcap-reader.ts';
import { readCapture } from './read-capture.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './pcapng-constants.ts';
import { hex } from './test-support.ts';

test('classic pcap header and record match a hand-assembled fixture (ns magic, 2.4, LE)', () => {
  const w = new PcapWriter({ linkType: LINKTYPE_RAW, snaplen: 65535 });
  w.writePacket({ timestampNs: 3_000_000_007n, data: Uint8Array.of(0x45, 0, 1), originalLength: 40 });
  const header = '4d3cb2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '65000000';
  const rec = '03000000' + '07000000' + '03000000' + '28000000' + '450001';
  assert.equal(hex(w.toBytes()), header + rec);
});

test('microsecond variant and big endian', () => {
  const w = new PcapWriter({ linkType: LINKTYPE_ETHERNET, resolution: 'us', byteOrder: 'big' });
  w.writePacket({ timestampNs: 1_000_999_999n, data: Uint8Array.of(1, 2) });
  assert.equal(hex(w.toBytes()), 'a1b2c3d4' + '0002' + '0004' + '00000000' + '00000000' + '00040000' + '00000001' + '00000001' + '000003e7' + '00000002' + '00000002' + '0102');
  const f = readPcap(w.toBytes());
  assert.equal(f.byteOrder, 'big');
  assert.deepEqual(f.interfaces[0]!.tsresol, { base: 10, exponent: 6 });
  assert.equal(f.packets[0]!.timestampNs, 1_000_999_000n, 'truncated to the microsecond');
  assert.equal(PCAP_MAGIC_US, 0xa1b2c3d4);
  assert.equal(PCAP_MAGIC_NS, 0xa1b23c4d);
});

test('round trip: many packets, both byte orders, both resolutions, snaplen truncation', () => {
  for (const byteOrder of ['little', 'big'] as const) {
    for (const resolution of ['ns', 'us'] as const) {
      const w = new PcapWriter({ linkType: LINKTYPE_ETHERNET, snaplen: 1000, byteOrder, resolution });
      const sent = Array.from({ length: 300 }, (_, i) => ({ timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_234_567n, data: Uint8Array.from({ length: (i * 13) % 1500 }, (_, k) => (k * i) & 255) }));
      for (const p of sent) w.writePacket(p);
      const f = readCapture(w.toBytes());
      assert.equal(f.format, 'pcap');
      assert.equal(f.byteOrder, byteOrder);
      assert.deepEqual(f.interfaces, [{ linkType: LINKTYPE_ETHERNET, snaplen: 1000, tsresol: { base: 10, exponent: resolution === 'ns' ? 9 : 6 }, section: 0, comments: [] }]);
      assert.equal(f.packets.length, sent.length);
      f.packets.forEach((p, i) => {
        const s = sent[i]!;
        assert.equal(p.timestampNs, resolution === 'ns' ? s.timestampNs : (s.timestampNs / 1000n) * 1000n);
        assert.deepEqual(p.data, s.data.subarray(0, 1000));
        assert.equal(p.originalLength, s.data.length);
      });
    }
  }
});

test('pcap writer: programmer errors, sink mode', () => {
  assert.throws(() => new PcapWriter({ linkType: -1 }), RangeError);
  assert.throws(() => new PcapWriter({ linkType: 1, snaplen: 0 }), RangeError);
  const w = new PcapWriter({ linkType: 1 });
  assert.throws(() => w.writePacket({ timestampNs: 0x1_0000_0000n * 1_000_000_000n, data: new Uint8Array(1) }), RangeError);
  assert.throws(() => w.writePacket({ timestampNs: -1n, data: new Uint8Array(1) }), RangeError);
  assert.throws(() => w.writePacket({ timestampNs: 0n, data: new Uint8Array(3), originalLength: 2 }), RangeError);
  const chunks: Uint8Array[] = [];
  const s = new PcapWriter({ linkType: 1, sink: (c) => chunks.push(c), batchBytes: 100 });
  for (let i = 0; i < 50; i++) s.writePacket({ timestampNs: BigInt(i), data: new Uint8Array(30).fill(i) });
  s.close();
  assert.ok(chunks.length > 5);
  assert.equal(readPcap(Buffer.concat(chunks)).packets.length, 50);
  assert.equal(s.packetCount, 50);
});

// --- pcap-parser (npm, classic µs pcap only) as an independent second reader ---

interface PcapParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}
interface PcapParserGlobal { magicNumber: number; majorVersion: number; minorVersion: number; snapshotLength: number; linkLayerType: number }
interface PcapParserEmitter {
  on(ev: 'globalHeader', f: (h: PcapParserGlobal) => void): PcapParserEmitter;
  on(ev: 'packet', f: (p: PcapParserPacket) => void): PcapParserEmitter;
  on(ev: 'end', f: () => void): PcapParserEmitter;
  on(ev: 'error', f: (e: Error) => void): PcapParserEmitter;
}
const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(input: NodeJS.ReadableStream): PcapParserEmitter };

function parseWithPcapParser(bytes: Uint8Array): Promise<{ header?: PcapParserGlobal; packets: PcapParserPacket[]; error?: Error }> {
  return new Promise((resolve) => {
    const out: { header?: PcapParserGlobal; packets: PcapParserPacket[]; error?: Error } = { packets: [] };
    // One chunk: pcap-parser concatenates multiple chunks with the deprecated `new Buffer()`.
    pcapParser
      .parse(Readable.from([Buffer.from(bytes)]))
      .on('globalHeader', (h) => (out.header = h))
      .on('packet', (p) => out.packets.push(p))
      .on('error', (e) => (out.error = e))
      .on('end', () => resolve(out));
  });
}

test('pcap-parser reads our microsecond pcap (both byte orders) and sees the same packets', async () => {
  for (const byteOrder of ['little', 'big'] as const) {
    const w = new PcapWriter({ linkType: LINKTYPE_ETHERNET, resolution: 'us', byteOrder, snaplen: 65535 });
    const sent = Array.from({ length: 64 }, (_, i) => ({ timestampNs: 1_700_000_000_123_456_000n + BigInt(i) * 1_000_001_000n, data: Uint8Array.from({ length: 20 + i * 7 }, (_, k) => (k ^ i) & 255), originalLength: 20 + i * 7 + (i % 3) }));
    for (const p of sent) w.writePacket(p);
    const r = await parseWithPcapParser(w.toBytes());
    assert.equal(r.error, undefined);
    assert.deepEqual({ ...r.header }, { magicNumber: 0xa1b2c3d4, majorVersion: 2, minorVersion: 4, gmtOffset: 0, timestampAccuracy: 0, snapshotLength: 65535, linkLayerType: 1 });
    assert.equal(r.packets.length, sent.length);
    r.packets.forEach((p, i) => {
      const s = sent[i]!;
      assert.equal(BigInt(p.header.timestampSeconds) * 1_000_000_000n + BigInt(p.header.timestampMicroseconds) * 1000n, s.timestampNs);
      assert.equal(p.header.capturedLength, s.data.length);
      assert.equal(p.header.originalLength, s.originalLength);
      assert.deepEqual(new Uint8Array(p.data), s.data);
    });
  }
});

test('pcap-parser does not know the nanosecond magic (why resolution: "us" exists)', async () => {
  const w = new PcapWriter({ linkType: 1 });
  const r = await parseWithPcapParser(w.toBytes());
  assert.match(r.error?.message ?? '', /unknown magic number: 4d3cb2a1/);
});

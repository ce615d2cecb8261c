import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureError, type CaptureErrorCode } from './capture-error.ts';
import { readPcapng, formatIpv6 } from './pcapng-reader.ts';
import { readPcap } from './pcap-reader.ts';
import { readCapture, sniffCaptureFormat } from './read-capture.ts';
import { PcapngWriter } from './pcapng-writer.ts';
import { PcapWriter } from './pcap-writer.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './pcapng-constants.ts';
import { unhex, utf8hex } from './test-support.ts';

/** A little-endian block: type, total length, body (padded by the caller), trailing length. */
function block(type: number, bodyHex: string): string {
  const total = 12 + bodyHex.length / 2;
  const u32 = (v: number): string => Buffer.from(Uint32Array.of(v).buffer).toString('hex');
  return u32(type) + u32(total) + bodyHex + u32(total);
}
const SHB = block(0x0a0d0d0a, '4d3c2b1a' + '0100' + '0000' + 'ffffffffffffffff');
const idb = (linkType: string, opts = ''): string => block(1, linkType + '0000' + '00000400' + opts);
const epb = (ifid: string, hi: string, lo: string, dataHex: string, opts = ''): string => {
  const n = dataHex.length / 2;
  const len = Buffer.from(Uint32Array.of(n).buffer).toString('hex');
  return block(6, ifid + hi + lo + len + len + dataHex + '00'.repeat((4 - (n % 4)) % 4) + opts);
};

function throwsCode(f: () => unknown, code: CaptureErrorCode, offset?: number): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CaptureError, `expected CaptureError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (offset !== undefined) assert.equal(e.offset, offset, e.message);
    assert.match(e.message, new RegExp(`^${code} at byte ${e.offset}: `));
    return true;
  });
}

test('round trip pcapng: many packets on several interfaces, both directions, comments, names, both byte orders', () => {
  for (const byteOrder of ['little', 'big'] as const) {
    const w = new PcapngWriter({ byteOrder, hardware: 'emulated', os: 'netsim-kernel', comment: 'tshark -d udp.port==8285,ip' });
    const ids = [
      w.addInterface({ name: 'node01/eth0', linkType: LINKTYPE_ETHERNET, description: 'eth0 in node node01' }),
      w.addInterface({ name: 'node01/flannel0', linkType: LINKTYPE_RAW, snaplen: 65535 }),
      w.addInterface({ name: 'default/web-7d9f/eth0', linkType: LINKTYPE_ETHERNET }),
    ];
    w.addNameRecords([{ ip: '10.244.1.2', names: ['default.web-7d9f'] }, { ip: Uint8Array.of(10, 244, 2, 3), names: ['default.nginx-1', 'nginx'] }]);
    const dirs = ['inbound', 'outbound', undefined] as const;
    const sent = Array.from({ length: 1000 }, (_, i) => {
      const d = dirs[i % 3];
      const comment = i % 4 === 0 ? undefined : i % 4 === 1 ? `trace ${i} hop ${i % 7}` : [`trace ${i}`, `hop ${i % 7} ✓`];
      return { interfaceId: ids[i % 3]!, timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 999_999_937n, data: Uint8Array.from({ length: (i * 31) % 1519 }, (_, k) => (k + 3 * i) & 255), ...(d === undefined ? {} : { direction: d }), ...(comment === undefined ? {} : { comment }) };
    });
    for (const p of sent) w.writePacket(p);
    const f = readCapture(w.toBytes());
    assert.equal(f.format, 'pcapng');
    assert.equal(f.byteOrder, byteOrder);
    assert.deepEqual(f.sections, [{ byteOrder, versionMajor: 1, versionMinor: 0, comments: ['tshark -d udp.port==8285,ip'], hardware: 'emulated', os: 'netsim-kernel', application: 'netsim' }]);
    assert.deepEqual(f.interfaces, [
      { linkType: 1, snaplen: 262144, tsresol: { base: 10, exponent: 9 }, section: 0, comments: [], name: 'node01/eth0', description: 'eth0 in node node01' },
      { linkType: 101, snaplen: 65535, tsresol: { base: 10, exponent: 9 }, section: 0, comments: [], name: 'node01/flannel0' },
      { linkType: 1, snaplen: 262144, tsresol: { base: 10, exponent: 9 }, section: 0, comments: [], name: 'default/web-7d9f/eth0' },
    ]);
    assert.deepEqual(f.names, [{ family: 4, ip: '10.244.1.2', names: ['default.web-7d9f'] }, { family: 4, ip: '10.244.2.3', names: ['default.nginx-1', 'nginx'] }]);
    assert.equal(f.packets.length, sent.length);
    f.packets.forEach((p, i) => {
      const s = sent[i]!;
      assert.equal(p.interfaceId, s.interfaceId);
      assert.equal(p.timestampNs, s.timestampNs);
      assert.deepEqual(p.data, s.data);
      assert.equal(p.originalLength, s.data.length);
      assert.equal(p.direction, s.direction);
      assert.equal(p.flags, s.direction === undefined ? undefined : s.direction === 'inbound' ? 1 : 2);
      assert.deepEqual(p.comments, s.comment === undefined ? [] : typeof s.comment === 'string' ? [s.comment] : s.comment);
    });
  }
});

test('if_tsresol: default microseconds, decimal exponents, power-of-2 form, if_tsoffset', () => {
  const ts = '00000000' + '40420f00'; // 1_000_000 units
  const f = readPcapng(unhex(
    SHB +
    idb('0100') + //                                               no if_tsresol: 10^-6
    idb('0100', '0900' + '0100' + '03000000' + '00000000') + //    10^-3
    idb('0100', '0900' + '0100' + '0c000000' + '00000000') + //    10^-12 (finer than ns)
    idb('0100', '0900' + '0100' + '94000000' + '00000000') + //    2^-20
    idb('0100', '0900' + '0100' + '09000000' + '0e00' + '0800' + 'f6ffffffffffffff' + '00000000') + // ns, offset −10 s
    epb('00000000', ...splitTs(ts), 'aa') + epb('01000000', ...splitTs(ts), 'aa') + epb('02000000', ...splitTs(ts), 'aa') +
    epb('03000000', ...splitTs(ts), 'aa') + epb('04000000', ...splitTs(ts), 'aa'),
  ));
  assert.deepEqual(f.interfaces.map((i) => i.tsresol), [{ base: 10, exponent: 6 }, { base: 10, exponent: 3 }, { base: 10, exponent: 12 }, { base: 2, exponent: 20 }, { base: 10, exponent: 9 }]);
  assert.equal(f.interfaces[4]!.tsoffsetSeconds, -10n);
  assert.deepEqual(f.packets.map((p) => p.timestampNs), [1_000_000_000n, 1_000_000_000_000n, 1_000n, (1_000_000n * 1_000_000_000n) / 1_048_576n, 1_000_000n - 10_000_000_000n]);
});
function splitTs(h: string): [string, string] {
  return [h.slice(0, 8), h.slice(8)];
}

test('hand-assembled big-endian pcapng with EPB flags and comment', () => {
  const be = (v: number): string => Buffer.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]).toString('hex');
  const bblock = (type: number, bodyHex: string): string => be(type) + be(12 + bodyHex.length / 2) + bodyHex + be(12 + bodyHex.length / 2);
  const bytes = unhex(
    bblock(0x0a0d0d0a, '1a2b3c4d' + '0001' + '0000' + 'ffffffffffffffff') +
    bblock(1, '0065' + '0000' + '0000ffff' + '0002' + '0001' + '78000000' + '0009' + '0001' + '09000000' + '00000000') +
    bblock(6, be(0) + be(1) + be(2) + be(3) + be(3) + '45000000' + '0002' + '0004' + be(1) + '0001' + '0002' + utf8hex('hi') + '0000' + '00000000'),
  );
  const f = readCapture(bytes);
  assert.equal(f.byteOrder, 'big');
  assert.deepEqual(f.interfaces.map((i) => [i.name, i.linkType, i.snaplen]), [['x', 101, 65535]]);
  assert.deepEqual(f.packets, [{ interfaceId: 0, timestampNs: (1n << 32n) + 2n, data: Uint8Array.of(0x45, 0, 0), originalLength: 3, comments: ['hi'], flags: 1, direction: 'inbound' }]);
});

test('SPB, obsolete Packet Block, ISB and unknown/custom blocks are read or skipped', () => {
  const f = readPcapng(unhex(
    SHB + idb('0100', '0200' + '0100' + '61000000' + '00000000') +
    block(3, '05000000' + '0102030405000000') + //                  SPB: original length 5
    block(2, '0000' + '0000' + '00000000' + '07000000' + '02000000' + '02000000' + 'abcd0000' + '0200' + '0400' + '02000000' + '00000000') + // OPB, pack_flags outbound
    block(5, '00000000' + '00000000' + '00000000') + //             ISB
    block(0x40000bad, 'deadbeef') + //                              custom block
    block(0x7777, '') + //                                          unknown
    epb('00000000', '00000000', '01000000', 'ff'),
  ));
  assert.deepEqual(f.packets.map((p) => [p.timestampNs, Buffer.from(p.data).toString('hex'), p.originalLength, p.direction]), [
    [0n, '0102030405', 5, undefined],
    [7_000n, 'abcd', 2, 'outbound'],
    [1_000n, 'ff', 1, undefined],
  ]);
});

test('several sections: byte order may change, interface ids restart per section, numbered globally', () => {
  const a = new PcapngWriter({ application: 'a' });
  a.addInterface({ name: 'a0', linkType: 1 });
  a.writePacket({ interfaceId: 0, timestampNs: 1n, data: Uint8Array.of(1) });
  const b = new PcapngWriter({ application: 'b', byteOrder: 'big' });
  b.addInterface({ name: 'b0', linkType: 1 });
  b.addInterface({ name: 'b1', linkType: 101 });
  b.writePacket({ interfaceId: 1, timestampNs: 2n, data: Uint8Array.of(2) });
  b.writePacket({ interfaceId: 0, timestampNs: 3n, data: Uint8Array.of(3) });
  const f = readPcapng(Buffer.concat([a.toBytes(), b.toBytes()]));
  assert.deepEqual(f.sections.map((s) => [s.application, s.byteOrder]), [['a', 'little'], ['b', 'big']]);
  assert.deepEqual(f.interfaces.map((i) => [i.name, i.section]), [['a0', 0], ['b0', 1], ['b1', 1]]);
  assert.deepEqual(f.packets.map((p) => [p.interfaceId, p.timestampNs]), [[0, 1n], [2, 2n], [1, 3n]]);
  // A packet in section 2 may not name section 1's interfaces.
  const c = new PcapngWriter();
  throwsCode(() => readPcapng(unhex(Buffer.from(a.toBytes()).toString('hex') + Buffer.from(c.toBytes()).toString('hex') + epb('00000000', '00000000', '00000000', ''))), 'PCAP_BAD_INTERFACE');
});

test('NRB: records parsed, unknown record types skipped, names split on NUL, IPv6 text per RFC 5952', () => {
  const f = readPcapng(unhex(SHB + block(4,
    '0100' + '0800' + '0a000001' + utf8hex('a') + '00' + utf8hex('b') + '00' + // two names
    '0300' + '0600' + '020000000001' + '0000' + //                                         nrb_record_eui48: skipped
    '0200' + '1400' + '20010db8000000000000000000000001' + utf8hex('six') + '00' +
    '0000' + '0000' + //                                                                  end
    '0200' + '0300' + utf8hex('dns') + '00' + '00000000', //                              ns_dnsname option, end
  )));
  assert.deepEqual(f.names, [{ family: 4, ip: '10.0.0.1', names: ['a', 'b'] }, { family: 6, ip: '2001:db8::1', names: ['six'] }]);
  assert.equal(formatIpv6(unhex('00000000000000000000000000000000')), '::');
  assert.equal(formatIpv6(unhex('20010db8000000010000000000000001')), '2001:db8:0:1::1');
  assert.equal(formatIpv6(unhex('20010db8000100010001000100010001')), '2001:db8:1:1:1:1:1:1');
  assert.equal(formatIpv6(unhex('fe800000000000000000000000000000')), 'fe80::');
  assert.equal(formatIpv6(unhex('20010000000100000000000000000001')), '2001:0:1::1');
});

test('sniffing: pcapng, pcap µs/ns in both orders, anything else', () => {
  assert.equal(sniffCaptureFormat(unhex('0a0d0d0a')), 'pcapng');
  for (const m of ['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1']) assert.equal(sniffCaptureFormat(unhex(m)), 'pcap');
  assert.equal(sniffCaptureFormat(unhex('a1b2cd34')), undefined);
  assert.equal(sniffCaptureFormat(unhex('0a0d0d')), undefined);
  throwsCode(() => readCapture(unhex('0a0d')), 'PCAP_TRUNCATED', 0);
  throwsCode(() => readCapture(unhex('7f454c46')), 'PCAP_BAD_MAGIC', 0);
  throwsCode(() => readCapture(new Uint8Array(0)), 'PCAP_TRUNCATED', 0);
  // Readers work on a view into a larger buffer (Node Buffers from pools).
  const w = new PcapWriter({ linkType: 1 });
  w.writePacket({ timestampNs: 5n, data: Uint8Array.of(1, 2) });
  const big = new Uint8Array(100);
  big.set(w.toBytes(), 7);
  assert.equal(readCapture(big.subarray(7, 7 + w.byteLength)).packets[0]!.timestampNs, 5n);
});

test('pcapng errors carry a stable code and the offset where reading went wrong', () => {
  const shbLen = SHB.length / 2;
  const idbHex = idb('0100');
  throwsCode(() => readPcapng(unhex('01000000' + SHB)), 'PCAP_BAD_MAGIC', 0);
  throwsCode(() => readPcapng(unhex('0a0d0d0a1c00000012345678')), 'PCAP_BAD_MAGIC', 8);
  throwsCode(() => readPcapng(unhex(SHB.slice(0, 20))), 'PCAP_TRUNCATED', 0);
  throwsCode(() => readPcapng(unhex(SHB.slice(0, 40))), 'PCAP_TRUNCATED', 0);
  throwsCode(() => readPcapng(unhex(SHB + '0100')), 'PCAP_TRUNCATED', shbLen);
  throwsCode(() => readPcapng(unhex(SHB + idbHex.slice(0, -8))), 'PCAP_TRUNCATED', shbLen);
  throwsCode(() => readPcapng(unhex(SHB + '01000000' + '0d000000' + '00'.repeat(8))), 'PCAP_BAD_BLOCK_LENGTH', shbLen + 4);
  throwsCode(() => readPcapng(unhex(SHB + '01000000' + '08000000' + '00'.repeat(8))), 'PCAP_BAD_BLOCK_LENGTH', shbLen + 4);
  throwsCode(() => readPcapng(unhex(SHB + idbHex.slice(0, -8) + '00000000')), 'PCAP_BAD_BLOCK_LENGTH', shbLen + idbHex.length / 2 - 4);
  throwsCode(() => readPcapng(unhex(SHB + block(1, '0100'))), 'PCAP_BAD_BLOCK_LENGTH', shbLen + 4);
  throwsCode(() => readPcapng(unhex(block(0x0a0d0d0a, '4d3c2b1a0100'))), 'PCAP_BAD_BLOCK_LENGTH', 4);
  for (const [type, body] of [[6, '00000000'.repeat(4)], [2, '00000000'.repeat(4)], [3, '']] as const) {
    throwsCode(() => readPcapng(unhex(SHB + idbHex + block(type, body))), 'PCAP_BAD_BLOCK_LENGTH', shbLen + idbHex.length / 2 + 4);
  }
  throwsCode(() => readPcapng(unhex(block(0x0a0d0d0a, '4d3c2b1a' + '0200' + '0000' + 'ffffffffffffffff'))), 'PCAP_BAD_VERSION', 12);
  throwsCode(() => readPcapng(unhex(SHB + epb('00000000', '00000000', '00000000', 'aa'))), 'PCAP_BAD_INTERFACE', shbLen + 8);
  throwsCode(() => readPcapng(unhex(SHB + idbHex + epb('01000000', '00000000', '00000000', 'aa'))), 'PCAP_BAD_INTERFACE', shbLen + idbHex.length / 2 + 8);
  throwsCode(() => readPcapng(unhex(SHB + block(3, '01000000'))), 'PCAP_BAD_INTERFACE', shbLen);
  // Captured length larger than the block.
  throwsCode(() => readPcapng(unhex(SHB + idbHex + block(6, '00000000' + '00000000' + '00000000' + '09000000' + '09000000' + 'aabbccdd'))), 'PCAP_BAD_PACKET_LENGTH', shbLen + idbHex.length / 2 + 20);
  throwsCode(() => readPcapng(unhex(SHB + idbHex + block(6, '00000000' + '00000000' + '00000000' + 'ffffffff' + '09000000' + 'aabbccdd'))), 'PCAP_BAD_PACKET_LENGTH');
  // Options.
  const idbAt = shbLen;
  throwsCode(() => readPcapng(unhex(SHB + idb('0100', '0200' + '0900' + '61000000'))), 'PCAP_BAD_OPTION', idbAt + 16);
  throwsCode(() => readPcapng(unhex(SHB + idb('0100', '0900' + '0200' + '09090000'))), 'PCAP_BAD_OPTION', idbAt + 16);
  throwsCode(() => readPcapng(unhex(SHB + idb('0100', '0e00' + '0400' + '00000000'))), 'PCAP_BAD_OPTION', idbAt + 16);
  throwsCode(() => readPcapng(unhex(SHB + idbHex + epb('00000000', '00000000', '00000000', 'aa', '0200' + '0200' + '01000000'))), 'PCAP_BAD_OPTION');
  throwsCode(() => readPcapng(unhex(block(0x0a0d0d0a, '4d3c2b1a' + '0100' + '0000' + 'ffffffffffffffff' + '0400' + 'ff00' + '00000000'))), 'PCAP_BAD_OPTION', 24);
  // Name records.
  throwsCode(() => readPcapng(unhex(SHB + block(4, '0100' + '0300' + '0a000100'))), 'PCAP_BAD_RECORD', shbLen + 8);
  throwsCode(() => readPcapng(unhex(SHB + block(4, '0100' + '4000' + '0a000100'))), 'PCAP_BAD_RECORD', shbLen + 8);
  throwsCode(() => readPcapng(unhex(SHB + block(4, '0200' + '0800' + '0a000100' + '00000000'))), 'PCAP_BAD_RECORD', shbLen + 8);
});

test('pcap errors carry a stable code and offset', () => {
  const w = new PcapWriter({ linkType: 1 });
  w.writePacket({ timestampNs: 1n, data: Uint8Array.of(1, 2, 3, 4) });
  const good = w.toBytes();
  throwsCode(() => readPcap(unhex('00112233')), 'PCAP_BAD_MAGIC', 0);
  throwsCode(() => readPcap(good.subarray(0, 2)), 'PCAP_TRUNCATED', 0);
  throwsCode(() => readPcap(good.subarray(0, 23)), 'PCAP_TRUNCATED', 0);
  throwsCode(() => readPcap(good.subarray(0, 30)), 'PCAP_TRUNCATED', 24);
  throwsCode(() => readPcap(good.subarray(0, good.length - 1)), 'PCAP_TRUNCATED', 32);
  const v3 = good.slice();
  v3[4] = 3;
  throwsCode(() => readPcap(v3), 'PCAP_BAD_VERSION', 4);
  assert.equal(readPcap(good.subarray(0, 24)).packets.length, 0, 'a header alone is an empty capture');
  // Link type: the upper bits (FCS information) are not part of it.
  const fcs = good.slice();
  fcs[23] = 0x14;
  assert.equal(readPcap(fcs).interfaces[0]!.linkType, 1);
});

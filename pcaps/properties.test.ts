/**
 * Property tests (fast-check): write→read identity for arbitrary packet lists in
 * both formats, and untrusted input — random bytes, random well-framed blocks,
 * mutated and truncated valid files — only ever parses or throws CaptureError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CaptureError } from './capture-error.ts';
import { readCapture } from './read-capture.ts';
import { readPcapng } from './pcapng-reader.ts';
import { readPcap } from './pcap-reader.ts';
import { PcapngWriter, type PcapngInterface, type PcapngNameRecord, type PcapngPacket } from './pcapng-writer.ts';
import { PcapWriter } from './pcap-writer.ts';
import type { Direction } from './pcapng-constants.ts';

const RUNS = 300;

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0'));
const direction = fc.option(fc.constantFrom<Direction>('inbound', 'outbound'), { nil: undefined });

type Op =
  | { kind: 'iface'; iface: PcapngInterface }
  | { kind: 'names'; records: PcapngNameRecord[] }
  | { kind: 'packet'; pick: number; timestampNs: bigint; data: Uint8Array; extra: number; direction: Direction | undefined; comments: string[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ name, linkType: fc.constantFrom(1, 101, 228, 276), description: fc.option(text, { nil: undefined }), snaplen: fc.option(fc.constantFrom(0, 64, 65535, 262144), { nil: undefined }) }).map((i): Op => ({ kind: 'iface', iface: { name: i.name, linkType: i.linkType, ...(i.description === undefined ? {} : { description: i.description }), ...(i.snaplen === undefined ? {} : { snaplen: i.snaplen }) } })) },
  { weight: 1, arbitrary: fc.array(fc.record({ ip: fc.oneof(fc.ipV4(), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), names: fc.array(name, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 }).map((records): Op => ({ kind: 'names', records })) },
  { weight: 6, arbitrary: fc.record({ pick: fc.nat(), timestampNs: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), data: fc.uint8Array({ maxLength: 200 }), extra: fc.nat({ max: 3 }), direction, comments: fc.array(text, { maxLength: 2 }) }).map((p): Op => ({ kind: 'packet', ...p })) },
);

function v4text(b: Uint8Array): string {
  return Array.from(b).join('.');
}

test('pcapng write→read identity for arbitrary interleavings of interfaces, name records and packets', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), fc.constantFrom<'little' | 'big'>('little', 'big'), (ops, byteOrder) => {
      const w = new PcapngWriter({ byteOrder });
      const ifaces: PcapngInterface[] = [];
      const packets: Array<PcapngPacket & { captured: Uint8Array; orig: number }> = [];
      const names: Array<{ ip: string; names: readonly string[] }> = [];
      for (const op of ops) {
        if (op.kind === 'iface') {
          assert.equal(w.addInterface(op.iface), ifaces.length);
          ifaces.push(op.iface);
        } else if (op.kind === 'names') {
          w.addNameRecords(op.records);
          for (const r of op.records) names.push({ ip: typeof r.ip === 'string' ? r.ip : r.ip.length === 4 ? v4text(r.ip) : 'v6', names: r.names });
        } else if (ifaces.length > 0) {
          const interfaceId = op.pick % ifaces.length;
          const snap = ifaces[interfaceId]!.snaplen ?? 262144;
          const captured = snap !== 0 && op.data.length > snap ? op.data.subarray(0, snap) : op.data;
          const p: PcapngPacket = { interfaceId, timestampNs: op.timestampNs, data: op.data, originalLength: op.data.length + op.extra, ...(op.direction === undefined ? {} : { direction: op.direction }), comment: op.comments };
          w.writePacket(p);
          packets.push({ ...p, captured, orig: op.data.length + op.extra });
        }
      }
      const f = readCapture(w.toBytes());
      assert.deepEqual(f.interfaces.map((i) => [i.name, i.linkType, i.description, i.snaplen]), ifaces.map((i) => [i.name, i.linkType, i.description, i.snaplen ?? 262144]));
      assert.deepEqual(f.names.map((n) => ({ ip: n.family === 6 ? 'v6' : n.ip, names: n.names })), names);
      assert.equal(f.packets.length, packets.length);
      f.packets.forEach((p, i) => {
        const s = packets[i]!;
        assert.equal(p.interfaceId, s.interfaceId);
        assert.equal(p.timestampNs, s.timestampNs);
        assert.deepEqual(p.data, s.captured);
        assert.equal(p.originalLength, s.orig);
        assert.equal(p.direction, s.direction);
        assert.deepEqual(p.comments, s.comment);
      });
    }),
    { numRuns: RUNS },
  );
});

test('pcap write→read identity (ns and µs, both byte orders)', () => {
  const maxNs = 0xffffffffn * 1_000_000_000n + 999_999_999n;
  fc.assert(
    fc.property(
      fc.array(fc.record({ timestampNs: fc.bigInt({ min: 0n, max: maxNs }), data: fc.uint8Array({ maxLength: 300 }), extra: fc.nat({ max: 1000 }) }), { maxLength: 30 }),
      fc.constantFrom<'ns' | 'us'>('ns', 'us'),
      fc.constantFrom<'little' | 'big'>('little', 'big'),
      fc.integer({ min: 1, max: 400 }),
      (sent, resolution, byteOrder, snaplen) => {
        const w = new PcapWriter({ linkType: 101, resolution, byteOrder, snaplen });
        for (const p of sent) w.writePacket({ timestampNs: p.timestampNs, data: p.data, originalLength: p.data.length + p.extra });
        const f = readCapture(w.toBytes());
        assert.equal(f.interfaces[0]!.snaplen, snaplen);
        assert.deepEqual(
          f.packets.map((p) => [p.timestampNs, Buffer.from(p.data).toString('hex'), p.originalLength]),
          sent.map((p) => [resolution === 'ns' ? p.timestampNs : (p.timestampNs / 1000n) * 1000n, Buffer.from(p.data.subarray(0, snaplen)).toString('hex'), p.data.length + p.extra]),
        );
      },
    ),
    { numRuns: RUNS },
  );
});

/** Parse, or throw CaptureError — anything else fails the property. */
function onlyCaptureErrors(read: (b: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    read(bytes);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw new Error(`non-CaptureError from ${Buffer.from(bytes).toString('hex').slice(0, 400)}: ${String(e)}`);
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} within the input`);
  }
}

test('random bytes: the readers parse or throw CaptureError, nothing else', () => {
  const prefixes = ['', '0a0d0d0a', '0a0d0d0a1c0000004d3c2b1a', 'd4c3b2a1', '4d3cb2a1', 'a1b2c3d4', 'a1b23c4d0002'].map((h) => Buffer.from(h, 'hex'));
  fc.assert(
    fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 300 }), (prefix, tail) => {
      const b = Buffer.concat([prefix, tail]);
      onlyCaptureErrors(readCapture, b);
      onlyCaptureErrors(readPcapng, b);
      onlyCaptureErrors(readPcap, b);
    }),
    { numRuns: RUNS * 3 },
  );
});

/**
 * Well-framed blocks (right lengths, random bodies) after a valid SHB and 40
 * interfaces (so that small interface ids, even ones read from a trailing length,
 * are valid): reaches every block parser.
 */
test('well-framed blocks with random bodies parse or throw CaptureError', () => {
  const prefix = (byteOrder: 'little' | 'big'): Uint8Array => {
    const w = new PcapngWriter({ byteOrder });
    for (let i = 0; i < 40; i++) w.addInterface({ name: `if${i}`, linkType: 1, snaplen: i });
    return w.toBytes();
  };
  const le = prefix('little');
  const be = prefix('big');
  const blockArb = fc.record({ type: fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 6, 0x0a0d0d0a), fc.nat()), words: fc.array(fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2, 4, 8, 9, 0x00040001, 0x00080002, 0x00010009, 0x0004000e)), { maxLength: 24 }) });
  fc.assert(
    fc.property(fc.array(blockArb, { maxLength: 8 }), fc.boolean(), (blocks, big) => {
      const parts: Buffer[] = [Buffer.from(big ? be : le)];
      for (const b of blocks) {
        const total = 12 + 4 * b.words.length;
        const buf = Buffer.alloc(total);
        const put = (o: number, v: number): void => void (big ? buf.writeUInt32BE(v >>> 0, o) : buf.writeUInt32LE(v >>> 0, o));
        put(0, b.type);
        put(4, total);
        b.words.forEach((v, i) => put(8 + 4 * i, v));
        put(total - 4, total);
        parts.push(buf);
      }
      onlyCaptureErrors(readPcapng, Buffer.concat(parts));
    }),
    { numRuns: RUNS * 3 },
  );
});

type Mutation = { kind: 'set'; at: number; value: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'delete'; at: number; n: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80)) }).map((m): Mutation => ({ kind: 'set', at: m.at, value: m.value })),
  fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }) }).map((m): Mutation => ({ kind: 'truncate', at: m.at })),
  fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }).map((m): Mutation => ({ kind: 'insert', at: m.at, bytes: m.bytes })),
  fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), n: fc.integer({ min: 1, max: 8 }) }).map((m): Mutation => ({ kind: 'delete', at: m.at, n: m.n })),
);

function mutate(src: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = Buffer.from(src);
  for (const m of ms) {
    const at = Math.min(b.length, Math.floor(m.at * b.length));
    if (m.kind === 'set') {
      if (at < b.length) b[at] = m.value;
    } else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
  }
  return b;
}

test('mutated and truncated valid files (pcapng and pcap) parse or throw CaptureError', () => {
  const validPcapng = fc.tuple(fc.array(opArb, { maxLength: 12 }), fc.constantFrom<'little' | 'big'>('little', 'big')).map(([ops, byteOrder]) => {
    const w = new PcapngWriter({ byteOrder, comment: 'c' });
    w.addInterface({ name: 'x', linkType: 1 });
    let n = 1;
    for (const op of ops) {
      if (op.kind === 'iface') n = w.addInterface(op.iface) + 1;
      else if (op.kind === 'names') w.addNameRecords(op.records);
      else w.writePacket({ interfaceId: op.pick % n, timestampNs: op.timestampNs, data: op.data, comment: op.comments, ...(op.direction === undefined ? {} : { direction: op.direction }) });
    }
    return w.toBytes();
  });
  const validPcap = fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }).map((ds) => {
    const w = new PcapWriter({ linkType: 1 });
    ds.forEach((d, i) => w.writePacket({ timestampNs: BigInt(i) * 1_000_000_007n, data: d }));
    return w.toBytes();
  });
  fc.assert(
    fc.property(fc.oneof(validPcapng, validPcap), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (file, ms) => {
      onlyCaptureErrors(readCapture, mutate(file, ms));
    }),
    { numRuns: RUNS * 3 },
  );
});

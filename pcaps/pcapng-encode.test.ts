import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcapngEncoder, LINKTYPE_RAW } from './pcapng-encode.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('byte layout of SHB, IDB and EPB (little endian, 32-bit padded, trailing lengths)', () => {
  const e = new PcapngEncoder({ application: 'n' });
  const id = e.addInterface({ name: 'n1/flannel0', linkType: LINKTYPE_RAW, snaplen: 65535 });
  e.writePacket({ interfaceId: id, timestampNs: 0x1_0000_0002n, data: Uint8Array.of(0x45, 1, 2), direction: 'outbound', comment: 'trace 7' });
  const b = e.bytes();
  const shb = '0a0d0d0a' + '28000000' + '4d3c2b1a' + '0100' + '0000' + 'ffffffffffffffff' + '0400' + '0100' + '6e000000' + '00000000' + '28000000';
  const idb = '01000000' + '30000000' + '6500' + '0000' + 'ffff0000' + '0200' + '0b00' + hex(new TextEncoder().encode('n1/flannel0')) + '00' + '0900' + '0100' + '09000000' + '00000000' + '30000000';
  const epb = '06000000' + '3c000000' + '00000000' + '01000000' + '02000000' + '03000000' + '03000000' + '45010200' + '0200' + '0400' + '02000000' + '0100' + '0700' + hex(new TextEncoder().encode('trace 7')) + '00' + '00000000' + '3c000000';
  assert.equal(hex(b), shb + idb + epb);
});

test('packets on undeclared interfaces are a programmer error', () => {
  const e = new PcapngEncoder();
  assert.throws(() => e.writePacket({ interfaceId: 0, timestampNs: 0, data: new Uint8Array(1) }), RangeError);
});

test('name resolution block: IPv4 + NUL-terminated names, end record', () => {
  const e = new PcapngEncoder({ application: 'n' });
  const before = e.bytes().length;
  e.addNames([{ ip: Uint8Array.of(10, 244, 1, 2), names: ['web'] }]);
  const nrb = e.bytes().subarray(before);
  assert.equal(hex(nrb), '04000000' + '1c000000' + '0100' + '0800' + '0af40102' + hex(new TextEncoder().encode('web')) + '00' + '00000000' + '1c000000');
});

/**
 * Classic libpcap reader: both byte orders, microsecond (0xA1B2C3D4) and
 * nanosecond (0xA1B23C4D) magics, version 2.x. The file is one interface with
 * the header's link type (low 16 bits; the upper bits carry FCS information).
 * Malformed input throws {@link CaptureError}; nothing else.
 */
import { CaptureError } from './capture-error.ts';
import type { CaptureFile, CapturePacket } from './capture-types.ts';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap-writer.ts';

const HEADER = 24;
const RECORD = 16;

export function readPcap(input: Uint8Array): CaptureFile {
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const len = input.length;
  if (len < 4) throw new CaptureError('PCAP_TRUNCATED', 0, `file of ${len} bytes has no magic number`);
  const magicBE = dv.getUint32(0, false);
  const magicLE = dv.getUint32(0, true);
  let le: boolean;
  let nanos: boolean;
  if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) {
    le = false;
    nanos = magicBE === PCAP_MAGIC_NS;
  } else if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
    le = true;
    nanos = magicLE === PCAP_MAGIC_NS;
  } else {
    throw new CaptureError('PCAP_BAD_MAGIC', 0, `unknown pcap magic 0x${magicBE.toString(16).padStart(8, '0')}`);
  }
  if (len < HEADER) throw new CaptureError('PCAP_TRUNCATED', 0, `file ends inside the ${HEADER}-byte global header`);
  const major = dv.getUint16(4, le);
  const minor = dv.getUint16(6, le);
  if (major !== 2) throw new CaptureError('PCAP_BAD_VERSION', 4, `pcap version ${major}.${minor}; only 2.x is defined`);
  const snaplen = dv.getUint32(16, le);
  const linkType = dv.getUint32(20, le) & 0xffff;
  const unit = nanos ? 1n : 1000n;
  const packets: CapturePacket[] = [];
  let off = HEADER;
  while (off < len) {
    if (len - off < RECORD) throw new CaptureError('PCAP_TRUNCATED', off, `file ends inside a ${RECORD}-byte record header`);
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const caplen = dv.getUint32(off + 8, le);
    const orig = dv.getUint32(off + 12, le);
    if (caplen > len - off - RECORD) throw new CaptureError('PCAP_TRUNCATED', off + 8, `captured length ${caplen} runs past the end of the file`);
    packets.push({
      interfaceId: 0,
      timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * unit,
      data: input.subarray(off + RECORD, off + RECORD + caplen),
      originalLength: orig,
      comments: [],
    });
    off += RECORD + caplen;
  }
  return {
    format: 'pcap',
    byteOrder: le ? 'little' : 'big',
    sections: [],
    interfaces: [{ linkType, snaplen, tsresol: { base: 10, exponent: nanos ? 9 : 6 }, section: 0, comments: [] }],
    packets,
    names: [],
  };
}

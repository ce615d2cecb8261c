/**
 * Read a capture file of either format: the first four bytes decide — the pcapng
 * Section Header Block type 0x0A0D0D0A, or a classic pcap magic (µs 0xA1B2C3D4 or
 * ns 0xA1B23C4D, in either byte order).
 */
import { CaptureError } from './capture-error.ts';
import type { CaptureFile } from './capture-types.ts';
import { readPcap } from './pcap-reader.ts';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap-writer.ts';
import { BT_SHB } from './pcapng-constants.ts';
import { readPcapng } from './pcapng-reader.ts';

export type CaptureFormat = 'pcap' | 'pcapng';

/** The format the first four bytes announce, or undefined. */
export function sniffCaptureFormat(input: Uint8Array): CaptureFormat | undefined {
  if (input.length < 4) return undefined;
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const be = dv.getUint32(0, false);
  const le = dv.getUint32(0, true);
  if (be === BT_SHB) return 'pcapng';
  if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) return 'pcap';
  return undefined;
}

export function readCapture(input: Uint8Array): CaptureFile {
  const format = sniffCaptureFormat(input);
  if (format === 'pcapng') return readPcapng(input);
  if (format === 'pcap') return readPcap(input);
  if (input.length < 4) throw new CaptureError('PCAP_TRUNCATED', 0, `file of ${input.length} bytes is too short for a magic number`);
  throw new CaptureError('PCAP_BAD_MAGIC', 0, 'neither a pcapng Section Header Block nor a pcap magic number');
}

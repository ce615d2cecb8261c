/**
 * The one exception the capture readers throw for malformed input. Readers treat
 * their input as untrusted: every length is checked before it is used, and any
 * inconsistency becomes a `CaptureError` with a stable {@link CaptureErrorCode}
 * and the byte offset where the reader noticed it — never another exception.
 */
import { CodedError } from '../netsim/errors.ts';

/** Stable error codes; callers (the CLI, the UI) switch on these, never on messages. */
export type CaptureErrorCode =
  /** Not a capture file: unknown file magic or pcapng byte-order magic. */
  | 'PCAP_BAD_MAGIC'
  /** The file ends inside a header, a block or a record. */
  | 'PCAP_TRUNCATED'
  /** A pcapng block length is too small, not a multiple of 4, does not match its trailing copy, or leaves no room for the block's fixed fields. */
  | 'PCAP_BAD_BLOCK_LENGTH'
  /** A packet names an interface that was not described (earlier in its section). */
  | 'PCAP_BAD_INTERFACE'
  /** A pcapng option overruns its block, or a known option has the wrong length. */
  | 'PCAP_BAD_OPTION'
  /** An unsupported format version (pcap major ≠ 2, pcapng major ≠ 1). */
  | 'PCAP_BAD_VERSION'
  /** A packet's captured length overruns its block. */
  | 'PCAP_BAD_PACKET_LENGTH'
  /** A Name Resolution Block record overruns its block or is too short for its type. */
  | 'PCAP_BAD_RECORD';

export class CaptureError extends CodedError {
  override readonly name = 'CaptureError';

  constructor(
    readonly code: CaptureErrorCode,
    /** Byte offset in the file where the problem was detected. */
    readonly offset: number,
    detail: string,
  ) {
    super(`${code} at byte ${offset}: ${detail}`);
  }
}

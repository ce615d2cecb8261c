/**
 * The one error type of the wire layer.
 *
 * `checked()` constructors and `parse*` functions throw a `WireError` when
 * bytes from the outside cannot be a valid header. Callers on the packet path
 * catch it and turn it into a `malformed` drop verdict; nothing else in this
 * folder throws for bad input bytes. (Emitting into a buffer that is too small
 * is a programmer error and throws `RangeError`.)
 */
import { CodedError } from '../errors.ts';

/** Stable codes; tests and drop traces match on these, never on messages. */
export type WireErrorCode =
  | 'WIRE_TRUNCATED'
  | 'WIRE_BAD_VERSION'
  | 'WIRE_BAD_HEADER_LEN'
  | 'WIRE_BAD_LENGTH'
  | 'WIRE_BAD_CHECKSUM'
  | 'WIRE_UNSUPPORTED'
  | 'WIRE_BAD_ADDRESS'
  | 'WIRE_BAD_FIELD';

/** The protocol (or address syntax) that rejected the input. */
export type WireLayer = 'ethernet' | 'arp' | 'ipv4' | 'icmpv4' | 'udp' | 'tcp' | 'vxlan' | 'underlay' | 'addr';

export class WireError extends CodedError {
  readonly code: WireErrorCode;
  readonly layer: WireLayer;
  /** Byte offset of the offending field inside the parsed buffer, when there is one. */
  readonly offset: number | undefined;
  /** The message without the `layer: ` prefix and ` at offset n` suffix. */
  readonly detail: string;

  constructor(code: WireErrorCode, layer: WireLayer, detail: string, offset?: number) {
    super(`${layer}: ${detail}${offset === undefined ? '' : ` at offset ${offset}`}`);
    this.name = 'WireError';
    this.code = code;
    this.layer = layer;
    this.detail = detail;
    this.offset = offset;
  }
}

/** Type guard for `catch (e)` blocks. */
export function isWireError(e: unknown): e is WireError {
  return e instanceof WireError;
}

/**
 * User-facing errors. `CodedError` is the one base of every error a user can cause
 * (a bad spec, manifest, endpoint, option value, output path, capture file, rule):
 * it carries a stable code (`NETSIM_*`, or a layer's own family such as `WIRE_*` and
 * `PCAP_*`), and the command line turns any of them into one line on stderr and exit
 * code 2 without listing classes by name. It lives here, in the lowest layer, so
 * that every layer above can extend it (control/ keeps its Kubernetes `Status`
 * errors; front ends convert those at their boundary).
 *
 * `NetsimError` is the packet core's own: configuration mistakes (`ip addr add` on a
 * missing device, a duplicate route). Network outcomes are never errors — they are
 * trace events and drop reasons.
 */
export abstract class CodedError extends Error {
  /** Stable, documented, upper-case code that scripts may match on. */
  abstract readonly code: string;
}

export type NetsimErrorCode =
  | 'NETSIM_ERR_DUPLICATE_DEVICE'
  | 'NETSIM_ERR_NO_DEVICE'
  | 'NETSIM_ERR_ADDR_EXISTS'
  | 'NETSIM_ERR_NO_ADDR'
  | 'NETSIM_ERR_ROUTE_EXISTS'
  | 'NETSIM_ERR_NO_ROUTE'
  | 'NETSIM_ERR_BAD_GATEWAY'
  | 'NETSIM_ERR_ADDR_IN_USE'
  | 'NETSIM_ERR_BAD_ARGUMENT'
  | 'NETSIM_ERR_NOT_CONNECTED';

export class NetsimError extends CodedError {
  constructor(readonly code: NetsimErrorCode, message: string) {
    super(message);
    this.name = 'NetsimError';
  }
}

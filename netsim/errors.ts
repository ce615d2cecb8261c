/**
 * User-facing errors of the packet core: configuration mistakes a user can make
 * (`ip addr add` on a missing device, a duplicate route). Network outcomes are never
 * errors — they are trace events and drop reasons.
 */
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

export class NetsimError extends Error {
  constructor(readonly code: NetsimErrorCode, message: string) {
    super(message);
    this.name = 'NetsimError';
  }
}

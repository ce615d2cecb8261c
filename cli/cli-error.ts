import { CodedError } from '../netsim/errors.ts';

/**
 * Errors of the command line itself, with stable codes: a bad option or value
 * (`NETSIM_ERR_USAGE`, `NETSIM_ERR_ARGUMENT`), an unknown resource or node view, an
 * unreachable server, a bad --listen, an output path that cannot be written
 * (`NETSIM_ERR_OUTPUT`), an input file that is not what it should be
 * (`NETSIM_ERR_INPUT`), a filter that selects nothing (`NETSIM_ERR_FILTER`).
 */
export type CliErrorCode =
  | 'NETSIM_ERR_USAGE'
  | 'NETSIM_ERR_ARGUMENT'
  | 'NETSIM_ERR_RESOURCE'
  | 'NETSIM_ERR_UNKNOWN_VIEW'
  | 'NETSIM_ERR_SERVER'
  | 'NETSIM_ERR_LISTEN'
  | 'NETSIM_ERR_MANIFEST'
  | 'NETSIM_ERR_FILTER'
  | 'NETSIM_ERR_OUTPUT'
  | 'NETSIM_ERR_INPUT'
  // `netsim policy matrix`: none of the --namespaces has a running pod
  | 'NETSIM_ERR_NAMESPACE'
  // `netsim up` failing to start (cli/up/errors.ts and cli/commands/up.ts say when each is given)
  | 'NETSIM_ERR_ADDR_IN_USE'
  | 'NETSIM_ERR_ADDR_UNAVAILABLE'
  | 'NETSIM_ERR_INSECURE'
  | 'NETSIM_ERR_TLS'
  | 'NETSIM_ERR_STATE'
  | 'NETSIM_ERR_KUBECONFIG'
  | 'NETSIM_ERR_STORE_LOCKED'
  | 'NETSIM_ERR_STORE_CORRUPT'
  | 'NETSIM_ERR_STORE_UNAVAILABLE'
  | 'NETSIM_ERR_DNS_OFF'
  // `netsim up --partition`: a bad partition, peer or key (cli/up/partition-args.ts), an underlay socket that cannot bind
  | 'NETSIM_ERR_PARTITION'
  | 'NETSIM_ERR_UNDERLAY';

export class CliError extends CodedError {
  constructor(readonly code: CliErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** Errors of the command line itself (bad resource names, an unreachable server, a bad --listen), with stable codes. */
export type CliErrorCode = 'NETSIM_ERR_RESOURCE' | 'NETSIM_ERR_SERVER' | 'NETSIM_ERR_LISTEN' | 'NETSIM_ERR_MANIFEST' | 'NETSIM_ERR_FILTER';

export class CliError extends Error {
  constructor(readonly code: CliErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
  }
}

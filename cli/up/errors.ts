/**
 * What can stop `netsim up` from starting, as CLI errors with stable codes (exit 2, one
 * line, no stack trace): the listening address taken or not local, the store held by
 * another process, damaged or unreachable. Each message says what to do next.
 */
import { StoreError } from '../../control/store/object-store.ts';
import { CliError } from '../cli-error.ts';

/** A failed `listen()` as a CLI error; anything else is returned unchanged. */
export function listenError(e: unknown, listen: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EADDRINUSE':
      return new CliError('NETSIM_ERR_ADDR_IN_USE', `cannot listen on ${listen}: the address is already in use (another netsim up or API server?); stop it, or choose another --listen HOST:PORT (port 0 picks a free one)`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError('NETSIM_ERR_ADDR_UNAVAILABLE', `cannot listen on ${listen}: no interface of this machine has that address (${code}); use 127.0.0.1, or an address \`ip addr\` shows`);
    case 'EACCES':
      return new CliError('NETSIM_ERR_ADDR_UNAVAILABLE', `cannot listen on ${listen}: permission denied (ports below 1024 need privileges); choose a port above 1023`);
    default:
      return e;
  }
}

/** A store that failed to open as a CLI error; anything else is returned unchanged. */
export function storeOpenError(e: unknown, where: string, kind: 'file' | 'etcd' | 'memory'): unknown {
  if (!(e instanceof StoreError)) return e;
  if (e.code === 'STORE_CORRUPT') {
    return new CliError('NETSIM_ERR_STORE_CORRUPT', `the store in ${where} is damaged: ${e.message}. `
      + `To recover, stop every netsim using it and move the store aside (mv ${where} ${where}.damaged); netsim up then starts the cluster afresh from its spec, `
      + `losing what was changed through the API since. The damaged log stays readable: cut -c10- ${where}/wal-*.jsonl`);
  }
  if (e.code === 'STORE_UNAVAILABLE' && kind === 'file') return new CliError('NETSIM_ERR_STORE_LOCKED', `${e.message}`);
  if (e.code === 'STORE_UNAVAILABLE') return new CliError('NETSIM_ERR_STORE_UNAVAILABLE', `cannot reach the ${kind} store at ${where}: ${e.message}; start it, or check --etcd-endpoints`);
  return e;
}

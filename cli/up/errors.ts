/**
 * What can stop `netsim up` from starting, as CLI errors with stable codes (exit 2, one
 * line, no stack trace): the listening address taken or not local, the store held by
 * another process, damaged or unreachable — when it is opened, and when it stops
 * answering later (an etcd "request timed out" under load, a refused connection): the
 * API server turns such a store failure into a `ServiceUnavailable` ApiError whose
 * `cause` is the StoreError, so the chain of causes is searched, not the outer type.
 * Each message says what to do next.
 */
import { StoreError } from '../../control/store/object-store.ts';
import type { StoreKind } from '../../control/store/index.ts';
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
export function storeOpenError(e: unknown, where: string, kind: StoreKind): unknown {
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

/** The StoreError that says the store could not answer, anywhere in `e`'s chain of causes. */
function unavailableStore(e: unknown): StoreError | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    if (c instanceof StoreError && (c.code === 'STORE_UNAVAILABLE' || c.code === 'STORE_CLOSED')) return c;
  }
  return undefined;
}

/**
 * A store that stopped answering after it was opened (while the cluster was built or
 * served) as NETSIM_ERR_STORE_UNAVAILABLE; anything else is returned unchanged.
 */
export function storeFailedError(e: unknown, where: string, kind: StoreKind): unknown {
  if (e instanceof CliError) return e;
  const s = unavailableStore(e);
  if (s === undefined) return e;
  const next = kind === 'etcd' ? 'check that etcd is healthy (etcdctl endpoint health) and start again' : 'check the state directory and start again';
  return new CliError('NETSIM_ERR_STORE_UNAVAILABLE', `the ${kind} store at ${where} failed while netsim up was starting: ${s.message}; ${next}`);
}

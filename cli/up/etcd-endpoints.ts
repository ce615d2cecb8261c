/**
 * `netsim up --etcd-endpoints URL[,URL…]`: kube-apiserver's `--etcd-servers` form, a
 * comma-separated list of etcd client URLs. Every entry must be an http:// or https://
 * URL naming a host and nothing else (no credentials, path, query or fragment: etcd's
 * clientv3 dials only the URL's host, and fetch refuses credentials). A malformed value
 * is the user's argument mistake, refused while the command line is parsed
 * (NETSIM_ERR_ARGUMENT, exit 2) — not a store that cannot be reached. The store dials
 * the first entry (cli/commands/up.ts); failover between entries is not modelled.
 */
import { InvalidArgumentError } from 'commander';

/** Why one entry is no etcd client URL, or undefined when it is one. */
function entryProblem(entry: string): string | undefined {
  if (entry === '') return 'an empty entry';
  let u: URL;
  try {
    u = new URL(entry);
  } catch {
    return `"${entry}" is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `"${entry}" is not http:// or https://`;
  if (u.hostname === '') return `"${entry}" names no host`;
  if (u.username !== '' || u.password !== '') return `"${entry}" carries credentials`;
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || /[?#]/.test(entry)) return `"${entry}" has more than scheme, host and port`;
  return undefined;
}

/** The commander parser of --etcd-endpoints: the value, its entries trimmed, or InvalidArgumentError naming the bad entry. */
export function etcdEndpointsArg(v: string): string {
  const entries = v.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem !== undefined) throw new InvalidArgumentError(`--etcd-endpoints must be http:// or https:// URLs separated by commas, e.g. http://127.0.0.1:2379; ${problem}${entries.length > 1 ? ` in "${v}"` : ''}`);
  }
  return entries.join(',');
}

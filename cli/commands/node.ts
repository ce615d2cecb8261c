/**
 * `netsim node NAME VIEW`: what the real tool prints on that node after the cluster
 * settles (with the built-in scenario the demo's flows have run first, so neighbour,
 * FDB and conntrack tables are populated), or of a running `netsim up` with --server.
 */
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { closeMatches, EndpointError } from '../../cluster/endpoint.ts';
import { CliError } from '../cli-error.ts';
import { absentNodeView, nodeViewNames } from '../../cluster/node-views.ts';
import { remoteFailure, remoteRequest } from '../remote.ts';
import type { KubeconfigEntry } from '../up/kubeconfig.ts';

/** Where a running `netsim up` serves a node's view (cli/up/live-routes.ts). */
export const NODE_VIEW_PATH = '/netsim/v1/nodeview';

/** The views `netsim node` knows (cluster/node-views.ts registers them). */
export const NODE_VIEWS: readonly string[] = nodeViewNames();

export function nodeCommand(cluster: EmulatedCluster, name: string, view: string, print: (s: string) => void): number {
  if (!cluster.nodes.has(name)) {
    const close = closeMatches(name, cluster.nodes.keys());
    throw new EndpointError('NETSIM_ERR_UNKNOWN_NODE', `unknown node "${name}"${close.length > 0 ? `; did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : ''}`);
  }
  if (!NODE_VIEWS.includes(view)) {
    const close = closeMatches(view, NODE_VIEWS);
    throw new CliError('NETSIM_ERR_UNKNOWN_VIEW', `unknown view "${view}"${close.length > 0 ? `; did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : ''} (views: ${NODE_VIEWS.join(', ')})`);
  }
  const text = cluster.nodeView?.(name, view) ?? absentNodeView(view);
  if (text === undefined) throw new CliError('NETSIM_ERR_RESOURCE', `${name} has nothing to show for ${view} (not part of this cluster)`);
  print(text);
  return 0;
}

/** The same view of a node of a running `netsim up` (cli/up/live-routes.ts serves it). */
export async function nodeRemoteCommand(remote: KubeconfigEntry, name: string, view: string, print: (s: string) => void): Promise<number> {
  const res = await remoteRequest(remote, 'GET', `${NODE_VIEW_PATH}?${new URLSearchParams({ node: name, view }).toString()}`, { accept: 'text/plain' });
  if (res.status !== 200) throw remoteFailure(remote, res);
  print(res.body);
  return 0;
}

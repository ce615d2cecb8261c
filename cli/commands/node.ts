/**
 * `netsim node NAME VIEW`: what the real tool prints on that node after the cluster
 * settles (with the built-in scenario the demo's flows have run first, so neighbour,
 * FDB and conntrack tables are populated), or of a running `netsim up` with --server.
 */
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { closeMatches, EndpointError } from '../../cluster/endpoint.ts';
import { CliError } from '../cli-error.ts';
import { ipAddr, ipRoute, ipNeigh, bridgeFdb, ipLink } from '../../netsim/tools/ip.ts';
import { IPVSADM_LIST_HEADER } from '../../netsim/ipvs/ipvs.ts';
import { remoteFailure, remoteRequest } from '../remote.ts';
import type { KubeconfigEntry } from '../up/kubeconfig.ts';

/** Where a running `netsim up` serves a node's view (cli/up/live-routes.ts). */
export const NODE_VIEW_PATH = '/netsim/v1/nodeview';

export const NODE_VIEWS = ['addr', 'link', 'route', 'route-local', 'neigh', 'fdb', 'iptables-save', 'iptables-nat', 'iptables-filter', 'nft', 'nft-json', 'ipvsadm', 'ipset', 'conntrack', 'conntrack-stats', 'nfacct', 'subnet-env', 'leases'] as const;
export type NodeView = (typeof NODE_VIEWS)[number];

/**
 * What the real tool prints on a node where kube-proxy programs no IPVS: `ipvsadm -Ln`
 * its header and an empty table, `ipset list` nothing at all.
 */
function emptyView(view: string): string | undefined {
  if (view === 'ipvsadm') return IPVSADM_LIST_HEADER.join('\n') + '\n';
  if (view === 'ipset') return '';
  return undefined;
}

export function nodeCommand(cluster: EmulatedCluster, name: string, view: string, print: (s: string) => void): number {
  const ns = cluster.nodes.get(name);
  if (ns === undefined) {
    const close = closeMatches(name, cluster.nodes.keys());
    throw new EndpointError('NETSIM_ERR_UNKNOWN_NODE', `unknown node "${name}"${close.length > 0 ? `; did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : ''}`);
  }
  switch (view as NodeView) {
    case 'addr': print(ipAddr(ns)); return 0;
    case 'link': print(ipLink(ns)); return 0;
    case 'route': print(ipRoute(ns)); return 0;
    case 'route-local': print(ipRoute(ns, 'local')); return 0;
    case 'neigh': print(ipNeigh(ns)); return 0;
    case 'fdb': print(bridgeFdb(ns)); return 0;
    default: {
      if (!NODE_VIEWS.includes(view as NodeView)) {
        const close = closeMatches(view, NODE_VIEWS);
        throw new CliError('NETSIM_ERR_UNKNOWN_VIEW', `unknown view "${view}"${close.length > 0 ? `; did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : ''} (views: ${NODE_VIEWS.join(', ')})`);
      }
      const text = cluster.nodeView?.(name, view) ?? emptyView(view);
      if (text === undefined) throw new CliError('NETSIM_ERR_RESOURCE', `${name} has nothing to show for ${view} (not part of this cluster)`);
      print(text);
      return 0;
    }
  }
}

/** The same view of a node of a running `netsim up` (cli/up/live-routes.ts serves it). */
export async function nodeRemoteCommand(remote: KubeconfigEntry, name: string, view: string, print: (s: string) => void): Promise<number> {
  const res = await remoteRequest(remote, 'GET', `${NODE_VIEW_PATH}?${new URLSearchParams({ node: name, view }).toString()}`, { accept: 'text/plain' });
  if (res.status !== 200) throw remoteFailure(remote, res);
  print(res.body);
  return 0;
}

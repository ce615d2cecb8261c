/**
 * `netsim node NAME VIEW`: what the real tool prints on that node after the cluster
 * settles (with the built-in scenario the demo's flows have run first, so neighbour,
 * FDB and conntrack tables are populated).
 */
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { closeMatches, EndpointError } from '../../cluster/endpoint.ts';
import { CliError } from '../cli-error.ts';
import { ipAddr, ipRoute, ipNeigh, bridgeFdb, ipLink } from '../../netsim/tools/ip.ts';

export const NODE_VIEWS = ['addr', 'link', 'route', 'route-local', 'neigh', 'fdb', 'iptables-save', 'iptables-nat', 'iptables-filter', 'ipvsadm', 'ipset', 'conntrack', 'subnet-env', 'leases'] as const;
export type NodeView = (typeof NODE_VIEWS)[number];

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
      if (!NODE_VIEWS.includes(view as NodeView)) throw new EndpointError('NETSIM_ERR_ENDPOINT_SYNTAX', `unknown view "${view}"; one of: ${NODE_VIEWS.join(', ')}`);
      const text = cluster.nodeView?.(name, view);
      if (text === undefined) throw new CliError('NETSIM_ERR_RESOURCE', `${name} has nothing to show for ${view} (${view === 'ipvsadm' || view === 'ipset' ? 'kube-proxy is not in IPVS mode' : 'not part of this cluster'})`);
      print(text);
      return 0;
    }
  }
}

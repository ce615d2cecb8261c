/**
 * The views of a node that `netsim node NODE VIEW` prints (and `up` serves at
 * /netsim/v1/nodeview): each is what the real tool prints on that node. A registry, so a
 * part that adds state to a node (nf_tables, an enforcer's ipsets) adds its view here
 * and the CLI, the live route and the help text follow.
 */
import { ipAddr, ipRoute, ipNeigh, bridgeFdb, ipLink } from '../netsim/tools/ip.ts';
import { IPVSADM_LIST_HEADER } from '../netsim/ipvs/ipvs.ts';
import { ctimeDate } from '../netsim/netfilter/iptables/render.ts';
import type { TableName } from '../netsim/netfilter/eval-types.ts';
import { renderSubnetEnv } from '../cni/flannel/flanneld.ts';
import { UdpBackend } from '../cni/flannel/udp.ts';
import type { KvSubnetManager } from '../cni/flannel/subnet-manager.ts';
import type { ClusterNode } from './cluster.ts';

export interface NodeViewContext {
  readonly node: ClusterNode;
  /** The cluster's wall clock (iptables-save's header date). */
  readonly now: Date;
  /** The cluster's flannel leases. */
  readonly subnets: KvSubnetManager;
}

export interface NodeView {
  /** What it prints; undefined when the node has no such part (`ipvsadm` without IPVS). */
  render(ctx: NodeViewContext): string | undefined;
  /** What the real tool prints on a node without that part, when it prints anything. */
  readonly absent?: string;
}

const views = new Map<string, NodeView>();

export function registerNodeView(name: string, view: NodeView): void {
  if (views.has(name)) throw new Error(`node view ${name} is registered twice`);
  views.set(name, view);
}

/** Every view's name, in registration order. */
export function nodeViewNames(): string[] {
  return [...views.keys()];
}

/** The view of the node; undefined for an unknown view or a part the node lacks. */
export function renderNodeView(name: string, ctx: NodeViewContext): string | undefined {
  return views.get(name)?.render(ctx);
}

/** What the real tool prints on a node that lacks the view's part, when it prints anything. */
export function absentNodeView(name: string): string | undefined {
  return views.get(name)?.absent;
}

registerNodeView('addr', { render: ({ node }) => ipAddr(node.ns) });
registerNodeView('link', { render: ({ node }) => ipLink(node.ns) });
registerNodeView('route', { render: ({ node }) => ipRoute(node.ns) });
registerNodeView('route-local', { render: ({ node }) => ipRoute(node.ns, 'local') });
registerNodeView('neigh', { render: ({ node }) => ipNeigh(node.ns) });
registerNodeView('fdb', { render: ({ node }) => bridgeFdb(node.ns) });
// With the header and footer iptables-save 1.8.9 writes, dated by the cluster's wall clock.
registerNodeView('iptables-save', { render: ({ node, now }) => node.netfilter.iptables.save({ date: ctimeDate(now) }) });
registerNodeView('iptables-nat', { render: ({ node }) => node.netfilter.iptables.list('nat' as TableName) });
registerNodeView('iptables-filter', { render: ({ node }) => node.netfilter.iptables.list('filter' as TableName) });
// `nft list ruleset`: the nf_tables tables loaded with nft (kube-proxy's nftables mode), not iptables-nft's.
registerNodeView('nft', { render: ({ node }) => node.netfilter.nft.listRuleset() });
registerNodeView('nft-json', { render: ({ node }) => node.netfilter.nft.listRulesetJson() });
// `ipvsadm -Ln` on a node where kube-proxy programs no IPVS: the header and an empty table.
registerNodeView('ipvsadm', { render: ({ node }) => (node.ipvs !== undefined ? node.kubeProxy.ipvsadm() : undefined), absent: IPVSADM_LIST_HEADER.join('\n') + '\n' });
registerNodeView('ipset', { render: ({ node }) => node.ipsets?.list(), absent: '' });
registerNodeView('ipset-save', { render: ({ node }) => node.ipsets?.save(), absent: '' });
registerNodeView('conntrack', { render: ({ node }) => node.netfilter.conntrack.list() });
registerNodeView('conntrack-stats', { render: ({ node }) => node.netfilter.conntrack.statsText() });
// `nfacct list`: kube-proxy's counters (INVALID packets dropped, localhost NodePort connections accepted).
registerNodeView('nfacct', { render: ({ node }) => node.netfilter.iptables.nfacctList() });
registerNodeView('subnet-env', { render: ({ node }) => (node.flanneld.subnetEnv !== undefined ? renderSubnetEnv(node.flanneld.subnetEnv) : undefined) });
// flanneld's udp-backend proxy: its socket and its userspace routes (the verifier's twin runs a real one from them).
registerNodeView('flannel-proxy', { render: ({ node }) => (node.flanneld.backend instanceof UdpBackend ? node.flanneld.backend.proxyView() : undefined) });
registerNodeView('leases', { render: ({ subnets }) => subnets.keyValues().map((kv) => `${kv.key}\n${kv.value}`).join('\n') + '\n' });

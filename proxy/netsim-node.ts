/**
 * A netsim network namespace (with its NetfilterStack, and optionally IPVS and
 * ipsets) as the node kube-proxy programs — the adapter a composition root uses.
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import type { NetfilterStack } from '../netsim/netfilter/netfilter-stack.ts';
import type { Ipvs } from '../netsim/ipvs/ipvs.ts';
import type { Ipsets } from '../netsim/ipset/ipset.ts';
import type { TableName } from '../netsim/netfilter/eval-types.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import { startHttpServer } from '../netsim/apps/http.ts';
import type { KubeProxyNode } from './kube-proxy.ts';
import type { ConntrackCleaner } from './conntrack-cleanup.ts';
import { netsimIptablesBackend } from './iptables/netsim-backend.ts';
import { netsimIpsets, netsimIpvs, netsimNetlink } from './ipvs/netsim-adapters.ts';
import { netsimNftablesBackend } from './nftables/netsim-backend.ts';

/** `conntrack -D` on the namespace's table. */
export function netsimConntrackCleaner(nf: NetfilterStack): ConntrackCleaner {
  return {
    deleteByFilter: (f) => nf.conntrack.deleteByFilter({
      proto: 17,
      ...(f.origDst !== undefined ? { origDst: parseIpv4(f.origDst) } : {}),
      ...(f.origDport !== undefined ? { origDport: f.origDport } : {}),
      ...(f.replySrc !== undefined ? { replySrc: parseIpv4(f.replySrc) } : {}),
    }),
  };
}

/**
 * The node for kube-proxy; with `ipvs`/`ipsets` they are attached to the netfilter stack
 * (IPVS mode). `wallClock` dates the health servers' HTTP answers.
 */
export function netsimKubeProxyNode(ns: NetNamespace, nf: NetfilterStack, opts: { ipvs?: Ipvs; ipsets?: Ipsets; wallClock?: () => Date } = {}): KubeProxyNode {
  if (opts.ipsets !== undefined) {
    nf.ipsets = opts.ipsets;
    // `ipset list` References: each iptables rule matching a set holds a reference to it.
    opts.ipsets.references = (name) => nf.iptables.setReferences(name);
  }
  if (opts.ipvs !== undefined) nf.ipvs = opts.ipvs;
  return {
    iptables: netsimIptablesBackend(nf.iptables),
    conntrack: netsimConntrackCleaner(nf),
    ...(opts.ipvs !== undefined ? { ipvs: netsimIpvs(opts.ipvs) } : {}),
    ...(opts.ipsets !== undefined ? { ipset: netsimIpsets(opts.ipsets) } : {}),
    netlink: netsimNetlink(ns),
    nftables: netsimNftablesBackend(nf.nft),
    // Go's net/http on the node's TCP stack: the healthz and health-check node port servers.
    serveHttp: (address, port, route) => {
      const srv = startHttpServer(ns, { podName: 'kube-proxy', port, route, address: address === '0.0.0.0' ? 0 : parseIpv4(address), ...(opts.wallClock !== undefined ? { date: opts.wallClock } : {}) });
      return { close: () => srv.close() };
    },
    sysctl: (key, value) => {
      const dev = /^net\/ipv4\/conf\/([^/]+)\/route_localnet$/.exec(key)?.[1];
      if (dev === 'all') ns.sysctl.routeLocalnet = value === 1;
      else if (dev !== undefined) {
        if (value === 1) ns.devRouteLocalnet.add(dev);
        else ns.devRouteLocalnet.delete(dev);
      }
    },
    views: {
      iptablesSave: () => nf.iptables.save(),
      iptablesList: (table) => nf.iptables.list(table as TableName),
      conntrackList: () => nf.conntrack.list(),
    },
  };
}

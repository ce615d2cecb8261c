/**
 * proxy — kube-proxy: Services and EndpointSlices in, a node's service load
 * balancing out, in iptables mode (iptables-restore text in upstream's layout) or
 * IPVS mode (virtual servers, ipsets, kube-ipvs0 addresses and a constant set of
 * iptables rules), with UDP conntrack cleanup after each sync.
 * (Contract details: see the files; this header grows with them.)
 */
export * from './service-port.ts';
export * from './change-tracker.ts';
export * from './conntrack-cleanup.ts';
export type * from './proxier.ts';
export * from './iptables/chain-names.ts';
export * from './iptables/rules.ts';
export * from './iptables/proxier.ts';
export * from './iptables/netsim-backend.ts';

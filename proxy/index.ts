/**
 * proxy — kube-proxy: Services and EndpointSlices in, the node's iptables ruleset out
 * (iptables mode), with UDP conntrack cleanup after each sync.
 *
 * Contract: rules are generated as iptables-restore text in upstream's layout (hashed
 * chain names, 10-decimal probabilities, comments) and handed to the node through a
 * narrow backend interface; the emulated kernel evaluates them like any other rules.
 *
 * Not modelled yet: IPVS mode's proxier (the kernel side exists in netsim/ipvs), change
 * trackers and partial syncs (every sync is a full one), the bounded sync runner,
 * large-cluster mode, nftables mode, topology hints, dual-stack.
 */
export * from './service-port.ts';
export * from './iptables/chain-names.ts';
export * from './iptables/rules.ts';
export * from './iptables/proxier.ts';
export * from './iptables/netsim-backend.ts';

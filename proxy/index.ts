/**
 * proxy — kube-proxy: Services and EndpointSlices in, a node's service load
 * balancing out.
 *
 * Contract:
 * - Inputs are core/v1 Service and discovery/v1 EndpointSlice objects (control/api),
 *   reduced to kube-proxy's own types (service-port.ts) and fed through upstream-style
 *   change trackers (change-tracker.ts) into a ServicePortMap and an EndpointsMap.
 * - iptables mode (iptables/): the hook jumps first, then one `iptables-restore
 *   --noflush --counters` per sync in upstream's layout (hashed chain names, 10-decimal
 *   probabilities, comments; the canonical chain order of upstream's tests); partial
 *   syncs write only changed services' chains; stale chains are deleted with -X.
 * - IPVS mode (ipvs/): kube-ipvs0 addresses, virtual/real servers, the ipsets and the
 *   constant iptables rules; graceful real-server removal. A sync after a change
 *   rebuilds and reconciles only the changed service ports' part (ipvs/desired.ts), with
 *   the kernel ops and their order a full sync would make.
 * - nftables mode (nftables/): the `ip kube-proxy` table in upstream's layout (hashed
 *   "HASH-ns/svc/proto/port" chain names, verdict maps, numgen endpoint selection), one
 *   `nft -f` transaction per sync; partial syncs write only changed services' chains and
 *   changed map elements; stale chains are flushed, then deleted a second later.
 * - After each sync, the UDP conntrack deletions of conntrack-cleanup.ts.
 * - Health (healthcheck/): the healthz server on :10256 (/healthz, /livez: 200/503 from
 *   queued changes vs syncs, 2 × syncPeriod timeout, node eligibility; upstream's JSON)
 *   and one health-check node port server per externalTrafficPolicy Local LoadBalancer
 *   (local ready endpoint count, 200/503), served on the node's emulated TCP stack.
 * - The node is reached only through narrow interfaces (IptablesBackend,
 *   NftablesBackend, IpvsInterface, IpsetInterface, NetlinkHandle, ConntrackCleaner); netsim-node.ts
 *   adapts a netsim namespace. kube-proxy.ts paces syncs on the virtual clock.
 *
 * Wiring (composition root):
 *   const node = netsimKubeProxyNode(ns, nf, mode === 'ipvs' ? { ipvs, ipsets } : {});
 *   const kp = new KubeProxy(sim.clock, node, { mode, nodeName, nodeIP, clusterCIDR });
 *   kp.watch(serviceInformer, endpointSliceInformer);   // control/client Informers
 *   // once both informers have listed: kp.onServicesSynced(); kp.onEndpointSlicesSynced();
 *   kp.start();
 *
 * - Addresses as upstream's IPv4 proxier reads them (ip-family.ts): the other family
 *   ignored, leading-zero IPv4 canonicalised; LoadBalancer ingress with ipMode Proxy
 *   left to the load balancer; --nodeport-addresses; nfacct counters (opt-in).
 * - Upstream's proxier_test.go cases run as data: tests/upstream/kube-proxy/.
 *
 * Not modelled: topology-aware hints and trafficDistribution;
 * dual-stack and IPv6; SCTP packets (SCTP services get their rules); the
 * KUBE-PROXY-CANARY monitor; the healthz server's /metrics (Prometheus metrics are
 * not modelled); the conntrack reconciler of newer releases (the
 * per-sync deletions of 1.2x releases are modelled); IPVS mode's strictARP and
 * sysctls, and its KUBE-IPVS-OUT-FILTER entries (`-m ipvs --vaddr`, which stop a
 * node reaching an LB IP whose source ranges exclude it: xt_ipvs is not on the
 * kernels verify compares with, so the chain is written empty). The masquerade mark is written 0x4000 as in
 * upstream's test fixtures (kube-proxy itself formats `%#08x`, 0x00004000, which
 * the kernel stores identically).
 */
export * from './service-port.ts';
export * from './change-tracker.ts';
export * from './conntrack-cleanup.ts';
export * from './proxier.ts';
export * from './kube-proxy.ts';
export * from './netsim-node.ts';
export * from './iptables/chain-names.ts';
export * from './iptables/rules.ts';
export * from './iptables/proxier.ts';
export * from './iptables/netsim-backend.ts';
export * from './iptables/trace.ts';
export type * from './ipvs/interfaces.ts';
export * from './ipvs/ipsets.ts';
export * from './ipvs/rules.ts';
export * from './ipvs/proxier.ts';
export * from './ipvs/netsim-adapters.ts';
export type * from './nftables/backend.ts';
export * from './nftables/transaction.ts';
export { servicePortChainNameBase, endpointChainNameBase } from './nftables/names.ts';
export * from './nftables/proxier.ts';
export * from './nftables/fake.ts';
export * from './healthcheck/http-reply.ts';
export * from './healthcheck/proxy-health.ts';
export * from './healthcheck/service-health.ts';

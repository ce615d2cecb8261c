/**
 * Cluster DNS, as a Kubernetes cluster has it: CoreDNS (the kube-dns Service's
 * pods) answering from Services and EndpointSlices, pods' resolv.conf pointing at
 * it, and glibc's stub resolver in every client. Messages are RFC 1035 bytes on the
 * emulated wire (dns-packet encodes them), so queries cross the datapath like any
 * UDP/TCP traffic: kube-proxy's DNAT, flannel, conntrack.
 *
 * Not modelled: IPv6 records, DNSSEC, zone transfers, autopath, the loop and
 * loadbalance plugins, name compression in our encoder (messages are longer than
 * CoreDNS's; the 512-byte limit is applied to our encoding).
 */
export * from './message.ts';
export * from './rr-text.ts';
export * from './kubernetes-records.ts';
export * from './static-zone.ts';
export * from './cache.ts';
export * from './transport.ts';
export * from './coredns.ts';
export * from './dig-format.ts';
export * from './resolv-conf.ts';
export * from './stub-resolver.ts';
export * from './tools.ts';
export * from './node-cache.ts';

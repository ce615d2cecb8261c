/**
 * cni — pod networking on and between nodes: flanneld (cni/flannel) and the
 * Docker-style runtime (cni/docker) of the seed documents.
 *
 * Contract: everything is built from netsim devices and namespaces and programs
 * iptables only through iptables-restore text; flannel's leases, subnet.env and
 * masquerade rules have exactly the shapes REFERENCE.md gives.
 *
 * Not modelled yet: the CNI spec runtime and plugins (bridge, host-local, loopback,
 * portmap, flannel), flannel's vxlan and host-gw backends (the VXLAN device exists
 * in netsim/overlay), a lease store backed by the control plane or etcd.
 */
export * from './flannel/network-config.ts';
export * from './flannel/lease.ts';
export * from './flannel/subnet-manager.ts';
export * from './flannel/udp-backend.ts';
export * from './flannel/flanneld.ts';
export * from './docker/docker-runtime.ts';

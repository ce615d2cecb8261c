/**
 * cni — pod networking on and between nodes.
 *
 * - CNI 1.1.0 (spec/, plugin.ts, runtime.ts): network configs and conflists, the
 *   plugin protocol (env map + stdin → stdout + exit code, so the same vectors run
 *   against the real containernetworking binaries), error JSON with the spec's codes
 *   (errors.ts), and a libcni-like runtime (chaining with prevResult, result cache,
 *   DEL in reverse, CHECK, GC, STATUS, VERSION).
 * - Plugins (plugins/): bridge, host-local, loopback, portmap, flannel, in process,
 *   against a typed host context (host.ts: the node's namespace, a CNI_NETNS
 *   registry, an iptables-restore/save pair, the run's Rng, files).
 * - flanneld (flannel/): SubnetManager over a small LeaseKV (leases with TTL on the
 *   virtual clock), subnet.env, --ip-masq/forward rules, backends udp, vxlan, host-gw.
 * - docker/: the Docker-style runtime of the seed documents (docker0 from subnet.env).
 *
 * Contract: everything is built from netsim devices and namespaces; iptables is
 * programmed only through iptables-restore text (read back with iptables-save);
 * leases, subnet.env, rules and CNI results have the shapes REFERENCE.md gives.
 * Time is the virtual clock and randomness the run's Rng. Imports netsim/ (and
 * may import control/api, control/client), never control/store (lint).
 *
 * Wiring a node (what cluster/ does; cni/testing/two-nodes.ts is a worked example):
 *   const subnets = new MemorySubnetManager(netConfJson, sim.clock, rng)   // one per cluster, or
 *     new KvSubnetManager(await MirroredLeaseKV.open(store, '/coreos.com/network/', clock), clock, rng)
 *   const nf = NetfilterStack.install(nodeNs); const fs = new MemoryFs();
 *   const fl = new Flanneld(nodeNs, subnets, { ipMasq: true, iptables: nf.iptables, fs }); fl.start();
 *   // docker mode:  DockerRuntime.fromSubnetEnv(nodeNs, fs.read(SUBNET_FILE)!, { iptables: nf.iptables }).runPod(name)
 *   // cni mode:     const host = createCniHost(nodeNs, { iptables: nf.iptables, fs });
 *   //               new CniRuntime(host).addNetworkList(parseConfList(conflist), { containerId, netns: createSandbox(host, name).path, ifName: 'eth0' })
 *
 * Deliberately not modelled: IPv6; the CNI plugins' VLAN, macspoofchk, nftables
 * backends; flannel's kube subnet manager, DirectRouting, WireGuard/IPsec backends;
 * Docker's user-defined networks and published ports.
 */
export * from './errors.ts';
export * from './spec/types.ts';
export * from './spec/version.ts';
export * from './spec/config.ts';
export * from './spec/env.ts';
export * from './spec/result.ts';
export * from './host.ts';
export * from './plugin.ts';
export * from './runtime.ts';
export * from './node-host.ts';
export * from './plugins/index.ts';
export * from './flannel/network-config.ts';
export * from './flannel/lease.ts';
export * from './flannel/lease-kv.ts';
export * from './flannel/mirrored-lease-kv.ts';
export * from './flannel/subnet-manager.ts';
export * from './flannel/subnet-env.ts';
export * from './flannel/backend.ts';
export * from './flannel/backends.ts';
export * from './flannel/udp.ts';
export * from './flannel/vxlan.ts';
export * from './flannel/host-gw.ts';
export * from './flannel/masq.ts';
export { Flanneld, flannelRules } from './flannel/flanneld.ts';
export type { FlanneldOptions } from './flannel/flanneld.ts';
export * from './docker/docker-runtime.ts';

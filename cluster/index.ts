/**
 * cluster/: the composition root. The only layer that wires concrete parts together.
 *
 * Contract:
 * - `Cluster.build(spec, opts)` turns a validated `ClusterSpec` (spec.ts) into a running
 *   emulated cluster: the underlay and outside network (underlay.ts); on every node
 *   netfilter (+ IPVS and ipsets in IPVS mode), flanneld with the spec's backend, the pod
 *   runtime (pod-network.ts: Docker from subnet.env, or CNI with kube-flannel's conflist),
 *   the kubelet-like node agent (node-agent.ts, apps from pod-apps.ts), kube-proxy (iptables,
 *   IPVS or nftables mode), the NetworkPolicy enforcer when the spec asks for one (policy/),
 *   the cluster DNS add-on (dns-addon.ts); and the control plane in process (control-plane.ts). List informers (list-informer.ts)
 *   feed kube-proxy. The kube-proxy and kube-flannel DaemonSets' host-network pods are
 *   those node components (system-pods.ts): the agent starts and stops them with the pod.
 * - Determinism: one driver (`runFor`, `reconcile`) advances virtual time in ticks and
 *   gives the control plane a turn between ticks; uids and pod-name suffixes come from
 *   the run's Rng, timestamps from the virtual clock. Same seed → same cluster, traces
 *   and capture bytes. `netsim up` paces the same driver by the wall clock.
 * - Front ends see a cluster through `EmulatedCluster` (emulated-cluster.ts): endpoints
 *   by name (endpoint.ts), traced exchanges (trace-runner.ts), the demo's flows
 *   (demo-flows.ts), and `verify/` (a real-kernel twin of a node).
 *
 * - Lazy pods (lazy-pods.ts, spec `scale.lazyPods`): with the docker runtime a node's pods are
 *   records until the node is touched, then built exactly as the eager build would have.
 * - `netsim node` views are a registry (node-views.ts); `policy-matrix/` measures NetworkPolicy
 *   reachability through the datapath.
 * - Node partitions (partition.ts): `Cluster.build` with a `partition` runs only its nodes,
 *   on a store shared with the other partitions' processes (flannel leases there too, nodes
 *   posting heartbeats, partition 0 alone running controllers), the underlay frames for the
 *   others leaving through one uplink port (underlay-link.ts: real UDP between processes).
 *   Real time only; lockstep.ts is the exact, in-process split over workers.
 * - Parallel simulation (lockstep.ts, lockstep-run.ts): worker threads each build an
 *   identical replica, then run only their hosts' data plane in lower-bound time
 *   windows of the underlay latency, exchanging underlay frames and switch learnings;
 *   the result is the serial run's by hash. The control plane is not partitioned (it
 *   must stay quiet while the data plane runs split; a run where it would act is refused).
 *
 * Not modelled: the node lifecycle controller's evictions, liveness probes, leader election
 * between partitions, IPv6.
 */
export * from './spec.ts';
export * from './cluster.ts';
export * from './control-plane.ts';
export * from './node-agent.ts';
export * from './system-pods.ts';
export * from './pod-apps.ts';
export * from './pod-network.ts';
export * from './lazy-pods.ts';
export * from './list-informer.ts';
export * from './emulated-cluster.ts';
export * from './endpoint.ts';
export * from './trace-runner.ts';
export * from './demo-flows.ts';
export * from './underlay.ts';

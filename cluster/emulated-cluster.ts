/**
 * What front ends (the CLI's trace, capture and node views, verify) need from a
 * running emulated cluster — the spec-built `Cluster` implements it; tests may wire a
 * smaller one by hand (e.g. a cluster whose node view was tampered with).
 */
import type { Sim } from '../netsim/sim.ts';
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import type { Ipv4Addr } from '../netsim/wire/addr.ts';
import type { ResolvConf } from '../apps/dns/resolv-conf.ts';

export interface PodRef {
  /** "namespace/name". */
  readonly key: string;
  readonly ns: NetNamespace;
  readonly ip: Ipv4Addr;
  readonly node: string;
  /** The pod's /etc/resolv.conf and /etc/hosts (what its resolver reads); absent: the node's. */
  readonly resolvConf?: ResolvConf;
  readonly hosts?: string;
}

export interface ServiceRef {
  /** "namespace/name". */
  readonly key: string;
  readonly clusterIP: Ipv4Addr;
  readonly ports: ReadonlyArray<{ readonly name: string; readonly port: number; readonly protocol: 'TCP' | 'UDP'; readonly nodePort?: number }>;
}

/**
 * What a node's kube-proxy holds beyond the rules it wrote: in nftables mode nothing in
 * the ruleset marks a health-check node port, and a LoadBalancer IP without source
 * ranges is a `service-ips` element like an external IP.
 */
export interface KubeProxyView {
  /** Its health-check node port servers (upstream ServiceHealthServer): "namespace/name", port, local ready endpoints. */
  readonly healthChecks: ReadonlyArray<{ readonly service: string; readonly port: number; readonly localEndpoints: number }>;
  /** The LoadBalancer IPs it programs (ingress IPs of mode VIP), per service port. */
  readonly loadBalancerIPs: ReadonlyArray<{ readonly service: string; readonly ip: string; readonly proto: 'tcp' | 'udp'; readonly port: number }>;
}

export interface EmulatedCluster {
  readonly sim: Sim;
  /** Node name → the node's root namespace. */
  readonly nodes: ReadonlyMap<string, NetNamespace>;
  readonly pods: ReadonlyMap<string, PodRef>;
  readonly services: ReadonlyMap<string, ServiceRef>;
  /** Outside hosts by name. */
  readonly external: ReadonlyMap<string, NetNamespace>;
  /** A node's /etc/resolv.conf (nodes and outside hosts resolve with it); absent: no nameserver. */
  nodeResolvConf?(): ResolvConf;
  /** Pods whose sandbox the node agents could not create (the kubelet's FailedCreatePodSandBox), with its message. */
  failedPods?(): ReadonlyArray<{ readonly key: string; readonly node: string; readonly message: string }>;
  /** Start the pods' apps (HTTP on their container ports, etc.). */
  startApps(): void;
  /** Text a node shows for views beyond iproute2 (`iptables-save`, `conntrack -L`, `subnet-env`, …); undefined if the node has no such thing. */
  nodeView?(node: string, view: string): string | undefined;
  /** What the node's kube-proxy serves and programs (see {@link KubeProxyView}); undefined for an unknown node. */
  kubeProxyView?(node: string): KubeProxyView | undefined;
  /** Build what `node` (every node when absent) keeps as records until touched (cluster/lazy-pods.ts), before reading its devices directly. */
  materialise?(node?: string): void;
}

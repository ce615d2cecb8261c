/**
 * Lazy materialisation of a node's pods (issue 23): until something could tell, a pod is
 * a record — its address, the pause id, the veth's name, MAC and ifindex, its namespace's
 * random streams, all taken when the eager build would have taken them
 * (DockerRuntime.reservePod) — and its namespace, veth pair, bridge port, routes and
 * apps are built later, in the order the eager build would have built them.
 *
 * The unit is the node: its pods are built all at once, before
 * - the first packet the node's namespace receives or sends (a readiness probe, a flow
 *   from another node, a trace): NetNamespace.beforeFirstPacket;
 * - the first read of one of its pods' namespaces (trace and capture endpoints, exec,
 *   port-forward, the policy matrix): PodNetwork.ns;
 * - a front end reading the node itself (node views, capture's interface list, verify's
 *   twin, the web topology): Cluster.materialise.
 * After that the node behaves as the eager build, and later pods are built at once.
 * Nothing a pod's namespace holds changes with time alone (no packets, no timers), so
 * building it late gives what building it early would have (the DNS add-on's servers
 * too: they answer from the cluster-wide records, whenever they start).
 *
 * Spec `scale: { lazyPods: false }` builds every pod eagerly; tests/lazy-pods.test.ts
 * shows both give the same traces, captures, node views and experiment numbers.
 *
 * Not lazy: pods of the CNI runtime (the bridge plugin's IPAM files and first-ADD bridge
 * would need the same split), host-network pods (they are their node).
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';

export class LazyPods {
  /** Builds waiting for the node to be touched, in eager order; undefined once built (or never lazy). */
  private pending: Array<() => void> | undefined;

  constructor(private readonly node: NetNamespace, enabled: boolean) {
    this.pending = enabled ? [] : undefined;
    if (enabled) node.beforeFirstPacket = () => this.materialise();
  }

  /** Whether pods set up now may be kept as records. */
  get lazy(): boolean {
    return this.pending !== undefined;
  }

  /** Run `build` now if the node is built, else when it is (after the builds queued before it). */
  defer(build: () => void): void {
    if (this.pending === undefined) build();
    else this.pending.push(build);
  }

  /** Build every pod kept as a record, in order; from now on the node is eager. */
  materialise(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    if (this.node.beforeFirstPacket !== undefined) this.node.beforeFirstPacket = undefined;
    for (const build of pending) build();
  }
}

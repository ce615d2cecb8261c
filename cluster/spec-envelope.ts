/**
 * Kubernetes' scalability envelope, which the cluster spec refuses to go beyond
 * (kubernetes/community sig-scalability/configs-and-limits/thresholds.md: 5 000 nodes,
 * 150 000 pods, 10 000 Services; kubelet's default --max-pods 110 per node).
 * Pods are counted from what the spec asks for (workload generators' and manifests'
 * replicas, bare Pods, DaemonSets once per node); the cluster's own system pods
 * (kube-proxy, kube-flannel, CoreDNS) are not counted against the limit.
 */
export const ENVELOPE = { nodes: 5000, pods: 150_000, services: 10_000, podsPerNode: 110 } as const;

/** How many pods a manifest asks for on a cluster of `nodes` nodes (0 for kinds that make none). */
export function manifestPods(m: Record<string, unknown>, nodes: number): number {
  const spec = (m['spec'] ?? {}) as Record<string, unknown>;
  const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  switch (m['kind']) {
    case 'Pod': return 1;
    case 'Deployment': case 'ReplicaSet': case 'StatefulSet': case 'ReplicationController': return replicas;
    case 'Job': return typeof spec['parallelism'] === 'number' ? spec['parallelism'] : 1;
    case 'DaemonSet': return nodes;
    default: return 0;
  }
}

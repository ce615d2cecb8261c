/**
 * Flows of a running cluster: the trace bus feeds a FlowBuilder whose records go to
 * a FlowHub (ring + subscribers). Identities (pods and their labels, nodes, outside
 * hosts, Services) are re-read on `refresh()`, which the live server calls on a
 * timer and after changes.
 */
import type { Cluster } from '../cluster/cluster.ts';
import { FlowBuilder } from './flow-builder.ts';
import { FlowHub } from './flow-hub.ts';
import { ClusterIdentity } from './identity.ts';

interface PodMeta {
  readonly metadata: { readonly namespace?: string; readonly name?: string; readonly labels?: Record<string, string> };
  readonly spec?: { readonly nodeName?: string; readonly hostNetwork?: boolean };
  readonly status?: { readonly podIP?: string };
}

export class LiveFlows {
  readonly hub: FlowHub;
  private readonly identity: ClusterIdentity;
  private labels = new Map<string, Readonly<Record<string, string>>>();
  private readonly stop: () => void;

  /** `wallOf` turns a virtual instant into epoch milliseconds. */
  constructor(private readonly cluster: Cluster, wallOf: (t: number) => number, capacity?: number) {
    this.hub = new FlowHub(capacity);
    this.identity = new ClusterIdentity(cluster, (key) => this.labels.get(key));
    const builder = new FlowBuilder({
      identity: this.identity,
      hops: () => this.hub.wantsHops,
      timeOf: (t) => new Date(wallOf(t)).toISOString(),
    }, (f) => this.hub.publish(f));
    this.stop = cluster.sim.tracer.subscribe((e) => builder.onEvent(e), { bytes: true });
  }

  /** Re-read pods (with labels from the API), nodes and Services. */
  async refresh(): Promise<void> {
    const pods = await this.cluster.control.api.list<PodMeta>('pods');
    const labels = new Map<string, Readonly<Record<string, string>>>();
    for (const p of pods) if (p.metadata.labels !== undefined) labels.set(`${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`, p.metadata.labels);
    this.labels = labels;
    // Pods of other node partitions run elsewhere: the API's podIP names them.
    const local = new Set(this.cluster.clusterNodes.keys());
    const remote = pods.filter((p) => p.spec?.hostNetwork !== true && p.status?.podIP !== undefined && p.spec?.nodeName !== undefined && !local.has(p.spec.nodeName))
      .map((p) => ({ key: `${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`, ip: p.status?.podIP as string, node: p.spec?.nodeName as string }));
    this.identity.refresh(remote);
  }

  close(): void {
    this.stop();
  }
}

/**
 * The node lifecycle controller's health monitor (pkg/controller/nodelifecycle,
 * monitorNodeHealth/tryUpdateNodeHealth): a node whose kubelet stopped posting status
 * for longer than the grace period gets its Ready condition set to Unknown
 * (NodeStatusUnknown, "Kubelet stopped posting node status."), and its pods' Ready
 * and ContainersReady conditions False (MarkPodsNotReady), so the endpoint controllers
 * take them out of every Service.
 *
 * Like upstream, staleness is judged on this controller's own clock: it remembers
 * when it last saw each node's heartbeat (Ready's lastHeartbeatTime) change, and
 * never compares the kubelet's timestamp with its own — the two may run on different
 * machines whose clocks disagree. A node first seen counts as heard from then.
 *
 * Not modelled: the Lease-based heartbeat (kube-node-lease), the startup grace
 * period, taints (NoExecute eviction after the 5-minute toleration), zone states.
 */
import type { Node, Pod } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace, rfc3339 } from './types.ts';
import { EventRecorder } from './event-recorder.ts';

/** kube-controller-manager --node-monitor-grace-period: 50 s since v1.32 (40 s before). */
export const NODE_MONITOR_GRACE_MS = 50_000;

/**
 * What tryUpdateNodeHealth and MarkPodsNotReady write for a node gone silent: the
 * Node's Ready Unknown with an event, each of its pods Ready/ContainersReady False
 * with a Warning event. Returns the number of writes.
 */
export async function markNodeNotReady(api: ControlApi, n: Node, now: string, events: EventRecorder): Promise<number> {
  const node = n.metadata.name ?? '';
  let writes = 0;
  const conditions = [...(n.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), { type: 'Ready', status: 'Unknown' as const, reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: readyOf(n)?.lastHeartbeatTime ?? now, lastTransitionTime: now }];
  await api.updateStatus('nodes', undefined, node, { ...n, status: { ...n.status, conditions } });
  writes++;
  writes += await events.record({ apiVersion: 'v1', kind: 'Node', metadata: { name: node, ...(n.metadata.uid !== undefined ? { uid: n.metadata.uid } : {}) } }, 'Normal', 'NodeNotReady', `Node ${node} status is now: NodeNotReady`);
  for (const p of await api.list<Pod>('pods')) {
    if (p.spec.nodeName !== node || p.status === undefined) continue;
    const pc = (p.status.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False' as const, lastTransitionTime: now } : c));
    await api.updateStatus('pods', p.metadata.namespace, p.metadata.name ?? '', { ...p, status: { ...p.status, conditions: pc } });
    writes++;
    writes += await events.record(p, 'Warning', 'NodeNotReady', 'Node is not ready');
  }
  return writes;
}

function readyOf(n: Node): { status: string; lastHeartbeatTime?: string | null } | undefined {
  return (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
}

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private readonly events: EventRecorder;
  /** Per node: the heartbeat last seen and when (this clock, epoch ms). */
  private readonly probes = new Map<string, { beat: string; at: number }>();

  constructor(private readonly api: ControlApi, private readonly clock: () => Date, private readonly graceMs = NODE_MONITOR_GRACE_MS) {
    this.events = new EventRecorder(api, 'node-controller', clock);
  }

  async sync(): Promise<number> {
    const now = this.clock().getTime();
    let writes = 0;
    const nodes = await this.api.list<Node>('nodes');
    const names = new Set(nodes.map((n) => n.metadata.name ?? ''));
    for (const k of this.probes.keys()) if (!names.has(k)) this.probes.delete(k);
    for (const n of nodes) {
      const name = n.metadata.name ?? '';
      const ready = readyOf(n);
      const beat = `${ready?.status ?? ''}/${ready?.lastHeartbeatTime ?? ''}`;
      const probe = this.probes.get(name);
      if (probe === undefined || probe.beat !== beat) {
        this.probes.set(name, { beat, at: now });
        continue;
      }
      // Only a node the kubelet once reported on: one never Ready is the startup grace's (not modelled).
      if (ready === undefined || ready.status === 'Unknown' || now - probe.at <= this.graceMs) continue;
      try {
        writes += await markNodeNotReady(this.api, n, rfc3339(this.clock()), this.events);
      } catch (e) {
        if (!isRace(e)) throw e;
      }
    }
    return writes;
  }

  nextWakeMs(): number | undefined {
    let at: number | undefined;
    for (const p of this.probes.values()) {
      if (p.beat.startsWith('Unknown/') || p.beat.startsWith('/')) continue;
      const t = p.at + this.graceMs + 1;
      if (at === undefined || t < at) at = t;
    }
    return at;
  }
}

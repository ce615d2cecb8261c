/**
 * Scheduler: binds pods without `spec.nodeName` (and `schedulerName` default-scheduler)
 * to a Ready node the pod fits (node-fit.ts: nodeSelector, required node affinity —
 * DaemonSet pods name their node there —, NoSchedule/NoExecute taints against the pod's
 * tolerations, unschedulable), spreading the pods of one owner (fewest siblings first,
 * then fewest pods, then node name).
 * Not modelled: resources, preferred affinity, pod (anti-)affinity, preemption.
 */
import type { Node, Pod } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace, rfc3339 } from './types.ts';
import { podFitsNode } from './node-fit.ts';
import { EventRecorder } from './event-recorder.ts';

export function isNodeReady(n: Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function ownerUid(p: Pod): string {
  return p.metadata.ownerReferences?.find((o) => o.controller)?.uid ?? '';
}

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  private readonly events: EventRecorder;

  constructor(private readonly api: ControlApi, private readonly clock: () => Date = () => new Date()) {
    this.events = new EventRecorder(api, 'default-scheduler', clock);
  }

  async sync(): Promise<number> {
    const nodes = (await this.api.list<Node>('nodes')).filter(isNodeReady);
    const pods = await this.api.list<Pod>('pods');
    let writes = 0;
    const pending = pods.filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp && (p.spec.schedulerName ?? 'default-scheduler') === 'default-scheduler')
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    for (const pod of pending) {
      const fits = nodes.filter((n) => podFitsNode(pod.spec, n));
      if (fits.length === 0) {
        const cond = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
        if (cond?.status === 'False') continue;
        const msg = `0/${nodes.length} nodes are available: ${nodes.length} node(s) didn't match Pod's node affinity/selector.`;
        const next: Pod = { ...pod, status: { ...pod.status, phase: 'Pending', conditions: [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg, lastProbeTime: null, lastTransitionTime: rfc3339(this.clock()) }] } };
        try { await this.api.updateStatus('pods', pod.metadata.namespace, pod.metadata.name!, next); writes++; } catch (e) { if (!isRace(e)) throw e; }
        writes += await this.events.record(pod, 'Warning', 'FailedScheduling', msg);
        continue;
      }
      const owner = ownerUid(pod);
      const score = (n: Node): [number, number, string] => {
        const on = pods.filter((p) => p.spec.nodeName === n.metadata.name && !p.metadata.deletionTimestamp);
        return [owner ? on.filter((p) => ownerUid(p) === owner).length : 0, on.length, n.metadata.name ?? ''];
      };
      const best = fits.map((n) => ({ n, s: score(n) })).sort((a, b) => a.s[0] - b.s[0] || a.s[1] - b.s[1] || a.s[2].localeCompare(b.s[2]))[0]!.n;
      try {
        await this.api.bind(pod.metadata.namespace!, pod.metadata.name!, best.metadata.name!);
        pod.spec.nodeName = best.metadata.name!;
        writes++;
        writes += await this.events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${best.metadata.name}`);
      } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }
}

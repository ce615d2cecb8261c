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
    // Pods per node and per (owner, node), kept up to date as this pass binds: the spreading
    // score is two lookups, not a scan of every pod for every node of every pending pod.
    const onNode = new Map<string, number>();
    const siblings = new Map<string, number>();
    const count = (node: string, owner: string): void => {
      onNode.set(node, (onNode.get(node) ?? 0) + 1);
      if (owner) siblings.set(`${owner}\u0000${node}`, (siblings.get(`${owner}\u0000${node}`) ?? 0) + 1);
    };
    for (const p of pods) if (p.spec.nodeName && !p.metadata.deletionTimestamp) count(p.spec.nodeName, ownerUid(p));
    // The nodes a pod fits depend only on its nodeSelector, affinity and tolerations: the pods of one template share them.
    const fitsCache = new Map<string, Node[]>();
    for (const pod of pending) {
      const fitKey = JSON.stringify([pod.spec.nodeSelector, pod.spec.affinity, pod.spec.tolerations]);
      let fits = fitsCache.get(fitKey);
      if (fits === undefined) fitsCache.set(fitKey, fits = nodes.filter((n) => podFitsNode(pod.spec, n)));
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
      // Fewest siblings (pods of the same owner), then fewest pods, then the node name.
      let best: Node | undefined;
      let bs: [number, number, string] = [0, 0, ''];
      for (const n of fits) {
        const name = n.metadata.name ?? '';
        const s: [number, number, string] = [owner ? siblings.get(`${owner}\u0000${name}`) ?? 0 : 0, onNode.get(name) ?? 0, name];
        if (best === undefined || s[0] < bs[0] || (s[0] === bs[0] && (s[1] < bs[1] || (s[1] === bs[1] && s[2].localeCompare(bs[2]) < 0)))) {
          best = n;
          bs = s;
        }
      }
      const target = best as Node;
      try {
        await this.api.bind(pod.metadata.namespace!, pod.metadata.name!, target.metadata.name!);
        count(target.metadata.name!, owner);
        writes++;
        writes += await this.events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${target.metadata.name}`);
      } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }
}

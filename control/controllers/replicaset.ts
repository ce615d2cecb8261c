/**
 * ReplicaSet controller: keeps `spec.replicas` non-terminating pods owned by each
 * ReplicaSet (named `<rs>-<5 chars>` via generateName), deleting unscheduled, pending,
 * not-ready and then newest pods first, and writes `status` (replicas, ready, available,
 * observedGeneration). Not modelled: adopting orphans, minReadySeconds, burst limits.
 */
import type { OwnerReference, Pod, ReplicaSet } from '../api/index.ts';
import { isPodReady } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { byControllerUid } from './indexes.ts';
import { isRace } from './types.ts';
import { EventRecorder } from './event-recorder.ts';

export function controllerOf(o: { metadata: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

function deletionRank(p: Pod): number {
  if (!p.spec.nodeName) return 0;
  if (p.status?.phase === 'Pending') return 1;
  if (!isPodReady(p)) return 2;
  return 3;
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  private readonly events: EventRecorder;

  constructor(private readonly api: ControlApi, clock: () => Date = () => new Date()) {
    this.events = new EventRecorder(api, 'replicaset-controller', clock);
  }

  async sync(): Promise<number> {
    const sets = await this.api.list<ReplicaSet>('replicasets');
    const ownedBy = byControllerUid(await this.api.list<Pod>('pods'));
    let writes = 0;
    for (const rs of sets) {
      if (rs.metadata.deletionTimestamp) continue;
      const owned = ownedBy(rs.metadata.uid);
      const active = owned.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
      const want = rs.spec.replicas ?? 1;
      try {
        if (active.length < want && rs.spec.template) {
          for (let i = active.length; i < want; i++) {
            const t = rs.spec.template;
            const pod: Pod = {
              apiVersion: 'v1', kind: 'Pod',
              metadata: {
                generateName: `${rs.metadata.name}-`, namespace: rs.metadata.namespace!,
                labels: { ...(t.metadata?.labels ?? {}) },
                ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
                ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }],
              },
              spec: JSON.parse(JSON.stringify(t.spec)) as Pod['spec'],
            };
            const created = await this.api.create('pods', rs.metadata.namespace, pod);
            active.push(created);
            writes++;
            writes += await this.events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
          }
        } else if (active.length > want) {
          const victims = [...active].sort((a, b) => deletionRank(a) - deletionRank(b) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || (b.metadata.name ?? '').localeCompare(a.metadata.name ?? ''))
            .slice(0, active.length - want);
          for (const v of victims) {
            await this.api.delete('pods', v.metadata.namespace, v.metadata.name!);
            writes++;
            writes += await this.events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${v.metadata.name}`);
          }
          const gone = new Set(victims.map((v) => v.metadata.uid));
          active.splice(0, active.length, ...active.filter((p) => !gone.has(p.metadata.uid)));
        }
      } catch (e) { if (!isRace(e)) throw e; }
      const ready = active.filter(isPodReady).length;
      const labelsMatch = active.filter((p) => Object.entries(rs.spec.template?.metadata?.labels ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v)).length;
      const status = { replicas: active.length, fullyLabeledReplicas: labelsMatch, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation ?? 1 };
      const cur = rs.status ?? { replicas: 0 };
      if (cur.replicas !== status.replicas || cur.readyReplicas !== status.readyReplicas || cur.availableReplicas !== status.availableReplicas || cur.observedGeneration !== status.observedGeneration || cur.fullyLabeledReplicas !== status.fullyLabeledReplicas) {
        try { await this.api.updateStatus('replicasets', rs.metadata.namespace, rs.metadata.name!, { ...rs, status }); writes++; } catch (e) { if (!isRace(e)) throw e; }
      }
    }
    return writes;
  }
}

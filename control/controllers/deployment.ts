/**
 * Deployment controller: one ReplicaSet per pod template (`<deploy>-<pod-template-hash>`,
 * revision in the `deployment.kubernetes.io/revision` annotation), RollingUpdate within
 * `maxSurge`/`maxUnavailable` (kube-controller-manager's rolling.go arithmetic), Recreate,
 * rollback (a template equal to an old ReplicaSet's reuses it with a new revision; the
 * `deprecated.deployment.rollback.to` annotation copies that revision's template), history
 * pruned to `revisionHistoryLimit`, and the status fields `kubectl rollout status` reads.
 * Not modelled: minReadySeconds, progress deadlines, pausing (paused deployments are left alone).
 */
import type { Deployment, DeploymentCondition, PodTemplateSpec, ReplicaSet } from '../api/index.ts';
import { canonicalJson, fnv32a, safeEncode, scaledValue } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { byControllerUid } from './indexes.ts';
import { isRace, rfc3339 } from './types.ts';
import { EventRecorder } from './event-recorder.ts';

export const REVISION = 'deployment.kubernetes.io/revision';
export const ROLLBACK_TO = 'deprecated.deployment.rollback.to';
const HASH = 'pod-template-hash';

function templateWithoutHash(t: PodTemplateSpec | undefined): unknown {
  if (!t) return {};
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[HASH];
  const metadata: Record<string, unknown> = { ...(t.metadata ?? {}), labels };
  // A template round-tripped through Go types carries `creationTimestamp: null`.
  if (metadata.creationTimestamp === null || metadata.creationTimestamp === undefined) delete metadata.creationTimestamp;
  return { ...t, metadata };
}

export function podTemplateHash(t: PodTemplateSpec, collisionCount = 0): string {
  return safeEncode(fnv32a(canonicalJson(templateWithoutHash(t)) + (collisionCount ? String(collisionCount) : ''))).slice(0, 10);
}

function rev(rs: ReplicaSet): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? '0') || 0;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly events: EventRecorder;

  constructor(private readonly api: ControlApi, private readonly clock: () => Date = () => new Date()) {
    this.events = new EventRecorder(api, 'deployment-controller', clock);
  }

  async sync(): Promise<number> {
    const deps = await this.api.list<Deployment>('deployments');
    const ownedBy = byControllerUid(await this.api.list<ReplicaSet>('replicasets'));
    let writes = 0;
    for (const d of deps) {
      try { writes += await this.syncOne(d, [...ownedBy(d.metadata.uid)]); } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }

  private async syncOne(dIn: Deployment, owned: ReplicaSet[]): Promise<number> {
    let d = dIn;
    let writes = 0;
    const ns = d.metadata.namespace!;
    if (d.metadata.deletionTimestamp) return 0;
    const rollbackTo = d.metadata.annotations?.[ROLLBACK_TO];
    if (rollbackTo !== undefined) {
      const target = rollbackTo === '0' ? [...owned].sort((a, b) => rev(b) - rev(a))[1] : owned.find((rs) => String(rev(rs)) === rollbackTo);
      const annotations = { ...(d.metadata.annotations ?? {}) };
      delete annotations[ROLLBACK_TO];
      const next: Deployment = { ...d, metadata: { ...d.metadata, annotations } };
      if (target?.spec.template) {
        const t = JSON.parse(JSON.stringify(target.spec.template)) as PodTemplateSpec;
        if (t.metadata?.labels) delete t.metadata.labels[HASH];
        next.spec = { ...next.spec, template: t };
      }
      d = await this.api.update('deployments', ns, d.metadata.name!, next);
      return 1;
    }
    const desired = d.spec.replicas ?? 1;
    const want = canonicalJson(templateWithoutHash(d.spec.template));
    let newRs = owned.find((rs) => canonicalJson(templateWithoutHash(rs.spec.template)) === want);
    const maxRev = owned.reduce((m, rs) => Math.max(m, rev(rs)), 0);
    const olds = () => owned.filter((rs) => rs !== newRs);
    if (d.spec.paused) return 0;
    if (!newRs) {
      const hash = podTemplateHash(d.spec.template, d.status?.collisionCount ?? 0);
      const template = JSON.parse(JSON.stringify(d.spec.template)) as PodTemplateSpec;
      template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH]: hash } };
      const selector = { ...d.spec.selector, matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [HASH]: hash } };
      const rs: ReplicaSet = {
        apiVersion: 'apps/v1', kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`, namespace: ns,
          labels: { ...(template.metadata.labels ?? {}) },
          annotations: { [REVISION]: String(maxRev + 1), 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/max-replicas': String(desired + this.surge(d)) },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: { replicas: 0, selector, template },
      };
      newRs = await this.api.create('replicasets', ns, rs);
      owned.push(newRs);
      writes++;
    } else if (rev(newRs) < maxRev) {
      // Rollback to an old template: it becomes the newest revision.
      newRs = await this.api.update('replicasets', ns, newRs.metadata.name!, { ...newRs, metadata: { ...newRs.metadata, annotations: { ...(newRs.metadata.annotations ?? {}), [REVISION]: String(maxRev + 1) } } });
      owned.splice(owned.findIndex((r) => r.metadata.uid === newRs!.metadata.uid), 1, newRs);
      writes++;
    }
    const scale = async (rs: ReplicaSet, n: number): Promise<ReplicaSet> => {
      if ((rs.spec.replicas ?? 0) === n) return rs;
      const annotations = { ...(rs.metadata.annotations ?? {}), 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/max-replicas': String(desired + this.surge(d)) };
      const from = rs.spec.replicas ?? 0;
      const updated = await this.api.update('replicasets', ns, rs.metadata.name!, { ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, replicas: n } });
      owned.splice(owned.findIndex((r) => r.metadata.uid === rs.metadata.uid), 1, updated);
      if (newRs && rs.metadata.uid === newRs.metadata.uid) newRs = updated;
      writes++;
      // deployment/sync.go scaleReplicaSet: "Scaled up replica set X from A to B".
      writes += await this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${n > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${n}`);
      return updated;
    };
    const available = (rs: ReplicaSet): number => Math.min(rs.status?.availableReplicas ?? 0, rs.spec.replicas ?? 0);
    if (d.spec.strategy?.type === 'Recreate') {
      for (const o of olds()) await scale(o, 0);
      const oldRunning = olds().reduce((a, rs) => a + (rs.status?.replicas ?? 0), 0);
      if (oldRunning === 0) await scale(newRs, desired);
    } else {
      const maxSurge = this.surge(d);
      let maxUnavailable = scaledValue(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', desired, false);
      if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
      // Scale up the new ReplicaSet within the surge.
      const total = owned.reduce((a, rs) => a + (rs.spec.replicas ?? 0), 0);
      const cur = newRs.spec.replicas ?? 0;
      if (cur > desired) await scale(newRs, desired);
      else if (cur < desired) {
        const room = desired + maxSurge - total;
        if (room > 0) await scale(newRs, Math.min(desired, cur + room));
      }
      // Scale down old ReplicaSets within the availability budget.
      const minAvailable = desired - maxUnavailable;
      const all = owned.reduce((a, rs) => a + (rs.spec.replicas ?? 0), 0);
      const newUnavailable = (newRs.spec.replicas ?? 0) - available(newRs);
      let budget = all - minAvailable - newUnavailable;
      const oldSorted = olds().filter((rs) => (rs.spec.replicas ?? 0) > 0).sort((a, b) => rev(a) - rev(b));
      if (budget > 0) {
        // First the unhealthy replicas of old sets.
        for (const o of oldSorted) {
          if (budget <= 0) break;
          const cur2 = owned.find((r) => r.metadata.uid === o.metadata.uid)!;
          const unhealthy = (cur2.spec.replicas ?? 0) - available(cur2);
          const cut = Math.min(budget, unhealthy);
          if (cut > 0) { await scale(cur2, (cur2.spec.replicas ?? 0) - cut); budget -= cut; }
        }
        const totalAvailable = owned.reduce((a, rs) => a + available(rs), 0);
        let down = Math.min(budget, totalAvailable - minAvailable);
        for (const o of oldSorted) {
          if (down <= 0) break;
          const cur2 = owned.find((r) => r.metadata.uid === o.metadata.uid)!;
          const cut = Math.min(down, cur2.spec.replicas ?? 0);
          if (cut > 0) { await scale(cur2, (cur2.spec.replicas ?? 0) - cut); down -= cut; }
        }
      }
    }
    // History.
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const dead = olds().filter((rs) => (rs.spec.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0).sort((a, b) => rev(a) - rev(b));
    for (const rs of dead.slice(0, Math.max(0, dead.length - limit))) {
      await this.api.delete('replicasets', ns, rs.metadata.name!);
      owned.splice(owned.findIndex((r) => r.metadata.uid === rs.metadata.uid), 1);
      writes++;
    }
    // Status.
    const sum = (f: (rs: ReplicaSet) => number): number => owned.reduce((a, rs) => a + f(rs), 0);
    const replicas = sum((rs) => rs.status?.replicas ?? 0);
    const updatedReplicas = newRs.status?.replicas ?? 0;
    const readyReplicas = sum((rs) => rs.status?.readyReplicas ?? 0);
    const availableReplicas = sum((rs) => rs.status?.availableReplicas ?? 0);
    const maxUnavail = d.spec.strategy?.type === 'Recreate' ? desired : scaledValue(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', desired, false);
    const now = rfc3339(this.clock());
    const prevConds = d.status?.conditions ?? [];
    const cond = (type: string, status: 'True' | 'False', reason: string, message: string): DeploymentCondition => {
      const prev = prevConds.find((c) => c.type === type);
      const same = prev && prev.status === status && prev.reason === reason;
      return { type, status, lastUpdateTime: same ? prev.lastUpdateTime ?? now : now, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime ?? now : now, reason, message };
    };
    const complete = updatedReplicas === desired && replicas === desired && availableReplicas === desired && (newRs.spec.replicas ?? 0) === desired;
    const conditions = [
      availableReplicas >= desired - maxUnavail ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.') : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
      complete ? cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newRs.metadata.name}" has successfully progressed.`) : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newRs.metadata.name}" is progressing.`),
    ];
    const status = {
      observedGeneration: d.metadata.generation ?? 1, replicas, updatedReplicas, readyReplicas, availableReplicas,
      ...(desired - availableReplicas > 0 ? { unavailableReplicas: desired - availableReplicas } : {}),
      conditions,
      ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
    };
    const strip = (s: unknown): string => canonicalJson(JSON.parse(JSON.stringify(s, (k, v: unknown) => (k === 'lastUpdateTime' || k === 'lastTransitionTime' ? undefined : v))));
    if (strip(status) !== strip(d.status ?? {})) {
      const rev2 = String(rev(newRs));
      const meta = d.metadata.annotations?.[REVISION] === rev2 ? d.metadata : { ...d.metadata, annotations: { ...(d.metadata.annotations ?? {}), [REVISION]: rev2 } };
      if (meta !== d.metadata) d = await this.api.update('deployments', ns, d.metadata.name!, { ...d, metadata: meta });
      await this.api.updateStatus('deployments', ns, d.metadata.name!, { ...d, status });
      writes++;
    } else if (d.metadata.annotations?.[REVISION] !== String(rev(newRs))) {
      await this.api.update('deployments', ns, d.metadata.name!, { ...d, metadata: { ...d.metadata, annotations: { ...(d.metadata.annotations ?? {}), [REVISION]: String(rev(newRs)) } } });
      writes++;
    }
    return writes;
  }

  private surge(d: Deployment): number {
    if (d.spec.strategy?.type === 'Recreate') return 0;
    return scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%', d.spec.replicas ?? 1, true);
  }
}

/**
 * StatefulSet controller (kube-controller-manager's pkg/controller/statefulset): pods
 * `<name>-<ordinal>` from `ordinals.start` (default 0), each with the stable hostname
 * `spec.hostname = <pod name>` and `spec.subdomain = serviceName` (so its headless
 * Service's endpoints carry the hostname and DNS names it `<pod>.<service>`), labels
 * `controller-revision-hash`, `statefulset.kubernetes.io/pod-name` and
 * `apps.kubernetes.io/pod-index`.
 *
 * OrderedReady (the default): a pod is created only when every lower ordinal is Running
 * and Ready, one at a time; scale-down deletes the highest ordinal first and waits for it
 * to be gone. Parallel: every missing pod is created and every condemned one deleted at
 * once. RollingUpdate replaces pods whose revision is old from the highest ordinal down
 * to `partition`, one at a time, each once the others are Ready; OnDelete only when a pod
 * is deleted. A Failed pod is deleted and recreated with its name.
 *
 * Status: replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas,
 * currentRevision/updateRevision (`<name>-<template hash>`), observedGeneration — what
 * `kubectl rollout status statefulset/NAME` reads.
 *
 * Not modelled: volumeClaimTemplates (no PersistentVolumeClaims), ControllerRevision
 * objects, minReadySeconds, maxUnavailable for rolling updates.
 */
import type { Pod, StatefulSet, StatefulSetStatus } from '../api/index.ts';
import { isPodReady } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace } from './types.ts';
import { controllerOf } from './replicaset.ts';
import { podTemplateHash } from './deployment.ts';
import { CONTROLLER_REVISION_HASH } from './daemonset.ts';

export const STS_POD_NAME = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX = 'apps.kubernetes.io/pod-index';

function ordinalOf(sts: StatefulSet, p: Pod): number | undefined {
  const prefix = `${sts.metadata.name}-`;
  const name = p.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

const runningAndReady = (p: Pod): boolean => p.status?.phase === 'Running' && isPodReady(p) && p.metadata.deletionTimestamp === undefined;

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  constructor(private readonly api: ControlApi) {}

  async sync(): Promise<number> {
    const sets = await this.api.list<StatefulSet>('statefulsets');
    if (sets.length === 0) return 0;
    const pods = await this.api.list<Pod>('pods');
    let writes = 0;
    for (const sts of sets) {
      if (sts.metadata.deletionTimestamp) continue;
      try { writes += await this.syncOne(sts, pods.filter((p) => controllerOf(p)?.uid === sts.metadata.uid)); } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }

  private podFor(sts: StatefulSet, ordinal: number, revision: string): Pod {
    const name = `${sts.metadata.name}-${ordinal}`;
    const t = sts.spec.template;
    const spec = JSON.parse(JSON.stringify(t.spec)) as Pod['spec'];
    spec.hostname = name;
    if (sts.spec.serviceName) spec.subdomain = sts.spec.serviceName;
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name, namespace: sts.metadata.namespace!,
        labels: { ...(t.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH]: revision, [STS_POD_NAME]: name, [POD_INDEX]: String(ordinal) },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata.name!, uid: sts.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    };
  }

  private async syncOne(sts: StatefulSet, owned: Pod[]): Promise<number> {
    const ns = sts.metadata.namespace!;
    const revision = `${sts.metadata.name}-${podTemplateHash(sts.spec.template, sts.status?.collisionCount ?? 0)}`;
    const start = sts.spec.ordinals?.start ?? 0;
    const replicas = sts.spec.replicas ?? 1;
    const parallel = sts.spec.podManagementPolicy === 'Parallel';
    const byOrd = new Map<number, Pod>();
    for (const p of owned) { const o = ordinalOf(sts, p); if (o !== undefined) byOrd.set(o, p); }
    let writes = 0;
    const del = async (p: Pod): Promise<void> => {
      try { await this.api.delete('pods', ns, p.metadata.name!); writes++; } catch (e) { if (!isRace(e)) throw e; }
    };
    // Replicas in ordinal order: create what is missing, replace failed pods.
    let blocked = false;
    for (let o = start; o < start + replicas; o++) {
      const p = byOrd.get(o);
      if (p === undefined) {
        if (blocked) break;
        try { byOrd.set(o, await this.api.create('pods', ns, this.podFor(sts, o, revision))); writes++; } catch (e) { if (!isRace(e)) throw e; }
        if (!parallel) blocked = true;
        continue;
      }
      if (p.status?.phase === 'Failed' && p.metadata.deletionTimestamp === undefined) { await del(p); if (!parallel) blocked = true; continue; }
      if (!parallel && !runningAndReady(p)) blocked = true;
    }
    // Condemned pods (ordinals past the replicas): highest first; OrderedReady one at a time.
    const condemned = [...byOrd.entries()].filter(([o]) => o < start || o >= start + replicas).sort((a, b) => b[0] - a[0]);
    if (parallel) { for (const [, p] of condemned) if (!p.metadata.deletionTimestamp) await del(p); } else if (!blocked && condemned.length > 0 && condemned.every(([, p]) => !p.metadata.deletionTimestamp)) await del(condemned[0]![1]);
    // RollingUpdate: the highest ordinal ≥ partition with an old revision, once every replica is Running and Ready.
    const inRange = [...byOrd.entries()].filter(([o]) => o >= start && o < start + replicas);
    if (sts.spec.updateStrategy?.type !== 'OnDelete' && condemned.length === 0 && inRange.length === replicas && inRange.every(([, p]) => runningAndReady(p))) {
      const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      const stale = inRange.filter(([o, p]) => o - start >= partition && p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== revision).sort((a, b) => b[0] - a[0]);
      if (stale.length > 0) await del(stale[0]![1]);
    }
    // Status.
    const live = [...byOrd.values()];
    const ready = live.filter((p) => isPodReady(p) && p.metadata.deletionTimestamp === undefined).length;
    const updated = live.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === revision).length;
    const prevCurrent = sts.status?.currentRevision ?? revision;
    const currentRevision = updated === replicas && live.length === replicas ? revision : prevCurrent;
    const current = live.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === currentRevision).length;
    const status: StatefulSetStatus = {
      observedGeneration: sts.metadata.generation ?? 1, replicas: live.length, readyReplicas: ready, currentReplicas: current, updatedReplicas: updated,
      currentRevision, updateRevision: revision, collisionCount: sts.status?.collisionCount ?? 0, availableReplicas: ready,
    };
    const cur = sts.status;
    if (cur === undefined || (Object.keys(status) as (keyof StatefulSetStatus)[]).some((k) => cur[k] !== status[k])) {
      try { await this.api.updateStatus('statefulsets', ns, sts.metadata.name!, { ...sts, status }); writes++; } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }
}

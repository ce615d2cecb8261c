/**
 * Job controller (kube-controller-manager's pkg/controller/job): keeps up to
 * `parallelism` pods running (never more than the completions still missing), counts
 * pods that ended Succeeded or Failed, and finishes the Job:
 *
 * - Complete when `completions` pods succeeded (a work queue without completions: once one
 *   succeeded and none is active): conditions SuccessCriteriaMet, then Complete (reason
 *   CompletionsReached, as 1.32 writes them), completionTime; leftover active pods deleted.
 * - Failed when more pods failed than `backoffLimit` (restartPolicy OnFailure: when the
 *   containers' restarts reach it) or the Job ran past `activeDeadlineSeconds`: conditions
 *   FailureTarget, then Failed (BackoffLimitExceeded / DeadlineExceeded); active pods deleted.
 *
 * A failed pod is replaced after upstream's back-off (10 s doubling per failure, at most
 * 6 min), on the controller's clock (nextWakeMs). Status: active, ready, terminating,
 * succeeded, failed, startTime, completionTime, uncountedTerminatedPods (always empty).
 *
 * Not modelled: Indexed completion mode's indexes (pods are created as for NonIndexed),
 * suspend, podFailurePolicy, successPolicy, ttlSecondsAfterFinished, the job-tracking
 * finalizer (counts come from the finished pods still there and never go down).
 */
import type { Job, JobCondition, JobStatus, Pod } from '../api/index.ts';
import { isPodReady } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace, rfc3339 } from './types.ts';
import { controllerOf } from './replicaset.ts';

/** upstream DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
const BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 360_000;

function finished(j: Job): boolean {
  return (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

export class JobController implements Controller {
  readonly name = 'job';
  private wake: number | undefined;

  constructor(private readonly api: ControlApi, private readonly clock: () => Date = () => new Date()) {}

  nextWakeMs(): number | undefined {
    return this.wake;
  }

  async sync(): Promise<number> {
    this.wake = undefined;
    const jobs = (await this.api.list<Job>('jobs')).filter((j) => !j.metadata.deletionTimestamp && !finished(j));
    if (jobs.length === 0) return 0;
    const pods = await this.api.list<Pod>('pods');
    let writes = 0;
    for (const j of jobs) {
      try { writes += await this.syncOne(j, pods.filter((p) => controllerOf(p)?.uid === j.metadata.uid)); } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }

  private wakeAt(ms: number): void {
    this.wake = this.wake === undefined ? ms : Math.min(this.wake, ms);
  }

  private async syncOne(j: Job, owned: Pod[]): Promise<number> {
    const ns = j.metadata.namespace!;
    const nowMs = this.clock().getTime();
    const now = rfc3339(this.clock());
    let writes = 0;
    const spec = j.spec;
    const succeededPods = owned.filter((p) => p.status?.phase === 'Succeeded');
    const failedPods = owned.filter((p) => p.status?.phase === 'Failed');
    const terminating = owned.filter((p) => p.metadata.deletionTimestamp !== undefined && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    let active = owned.filter((p) => p.metadata.deletionTimestamp === undefined && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const succeeded = Math.max(j.status?.succeeded ?? 0, succeededPods.length);
    const failed = Math.max(j.status?.failed ?? 0, failedPods.length);
    const startTime = j.status?.startTime ?? now;
    const backoffLimit = spec.backoffLimit ?? 6;
    const restarts = active.reduce((a, p) => a + (p.status?.containerStatuses ?? []).reduce((b, c) => b + (c.restartCount ?? 0), 0), 0);
    const onFailure = spec.template.spec.restartPolicy === 'OnFailure';

    let outcome: { type: 'Complete' | 'Failed'; reason: string; message: string } | undefined;
    const completions = spec.completions;
    if (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0) {
      outcome = { type: 'Complete', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' };
    } else if (failed > backoffLimit || (onFailure && restarts >= backoffLimit && backoffLimit >= 0 && restarts > 0)) {
      outcome = { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    } else if (spec.activeDeadlineSeconds !== undefined && nowMs - Date.parse(startTime) >= spec.activeDeadlineSeconds * 1000) {
      outcome = { type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    } else if (spec.activeDeadlineSeconds !== undefined) {
      this.wakeAt(Date.parse(startTime) + spec.activeDeadlineSeconds * 1000);
    }

    if (outcome !== undefined) {
      for (const p of active) {
        try { await this.api.delete('pods', ns, p.metadata.name!); writes++; } catch (e) { if (!isRace(e)) throw e; }
      }
      active = [];
    } else {
      const parallelism = spec.parallelism ?? 1;
      const want = Math.max(0, Math.min(parallelism, completions !== undefined ? completions - succeeded : (succeeded > 0 ? 0 : parallelism)));
      // Replacements of failed pods wait out the back-off since the last failure.
      const lastFailure = failedPods.reduce((m, p) => Math.max(m, Date.parse(p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? p.metadata.creationTimestamp ?? '') || 0), 0);
      const readyAt = failed > 0 ? lastFailure + Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** (failed - 1)) : 0;
      if (active.length < want && nowMs < readyAt) this.wakeAt(readyAt);
      else {
        for (let i = active.length; i < want; i++) {
          const t = spec.template;
          const pod: Pod = {
            apiVersion: 'v1', kind: 'Pod',
            metadata: {
              generateName: `${j.metadata.name}-`, namespace: ns,
              labels: { ...(t.metadata?.labels ?? {}) },
              ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
              ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata.name!, uid: j.metadata.uid!, controller: true, blockOwnerDeletion: true }],
            },
            spec: JSON.parse(JSON.stringify(t.spec)) as Pod['spec'],
          };
          try { active.push(await this.api.create('pods', ns, pod)); writes++; } catch (e) { if (!isRace(e)) throw e; }
        }
      }
    }

    const conditions: JobCondition[] = [...(j.status?.conditions ?? [])];
    if (outcome !== undefined) {
      const first = outcome.type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
      for (const type of [first, outcome.type]) {
        if (!conditions.some((c) => c.type === type)) conditions.push({ type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason: outcome.reason, message: outcome.message });
      }
    }
    const status: JobStatus = {
      ...(conditions.length > 0 ? { conditions } : {}),
      startTime,
      ...(outcome?.type === 'Complete' ? { completionTime: now } : {}),
      ...(active.length > 0 ? { active: active.length } : {}),
      ...(succeeded > 0 ? { succeeded } : {}),
      ...(failed > 0 ? { failed } : {}),
      terminating: terminating.length,
      ready: active.filter(isPodReady).length,
      uncountedTerminatedPods: {},
    };
    const cmp = (s: JobStatus | undefined): string => JSON.stringify([s?.conditions?.length ?? 0, s?.startTime, s?.completionTime, s?.active ?? 0, s?.succeeded ?? 0, s?.failed ?? 0, s?.terminating, s?.ready]);
    if (cmp(j.status) !== cmp(status)) {
      try { await this.api.updateStatus('jobs', ns, j.metadata.name!, { ...j, status }); writes++; } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }
}

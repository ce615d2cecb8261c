/**
 * batch/v1 Job (pkg/registry/batch/job): the selector the job strategy generates on
 * create unless `manualSelector` (`batch.kubernetes.io/controller-uid: <uid>`; the
 * template gets that label, `batch.kubernetes.io/job-name` and the legacy `controller-uid`
 * and `job-name`), batch/v1 defaults (completions and parallelism 1, backoffLimit 6,
 * NonIndexed, podReplacementPolicy TerminatingOrFailed), validation (restartPolicy
 * OnFailure or Never, an immutable selector) and the printer's columns (STATUS,
 * COMPLETIONS, DURATION as kubectl 1.32 prints them). The Job controller is
 * control/controllers/job.ts.
 */
import type { FieldError, Job } from '../api/index.ts';
import { invalid, notSupported, required, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, fields, mergeTop, topLevel } from './schema.ts';
import {
  defaultTemplate, POD_TEMPLATE_MERGE, SELECTOR_FIELDS, TEMPLATE_FIELDS, templateCells, validateSelectorAndTemplate, validateSelectorUnchanged, WORKLOAD_STATUS_MERGE,
} from './pod-template.ts';
import { age, AGE_COLUMN, humanDuration, NAME_COLUMN } from './table.ts';

export const JOB_CONTROLLER_UID = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME = 'batch.kubernetes.io/job-name';

function nonNegative(v: unknown, path: string, errs: FieldError[]): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2147483647)) errs.push(invalid(path, v, 'must be greater than or equal to 0'));
}

function validateJob(job: Job): FieldError[] {
  const errs = validateObjectMeta(job.metadata, true, 'dns1123-subdomain');
  if (!job.spec || typeof job.spec !== 'object') return [...errs, required('spec')];
  nonNegative(job.spec.parallelism, 'spec.parallelism', errs);
  nonNegative(job.spec.completions, 'spec.completions', errs);
  nonNegative(job.spec.backoffLimit, 'spec.backoffLimit', errs);
  nonNegative(job.spec.activeDeadlineSeconds, 'spec.activeDeadlineSeconds', errs);
  const mode = job.spec.completionMode;
  if (mode !== undefined && !['NonIndexed', 'Indexed'].includes(mode)) errs.push(notSupported('spec.completionMode', mode, ['NonIndexed', 'Indexed']));
  if (mode === 'Indexed' && job.spec.completions === undefined) errs.push(required('spec.completions', 'when completion mode is Indexed'));
  validateSelectorAndTemplate(job.spec.selector, job.spec.template, errs, ['OnFailure', 'Never']);
  return errs;
}

/** printJob's STATUS: the first of Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet that holds, else Running. */
function jobStatus(job: Job): string {
  const has = (t: string): boolean => (job.status?.conditions ?? []).some((c) => c.type === t && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp !== undefined) return 'Terminating';
  for (const t of ['Suspended', 'FailureTarget', 'SuccessCriteriaMet']) if (has(t)) return t;
  return 'Running';
}

/** printJob's COMPLETIONS: succeeded/completions, or succeeded/1 (of parallelism) for a work queue. */
function jobCompletions(job: Job): string {
  const ok = job.status?.succeeded ?? 0;
  if (job.spec.completions !== undefined) return `${ok}/${job.spec.completions}`;
  const par = job.spec.parallelism;
  return par !== undefined && par > 1 ? `${ok}/1 of ${par}` : `${ok}/1`;
}

function jobDuration(job: Job, now: Date): string {
  const start = job.status?.startTime;
  if (start === undefined) return '';
  const end = job.status?.completionTime;
  return humanDuration((end !== undefined ? Date.parse(end) : now.getTime()) - Date.parse(start));
}

export const job = defineKind<Job>({
  info: { group: 'batch', version: 'v1', resource: 'jobs', singular: 'job', kind: 'Job', listKind: 'JobList', namespaced: true, shortNames: [], categories: ['all'], subresources: ['status'], hasStatus: true },
  fields: topLevel({
    spec: fields('parallelism completions activeDeadlineSeconds podFailurePolicy successPolicy backoffLimit backoffLimitPerIndex maxFailedIndexes manualSelector ttlSecondsAfterFinished completionMode suspend podReplacementPolicy managedBy', {
      selector: SELECTOR_FIELDS, template: TEMPLATE_FIELDS,
    }),
    status: ANY,
  }),
  merge: mergeTop({ spec: { fields: { template: POD_TEMPLATE_MERGE } }, status: WORKLOAD_STATUS_MERGE }),
  // jobStrategy.PrepareForCreate: empty status, and generateSelector unless manualSelector.
  prepareForCreate(j) {
    delete (j as { status?: unknown }).status;
    const spec = j.spec;
    const uid = j.metadata.uid;
    if (!spec || typeof spec !== 'object' || spec.manualSelector === true || uid === undefined || !spec.template || typeof spec.template !== 'object') return;
    const name = j.metadata.name ?? '';
    spec.template.metadata ??= {};
    spec.template.metadata.labels = { ...(spec.template.metadata.labels ?? {}), [JOB_CONTROLLER_UID]: uid, [JOB_NAME]: name, 'controller-uid': uid, 'job-name': name };
    spec.selector ??= { matchLabels: { [JOB_CONTROLLER_UID]: uid } };
  },
  defaults(j) {
    const spec = j.spec;
    if (!spec || typeof spec !== 'object') return;
    if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
    spec.parallelism ??= 1;
    spec.backoffLimit ??= 6;
    spec.completionMode ??= 'NonIndexed';
    spec.suspend ??= false;
    spec.podReplacementPolicy ??= 'TerminatingOrFailed';
    defaultTemplate(spec.template);
  },
  validate: validateJob,
  validateUpdate: validateSelectorUnchanged,
  fieldSelectors: { 'status.successful': (j) => String(j.status?.succeeded ?? 0) },
  table: {
    columns: [NAME_COLUMN, ['Status', 'string', 0, 'Status of the job.'], ['Completions', 'string', 0, 'The completion status of the job.'], ['Duration', 'string', 0, 'Time required to complete the job.'], AGE_COLUMN,
      ['Containers', 'string', 1, 'Names of each container in the template.'], ['Images', 'string', 1, 'Images referenced by each container in the template.'], ['Selector', 'string', 1, 'A label query over pods that should match the pod count.']],
    cells: (j, now) => [j.metadata.name ?? '', jobStatus(j), jobCompletions(j), jobDuration(j, now), age(j, now), ...templateCells(j.spec.template, j.spec.selector)],
  },
});

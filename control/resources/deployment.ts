/**
 * apps/v1 Deployment (pkg/registry/apps/deployment): defaults, validation with an
 * immutable selector, the scale subresource (generic over `spec.replicas`) and the
 * printer's columns.
 */
import type { Deployment, FieldError } from '../api/index.ts';
import { forbidden, invalid, notSupported, required, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, fields, mergeTop, topLevel } from './schema.ts';
import {
  defaultTemplate, POD_TEMPLATE_MERGE, SELECTOR_FIELDS, TEMPLATE_FIELDS, templateCells, validateIntOrPercent, validateReplicas, validateSelectorAndTemplate,
  validateSelectorUnchanged, WORKLOAD_STATUS_MERGE,
} from './pod-template.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

export function defaultDeployment(d: Deployment): Deployment {
  const spec = d.spec;
  if (!spec || typeof spec !== 'object') return d;
  spec.replicas ??= 1;
  spec.strategy ??= {};
  if (spec.strategy && typeof spec.strategy === 'object') {
    spec.strategy.type ??= 'RollingUpdate';
    if (spec.strategy.type === 'RollingUpdate') {
      spec.strategy.rollingUpdate ??= {};
      if (spec.strategy.rollingUpdate && typeof spec.strategy.rollingUpdate === 'object') {
        spec.strategy.rollingUpdate.maxSurge ??= '25%';
        spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
      }
    }
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(spec.template);
  return d;
}

export function validateDeployment(d: Deployment): FieldError[] {
  const errs = validateObjectMeta(d.metadata, true, 'dns1123-subdomain');
  if (!d.spec || typeof d.spec !== 'object') return [...errs, required('spec')];
  validateReplicas(d.spec.replicas, errs);
  validateSelectorAndTemplate(d.spec.selector, d.spec.template, errs);
  const st = d.spec.strategy;
  if (st?.type !== undefined && !['RollingUpdate', 'Recreate'].includes(st.type)) errs.push(notSupported('spec.strategy.type', st.type, ['Recreate', 'RollingUpdate']));
  if (st?.type === 'Recreate' && st.rollingUpdate) errs.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  validateIntOrPercent(st?.rollingUpdate?.maxSurge, 'spec.strategy.rollingUpdate.maxSurge', errs);
  validateIntOrPercent(st?.rollingUpdate?.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable', errs);
  const ms = st?.rollingUpdate?.maxSurge; const mu = st?.rollingUpdate?.maxUnavailable;
  if ((ms === 0 || ms === '0%') && (mu === 0 || mu === '0%')) errs.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', mu, 'may not be 0 when `maxSurge` is 0'));
  return errs;
}

export const deployment = defineKind<Deployment>({
  info: { group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment', listKind: 'DeploymentList', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'], hasStatus: true },
  fields: topLevel({
    spec: fields('replicas minReadySeconds revisionHistoryLimit paused progressDeadlineSeconds', {
      selector: SELECTOR_FIELDS, template: TEMPLATE_FIELDS,
      strategy: fields('type', { rollingUpdate: fields('maxSurge maxUnavailable') }),
    }),
    status: ANY,
  }),
  merge: mergeTop({ spec: { fields: { template: POD_TEMPLATE_MERGE, strategy: { retainKeys: true } } }, status: WORKLOAD_STATUS_MERGE }),
  defaults: defaultDeployment,
  validate: validateDeployment,
  validateUpdate: validateSelectorUnchanged,
  table: {
    columns: [NAME_COLUMN, ['Ready', 'string', 0, 'Number of the pod with ready state'], ['Up-to-date', 'integer', 0, 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'],
      ['Available', 'integer', 0, 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'], AGE_COLUMN,
      ['Containers', 'string', 1, 'Names of each container in the template.'], ['Images', 'string', 1, 'Images referenced by each container in the template.'], ['Selector', 'string', 1, 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.']],
    cells: (d, now) => [d.metadata.name ?? '', `${d.status?.readyReplicas ?? 0}/${d.spec.replicas ?? 0}`, d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0, age(d, now), ...templateCells(d.spec.template, d.spec.selector)],
  },
});

/**
 * apps/v1 ReplicaSet (pkg/registry/apps/replicaset): defaults, validation with an
 * immutable selector, the `status.replicas` field selector, the scale subresource and
 * the printer's columns.
 */
import type { FieldError, ReplicaSet } from '../api/index.ts';
import { required, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, fields, mergeTop, topLevel } from './schema.ts';
import {
  defaultPodSpec, POD_TEMPLATE_MERGE, SELECTOR_FIELDS, TEMPLATE_FIELDS, templateCells, validateReplicas, validateSelectorAndTemplate, validateSelectorUnchanged,
  WORKLOAD_STATUS_MERGE,
} from './pod-template.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const errs = validateObjectMeta(rs.metadata, true, 'dns1123-subdomain');
  if (!rs.spec || typeof rs.spec !== 'object') return [...errs, required('spec')];
  validateReplicas(rs.spec.replicas, errs);
  validateSelectorAndTemplate(rs.spec.selector, rs.spec.template, errs);
  return errs;
}

export const replicaSet = defineKind<ReplicaSet>({
  info: { group: 'apps', version: 'v1', resource: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', listKind: 'ReplicaSetList', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'], hasStatus: true },
  fields: topLevel({ spec: fields('replicas minReadySeconds', { selector: SELECTOR_FIELDS, template: TEMPLATE_FIELDS }), status: ANY }),
  merge: mergeTop({ spec: { fields: { template: POD_TEMPLATE_MERGE } }, status: WORKLOAD_STATUS_MERGE }),
  defaults(rs) {
    if (!rs.spec || typeof rs.spec !== 'object') return;
    rs.spec.replicas ??= 1;
    if (rs.spec.template && typeof rs.spec.template === 'object' && rs.spec.template.spec) defaultPodSpec(rs.spec.template.spec);
  },
  validate: validateReplicaSet,
  validateUpdate: validateSelectorUnchanged,
  fieldSelectors: { 'status.replicas': (rs) => String(rs.status?.replicas ?? 0) },
  table: {
    columns: [NAME_COLUMN, ['Desired', 'integer', 0, 'Replicas is the number of desired replicas.'], ['Current', 'integer', 0, 'Replicas is the most recently observed number of replicas.'], ['Ready', 'integer', 0, 'The number of ready replicas for this replica set.'], AGE_COLUMN,
      ['Containers', 'string', 1, 'Names of each container in the template.'], ['Images', 'string', 1, 'Images referenced by each container in the template.'], ['Selector', 'string', 1, 'Selector is a label query over pods that should match the replica count.']],
    cells: (rs, now) => [rs.metadata.name ?? '', rs.spec.replicas ?? 0, rs.status?.replicas ?? 0, rs.status?.readyReplicas ?? 0, age(rs, now), ...templateCells(rs.spec.template, rs.spec.selector)],
  },
});

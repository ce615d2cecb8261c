/**
 * apps/v1 StatefulSet (pkg/registry/apps/statefulset): apps/v1 defaults (OrderedReady,
 * RollingUpdate with partition 0, PVC retention Retain), validation with an immutable
 * selector, the scale subresource and the printer's columns. The StatefulSet controller
 * is control/controllers/statefulset.ts.
 */
import type { FieldError, StatefulSet } from '../api/index.ts';
import { invalid, notSupported, required, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, fields, mergeTop, topLevel } from './schema.ts';
import {
  defaultTemplate, POD_TEMPLATE_MERGE, SELECTOR_FIELDS, TEMPLATE_FIELDS, templateCells, validateReplicas, validateSelectorAndTemplate,
  validateSelectorUnchanged, WORKLOAD_STATUS_MERGE,
} from './pod-template.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

function validateStatefulSet(sts: StatefulSet): FieldError[] {
  const errs = validateObjectMeta(sts.metadata, true, 'dns1123-subdomain');
  if (!sts.spec || typeof sts.spec !== 'object') return [...errs, required('spec')];
  validateReplicas(sts.spec.replicas, errs);
  validateSelectorAndTemplate(sts.spec.selector, sts.spec.template, errs);
  const pmp = sts.spec.podManagementPolicy;
  if (pmp !== undefined && !['OrderedReady', 'Parallel'].includes(pmp)) errs.push(notSupported('spec.podManagementPolicy', pmp, ['OrderedReady', 'Parallel']));
  const st = sts.spec.updateStrategy;
  if (st?.type !== undefined && !['OnDelete', 'RollingUpdate'].includes(st.type)) errs.push(notSupported('spec.updateStrategy.type', st.type, ['OnDelete', 'RollingUpdate']));
  const part = st?.rollingUpdate?.partition;
  if (part !== undefined && (typeof part !== 'number' || !Number.isInteger(part) || part < 0)) errs.push(invalid('spec.updateStrategy.rollingUpdate.partition', part, 'must be greater than or equal to 0'));
  if (sts.spec.serviceName !== undefined && typeof sts.spec.serviceName !== 'string') errs.push(invalid('spec.serviceName', sts.spec.serviceName, 'must be a string'));
  return errs;
}

export const statefulSet = defineKind<StatefulSet>({
  info: { group: 'apps', version: 'v1', resource: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet', listKind: 'StatefulSetList', namespaced: true, shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'], hasStatus: true },
  fields: topLevel({
    spec: fields('replicas serviceName podManagementPolicy revisionHistoryLimit minReadySeconds volumeClaimTemplates persistentVolumeClaimRetentionPolicy ordinals', {
      selector: SELECTOR_FIELDS, template: TEMPLATE_FIELDS, updateStrategy: fields('type', { rollingUpdate: fields('partition maxUnavailable') }),
    }),
    status: ANY,
  }),
  merge: mergeTop({ spec: { fields: { template: POD_TEMPLATE_MERGE } }, status: WORKLOAD_STATUS_MERGE }),
  defaults(sts) {
    const spec = sts.spec;
    if (!spec || typeof spec !== 'object') return;
    spec.replicas ??= 1;
    spec.podManagementPolicy ??= 'OrderedReady';
    spec.updateStrategy ??= {};
    if (spec.updateStrategy && typeof spec.updateStrategy === 'object') {
      spec.updateStrategy.type ??= 'RollingUpdate';
      if (spec.updateStrategy.type === 'RollingUpdate') {
        spec.updateStrategy.rollingUpdate ??= {};
        if (spec.updateStrategy.rollingUpdate && typeof spec.updateStrategy.rollingUpdate === 'object') spec.updateStrategy.rollingUpdate.partition ??= 0;
      }
    }
    spec.revisionHistoryLimit ??= 10;
    spec.persistentVolumeClaimRetentionPolicy ??= {};
    if (spec.persistentVolumeClaimRetentionPolicy && typeof spec.persistentVolumeClaimRetentionPolicy === 'object') {
      spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
      spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
    }
    defaultTemplate(spec.template);
  },
  validate: validateStatefulSet,
  validateUpdate: validateSelectorUnchanged,
  table: {
    columns: [NAME_COLUMN, ['Ready', 'string', 0, 'Number of the pod with ready state'], AGE_COLUMN,
      ['Containers', 'string', 1, 'Names of each container in the template.'], ['Images', 'string', 1, 'Images referenced by each container in the template.']],
    cells: (sts, now) => [sts.metadata.name ?? '', `${sts.status?.readyReplicas ?? 0}/${sts.spec.replicas ?? 1}`, age(sts, now), ...templateCells(sts.spec.template, sts.spec.selector).slice(0, 2)],
  },
});

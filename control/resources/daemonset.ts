/**
 * apps/v1 DaemonSet (pkg/registry/apps/daemonset): apps/v1 defaults (RollingUpdate with
 * maxUnavailable 1 and maxSurge 0), validation with an immutable selector, and the
 * printer's columns. The DaemonSet controller is control/controllers/daemonset.ts.
 */
import type { DaemonSet, FieldError } from '../api/index.ts';
import { forbidden, invalid, notSupported, required, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, fields, mergeTop, topLevel } from './schema.ts';
import {
  defaultTemplate, POD_TEMPLATE_MERGE, SELECTOR_FIELDS, TEMPLATE_FIELDS, templateCells, validateIntOrPercent, validateSelectorAndTemplate,
  validateSelectorUnchanged, WORKLOAD_STATUS_MERGE,
} from './pod-template.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const errs = validateObjectMeta(ds.metadata, true, 'dns1123-subdomain');
  if (!ds.spec || typeof ds.spec !== 'object') return [...errs, required('spec')];
  validateSelectorAndTemplate(ds.spec.selector, ds.spec.template, errs);
  const st = ds.spec.updateStrategy;
  if (st?.type !== undefined && !['OnDelete', 'RollingUpdate'].includes(st.type)) errs.push(notSupported('spec.updateStrategy.type', st.type, ['OnDelete', 'RollingUpdate']));
  if (st?.type === 'OnDelete' && st.rollingUpdate !== undefined) errs.push(forbidden('spec.updateStrategy.rollingUpdate', "may not be specified when strategy `type` is 'OnDelete'"));
  validateIntOrPercent(st?.rollingUpdate?.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable', errs);
  validateIntOrPercent(st?.rollingUpdate?.maxSurge, 'spec.updateStrategy.rollingUpdate.maxSurge', errs);
  const mu = st?.rollingUpdate?.maxUnavailable; const ms = st?.rollingUpdate?.maxSurge;
  if (st?.type !== 'OnDelete' && (mu === 0 || mu === '0%') && (ms === undefined || ms === 0 || ms === '0%')) {
    errs.push(invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', mu, 'may not be 0 when `maxSurge` is 0'));
  }
  return errs;
}

export const daemonSet = defineKind<DaemonSet>({
  info: { group: 'apps', version: 'v1', resource: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet', listKind: 'DaemonSetList', namespaced: true, shortNames: ['ds'], categories: ['all'], subresources: ['status'], hasStatus: true },
  fields: topLevel({
    spec: fields('minReadySeconds revisionHistoryLimit', { selector: SELECTOR_FIELDS, template: TEMPLATE_FIELDS, updateStrategy: fields('type', { rollingUpdate: fields('maxUnavailable maxSurge') }) }),
    status: ANY,
  }),
  merge: mergeTop({ spec: { fields: { template: POD_TEMPLATE_MERGE, updateStrategy: { retainKeys: true } } }, status: WORKLOAD_STATUS_MERGE }),
  defaults(ds) {
    const spec = ds.spec;
    if (!spec || typeof spec !== 'object') return;
    spec.updateStrategy ??= {};
    if (spec.updateStrategy && typeof spec.updateStrategy === 'object') {
      spec.updateStrategy.type ??= 'RollingUpdate';
      if (spec.updateStrategy.type === 'RollingUpdate') {
        spec.updateStrategy.rollingUpdate ??= {};
        if (spec.updateStrategy.rollingUpdate && typeof spec.updateStrategy.rollingUpdate === 'object') {
          spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
          spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
        }
      }
    }
    spec.revisionHistoryLimit ??= 10;
    defaultTemplate(spec.template);
  },
  validate: validateDaemonSet,
  validateUpdate: validateSelectorUnchanged,
  table: {
    columns: [NAME_COLUMN, ['Desired', 'integer', 0, 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).'],
      ['Current', 'integer', 0, 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'],
      ['Ready', 'integer', 0, 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'],
      ['Up-to-date', 'integer', 0, 'The total number of nodes that are running updated daemon pod'],
      ['Available', 'integer', 0, 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'],
      ['Node Selector', 'string', 0, "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node."], AGE_COLUMN,
      ['Containers', 'string', 1, 'Names of each container in the template.'], ['Images', 'string', 1, 'Images referenced by each container in the template.'], ['Selector', 'string', 1, 'A label query over pods that are managed by the daemon set.']],
    cells: (ds, now) => {
      const st = ds.status;
      const sel = Object.entries(ds.spec.template?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(',');
      return [ds.metadata.name ?? '', st?.desiredNumberScheduled ?? 0, st?.currentNumberScheduled ?? 0, st?.numberReady ?? 0, st?.updatedNumberScheduled ?? 0, st?.numberAvailable ?? 0,
        sel || '<none>', age(ds, now), ...templateCells(ds.spec.template, ds.spec.selector)];
    },
  },
});

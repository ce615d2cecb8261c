/**
 * core/v1 Namespace (pkg/registry/core/namespace): the `kubernetes` finalizer and phase
 * defaults, the `kubernetes.io/metadata.name` label, and deletion of its content before
 * the namespace itself goes (immediately: there is no Terminating phase or namespace
 * controller yet).
 */
import type { Namespace } from '../api/index.ts';
import { validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, CONDITIONS_MERGE, fields, mergeTop, topLevel } from './schema.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

export const namespace = defineKind<Namespace>({
  info: { group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', listKind: 'NamespaceList', namespaced: false, shortNames: ['ns'], categories: [], subresources: ['status'], hasStatus: true },
  fields: topLevel({ spec: fields('finalizers'), status: ANY }),
  merge: mergeTop({ status: { fields: { conditions: CONDITIONS_MERGE } } }),
  prepareForCreate() {},
  defaults(ns) {
    ns.spec ??= {};
    if (ns.spec && typeof ns.spec === 'object') ns.spec.finalizers ??= ['kubernetes'];
    ns.status ??= {};
    if (ns.status && typeof ns.status === 'object') ns.status.phase ??= 'Active';
    ns.metadata.labels ??= {};
    if (ns.metadata.name && typeof ns.metadata.labels === 'object' && ns.metadata.labels !== null) ns.metadata.labels['kubernetes.io/metadata.name'] = ns.metadata.name;
  },
  validate: (ns) => validateObjectMeta(ns.metadata, false, 'dns1123-label'),
  beforeDelete: (ctx, ns) => ctx.deleteNamespaceContents(ns.metadata.name!),
  fieldSelectors: { 'status.phase': (ns) => ns.status?.phase ?? '' },
  table: {
    columns: [NAME_COLUMN, ['Status', 'string', 0, 'The status of the namespace'], AGE_COLUMN],
    cells: (ns, now) => [ns.metadata.name ?? '', ns.status?.phase ?? 'Active', age(ns, now)],
  },
});

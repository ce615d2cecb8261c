/**
 * core/v1 Namespace (pkg/registry/core/namespace): the `kubernetes` finalizer and phase
 * defaults, the `kubernetes.io/metadata.name` label, and the lifecycle of its deletion: a
 * DELETE marks it (deletionTimestamp, phase Terminating) while `spec.finalizers` remain,
 * a second DELETE is a Conflict, only `PUT namespaces/NAME/finalize` changes
 * spec.finalizers, and the write that empties them deletes the namespace. The namespace
 * controller (control/controllers/namespace.ts) empties it and removes `kubernetes`.
 */
import type { Namespace } from '../api/index.ts';
import { validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, CONDITIONS_MERGE, fields, mergeTop, topLevel } from './schema.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

export const namespace = defineKind<Namespace>({
  info: { group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', listKind: 'NamespaceList', namespaced: false, shortNames: ['ns'], categories: [], subresources: ['status', 'finalize'], hasStatus: true },
  fields: topLevel({ spec: fields('finalizers'), status: ANY }),
  merge: mergeTop({ status: { fields: { conditions: CONDITIONS_MERGE } } }),
  // namespaceStrategy.PrepareForCreate: a new namespace is Active, whatever status it was sent with.
  prepareForCreate(ns) { ns.status = { phase: 'Active' }; },
  defaults(ns) {
    ns.spec ??= {};
    if (ns.spec && typeof ns.spec === 'object') ns.spec.finalizers ??= ['kubernetes'];
    ns.status ??= {};
    if (ns.status && typeof ns.status === 'object') ns.status.phase ??= 'Active';
    ns.metadata.labels ??= {};
    if (ns.metadata.name && typeof ns.metadata.labels === 'object' && ns.metadata.labels !== null) ns.metadata.labels['kubernetes.io/metadata.name'] = ns.metadata.name;
  },
  validate: (ns) => validateObjectMeta(ns.metadata, false, 'dns1123-label'),
  // namespaceStrategy.PrepareForUpdate: spec.finalizers belong to /finalize.
  prepareForUpdate(ns, old) {
    const fins = old.spec?.finalizers;
    const spec = { ...(ns.spec && typeof ns.spec === 'object' ? ns.spec : {}) };
    if (fins === undefined) delete spec.finalizers; else spec.finalizers = [...fins];
    ns.spec = spec;
  },
  subresourceUpdates: {
    // namespaceFinalizeStrategy: only spec.finalizers.
    finalize: (body, old) => ({ ...old, spec: { ...(old.spec ?? {}), finalizers: Array.isArray(body.spec?.finalizers) ? [...body.spec.finalizers] : [] } }),
  },
  finalizers: (ns) => ns.spec?.finalizers ?? [],
  markDeleted(ns) { ns.status = { ...(ns.status ?? {}), phase: 'Terminating' }; },
  deletePendingMessage: 'The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.',
  fieldSelectors: { 'status.phase': (ns) => ns.status?.phase ?? '' },
  table: {
    columns: [NAME_COLUMN, ['Status', 'string', 0, 'The status of the namespace'], AGE_COLUMN],
    cells: (ns, now) => [ns.metadata.name ?? '', ns.status?.phase ?? 'Active', age(ns, now)],
  },
});

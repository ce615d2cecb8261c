/**
 * control/resources: one module per resource kind, in the manner of kube-apiserver's
 * registry strategies. Each `<kind>.ts` owns everything about its kind (strategy.ts's
 * `KindStrategy`): names and scope, known fields, strategic-merge keys, conversion of
 * write-only fields (Secret's stringData), defaults, validation, admission (Service
 * ClusterIP/NodePort allocation), graceful-delete and before-delete hooks, field
 * selectors and table columns. The generic registry and the routes in control/server
 * are driven by `KINDS` and never branch on a kind; the Go decoder's type checks
 * (control/server/type-check.ts) come from the kind's message in the field tables.
 *
 * Adding a kind = one new file here (`export const foo = defineKind<Foo>({...})`) plus one
 * line in `KINDS` below. Discovery, routes (one fastify plugin per group-version), storage,
 * fieldValidation, patches, tables and field selectors follow. Its TypeScript type goes in
 * control/api/types.ts when other layers read it; a controller for it in control/controllers.
 * Protobuf and OpenAPI follow too, from the kind's message in the field tables of
 * control/server/protobuf/schemas (the served kinds and those planned are there; for
 * another, add it to ROOTS in scripts/gen-kube-schemas.mjs and regenerate — a test
 * fails until then); what `kubectl explain` says about it goes in
 * control/server/openapi/descriptions.ts.
 *
 * Imports only control/api (and the store's types, for admission). Everyone may import it.
 * Not modelled: several versions of one kind, conversion between versions, internal vs
 * external types.
 */
import type { KubeObject, ResourceInfo, Table } from '../api/index.ts';
import type { KindStrategy } from './strategy.ts';
import { namespace } from './namespace.ts';
import { node } from './node.ts';
import { pod } from './pod.ts';
import { service } from './service.ts';
import { endpoints } from './endpoints.ts';
import { event } from './event.ts';
import { endpointSlice } from './endpointslice.ts';
import { deployment } from './deployment.ts';
import { replicaSet } from './replicaset.ts';
import { daemonSet } from './daemonset.ts';
import { statefulSet } from './statefulset.ts';
import { job } from './job.ts';
import { configMap } from './configmap.ts';
import { secret } from './secret.ts';
import { serviceAccount } from './serviceaccount.ts';
import { networkPolicy } from './networkpolicy.ts';
import { DEFAULT_TABLE, renderTable } from './table.ts';

/** Every served kind; the order is discovery's (core first, then by group). */
export const KINDS: readonly KindStrategy[] = [
  namespace,
  node,
  pod,
  service,
  endpoints,
  event,
  configMap,
  secret,
  serviceAccount,
  endpointSlice,
  deployment,
  replicaSet,
  daemonSet,
  statefulSet,
  job,
  networkPolicy,
];

export type { KindStrategy, ServerConfig, Admission, AdmissionContext, AdmissionResult, TableSpec, Column } from './strategy.ts';
export type { FieldSchema, SmpSchema } from './schema.ts';
export { defineKind } from './strategy.ts';
export { humanDuration } from './table.ts';
export { kubernetesServiceIP } from './service-alloc.ts';
export { JOB_CONTROLLER_UID, JOB_NAME } from './job.ts';

/** The names of every served kind (kube-apiserver's `APIResource`s). */
export const RESOURCES: readonly ResourceInfo[] = KINDS.map((k) => k.info);

const byInfo = new Map<ResourceInfo, KindStrategy>(KINDS.map((k) => [k.info, k]));

/** The strategy of a served resource. */
export function strategyOf(r: ResourceInfo): KindStrategy {
  const s = byInfo.get(r) ?? KINDS.find((k) => k.info.group === r.group && k.info.version === r.version && k.info.resource === r.resource);
  if (s === undefined) throw new Error(`no kind serves ${r.group}/${r.version}/${r.resource}`);
  return s;
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => (r.group === '' ? r.version : `${r.group}/${r.version}`) === apiVersion && r.kind === kind);
}

export function resourceByName(resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.resource === resource);
}

/** The group-versions served, core first. */
export function groupVersions(): { group: string; version: string }[] {
  const out: { group: string; version: string }[] = [];
  for (const r of RESOURCES) {
    if (!out.some((g) => g.group === r.group && g.version === r.version)) out.push({ group: r.group, version: r.version });
  }
  return out;
}

/**
 * A `meta.k8s.io/v1` Table of objects of `r` with its kind's columns; `headers` false
 * leaves out the column definitions (watch events after the first).
 */
export function toTable(r: ResourceInfo, items: readonly KubeObject[], now: Date, meta: Table['metadata'], includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata', headers = true): Table {
  return renderTable(strategyOf(r).table ?? DEFAULT_TABLE, r.kind, items, now, meta, includeObject, headers);
}

/**
 * OpenAPI documents of the served API, as kube-apiserver publishes them:
 * - v3: `/openapi/v3` (an index of group-versions with a content hash) and one document
 *   per group-version (`/openapi/v3/api/v1`, `/openapi/v3/apis/apps/v1`);
 * - v2: `/openapi/v2`, every group-version in one Swagger 2.0 document (JSON only).
 *
 * Each document declares, per kind, the create/replace/patch operations with
 * `x-kubernetes-group-version-kind` and a `fieldValidation` parameter — kubectl's
 * query-param verifier looks for those and then validates server-side with
 * `fieldValidation=Strict` — and the schemas of the kinds, their lists and everything
 * they reach (schemas.ts), with descriptions, required fields and enums, which is what
 * `kubectl explain` walks.
 *
 * Not modelled: list/watch/get/delete operations and their response schemas,
 * strategic-merge extensions (`x-kubernetes-patch-merge-key`; kubectl takes those from
 * its compiled-in types for built-in kinds), defaults, and the protobuf form of v2.
 */
import type { ResourceInfo } from '../../api/index.ts';
import { resourcePath, fnv32a, apiVersionOf } from '../../api/index.ts';
import { RESOURCES, groupVersions } from '../../resources/index.ts';
import { messageForKind } from '../protobuf/schema.ts';
import type { RefStyle, Schema } from './schemas.ts';
import { closure, definitionName, messageSchema } from './schemas.ts';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const served = (group: string, version: string): ResourceInfo[] => RESOURCES.filter((r) => r.group === group && r.version === version);

function paths(rs: readonly ResourceInfo[], style: RefStyle): Record<string, unknown> {
  const param = (name: string, description: string): object => style === 'v3'
    ? { name, in: 'query', description, schema: { type: 'string', uniqueItems: true } }
    : { name, in: 'query', description, type: 'string', uniqueItems: true };
  const fieldValidation = param('fieldValidation', 'How the server treats unknown or duplicate fields in the body of a POST, PUT or PATCH: Ignore, Warn (the default) or Strict.');
  const dryRun = param('dryRun', 'When "All", the request is validated and admitted but nothing is stored.');
  const fieldManager = param('fieldManager', 'Name of the actor making the change, recorded in managedFields.');
  const out: Record<string, unknown> = {};
  for (const r of rs) {
    const p = resourcePath(r, r.namespaced ? '{namespace}' : undefined, '{name}').replace(/%7B/g, '{').replace(/%7D/g, '}');
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const ns = r.namespaced ? 'Namespaced' : '';
    out[p] = {
      patch: { operationId: `patch${ns}${r.kind}`, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk, parameters: [dryRun, fieldManager, fieldValidation], responses: { 200: { description: 'OK' } } },
      put: { operationId: `replace${ns}${r.kind}`, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk, parameters: [dryRun, fieldManager, fieldValidation], responses: { 200: { description: 'OK' } } },
    };
    const coll = resourcePath(r, r.namespaced ? '{namespace}' : undefined).replace(/%7B/g, '{').replace(/%7D/g, '}');
    out[coll] = { post: { operationId: `create${ns}${r.kind}`, 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk, parameters: [dryRun, fieldManager, fieldValidation], responses: { 201: { description: 'Created' } } } };
  }
  return out;
}

/** The definitions of the kinds in `rs`, their lists, Status and DeleteOptions, and all they reach. */
function schemas(rs: readonly ResourceInfo[], style: RefStyle): Record<string, Schema> {
  const gvks = new Map<string, { group: string; version: string; kind: string }>();
  for (const r of rs) {
    for (const kind of [r.kind, r.listKind]) {
      const def = messageForKind(apiVersionOf(r), kind);
      if (def) gvks.set(def.name, { group: r.group, version: r.version, kind });
    }
  }
  const out: Record<string, Schema> = {};
  for (const name of closure([...gvks.keys(), 'meta.Status', 'meta.DeleteOptions'])) {
    const s = messageSchema(name, style, gvks.get(name));
    if (s) out[definitionName(name)] = s;
  }
  return out;
}

/** The served kinds are fixed for the life of the process: each document is built once. */
const documents = new Map<string, { doc: object | undefined; hash: string }>();

function v3(group: string, version: string): { doc: object | undefined; hash: string } {
  const key = `${group}/${version}`;
  let hit = documents.get(key);
  if (hit === undefined) {
    const rs = served(group, version);
    const doc = rs.length === 0 ? undefined : { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths: paths(rs, 'v3'), components: { schemas: schemas(rs, 'v3') } };
    const x = fnv32a(JSON.stringify(doc ?? {})).toString(16).toUpperCase().padStart(8, '0');
    hit = { doc, hash: `${x}${x}` };
    documents.set(key, hit);
  }
  return hit;
}

export function openapiDocument(group: string, version: string): object | undefined {
  return v3(group, version).doc;
}

export function openapiHash(group: string, version: string): string {
  return v3(group, version).hash;
}

let v2: object | undefined;

/** The Swagger 2.0 document of every served group-version (`/openapi/v2`). */
export function openapiV2(): object {
  v2 ??= { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths: paths(RESOURCES, 'v2'), definitions: schemas(RESOURCES, 'v2') };
  return v2;
}

export function openapiIndex(): object {
  const out: Record<string, { serverRelativeURL: string }> = {};
  for (const g of groupVersions()) {
    const p = gvPath(g.group, g.version);
    out[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${openapiHash(g.group, g.version)}` };
  }
  return { paths: out };
}

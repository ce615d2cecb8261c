/**
 * A minimal OpenAPI v3: the index and one document per group-version declaring, for
 * each kind, a PATCH operation with `x-kubernetes-group-version-kind` and a
 * `fieldValidation` query parameter. That is what kubectl's query-param verifier looks
 * for; with it kubectl skips client-side schema validation and sends
 * `fieldValidation=Strict`. Schemas are empty (`kubectl explain` does not work).
 */
import { resourcePath, fnv32a } from '../api/index.ts';
import { RESOURCES, groupVersions } from '../resources/index.ts';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function openapiDocument(group: string, version: string): object | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const fieldValidation = { name: 'fieldValidation', in: 'query', description: 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.', schema: { type: 'string', uniqueItems: true } };
  const dryRun = { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } };
  const fieldManager = { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } };
  for (const r of rs) {
    const p = resourcePath(r, r.namespaced ? '{namespace}' : undefined, '{name}').replace(/%7B/g, '{').replace(/%7D/g, '}');
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    paths[p] = {
      patch: { operationId: `patch${r.namespaced ? 'Namespaced' : ''}${r.kind}`, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk, parameters: [dryRun, fieldManager, fieldValidation], responses: { 200: { description: 'OK' } } },
      put: { operationId: `replace${r.namespaced ? 'Namespaced' : ''}${r.kind}`, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk, parameters: [dryRun, fieldManager, fieldValidation], responses: { 200: { description: 'OK' } } },
    };
    const coll = resourcePath(r, r.namespaced ? '{namespace}' : undefined).replace(/%7B/g, '{').replace(/%7D/g, '}');
    paths[coll] = { post: { operationId: `create${r.namespaced ? 'Namespaced' : ''}${r.kind}`, 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk, parameters: [dryRun, fieldManager, fieldValidation], responses: { 201: { description: 'Created' } } } };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths, components: { schemas: {} } };
}

export function openapiHash(group: string, version: string): string {
  const doc = openapiDocument(group, version);
  const h = fnv32a(JSON.stringify(doc ?? {})).toString(16).toUpperCase().padStart(8, '0');
  return `${h}${h}`;
}

export function openapiIndex(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of groupVersions()) {
    const p = gvPath(g.group, g.version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${openapiHash(g.group, g.version)}` };
  }
  return { paths };
}

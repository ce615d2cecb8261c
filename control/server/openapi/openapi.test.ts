import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { apiVersionOf } from '../../api/index.ts';
import { RESOURCES, groupVersions } from '../../resources/index.ts';
import { messageDef, messageForKind } from '../protobuf/schema.ts';
import type { MessageDef } from '../protobuf/schema.ts';
import { openapiDocument, openapiIndex, openapiV2 } from './index.ts';
import { DESCRIPTIONS, ENUMS } from './descriptions.ts';

type Doc = { paths: Record<string, Record<string, { 'x-kubernetes-group-version-kind'?: unknown }>>; components: { schemas: Record<string, Record<string, unknown>> } };
const doc = (group: string, version: string): Doc => openapiDocument(group, version) as Doc;

/** Every `$ref` in a JSON value. */
function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k === '$ref') out.push(String(x)); else refs(x, out);
  return out;
}

test('openapi v3: each served kind and its list has a schema tagged with its GVK, and every $ref resolves inside its document', () => {
  for (const { group, version } of groupVersions()) {
    const d = doc(group, version);
    const schemas = d.components.schemas;
    for (const r of RESOURCES.filter((x) => x.group === group && x.version === version)) {
      if (!messageForKind(apiVersionOf(r), r.kind)) continue;
      for (const kind of [r.kind, r.listKind]) {
        const hit = Object.values(schemas).filter((s) => JSON.stringify(s['x-kubernetes-group-version-kind']) === JSON.stringify([{ group, version, kind }]));
        assert.equal(hit.length, 1, `${group}/${version} ${kind}`);
      }
    }
    for (const ref of refs(d)) {
      assert.match(ref, /^#\/components\/schemas\//);
      assert.ok(schemas[ref.slice('#/components/schemas/'.length)], `${group}/${version}: ${ref}`);
    }
  }
  const idx = openapiIndex() as { paths: Record<string, { serverRelativeURL: string }> };
  assert.match(idx.paths['api/v1']!.serverRelativeURL, /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{16}$/);
});

test('openapi v3: the shapes kubectl explain prints — required, enums, arrays of refs, int-or-string, embedded structs', () => {
  const s = doc('', 'v1').components.schemas;
  const port = s['io.k8s.api.core.v1.ContainerPort']!;
  assert.deepEqual(port['required'], ['containerPort']);
  const props = port['properties'] as Record<string, Record<string, unknown>>;
  assert.deepEqual(props['containerPort'], { type: 'integer', format: 'int32', description: DESCRIPTIONS['core.ContainerPort.containerPort'] });
  assert.deepEqual(props['protocol']!['enum'], ['SCTP', 'TCP', 'UDP']);
  const containers = (s['io.k8s.api.core.v1.PodSpec']!['properties'] as Record<string, Record<string, unknown>>)['containers']!;
  assert.deepEqual(containers['items'], { allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.Container' }] });
  assert.deepEqual(s['io.k8s.apimachinery.pkg.util.intstr.IntOrString']!['x-kubernetes-int-or-string'], true);
  // Probe embeds ProbeHandler: httpGet is Probe's own property, there is no "handler".
  const probe = s['io.k8s.api.core.v1.Probe']!['properties'] as Record<string, unknown>;
  assert.ok(probe['httpGet'] && probe['periodSeconds'] && !probe['handler']);
  // ConfigMapKeySelector embeds LocalObjectReference: name sits beside key.
  assert.ok((s['io.k8s.api.core.v1.ConfigMapKeySelector']!['properties'] as Record<string, unknown>)['name']);
  const pod = s['io.k8s.api.core.v1.Pod']!;
  assert.deepEqual(Object.keys(pod['properties'] as object), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  assert.ok(String(pod['description']).length > 20);
});

test('openapi v2: one Swagger 2.0 document with every kind, refs into #/definitions', () => {
  const v2 = openapiV2() as { swagger: string; definitions: Record<string, Record<string, unknown>>; paths: Record<string, unknown> };
  assert.equal(v2.swagger, '2.0');
  assert.ok(v2.definitions['io.k8s.api.apps.v1.Deployment'] && v2.definitions['io.k8s.api.core.v1.Pod'] && v2.definitions['io.k8s.api.discovery.v1.EndpointSlice']);
  for (const ref of refs(v2)) assert.ok(v2.definitions[ref.replace('#/definitions/', '')], ref);
  assert.ok(v2.paths['/apis/apps/v1/namespaces/{namespace}/deployments']);
});

test('openapi: every description and enum names a real type or field (no typos drift from the tables)', () => {
  const fieldsOf = (def: MessageDef): string[] => def.fields.flatMap((f) => (f.inline ? fieldsOf(messageDef(f.type)!) : [f.json]));
  for (const key of [...Object.keys(DESCRIPTIONS), ...Object.keys(ENUMS)]) {
    if (key.startsWith('*.')) continue;
    const parts = key.split('.');
    const type = `${parts[0]}.${parts[1]}`;
    if (parts.length === 2) {
      assert.ok(messageDef(type) || ['meta.Time', 'meta.MicroTime', 'intstr.IntOrString', 'resource.Quantity'].includes(type), key);
      continue;
    }
    const def = messageDef(type);
    assert.ok(def, key);
    assert.ok(fieldsOf(def).includes(parts[2]!), key);
  }
});

test('openapi: the schemas validate what kubectl sends and reject wrong types (client-side validation)', () => {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  for (const { group, version } of groupVersions()) ajv.addSchema(doc(group, version), `${group || 'core'}-${version}`);
  // kubectl's validator skips nulls (Go's zero times print as null).
  const read = (n: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../protobuf/testdata/kubectl-create-${n}.json`, import.meta.url), 'utf8'), (_k, v: unknown) => (v === null ? undefined : v)) as Record<string, unknown>;
  const deployment = ajv.getSchema('apps-v1#/components/schemas/io.k8s.api.apps.v1.Deployment')!;
  const service = ajv.getSchema('core-v1#/components/schemas/io.k8s.api.core.v1.Service')!;
  assert.ok(deployment(read('deployment')), JSON.stringify(deployment.errors));
  assert.ok(service(read('service')), JSON.stringify(service.errors));
  const bad = read('deployment') as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
  bad.spec.template.spec.containers[0]!['ports'] = [{ containerPort: 'eighty' }];
  assert.equal(deployment(bad), false);
  assert.ok(deployment.errors!.some((e) => e.instancePath === '/spec/template/spec/containers/0/ports/0/containerPort'), JSON.stringify(deployment.errors));
  const noPort = read('service') as { spec: { ports: Array<Record<string, unknown>> } };
  delete noPort.spec.ports[0]!['port'];
  assert.equal(service(noPort), false);
});

// Client mistakes are 4xx Statuses with field paths, never 500s, and store nothing:
// wrongly typed fields (Go's decoder's type errors), bodies without a kind, deep nesting,
// upstream's limits (int32, annotations, object size), dry-run create of an existing object,
// Warning headers for field names in any script, bad list/watch options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from './app.ts';

let app: FastifyInstance;
const store = new MemoryStore({ historyWindow: 50 });
before(async () => { app = buildApp({ store }); await app.ready(); });
after(async () => { await app.close(); });

type Status = { kind: string; code: number; reason: string; message: string; details?: { causes?: { reason: string; field: string; message: string }[] } };
const status = (r: { body: string }): Status => JSON.parse(r.body) as Status;
const PODS = '/api/v1/namespaces/default/pods';
const SVCS = '/api/v1/namespaces/default/services';
const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';
const pod = (name: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, ...meta }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...extra } });
const svc = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], ...spec } });
const deploy = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }, ...spec },
});
const count = async (url: string): Promise<number> => (JSON.parse((await app.inject(url)).body) as { items: unknown[] }).items.length;

test('wrongly typed fields are 400 BadRequest with Go decoder messages and a FieldValueTypeInvalid cause at the field path', async () => {
  const cases: Array<[string, object, string, string]> = [
    [PODS, pod('t1', {}, { labels: 5 }), 'metadata.labels', 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type map[string]string'],
    [PODS, pod('t2', {}, { annotations: ['a'] }), 'metadata.annotations', 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.annotations of type map[string]string'],
    [PODS, pod('t3', { containers: { name: 'c' } }), 'spec.containers', 'json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container'],
    [PODS, pod('t4', { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: '80' }] }] }), 'spec.containers[0].ports[0].containerPort', 'json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32'],
    [PODS, pod('t5', { hostNetwork: 'yes' }), 'spec.hostNetwork', 'json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool'],
    [SVCS, svc('s1', { ports: 0 }), 'spec.ports', 'json: cannot unmarshal number into Go struct field ServiceSpec.spec.ports of type []v1.ServicePort'],
    [SVCS, svc('s2', { externalIPs: [5] }), 'spec.externalIPs[0]', 'json: cannot unmarshal number into Go struct field ServiceSpec.spec.externalIPs of type string'],
    [SVCS, svc('s3', { selector: 'app=x' }), 'spec.selector', 'json: cannot unmarshal string into Go struct field ServiceSpec.spec.selector of type map[string]string'],
    [SVCS, svc('s4', { ports: [{ port: 80, targetPort: true }] }), 'spec.ports[0].targetPort', 'json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type intstr.IntOrString'],
    [SVCS, svc('s5', { type: 5 }), 'spec.type', 'json: cannot unmarshal number into Go struct field ServiceSpec.spec.type of type string'],
    [DEPLOYS, deploy('d1', { strategy: 'x' }), 'spec.strategy', 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.strategy of type v1.DeploymentStrategy'],
    [DEPLOYS, deploy('d2', { replicas: '3' }), 'spec.replicas', 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32'],
    [DEPLOYS, deploy('d3', { replicas: 2 ** 31 }), 'spec.replicas', 'json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32'],
    [DEPLOYS, deploy('d4', { replicas: 1.5 }), 'spec.replicas', 'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32'],
    [DEPLOYS, deploy('d5', { selector: { matchLabels: [] } }), 'spec.selector.matchLabels', 'json: cannot unmarshal array into Go struct field LabelSelector.spec.selector.matchLabels of type map[string]string'],
    [DEPLOYS, { ...deploy('d6'), metadata: { name: 'd6', ownerReferences: {} } }, 'metadata.ownerReferences', 'json: cannot unmarshal object into Go struct field ObjectMeta.metadata.ownerReferences of type []v1.OwnerReference'],
  ];
  for (const [url, body, field, message] of cases) {
    const before = await count(url);
    const r = await app.inject({ method: 'POST', url, payload: body });
    assert.equal(r.statusCode, 400, `${field}: ${r.body}`);
    const s = status(r);
    assert.equal(s.reason, 'BadRequest');
    const kind = (body as { kind: string }).kind;
    assert.equal(s.message, `${kind} in version "v1" cannot be handled as a ${kind}: ${message}`);
    assert.deepEqual(s.details?.causes?.map((c) => [c.reason, c.field]), [['FieldValueTypeInvalid', field]]);
    assert.equal(await count(url), before, 'nothing stored');
  }
});

test('type errors of updates, patches and the scale subresource are 400 too and leave the object as it was', async () => {
  assert.equal((await app.inject({ method: 'POST', url: DEPLOYS, payload: deploy('web') })).statusCode, 201);
  const stored = (await app.inject(`${DEPLOYS}/web`)).body;
  const cur = JSON.parse(stored) as Record<string, unknown>;
  const attempts = [
    { method: 'PUT' as const, url: `${DEPLOYS}/web`, payload: { ...cur, spec: { ...(cur['spec'] as object), replicas: 'many' } } },
    { method: 'PATCH' as const, url: `${DEPLOYS}/web`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { replicas: 2 ** 40 } } },
    { method: 'PATCH' as const, url: `${DEPLOYS}/web`, headers: { 'content-type': 'application/strategic-merge-patch+json' }, payload: { spec: { template: { spec: { containers: [{ name: 'c', ports: 0 }] } } } } },
    { method: 'PATCH' as const, url: `${DEPLOYS}/web`, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'replace', path: '/metadata/labels', value: 5 }] },
    { method: 'PATCH' as const, url: `${DEPLOYS}/web/scale`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { replicas: 2 ** 31 } } },
    { method: 'PUT' as const, url: `${DEPLOYS}/web/scale`, payload: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web' }, spec: { replicas: 'x' } } },
  ];
  for (const a of attempts) {
    const r = await app.inject(a);
    assert.ok(r.statusCode === 400 || r.statusCode === 422, `${a.method} ${a.url}: ${r.statusCode} ${r.body}`);
    assert.equal(status(r).kind, 'Status');
    assert.equal((await app.inject(`${DEPLOYS}/web`)).body, stored);
  }
});

test('a body without kind takes the URL\'s (kube-apiserver decodes with it as the default), a wrong kind is refused; deep nesting is a 400 before anything is parsed into the store', async () => {
  const r = await app.inject({ method: 'POST', url: PODS, payload: { metadata: { name: 'nokind' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
  assert.equal(r.statusCode, 201, r.body);
  assert.equal((JSON.parse(r.body) as { kind: string }).kind, 'Pod');
  assert.equal((JSON.parse(r.body) as { apiVersion: string }).apiVersion, 'v1');
  const wrong = await app.inject({ method: 'POST', url: PODS, payload: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'wrongkind' }, spec: {} } });
  assert.equal(wrong.statusCode, 400, wrong.body);
  assert.equal((await app.inject(`${PODS}/wrongkind`)).statusCode, 404);
  for (const [ct, text] of [
    ['application/json', `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"deep"},"spec":{"affinity":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`],
    ['application/json', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['application/yaml', `kind: Pod\nspec: ${'['.repeat(20000)}${']'.repeat(20000)}`],
  ] as const) {
    const d = await app.inject({ method: 'POST', url: PODS, headers: { 'content-type': ct }, payload: text });
    assert.equal(d.statusCode, 400, d.body.slice(0, 200));
    assert.match(status(d).message, /exceeded max depth/);
  }
  const p = await app.inject({ method: 'PATCH', url: `${DEPLOYS}/web`, headers: { 'content-type': 'application/merge-patch+json' }, payload: `{"spec":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}` });
  assert.equal(p.statusCode, 400);
});

test('limits: annotations 256 KiB in total (422), objects 1.5 MiB (413), bodies 3 MiB (413)', async () => {
  const big = 'x'.repeat(200 * 1024);
  const a = await app.inject({ method: 'POST', url: PODS, payload: pod('ann', {}, { annotations: { a: big, b: big } }) });
  assert.equal(a.statusCode, 422);
  assert.deepEqual(status(a).details?.causes?.map((c) => [c.reason, c.field, c.message]), [['FieldValueTooLong', 'metadata.annotations', 'Too long: must have at most 262144 bytes']]);
  const o = await app.inject({ method: 'POST', url: PODS, payload: pod('huge', { affinity: { blob: 'y'.repeat(1600 * 1024) } }) });
  assert.equal(o.statusCode, 413);
  assert.equal(status(o).reason, 'RequestEntityTooLarge');
  assert.equal((await app.inject(`${PODS}/huge`)).statusCode, 404);
  const b = await app.inject({ method: 'POST', url: PODS, payload: pod('body', { affinity: { blob: 'z'.repeat(3200 * 1024) } }) });
  assert.equal(b.statusCode, 413);
});

test('--dry-run=server create of an existing object is 409 AlreadyExists, as kube-apiserver answers', async () => {
  const r = await app.inject({ method: 'POST', url: `${DEPLOYS}?dryRun=All`, payload: deploy('web') });
  assert.equal(r.statusCode, 409);
  assert.equal(status(r).reason, 'AlreadyExists');
  assert.equal(status(r).message, 'deployments.apps "web" already exists');
  assert.equal((await app.inject({ method: 'POST', url: `${DEPLOYS}?dryRun=All`, payload: deploy('fresh') })).statusCode, 201);
  assert.equal((await app.inject(`${DEPLOYS}/fresh`)).statusCode, 404);
});

test('a Warning header for an unknown field named in any script: the write answers 201 and the header carries the UTF-8 bytes', async () => {
  const body = JSON.stringify({ ...pod('warn'), spec: { containers: [{ name: 'c', image: 'i' }], 'größe名前\u0007': 1 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const res = await new Promise<{ code: number; raw: string[] }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: PODS, headers: { 'content-type': 'application/json' } }, (r) => {
      r.resume();
      r.on('end', () => resolve({ code: r.statusCode ?? 0, raw: r.rawHeaders }));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(res.code, 201);
  const i = res.raw.findIndex((h) => h.toLowerCase() === 'warning');
  // Node hands header bytes back as Latin-1: decode them as the UTF-8 they are.
  assert.equal(Buffer.from(res.raw[i + 1]!, 'latin1').toString('utf8'), '299 - "unknown field \\"spec.größe名前 \\""');
  assert.equal((await app.inject(`${PODS}/warn`)).statusCode, 200);
});

test('list resourceVersion and resourceVersionMatch: Exact reads the past, compacted is 410, bad options are 400/422; watches refuse a bad resourceVersion before streaming', async () => {
  const CMS = '/api/v1/namespaces/default/configmaps';
  const created = JSON.parse((await app.inject({ method: 'POST', url: CMS, payload: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rv' }, data: { v: '1' } } })).body) as { metadata: { resourceVersion: string } };
  const rv1 = created.metadata.resourceVersion;
  await app.inject({ method: 'PATCH', url: `${CMS}/rv`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { data: { v: '2' } } });
  const at = (q: string) => app.inject(`${CMS}?${q}`);
  const exact = JSON.parse((await at(`resourceVersion=${rv1}&resourceVersionMatch=Exact`)).body) as { metadata: { resourceVersion: string }; items: { data: { v: string } }[] };
  assert.equal(exact.metadata.resourceVersion, rv1);
  assert.deepEqual(exact.items.map((c) => c.data.v), ['1']);
  const newer = JSON.parse((await at(`resourceVersion=${rv1}&resourceVersionMatch=NotOlderThan`)).body) as { items: { data: { v: string } }[] };
  assert.deepEqual(newer.items.map((c) => c.data.v), ['2']);
  for (let i = 0; i < 60; i++) await app.inject({ method: 'PATCH', url: `${CMS}/rv`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { data: { i: String(i) } } });
  const gone = await at(`resourceVersion=${rv1}&resourceVersionMatch=Exact`);
  assert.equal(gone.statusCode, 410);
  assert.equal(status(gone).reason, 'Expired');
  const bad = await at('resourceVersion=abc');
  assert.equal(bad.statusCode, 400);
  assert.match(status(bad).message, /^invalid resource version/);
  const noRv = await at('resourceVersionMatch=Exact');
  assert.equal(noRv.statusCode, 422);
  assert.equal(status(noRv).message, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
  assert.equal((await at('resourceVersion=1&resourceVersionMatch=Sometimes')).statusCode, 422);
  const future = await at(`resourceVersion=${store.revision() + 100}`);
  assert.equal(future.statusCode, 504);
  const w = await app.inject(`${CMS}?watch=true&resourceVersion=abc`);
  assert.equal(w.statusCode, 400);
  assert.equal(status(w).reason, 'BadRequest');
  const wf = await app.inject(`${CMS}?watch=true&fieldSelector=spec.nodeName%3Dx`);
  assert.equal(wf.statusCode, 400);
});

test('DeleteOptions of the wrong shape and a gracePeriodSeconds that is no number are 400s, and delete nothing', async () => {
  assert.equal((await app.inject({ method: 'POST', url: PODS, payload: pod('del') })).statusCode, 201);
  for (const [url, payload] of [[`${PODS}/del`, { preconditions: 5 }], [`${PODS}/del`, { gracePeriodSeconds: 'soon' }], [`${PODS}/del?gracePeriodSeconds=abc`, undefined]] as const) {
    const r = await app.inject({ method: 'DELETE', url, ...(payload !== undefined ? { payload } : {}) });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal((await app.inject(`${PODS}/del`)).statusCode, 200);
  }
});

// Bad input through the HTTP routes (fast-check): arbitrary patch bodies of every patch type,
// arbitrary selectors, arbitrary create bodies. The server answers a Kubernetes Status with the
// reason its code implies, never 500, and a rejected request leaves the stored object as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from './app.ts';

let app: FastifyInstance;
before(async () => {
  app = buildApp({ store: new MemoryStore() });
  await app.ready();
  const r = await app.inject({ method: 'POST', url: DEPLOYS, payload: deployment });
  assert.equal(r.statusCode, 201);
});
after(async () => { await app.close(); });

const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';
const URL_ = `${DEPLOYS}/web`;
const deployment = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] } } },
};

/** The reason each error code must carry (one stable reason per code for these requests). */
const REASON_OF: Record<number, string[]> = { 400: ['BadRequest'], 404: ['NotFound'], 409: ['Conflict'], 415: ['UnsupportedMediaType'], 422: ['Invalid'], 413: ['RequestEntityTooLarge'] };

function assertStatus(r: { statusCode: number; body: string }, allowed: number[]): void {
  assert.ok(allowed.includes(r.statusCode), `unexpected ${r.statusCode}: ${r.body.slice(0, 300)}`);
  if (r.statusCode < 300) return;
  const s = JSON.parse(r.body) as { kind: string; apiVersion: string; status: string; code: number; reason: string; message: string };
  assert.equal(s.kind, 'Status');
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.status, 'Failure');
  assert.equal(s.code, r.statusCode);
  assert.ok(REASON_OF[r.statusCode]!.includes(s.reason), `code ${r.statusCode} with reason ${s.reason}`);
  assert.equal(typeof s.message, 'string');
}

const stored = async (): Promise<string> => (await app.inject(URL_)).body;

// Patch bodies: mostly plausible shapes (objects touching real fields, op lists), plus noise.
const field = fc.constantFrom('metadata', 'spec', 'status', 'kind', 'apiVersion', 'replicas', 'name', 'labels', 'template', 'containers', 'image', '$patch', '$setElementOrder/containers', '$retainKeys', 'selector', 'ports', 'containerPort');
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' },
    fc.constantFrom(null, true, 0, -1, 3, 'x', 'delete', 'replace', 'merge', 'web', 70000),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(field, tie('v'), { maxKeys: 3 })),
})).v;
const pointer = fc.array(fc.constantFrom('spec', 'metadata', 'replicas', 'template', 'containers', '0', '1', '-', 'name', 'labels', 'a~1b', '~2'), { maxLength: 5 }).map((s) => (s.length ? `/${s.join('/')}` : ''));
const jsonPatch = fc.array(fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'), path: pointer, from: pointer, value }, { requiredKeys: ['op', 'path'] }), { maxLength: 4 });
const body = fc.oneof(
  value.map((v) => JSON.stringify(v)),
  jsonPatch.map((p) => JSON.stringify(p)),
  fc.string({ maxLength: 30 }),
);
const patchType = fc.constantFrom('application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml');

test('property: any patch body of any patch type gives 2xx or a 4xx Status; a rejected patch changes nothing', async () => {
  await fc.assert(fc.asyncProperty(patchType, body, fc.boolean(), async (ct, payload, subresource) => {
    const before = await stored();
    const url = `${subresource ? `${URL_}/scale` : URL_}?fieldManager=fuzz`;
    const r = await app.inject({ method: 'PATCH', url, headers: { 'content-type': ct }, payload });
    assertStatus(r, [200, 201, 400, 409, 415, 422]);
    const after = await stored();
    if (r.statusCode >= 300) assert.equal(after, before, 'a rejected patch left the object untouched');
    const obj = JSON.parse(after) as { metadata: { name: string }; kind: string };
    assert.equal(obj.metadata.name, 'web');
    assert.equal(obj.kind, 'Deployment');
  }), { numRuns: 300 });
  assert.equal((await app.inject('/version')).statusCode, 200);
});

test('property: any labelSelector/fieldSelector string lists (200) or is a 400 BadRequest', async () => {
  const sel = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.array(fc.constantFrom('app', '=', '==', '!=', ' in ', ' notin ', '(', ')', ',', '!', 'web', 'x', ' ', 'metadata.name', 'spec.nodeName', 'status.phase', 'a/b', '-'), { maxLength: 8 }).map((a) => a.join('')),
  );
  await fc.assert(fc.asyncProperty(sel, fc.boolean(), fc.boolean(), async (s, field, paged) => {
    const q = `${field ? 'fieldSelector' : 'labelSelector'}=${encodeURIComponent(s)}${paged ? '&limit=1' : ''}`;
    const r = await app.inject(`${DEPLOYS}?${q}`);
    assertStatus(r, [200, 400]);
    if (r.statusCode === 200) assert.equal((JSON.parse(r.body) as { kind: string }).kind, 'DeploymentList');
  }), { numRuns: 300 });
});

test('property: any create body (JSON text, YAML text, wrong kinds) gives 201 or a 4xx Status; the list only grows by created objects', async () => {
  const kinds = fc.constantFrom('Deployment', 'Pod', 'Service', 'Scale', '', 7);
  const createBody = fc.oneof(
    fc.record({ apiVersion: fc.constantFrom('apps/v1', 'v1', 'apps/v2'), kind: kinds, metadata: fc.oneof(fc.record({ name: fc.oneof(fc.constantFrom('ok-1', 'Bad_Name', '', 'a'.repeat(300)), fc.string({ maxLength: 8 })) }), value), spec: value }, { requiredKeys: [] }).map((o) => ({ ct: 'application/json', text: JSON.stringify(o) })),
    body.map((text) => ({ ct: 'application/json', text })),
    fc.string({ maxLength: 40 }).map((text) => ({ ct: 'application/yaml', text })),
  );
  await fc.assert(fc.asyncProperty(createBody, async ({ ct, text }) => {
    const n0 = (JSON.parse((await app.inject(DEPLOYS)).body) as { items: unknown[] }).items.length;
    const r = await app.inject({ method: 'POST', url: `${DEPLOYS}?fieldValidation=Strict`, headers: { 'content-type': ct }, payload: text });
    assertStatus(r, [201, 400, 404, 409, 415, 422]);
    const n1 = (JSON.parse((await app.inject(DEPLOYS)).body) as { items: unknown[] }).items.length;
    assert.equal(n1, n0 + (r.statusCode === 201 ? 1 : 0));
  }), { numRuns: 300 });
});

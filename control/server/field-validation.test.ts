// fieldValidation=Strict|Warn|Ignore on create, update and patch; server-side apply's schema check;
// the duplicate-key scanner against a brute-force oracle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from './app.ts';
import { duplicateJsonKeys, unknownFields, warningHeader } from './field-validation.ts';
import { pod as podKind } from '../resources/pod.ts';
import { service } from '../resources/service.ts';

let app: FastifyInstance;
before(async () => {
  app = buildApp({ store: new MemoryStore() });
  await app.ready();
});
after(async () => { await app.close(); });

const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';
const deploy = (name: string, extraSpec: Record<string, unknown> = {}, containerExtra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx', ...containerExtra }] } }, ...extraSpec },
});
const post = (mode: string | undefined, body: string) => app.inject({ method: 'POST', url: DEPLOYS + (mode ? `?fieldValidation=${mode}` : ''), headers: { 'content-type': 'application/json' }, payload: body });
const status = (r: { body: string }): { reason: string; message: string; code: number; kind: string } => JSON.parse(r.body) as { reason: string; message: string; code: number; kind: string };

test('Strict: unknown fields are 400 BadRequest naming every path, nothing stored', async () => {
  const r = await post('Strict', JSON.stringify(deploy('s1', { foo: 1 }, { imagePullPolice: 'Always' })));
  assert.equal(r.statusCode, 400);
  const s = status(r);
  assert.equal(s.kind, 'Status');
  assert.equal(s.reason, 'BadRequest');
  assert.equal(s.message, 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolice", unknown field "spec.foo"');
  assert.equal((await app.inject(`${DEPLOYS}/s1`)).statusCode, 404);
});

test('Strict: a repeated key is a duplicate field (JSON.parse would keep the last silently)', async () => {
  const body = JSON.stringify(deploy('s2')).replace('"replicas":1', '"replicas":1,"replicas":5');
  const r = await post('Strict', body);
  assert.equal(r.statusCode, 400);
  assert.match(status(r).message, /strict decoding error: duplicate field "spec\.replicas"$/);
  const known = await post('Strict', JSON.stringify(deploy('s2')));
  assert.equal(known.statusCode, 201, 'a manifest with only known fields passes Strict');
});

test('Warn (also the default): stored without the unknown fields, one Warning header per finding', async () => {
  for (const [name, mode] of [['w1', 'Warn'], ['w2', undefined]] as const) {
    const body = JSON.stringify(deploy(name, { foo: 1 })).replace('"replicas":1', '"replicas":1,"replicas":2');
    const r = await post(mode, body);
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(r.headers.warning, ['299 - "duplicate field \\"spec.replicas\\""', '299 - "unknown field \\"spec.foo\\""']);
    const stored = JSON.parse((await app.inject(`${DEPLOYS}/${name}`)).body) as { spec: Record<string, unknown> };
    assert.equal(stored.spec.foo, undefined);
    assert.equal(stored.spec.replicas, 2, 'the last value wins, as in Go');
  }
});

test('Ignore: dropped without a warning', async () => {
  const r = await post('Ignore', JSON.stringify(deploy('i1', { foo: 1 })));
  assert.equal(r.statusCode, 201);
  assert.equal(r.headers.warning, undefined);
  assert.equal((JSON.parse((await app.inject(`${DEPLOYS}/i1`)).body) as { spec: Record<string, unknown> }).spec.foo, undefined);
  assert.equal((await app.inject({ method: 'POST', url: `${DEPLOYS}?fieldValidation=Lenient`, payload: deploy('i2') })).statusCode, 400);
});

test('update and patches: Strict rejects, Warn warns; the stored object is unchanged after a rejection', async () => {
  const cur = JSON.parse((await app.inject(`${DEPLOYS}/s2`)).body) as Record<string, unknown> & { spec: Record<string, unknown> };
  const put = await app.inject({ method: 'PUT', url: `${DEPLOYS}/s2?fieldValidation=Strict`, payload: { ...cur, spec: { ...cur.spec, bogus: true } } });
  assert.equal(put.statusCode, 400);
  assert.match(status(put).message, /^Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec\.bogus"$/);
  for (const [ct, payload] of [
    ['application/merge-patch+json', { spec: { bogus: true } }],
    ['application/strategic-merge-patch+json', { spec: { bogus: true } }],
    ['application/json-patch+json', [{ op: 'add', path: '/spec/bogus', value: true }]],
  ] as const) {
    const strict = await app.inject({ method: 'PATCH', url: `${DEPLOYS}/s2?fieldValidation=Strict`, headers: { 'content-type': ct }, payload });
    assert.equal(strict.statusCode, 400, ct);
    assert.equal(status(strict).message, 'strict decoding error: unknown field "spec.bogus"', ct);
    const warn = await app.inject({ method: 'PATCH', url: `${DEPLOYS}/s2?fieldValidation=Warn`, headers: { 'content-type': ct }, payload });
    assert.equal(warn.statusCode, 200, ct);
    assert.deepEqual(warn.headers.warning, ['299 - "unknown field \\"spec.bogus\\""'], ct);
  }
  const after = JSON.parse((await app.inject(`${DEPLOYS}/s2`)).body) as { spec: Record<string, unknown>; metadata: { resourceVersion: string } };
  assert.equal(after.spec.bogus, undefined);
  assert.equal(after.metadata.resourceVersion, (cur.metadata as { resourceVersion: string }).resourceVersion, 'no write happened');
});

test('server-side apply: an unknown field is always rejected (field not declared in schema)', async () => {
  const r = await app.inject({ method: 'PATCH', url: `${DEPLOYS}/a1?fieldManager=m&fieldValidation=Ignore`, headers: { 'content-type': 'application/apply-patch+yaml' }, payload: JSON.stringify(deploy('a1', { foo: 1 })) });
  assert.equal(r.statusCode, 400);
  assert.equal(status(r).message, 'failed to create typed patch object (default/a1; apps/v1, Kind=Deployment): .spec.foo: field not declared in schema');
  assert.equal((await app.inject(`${DEPLOYS}/a1`)).statusCode, 404);
});

test('schemas: maps accept any key, open sub-objects accept anything, the seed manifests are clean', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', labels: { 'a/b': 'c' }, annotations: { z: '1' } }, spec: { type: 'NodePort', selector: { app: 'nginx' }, ports: [{ name: 'p', protocol: 'TCP', port: 80, nodePort: 30000, targetPort: 80 }] }, status: { anything: { goes: 1 } } };
  assert.deepEqual(unknownFields(svc, service.fields, false), []);
  const pod = { spec: { containers: [{ name: 'c', resources: { limits: { cpu: '1' } }, securityContext: { whatever: true } }], affinity: { nodeAffinity: {} } } };
  assert.deepEqual(unknownFields(pod, podKind.fields, false), []);
  assert.deepEqual(unknownFields({ spec: { ports: [{ port: 1, nodeport: 2 }] } }, service.fields, false), ['spec.ports[0].nodeport']);
  assert.equal(warningHeader('a "b" \\c'), '299 - "a \\"b\\" \\\\c"');
});

// Oracle: every key path of a JSON text via a reviver-free walk of a parse that keeps duplicates.
function dupOracle(entries: Entry): string[] {
  const out: string[] = [];
  const walk = (e: Entry, path: string): void => {
    if (e.t === 'o') {
      const seen = new Set<string>();
      for (const [k, v] of e.kv) {
        const p = path === '' ? k : `${path}.${k}`;
        if (seen.has(k)) out.push(p);
        seen.add(k);
        walk(v, p);
      }
    } else if (e.t === 'a') e.items.forEach((v, i) => walk(v, `${path}[${i}]`));
  };
  walk(entries, '');
  return out;
}
type Entry = { t: 'o'; kv: [string, Entry][] } | { t: 'a'; items: Entry[] } | { t: 'v'; v: unknown };
const render = (e: Entry): string => (e.t === 'o' ? `{${e.kv.map(([k, v]) => `${JSON.stringify(k)}:${render(v)}`).join(',')}}` : e.t === 'a' ? `[${e.items.map(render).join(',')}]` : JSON.stringify(e.v));

test('property: duplicateJsonKeys finds exactly the repeated keys, with their paths', () => {
  const key = fc.constantFrom('a', 'b', 'x"y', 'c\\', '{', ',', ']');
  const entry: fc.Arbitrary<Entry> = fc.letrec<{ e: Entry }>((tie) => ({
    e: fc.oneof({ depthSize: 'small' },
      fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null), fc.boolean()).map((v): Entry => ({ t: 'v', v })),
      fc.array(tie('e'), { maxLength: 3 }).map((items): Entry => ({ t: 'a', items })),
      fc.array(fc.tuple(key, tie('e')), { maxLength: 4 }).map((kv): Entry => ({ t: 'o', kv }))),
  })).e;
  fc.assert(fc.property(entry, (e) => {
    const text = render(e);
    JSON.parse(text); // valid JSON
    assert.deepEqual(duplicateJsonKeys(text), dupOracle(e));
  }), { numRuns: 500 });
});

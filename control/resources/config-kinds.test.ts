// ConfigMap, Secret and ServiceAccount through the HTTP API, and the controller that gives
// every namespace its `default` ServiceAccount.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from '../server/app.ts';
import { RegistryControlApi } from '../controllers/registry-api.ts';
import { ServiceAccountsController } from '../controllers/serviceaccounts.ts';

let app: FastifyInstance;
before(async () => { app = buildApp({ store: new MemoryStore() }); await app.ready(); });
after(async () => { await app.close(); });

const CMS = '/api/v1/namespaces/default/configmaps';
const SECRETS = '/api/v1/namespaces/default/secrets';
type Status = { code: number; reason: string; message: string; details?: { causes?: { reason: string; field: string; message: string }[] } };
const status = (r: { body: string }): Status => JSON.parse(r.body) as Status;
const json = <T>(r: { body: string }): T => JSON.parse(r.body) as T;
const merge = { 'content-type': 'application/merge-patch+json' };

test('Secret: stored as given, stringData merged into data (base64, its values win) and never stored', async () => {
  const r = await app.inject({ method: 'POST', url: SECRETS, payload: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { user: Buffer.from('old').toString('base64'), keep: 'a2VlcA==' }, stringData: { user: 'admin', pass: 'päss' } } });
  assert.equal(r.statusCode, 201);
  const s = json<{ type: string; data: Record<string, string>; stringData?: unknown }>(r);
  assert.equal(s.type, 'Opaque');
  assert.deepEqual(s.data, { user: Buffer.from('admin').toString('base64'), keep: 'a2VlcA==', pass: Buffer.from('päss').toString('base64') });
  assert.equal(s.stringData, undefined);
  // A patch through stringData updates data the same way.
  const p = await app.inject({ method: 'PATCH', url: `${SECRETS}/db`, headers: merge, payload: { stringData: { pass: 'new' } } });
  assert.equal(json<{ data: Record<string, string> }>(p).data['pass'], Buffer.from('new').toString('base64'));
  assert.equal(json<{ stringData?: unknown }>(await app.inject(`${SECRETS}/db`)).stringData, undefined);
});

test('Secret: data that is not base64 is the decoder\'s 400; keys, well-known types and type changes are 422', async () => {
  const bad = await app.inject({ method: 'POST', url: SECRETS, payload: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b64' }, data: { k: 'not base64!' } } });
  assert.equal(bad.statusCode, 400);
  assert.equal(status(bad).message, 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3');
  assert.deepEqual(status(bad).details?.causes?.map((c) => c.field), ['data[k]']);
  const cases: Array<[object, string[]]> = [
    [{ data: { 'bad key': 'YQ==' } }, ['data[bad key]']],
    [{ type: 'kubernetes.io/tls', data: { 'tls.crt': 'YQ==' } }, ['data[tls.key]']],
    [{ type: 'kubernetes.io/service-account-token' }, ['metadata.annotations[kubernetes.io/service-account.name]']],
    [{ type: 'kubernetes.io/dockerconfigjson' }, ['data[.dockerconfigjson]']],
  ];
  for (const [extra, fields] of cases) {
    const r = await app.inject({ method: 'POST', url: SECRETS, payload: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, ...extra } });
    assert.equal(r.statusCode, 422, r.body);
    assert.deepEqual(status(r).details?.causes?.map((c) => c.field), fields);
  }
  const t = await app.inject({ method: 'PATCH', url: `${SECRETS}/db`, headers: merge, payload: { type: 'kubernetes.io/basic-auth' } });
  assert.equal(t.statusCode, 422);
  assert.match(status(t).message, /type: Invalid value: "kubernetes.io\/basic-auth": field is immutable/);
  const sel = json<{ items: { metadata: { name: string } }[] }>(await app.inject(`${SECRETS}?fieldSelector=type%3DOpaque`));
  assert.deepEqual(sel.items.map((i) => i.metadata.name), ['db']);
});

test('ConfigMap: data and binaryData keys, a key in both, 1 MiB in total, immutable', async () => {
  assert.equal((await app.inject({ method: 'POST', url: CMS, payload: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'app.properties': 'a=b' }, binaryData: { blob: 'AAEC' } } })).statusCode, 201);
  const cases: Array<[object, string]> = [
    [{ data: { '..x': 'v' } }, "data[..x]: Invalid value: \"..x\": must not start with '..'"],
    [{ data: { k: 'v' }, binaryData: { k: 'AA==' } }, 'binaryData[k]: Invalid value: "k": duplicate of key present in data'],
    [{ data: { big: 'x'.repeat(1024 * 1024) } }, 'data: Too long: must have at most 1048576 bytes'],
  ];
  for (const [extra, message] of cases) {
    const r = await app.inject({ method: 'POST', url: CMS, payload: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad' }, ...extra } });
    assert.equal(r.statusCode, 422, r.body);
    assert.equal(status(r).message, `ConfigMap "bad" is invalid: ${message}`);
  }
  assert.equal((await app.inject({ method: 'PATCH', url: `${CMS}/cfg`, headers: merge, payload: { immutable: true } })).statusCode, 200);
  const change = await app.inject({ method: 'PATCH', url: `${CMS}/cfg`, headers: merge, payload: { data: { x: 'y' } } });
  assert.equal(change.statusCode, 422);
  assert.equal(status(change).message, 'ConfigMap "cfg" is invalid: data: Forbidden: field is immutable when `immutable` is set');
  const unset = await app.inject({ method: 'PATCH', url: `${CMS}/cfg`, headers: merge, payload: { immutable: false } });
  assert.equal(unset.statusCode, 422);
  assert.equal((await app.inject({ method: 'PATCH', url: `${CMS}/cfg`, headers: merge, payload: { metadata: { labels: { a: 'b' } } } })).statusCode, 200);
});

test('tables: kubectl get configmaps, secrets, serviceaccounts columns', async () => {
  const table = async (url: string) => json<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>(await app.inject({ url, headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } }));
  const cm = await table(`${CMS}`);
  assert.deepEqual(cm.columnDefinitions.map((c) => c.name), ['Name', 'Data', 'Age']);
  assert.deepEqual(cm.rows.map((r) => r.cells.slice(0, 2)), [['cfg', 2]]);
  const sec = await table(SECRETS);
  assert.deepEqual(sec.columnDefinitions.map((c) => c.name), ['Name', 'Type', 'Data', 'Age']);
  assert.deepEqual(sec.rows.map((r) => r.cells.slice(0, 3)), [['db', 'Opaque', 3]]);
  await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/serviceaccounts', payload: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' }, secrets: [{ name: 's1' }] } });
  const sa = await table('/api/v1/namespaces/default/serviceaccounts');
  assert.deepEqual(sa.columnDefinitions.map((c) => c.name), ['Name', 'Secrets', 'Age']);
  assert.deepEqual(sa.rows.map((r) => r.cells.slice(0, 2)), [['builder', 1]]);
});

test('serviceaccounts controller: a `default` ServiceAccount in every namespace, made again when deleted', async () => {
  const ctl = new ServiceAccountsController(new RegistryControlApi(app.registry));
  await app.inject({ method: 'POST', url: '/api/v1/namespaces', payload: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } } });
  assert.equal(await ctl.sync(), 5);
  assert.equal(await ctl.sync(), 0);
  const names = json<{ items: { metadata: { namespace: string; name: string } }[] }>(await app.inject('/api/v1/serviceaccounts')).items.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort();
  assert.deepEqual(names, ['default/builder', 'default/default', 'kube-node-lease/default', 'kube-public/default', 'kube-system/default', 'team/default']);
  await app.inject({ method: 'DELETE', url: '/api/v1/namespaces/team/serviceaccounts/default' });
  assert.equal(await ctl.sync(), 1);
});

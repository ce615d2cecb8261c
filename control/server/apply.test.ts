// Server-side apply field ownership: conflicts between managers, force, shared ownership,
// ownership taken by non-apply writes (through the HTTP routes, as kubectl and client-go use them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from './app.ts';
import { pathString, removePaths, leafKeyPaths } from './managed-fields.ts';

let app: FastifyInstance;
before(async () => {
  app = buildApp({ store: new MemoryStore(), clock: () => new Date('2025-01-01T00:00:00Z') });
  await app.ready();
});
after(async () => { await app.close(); });

const URL_ = '/apis/apps/v1/namespaces/default/deployments/web';
const cfg = (replicas: number, image = 'nginx', labels: Record<string, string> = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', ...(Object.keys(labels).length ? { labels } : {}) },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image }] } } },
});
const apply = (manager: string, body: unknown, extra = '') =>
  app.inject({ method: 'PATCH', url: `${URL_}?fieldManager=${manager}${extra}`, headers: { 'content-type': 'application/apply-patch+yaml' }, payload: JSON.stringify(body) });
type Obj = { metadata: { labels?: Record<string, string>; managedFields?: { manager: string; operation: string; fieldsV1: Record<string, unknown> }[] }; spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
const get = async (): Promise<Obj> => JSON.parse((await app.inject(URL_)).body) as Obj;
const owners = (o: Obj, probe: (f: Record<string, unknown>) => boolean): string[] => (o.metadata.managedFields ?? []).filter((e) => probe(e.fieldsV1)).map((e) => e.manager).sort();
const ownsReplicas = (f: Record<string, unknown>): boolean => 'f:replicas' in ((f['f:spec'] ?? {}) as object);

test('apply conflicts: 409 Conflict naming field and manager; nothing stored', async () => {
  assert.equal((await apply('alice', cfg(2))).statusCode, 201);
  const r = await apply('bob', cfg(3));
  assert.equal(r.statusCode, 409);
  assert.deepEqual(JSON.parse(r.body), {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas',
    reason: 'Conflict',
    details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' }] },
    code: 409,
  });
  const o = await get();
  assert.equal(o.spec.replicas, 2);
  assert.deepEqual(owners(o, ownsReplicas), ['alice']);
  // dryRun does not bypass the check.
  assert.equal((await apply('bob', cfg(3), '&dryRun=All')).statusCode, 409);
});

test('apply with equal values shares ownership; force takes it; several conflicts are listed per manager', async () => {
  const shared = await apply('bob', cfg(2, 'nginx', { team: 'b' }));
  assert.equal(shared.statusCode, 200, shared.body);
  assert.deepEqual(owners(await get(), ownsReplicas), ['alice', 'bob']);

  const forced = await apply('bob', cfg(3, 'nginx', { team: 'b' }), '&force=true');
  assert.equal(forced.statusCode, 200, forced.body);
  const o = await get();
  assert.equal(o.spec.replicas, 3);
  assert.deepEqual(owners(o, ownsReplicas), ['bob'], 'alice lost .spec.replicas');
  assert.ok(owners(o, (f) => JSON.stringify(f).includes('"f:image"')).includes('alice'), 'alice keeps the fields nobody took');

  const two = await apply('carol', cfg(5, 'nginx:2'));
  assert.equal(two.statusCode, 409);
  const st = JSON.parse(two.body) as { message: string; details: { causes: { field: string; message: string }[] } };
  assert.equal(st.message, 'Apply failed with 3 conflicts: conflicts with "alice":\n- .spec.template.spec.containers[name="nginx"].image\nconflicts with "bob":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image');
  assert.deepEqual(st.details.causes.map((c) => `${c.message} ${c.field}`).sort(), [
    'conflict with "alice" .spec.template.spec.containers[name="nginx"].image',
    'conflict with "bob" .spec.replicas',
    'conflict with "bob" .spec.template.spec.containers[name="nginx"].image',
  ]);
});

test('a non-apply write takes the fields it changed; the next apply conflicts with that updater', async () => {
  const m = await app.inject({ method: 'PATCH', url: `${URL_}?fieldManager=scaler`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { replicas: 6 } } });
  assert.equal(m.statusCode, 200);
  const o = await get();
  assert.deepEqual(owners(o, ownsReplicas), ['scaler']);
  const r = await apply('bob', cfg(3, 'nginx', { team: 'b' }));
  assert.equal(r.statusCode, 409);
  assert.equal(JSON.parse(r.body).message, 'Apply failed with 1 conflict: conflict with "scaler" using apps/v1: .spec.replicas');
});

test('a field dropped from one applier\'s configuration stays while another manager owns it', async () => {
  // alice now applies the same label bob applies: shared ownership of metadata.labels.team.
  assert.equal((await apply('alice', cfg(6, 'nginx', { team: 'b' }))).statusCode, 200);
  assert.equal((await apply('alice', cfg(6, 'nginx'))).statusCode, 200);
  assert.deepEqual((await get()).metadata.labels, { team: 'b' }, 'bob still owns it');
  assert.equal((await apply('bob', { ...cfg(6, 'nginx'), spec: undefined })).statusCode, 200);
  assert.equal((await get()).metadata.labels, undefined, 'no owner left: removed');
});

test('field paths print in upstream notation; removing a leaf prunes empty parents', () => {
  assert.equal(pathString(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}', 'f:nodePort']), '.spec.ports[port=80,protocol="TCP"].nodePort');
  assert.equal(pathString(['f:metadata', 'f:finalizers', 'v:"a"']), '.metadata.finalizers[="a"]');
  const set = { 'f:spec': { '.': {}, 'f:replicas': {}, 'f:paused': {} } };
  assert.deepEqual(removePaths(set, [['f:spec', 'f:replicas']]), { 'f:spec': { '.': {}, 'f:paused': {} } });
  assert.deepEqual(removePaths(set, [['f:spec', 'f:replicas'], ['f:spec', 'f:paused']]), {});
  assert.deepEqual(leafKeyPaths(set), [['f:spec', 'f:replicas'], ['f:spec', 'f:paused']]);
});

// @kubernetes/client-node 1.4.0 against the emulated API server: CRUD, watch, informer, SSA.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../../control/store/memory-store.ts';
import { buildApp } from '../../control/server/app.ts';

let app: FastifyInstance;
let kc: k8s.KubeConfig;

before(async () => {
  app = buildApp({ store: new MemoryStore() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'emu', server: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'anon' }],
    contexts: [{ name: 'emu', cluster: 'emu', user: 'anon', namespace: 'default' }],
    currentContext: 'emu',
  });
});
after(async () => { await app.close(); });

const until = async (f: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!f()) { if (Date.now() > end) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 20)); }
};

test('client-node: CRUD with ApiException carrying Status codes', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const created = await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
  assert.match(created.spec!.clusterIP!, /^10\./);
  assert.equal(created.spec!.ports![0]!.targetPort, 80);
  const got = await core.readNamespacedService({ name: 'web', namespace: 'default' });
  assert.equal(got.metadata!.uid, created.metadata!.uid);
  const list = await core.listNamespacedService({ namespace: 'default' });
  assert.deepEqual(list.items.map((s) => s.metadata!.name).sort(), ['kubernetes', 'web']);
  const patched = await core.patchNamespacedService({ name: 'web', namespace: 'default', body: { metadata: { labels: { x: 'y' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  assert.equal(patched.metadata!.labels!.x, 'y');
  await assert.rejects(core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } } }), (e: unknown) => e instanceof k8s.ApiException && e.code === 409);
  await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
  await assert.rejects(core.readNamespacedService({ name: 'web', namespace: 'default' }), (e: unknown) => e instanceof k8s.ApiException && e.code === 404 && String(e.body).includes('services \\"web\\" not found'));
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const d = await apps.createNamespacedDeployment({ namespace: 'default', body: { metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } } });
  assert.equal(d.spec!.replicas, 1);
  // Generic object API: discovery via GET /apis/apps/v1, then server-side apply.
  const obj = k8s.KubernetesObjectApi.makeApiClient(kc);
  const applied = await obj.patch({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: { replicas: 3 } } as k8s.KubernetesObject, undefined, undefined, 'emu-test', true, k8s.PatchStrategy.ServerSideApply);
  assert.equal((applied as k8s.V1Deployment).spec!.replicas, 3);
});

test('client-node: Watch delivers ADDED/MODIFIED/DELETED from the list resourceVersion', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespacedPod({ namespace: 'default' });
  const events: string[] = [];
  const watch = new k8s.Watch(kc);
  const ac = await watch.watch('/api/v1/namespaces/default/pods', { allowWatchBookmarks: true, resourceVersion: list.metadata!.resourceVersion }, (type, o: k8s.V1Pod) => { events.push(`${type} ${o.metadata?.name ?? ''}`); }, () => {});
  try {
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'w1' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    await core.patchNamespacedPod({ name: 'w1', namespace: 'default', body: { metadata: { labels: { a: 'b' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core.deleteNamespacedPod({ name: 'w1', namespace: 'default' });
    await until(() => events.length >= 3);
  } finally { ac.abort(); }
  assert.deepEqual(events.slice(0, 3), ['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
});

test('client-node: informer lists, then follows changes', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedEndpoints({ namespace: 'default', body: { metadata: { name: 'pre' }, subsets: [] } });
  const inf = k8s.makeInformer(kc, '/api/v1/namespaces/default/endpoints', () => core.listNamespacedEndpoints({ namespace: 'default' }));
  const seen: string[] = [];
  inf.on('add', (o) => seen.push(`add ${o.metadata!.name}`));
  inf.on('update', (o) => seen.push(`update ${o.metadata!.name}`));
  inf.on('delete', (o) => seen.push(`delete ${o.metadata!.name}`));
  await inf.start();
  try {
    await core.createNamespacedEndpoints({ namespace: 'default', body: { metadata: { name: 'post' }, subsets: [{ addresses: [{ ip: '10.244.0.5' }], ports: [{ port: 80 }] }] } });
    await core.deleteNamespacedEndpoints({ name: 'pre', namespace: 'default' });
    await until(() => seen.includes('delete pre') && seen.includes('add post'));
  } finally { await inf.stop(); }
  assert.deepEqual(seen.filter((s) => !s.startsWith('update')), ['add pre', 'add post', 'delete pre']);
  assert.deepEqual(inf.list().map((e) => e.metadata!.name), ['post']);
});

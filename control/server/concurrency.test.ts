// Writes without a resourceVersion precondition never answer 409 for a race: the registry
// reads again and retries, as kube-apiserver's GuaranteedUpdate does. A precondition the
// client set still fails once someone else wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import type { KeyValue } from '../store/object-store.ts';
import { StoreError } from '../store/object-store.ts';
import { buildApp } from './app.ts';

/**
 * A store whose reads and writes take a moment, as etcd's round trips do, so concurrent
 * writers interleave; it counts the writes it refused for a stale revision (the races).
 */
class SlowStore extends MemoryStore {
  races = 0;
  private calls = 0;
  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.calls++ % 3));
  }
  override async get(key: string): Promise<KeyValue | undefined> {
    await this.pause();
    return super.get(key);
  }
  override async update(key: string, value: string, rev?: number): Promise<KeyValue> {
    await this.pause();
    try {
      return await super.update(key, value, rev);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'STORE_CONFLICT') this.races++;
      throw e;
    }
  }
}

const CMS = '/api/v1/namespaces/default/configmaps';
const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';
const CLIENTS = 32;

async function withApp(fn: (app: FastifyInstance, store: SlowStore) => Promise<void>): Promise<void> {
  const store = new SlowStore();
  const app = buildApp({ store });
  await app.ready();
  try { await fn(app, store); } finally { await app.close(); }
}

test(`${CLIENTS} clients patching one object without resourceVersion: no conflict returned, every patch applied (each patch type)`, async () => {
  await withApp(async (app, store) => {
    assert.equal((await app.inject({ method: 'POST', url: CMS, payload: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared' }, data: {} } })).statusCode, 201);
    const bodies: Array<[string, (i: number) => unknown]> = [
      ['application/merge-patch+json', (i) => ({ data: { [`merge-${i}`]: String(i) } })],
      ['application/strategic-merge-patch+json', (i) => ({ metadata: { labels: { [`smp-${i}`]: 'x' } } })],
      ['application/json-patch+json', (i) => [{ op: 'add', path: `/metadata/annotations/json-${i}`, value: String(i) }]],
    ];
    await app.inject({ method: 'PATCH', url: `${CMS}/shared`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { annotations: {} } } });
    const rvBefore = Number((JSON.parse((await app.inject(`${CMS}/shared`)).body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    const results = await Promise.all(bodies.flatMap(([ct, make]) => Array.from({ length: CLIENTS }, (_, i) =>
      app.inject({ method: 'PATCH', url: `${CMS}/shared?fieldManager=client-${i}`, headers: { 'content-type': ct }, payload: JSON.stringify(make(i)) }))));
    assert.deepEqual(results.filter((r) => r.statusCode !== 200).map((r) => r.body), []);
    const final = JSON.parse((await app.inject(`${CMS}/shared`)).body) as { metadata: { resourceVersion: string; labels: Record<string, string>; annotations: Record<string, string> }; data: Record<string, string> };
    for (let i = 0; i < CLIENTS; i++) {
      assert.equal(final.data[`merge-${i}`], String(i));
      assert.equal(final.metadata.labels[`smp-${i}`], 'x');
      assert.equal(final.metadata.annotations[`json-${i}`], String(i));
    }
    // Every patch was its own write, and the races really happened (and were retried).
    assert.equal(Number(final.metadata.resourceVersion) - rvBefore, 3 * CLIENTS);
    assert.ok(store.races > 0, 'the clients raced');
  });
});

test(`${CLIENTS} concurrent scale and PUT writes without resourceVersion all succeed; a pinned resourceVersion that went stale is 409`, async () => {
  await withApp(async (app, store) => {
    const d = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    const created = JSON.parse((await app.inject({ method: 'POST', url: DEPLOYS, payload: d })).body) as { metadata: { resourceVersion: string } };
    const writes = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => i % 2 === 0
      ? app.inject({ method: 'PATCH', url: `${DEPLOYS}/web/scale`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { replicas: i } } })
      : app.inject({ method: 'PUT', url: `${DEPLOYS}/web`, payload: { ...d, metadata: { name: 'web', labels: { writer: String(i) } } } })));
    assert.deepEqual(writes.map((r) => r.statusCode).filter((c) => c !== 200), []);
    assert.ok(store.races > 0, 'the clients raced');
    const stale = await app.inject({ method: 'PATCH', url: `${DEPLOYS}/web`, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'replace', path: '/metadata/resourceVersion', value: created.metadata.resourceVersion }, { op: 'replace', path: '/spec/replicas', value: 7 }] });
    assert.equal(stale.statusCode, 409);
    const put = await app.inject({ method: 'PUT', url: `${DEPLOYS}/web`, payload: { ...d, metadata: { name: 'web', resourceVersion: created.metadata.resourceVersion } } });
    assert.equal(put.statusCode, 409);
  });
});

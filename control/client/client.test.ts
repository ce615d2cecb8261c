import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from '../server/app.ts';
import { KubeClient, ApiStatusError } from './client.ts';
import { Informer } from './informer.ts';
import type { Service, WatchEvent } from '../api/index.ts';

let app: FastifyInstance;
let client: KubeClient;
before(async () => {
  app = buildApp({ store: new MemoryStore({ historyWindow: 20 }), token: 't0k' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  client = new KubeClient({ server: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, token: 't0k', fieldManager: 'test' });
});
after(async () => { await app.close(); });

const svc = (name: string): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }] } });
const until = async (f: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!f()) { if (Date.now() > end) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 20)); }
};

test('typed client: create/get/list/patch/delete with Status errors; token required', async () => {
  const s = await client.create('services', 'default', svc('a'));
  assert.ok(s.spec.clusterIP);
  assert.equal((await client.get<Service>('services', 'default', 'a')).metadata.uid, s.metadata.uid);
  const p = await client.patch<Service>('services', 'default', 'a', 'strategic', { spec: { ports: [{ port: 80, targetPort: 8080 }] } });
  assert.equal(p.spec.ports![0]!.targetPort, 8080);
  const err = await client.create('services', 'default', svc('a')).catch((e: unknown) => e);
  assert.ok(err instanceof ApiStatusError);
  assert.equal(err.code, 409); assert.equal(err.reason, 'AlreadyExists');
  const anon = new KubeClient({ server: client.opts.server });
  await assert.rejects(anon.list('pods'), (e: unknown) => e instanceof ApiStatusError && e.code === 401);
  await client.delete('services', 'default', 'a');
  await assert.rejects(client.get('services', 'default', 'a'), (e: unknown) => e instanceof ApiStatusError && e.reason === 'NotFound');
});

test('watch: stream of events, stop() ends it', async () => {
  const list = await client.list('services', 'default');
  const evs: WatchEvent[] = [];
  const w = client.watch('services', 'default', { resourceVersion: list.metadata.resourceVersion! }, (e) => evs.push(e));
  await client.create('services', 'default', svc('b'));
  await until(() => evs.length >= 1);
  w.stop();
  await w.done;
  assert.equal(evs[0]!.type, 'ADDED');
});

test('informer: cache, handlers, relist after 410 Expired', async () => {
  // The rewatch waits long enough for the 30 writes below to overrun the history window even on a
  // loaded machine; with a short delay the informer may resume while the old RV is still in it (no 410).
  const inf = new Informer<Service>(client, 'services', { namespace: 'default', rewatchDelayMs: 3000 });
  const log: string[] = [];
  inf.on({ add: (o) => log.push(`add ${o.metadata.name}`), update: (_a, b) => log.push(`update ${b.metadata.name}`), delete: (o) => log.push(`delete ${o.metadata.name}`) });
  await inf.start();
  try {
    assert.ok(inf.hasSynced());
    assert.deepEqual(inf.list().map((s) => s.metadata.name).sort(), ['b', 'kubernetes']);
    await client.create('services', 'default', svc('c'));
    await until(() => inf.get('default', 'c') !== undefined);
    // Force expiry: stop watching, write past the history window, resume from the stale RV.
    (inf as unknown as { watch: { stop(): void } }).watch.stop();
    for (let i = 0; i < 30; i++) await client.patch('services', 'default', 'c', 'merge', { metadata: { annotations: { n: String(i) } } });
    await client.delete('services', 'default', 'b');
    await until(() => inf.get('default', 'b') === undefined && inf.lists >= 2, 20000);
    assert.equal(inf.get('default', 'c')!.metadata.annotations!.n, '29');
    assert.ok(log.includes('delete b'));
  } finally { inf.stop(); }
});

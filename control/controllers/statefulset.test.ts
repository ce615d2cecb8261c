import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory-store.ts';
import { Registry } from '../server/registry.ts';
import { resourceByName } from '../resources/index.ts';
import type { Endpoints, KubeObject, Pod, StatefulSet } from '../api/index.ts';
import { RegistryControlApi } from './registry-api.ts';
import { ControllerManager } from './manager.ts';
import { standardControllers } from './standard.ts';

async function setup() {
  const now = Date.parse('2025-01-01T00:00:00Z');
  let n = 0;
  const clock = (): Date => new Date(now);
  const reg = new Registry({ store: new MemoryStore(), clock, uid: () => `u${++n}`, gracefulPodDeletion: true });
  const r = (x: string) => resourceByName(x)!;
  await reg.create(r('namespaces'), undefined, { metadata: { name: 'default' } });
  for (const [i, name] of ['node-1', 'node-2'].entries()) await reg.create(r('nodes'), undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { addresses: [{ type: 'InternalIP', address: `192.168.56.${11 + i}` }] } });
  const api = new RegistryControlApi(reg);
  const mgr = new ControllerManager(api, standardControllers(api, { clock, fakeKubelet: { terminationDelayMs: 0 } }));
  const pods = async (): Promise<Pod[]> => ((await reg.list(r('pods'), 'default')).items as unknown as Pod[]).filter((p) => !p.metadata.deletionTimestamp);
  const names = async (): Promise<string[]> => (await pods()).map((p) => p.metadata.name!).sort();
  const sts = async (): Promise<StatefulSet> => await reg.get(r('statefulsets'), 'default', 'web') as unknown as StatefulSet;
  return { reg, r, mgr, pods, names, sts };
}

const STS = (extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web' },
  spec: { serviceName: 'nginx', replicas: 3, selector: { matchLabels: { app: 'nginx' } }, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } }, ...extra },
});

test('statefulset OrderedReady: web-0, web-1, web-2 one at a time, stable hostnames under the headless service; scale down from the top', async () => {
  const c = await setup();
  await c.reg.create(c.r('services'), 'default', { metadata: { name: 'nginx' }, spec: { clusterIP: 'None', selector: { app: 'nginx' }, ports: [{ port: 80 }] } });
  await c.reg.create(c.r('statefulsets'), 'default', STS());
  const seen: string[][] = [];
  for (let i = 0; i < 40; i++) {
    const w = await c.mgr.runOnce();
    const ns = await c.names();
    if (JSON.stringify(seen.at(-1)) !== JSON.stringify(ns)) seen.push(ns);
    if (w === 0) break;
  }
  assert.deepEqual(seen.filter((s) => s.length > 0), [['web-0'], ['web-0', 'web-1'], ['web-0', 'web-1', 'web-2']], 'one ordinal at a time');
  for (const p of await c.pods()) {
    assert.deepEqual([p.spec.hostname, p.spec.subdomain], [p.metadata.name, 'nginx']);
    assert.equal(p.metadata.labels?.['statefulset.kubernetes.io/pod-name'], p.metadata.name);
    assert.equal(p.metadata.labels?.['apps.kubernetes.io/pod-index'], p.metadata.name!.slice(4));
  }
  const ep = (await c.reg.get(c.r('endpoints'), 'default', 'nginx')) as unknown as Endpoints;
  assert.deepEqual(ep.subsets?.[0]?.addresses?.map((a) => a.hostname).sort(), ['web-0', 'web-1', 'web-2']);
  const st = (await c.sts()).status!;
  assert.deepEqual([st.replicas, st.readyReplicas, st.updatedReplicas, st.currentRevision === st.updateRevision], [3, 3, 3, true]);
  assert.match(st.updateRevision!, /^web-[a-z0-9]+$/);
  // Scale to 1: web-2 goes before web-1.
  await c.reg.patch(c.r('statefulsets'), 'default', 'web', 'merge', { spec: { replicas: 1 } });
  const down: string[][] = [];
  for (let i = 0; i < 40; i++) {
    const w = await c.mgr.runOnce();
    const ns = await c.names();
    if (JSON.stringify(down.at(-1)) !== JSON.stringify(ns)) down.push(ns);
    if (w === 0) break;
  }
  assert.deepEqual(down, [['web-0', 'web-1'], ['web-0']]);
});

test('statefulset Parallel creates all at once; a rolling update replaces from the highest ordinal down', async () => {
  const c = await setup();
  await c.reg.create(c.r('statefulsets'), 'default', STS({ podManagementPolicy: 'Parallel' }));
  await c.mgr.runOnce();
  assert.deepEqual(await c.names(), ['web-0', 'web-1', 'web-2']);
  await c.mgr.settle();
  const rev1 = (await c.sts()).status!.updateRevision;
  await c.reg.patch(c.r('statefulsets'), 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.28' }] } } } });
  const order: string[] = [];
  for (let i = 0; i < 60; i++) {
    const before = new Set((await c.pods()).map((p) => p.metadata.uid));
    const w = await c.mgr.runOnce();
    for (const p of await c.pods()) if (!before.has(p.metadata.uid)) order.push(p.metadata.name!);
    if (w === 0) break;
  }
  assert.deepEqual(order, ['web-2', 'web-1', 'web-0']);
  const st = (await c.sts()).status!;
  assert.notEqual(st.updateRevision, rev1);
  assert.deepEqual([st.currentRevision, st.updatedReplicas, st.readyReplicas], [st.updateRevision, 3, 3]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory-store.ts';
import { Registry } from '../server/registry.ts';
import { resourceByName } from '../resources/index.ts';
import type { EndpointSlice, KubeObject, Node, Pod } from '../api/index.ts';
import { RegistryControlApi } from './registry-api.ts';
import { EndpointSliceController } from './endpoints.ts';
import { NODE_MONITOR_GRACE_MS, NodeLifecycleController } from './node-lifecycle.ts';
import { rfc3339 } from './types.ts';

const r = (x: string) => resourceByName(x)!;

async function setup() {
  let now = Date.parse('2026-01-01T00:00:00Z');
  let n = 0;
  const clock = (): Date => new Date(now);
  const reg = new Registry({ store: new MemoryStore(), clock, uid: () => `u${++n}`, gracefulPodDeletion: true });
  const api = new RegistryControlApi(reg);
  await reg.create(r('namespaces'), undefined, { metadata: { name: 'default' } });
  for (const name of ['node-1', 'node-2']) {
    await reg.create(r('nodes'), undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: {} });
  }
  /** The kubelet's status post: Ready True with a heartbeat stamped by `stamp` (its own clock, which may disagree). */
  const beat = async (name: string, stamp: string): Promise<void> => {
    const node = (await api.list<Node>('nodes')).find((x) => x.metadata.name === name) as Node;
    await api.updateStatus('nodes', undefined, name, { ...node, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: stamp, lastTransitionTime: '2026-01-01T00:00:00Z' }] } });
  };
  for (const [i, node] of ['node-1', 'node-2'].entries()) {
    const pod = await api.create<Pod>('pods', 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } }, spec: { nodeName: node, containers: [{ name: 'c', image: 'nginx' }] } } as Pod);
    await api.updateStatus('pods', 'default', pod.metadata.name as string, { ...pod, status: { phase: 'Running', podIP: `10.244.${i}.2`, conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }] } });
  }
  await reg.create(r('services'), 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } as KubeObject);
  return { api, clock, beat, advance: (ms: number) => { now += ms; } };
}

test('node lifecycle: a node silent past the grace period becomes NotReady (Unknown), its pods unready, their endpoints not ready; a node that keeps posting stays Ready', async () => {
  const c = await setup();
  const nlc = new NodeLifecycleController(c.api, c.clock, NODE_MONITOR_GRACE_MS);
  const slices = new EndpointSliceController(c.api);
  // node-2's kubelet runs on a machine whose clock is a year ahead: only this controller's clock counts.
  await c.beat('node-1', rfc3339(c.clock()));
  await c.beat('node-2', '2027-01-01T00:00:00Z');
  assert.equal(await nlc.sync(), 0);
  assert.equal(nlc.nextWakeMs(), c.clock().getTime() + NODE_MONITOR_GRACE_MS + 1);
  for (let t = 0; t < 6; t++) {
    c.advance(10_000);
    await c.beat('node-1', rfc3339(c.clock()));
    await nlc.sync();
  }
  const nodes = await c.api.list<Node>('nodes');
  const ready = (name: string) => nodes.find((x) => x.metadata.name === name)?.status?.conditions?.find((x) => x.type === 'Ready');
  assert.equal(ready('node-1')?.status, 'True');
  assert.equal(ready('node-2')?.status, 'Unknown');
  assert.equal(ready('node-2')?.reason, 'NodeStatusUnknown');
  // The kubelet's last heartbeat is kept, as tryUpdateNodeHealth does.
  assert.equal(ready('node-2')?.lastHeartbeatTime, '2027-01-01T00:00:00Z');
  const pods = await c.api.list<Pod>('pods');
  const podReady = (name: string) => pods.find((p) => p.metadata.name === name)?.status?.conditions?.find((x) => x.type === 'Ready')?.status;
  assert.equal(podReady('web-0'), 'True');
  assert.equal(podReady('web-1'), 'False');
  await slices.sync();
  const eps = (await c.api.list<EndpointSlice>('endpointslices', 'default')).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'web').flatMap((s) => s.endpoints);
  assert.deepEqual(eps.map((e) => [e.addresses[0], e.conditions?.ready]).sort(), [['10.244.0.2', true], ['10.244.1.2', false]]);
  // Marked once: no more writes, and no wake-up for a node already Unknown.
  c.advance(60_000);
  await c.beat('node-1', rfc3339(c.clock()));
  assert.equal(await nlc.sync(), 0);
});

test('node lifecycle: a node never reported Ready is left to the startup grace (not marked)', async () => {
  const c = await setup();
  const nlc = new NodeLifecycleController(c.api, c.clock, 1000);
  await nlc.sync();
  c.advance(5000);
  assert.equal(await nlc.sync(), 0);
  assert.equal(nlc.nextWakeMs(), undefined);
});

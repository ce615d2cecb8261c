import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controllerCluster } from '../../tests/support/controller-cluster.ts';
import { findResource } from '../resources/index.ts';
import type { Deployment, EndpointSlice, Endpoints, KubeObject, Node, Pod, ReplicaSet, Service } from '../api/index.ts';
import { ControllerManager } from './manager.ts';
import { standardControllers } from './standard.ts';
import { NodeIpam } from './node-ipam.ts';
import { REVISION } from './deployment.ts';

async function cluster(nodes: { name: string; labels?: Record<string, string> }[] = [{ name: 'node-1' }, { name: 'node-2' }]) {
  const { reg, api, mgr, r, advance } = await controllerCluster({ nodes });
  const list = async <T>(res: string): Promise<T[]> => (await reg.list(r(res), undefined)).items as T[];
  return { reg, api, mgr, r, list, advance };
}

const deployment = (replicas: number, image = 'nginx'): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx-deployment', labels: { app: 'nginx' } },
  spec: { replicas, selector: { matchLabels: { app: 'nginx' } }, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image, ports: [{ containerPort: 80, name: 'http' }] }] } } },
});
const service: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx-service' }, spec: { type: 'NodePort', selector: { app: 'nginx' }, ports: [{ name: 'web', port: 80, targetPort: 'http', nodePort: 30000 }] } };

test('deployment → replicaset → pods scheduled across nodes, Running with IPs from node podCIDRs; endpoints follow', async () => {
  const c = await cluster();
  await c.reg.create(c.r('deployments'), 'default', deployment(2));
  await c.reg.create(c.r('services'), 'default', service);
  await c.mgr.settle();
  const nodes = await c.list<Node>('nodes');
  assert.deepEqual(nodes.map((n) => n.spec?.podCIDR), ['10.244.0.0/24', '10.244.1.0/24']);
  const pods = await c.list<Pod>('pods');
  assert.equal(pods.length, 2);
  assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['node-1', 'node-2'], 'replicas spread');
  for (const p of pods) {
    assert.equal(p.status?.phase, 'Running');
    const cidr = nodes.find((n) => n.metadata.name === p.spec.nodeName)!.spec!.podCIDR!;
    assert.equal(p.status!.podIP, cidr.replace('.0/24', '.2'));
    assert.match(p.metadata.name!, /^nginx-deployment-[a-z0-9]+-[a-z0-9]{5}$/);
    assert.ok(p.metadata.labels!['pod-template-hash']);
  }
  const ep = (await c.list<Endpoints>('endpoints')).find((e) => e.metadata.name === 'nginx-service')!;
  assert.deepEqual(ep.subsets, [{ addresses: pods.map((p) => ({ ip: p.status!.podIP!, nodeName: p.spec.nodeName!, targetRef: { kind: 'Pod', namespace: 'default', name: p.metadata.name!, uid: p.metadata.uid! } })).sort((a, b) => a.ip.localeCompare(b.ip)), ports: [{ port: 80, protocol: 'TCP', name: 'web' }] }], 'named targetPort resolved');
  const slices = await c.list<EndpointSlice>('endpointslices');
  assert.equal(slices.length, 1);
  assert.equal(slices[0]!.metadata.labels!['kubernetes.io/service-name'], 'nginx-service');
  assert.deepEqual(slices[0]!.endpoints.map((e) => e.conditions), [{ ready: true, serving: true, terminating: false }, { ready: true, serving: true, terminating: false }]);
  const d = (await c.list<Deployment>('deployments'))[0]!;
  assert.deepEqual([d.status?.replicas, d.status?.updatedReplicas, d.status?.readyReplicas, d.status?.availableReplicas, d.status?.observedGeneration], [2, 2, 2, 2, 1]);
  // Scale to 4: endpoints follow.
  await c.reg.patch(c.r('deployments'), 'default', 'nginx-deployment', 'merge', { spec: { replicas: 4 } }, {}, 'scale');
  await c.mgr.settle();
  const ep4 = (await c.list<Endpoints>('endpoints')).find((e) => e.metadata.name === 'nginx-service')!;
  assert.equal(ep4.subsets![0]!.addresses!.length, 4);
});

test('rolling update: respects maxSurge/maxUnavailable at every step, keeps revisions, rollback reuses the old ReplicaSet', async () => {
  const c = await cluster();
  await c.reg.create(c.r('deployments'), 'default', deployment(4));
  await c.mgr.settle();
  const rs1 = (await c.list<ReplicaSet>('replicasets'))[0]!;
  await c.reg.patch(c.r('deployments'), 'default', 'nginx-deployment', 'strategic', { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:2' }] } } } });
  // Step pass by pass; 4 replicas with 25%/25%: at most 5 pods, at least 3 available.
  for (let i = 0; i < 60; i++) {
    const w = await c.mgr.runOnce();
    const pods = (await c.list<Pod>('pods')).filter((p) => !p.metadata.deletionTimestamp);
    assert.ok(pods.length <= 5, `surge exceeded: ${pods.length}`);
    const ready = pods.filter((p) => p.status?.phase === 'Running').length;
    assert.ok(ready >= 3, `availability dropped to ${ready}`);
    if (w === 0) break;
  }
  const pods = await c.list<Pod>('pods');
  assert.equal(pods.length, 4);
  assert.ok(pods.every((p) => p.spec.containers[0]!.image === 'nginx:2' && p.spec.containers[0]!.ports![0]!.containerPort === 80));
  const sets = await c.list<ReplicaSet>('replicasets');
  assert.equal(sets.length, 2);
  const rs2 = sets.find((s) => s.metadata.uid !== rs1.metadata.uid)!;
  assert.equal(rs2.metadata.annotations![REVISION], '2');
  assert.equal(sets.find((s) => s.metadata.uid === rs1.metadata.uid)!.spec.replicas, 0);
  // Rollback by annotation to revision 1: the old ReplicaSet comes back as revision 3.
  await c.reg.patch(c.r('deployments'), 'default', 'nginx-deployment', 'merge', { metadata: { annotations: { 'deprecated.deployment.rollback.to': '1' } } });
  await c.mgr.settle();
  const after = await c.list<ReplicaSet>('replicasets');
  const back = after.find((s) => s.metadata.uid === rs1.metadata.uid)!;
  assert.equal(back.spec.replicas, 4);
  assert.equal(back.metadata.annotations![REVISION], '3');
  const d = (await c.list<Deployment>('deployments'))[0]!;
  assert.equal(d.spec.template.spec.containers[0]!.image, 'nginx');
  assert.equal(d.metadata.annotations![REVISION], '3');
});

test('terminating pods: reported terminating in slices, left out of Endpoints, then removed', async () => {
  const c = await cluster();
  await c.reg.create(c.r('deployments'), 'default', deployment(2));
  await c.reg.create(c.r('services'), 'default', { ...service, spec: { ...(service.spec as object), type: 'ClusterIP', ports: [{ port: 80, targetPort: 80 }] } } as KubeObject);
  await c.mgr.settle();
  const victim = (await c.list<Pod>('pods'))[0]!;
  // Remove the ReplicaSet's ownership so the controller does not replace it; delete gracefully.
  await c.reg.delete(c.r('pods'), 'default', victim.metadata.name!);
  const ctrl = c.mgr.controllers.filter((x) => x.name === 'endpoints' || x.name === 'endpointslice');
  for (const x of ctrl) await x.sync();
  const slice = (await c.list<EndpointSlice>('endpointslices'))[0]!;
  const e = slice.endpoints.find((x) => x.targetRef?.name === victim.metadata.name)!;
  assert.deepEqual(e.conditions, { ready: false, serving: true, terminating: true });
  const ep = (await c.list<Endpoints>('endpoints')).find((x) => x.metadata.name === 'nginx-service')!;
  assert.ok(!ep.subsets![0]!.addresses!.some((a) => a.ip === victim.status!.podIP));
  await c.mgr.settle();
  assert.ok(!(await c.list<Pod>('pods')).some((p) => p.metadata.uid === victim.metadata.uid), 'FakeKubelet finished the deletion');
});

test('scheduler honours nodeSelector and leaves unschedulable pods Pending with a reason; GC removes orphans', async () => {
  const c = await cluster([{ name: 'a', labels: { disk: 'ssd' } }, { name: 'b' }]);
  await c.mgr.settle();
  await c.reg.create(c.r('pods'), 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ssd' }, spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image: 'i' }] } });
  await c.reg.create(c.r('pods'), 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gpu' }, spec: { nodeSelector: { gpu: 'yes' }, containers: [{ name: 'c', image: 'i' }] } });
  await c.mgr.settle();
  const pods = await c.list<Pod>('pods');
  assert.equal(pods.find((p) => p.metadata.name === 'ssd')!.spec.nodeName, 'a');
  const gpu = pods.find((p) => p.metadata.name === 'gpu')!;
  assert.equal(gpu.spec.nodeName, undefined);
  assert.deepEqual(gpu.status!.conditions!.map((x) => [x.type, x.status, x.reason]), [['PodScheduled', 'False', 'Unschedulable']]);
  await c.reg.create(c.r('deployments'), 'default', deployment(1));
  await c.mgr.settle();
  await c.reg.delete(c.r('deployments'), 'default', 'nginx-deployment');
  await c.mgr.settle();
  assert.equal((await c.list<ReplicaSet>('replicasets')).length, 0);
  assert.deepEqual((await c.list<Pod>('pods')).map((p) => p.metadata.name).sort(), ['gpu', 'ssd']);
});

test('node IPAM is stable and fills holes; NodePort allocator rejects collisions at admission', async () => {
  const c = await cluster([{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }]);
  const ipam = new NodeIpam(c.api, { clusterCIDR: '10.244.0.0/16' });
  await ipam.sync();
  await c.reg.delete(c.r('nodes'), undefined, 'n2');
  await c.reg.create(c.r('nodes'), undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n4' }, spec: {} });
  await ipam.sync();
  const cidrs = Object.fromEntries((await c.list<Node>('nodes')).map((n) => [n.metadata.name, n.spec?.podCIDR]));
  assert.deepEqual(cidrs, { n1: '10.244.0.0/24', n3: '10.244.2.0/24', n4: '10.244.1.0/24' });
  await c.reg.create(c.r('services'), 'default', service);
  await assert.rejects(c.reg.create(c.r('services'), 'default', { ...service, metadata: { name: 'other' } }), /spec\.ports\[0\]\.nodePort: Invalid value: 30000: provided port is already allocated/);
  assert.equal((await c.reg.get(findResource('', 'v1', 'services')!, 'default', 'nginx-service') as unknown as Service).spec.ports![0]!.nodePort, 30000);
});

test('ControllerManager runs on an injected timer and reacts to store changes', async () => {
  const c = await cluster();
  const timers: { fn: () => void; ms: number }[] = [];
  const timer = { setTimeout: (fn: () => void, ms: number) => { timers.push({ fn, ms }); return timers.length - 1; }, clearTimeout: (h: unknown) => { const t = timers[h as number]; if (t) t.fn = () => {}; } };
  const mgr = new ControllerManager(c.api, standardControllers(c.api, { fakeKubelet: true }), { timer, resyncMs: 1000 });
  await mgr.start();
  await c.reg.create(c.r('deployments'), 'default', deployment(1));
  for (let i = 0; i < 30 && timers.length; i++) {
    const t = timers.shift()!;
    t.fn();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  }
  await mgr.stop();
  assert.equal((await c.list<Pod>('pods')).length, 1);
});

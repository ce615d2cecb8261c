import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controllerCluster } from '../../tests/support/controller-cluster.ts';
import type { ControllerClusterOptions } from '../../tests/support/controller-cluster.ts';
import type { DaemonSet, KubeObject, Node, Pod } from '../api/index.ts';
import { CONTROLLER_REVISION_HASH, daemonPodNode } from './daemonset.ts';
import { podFitsNode, tolerates } from './node-fit.ts';

async function setup(nodes: NonNullable<ControllerClusterOptions['nodes']>) {
  const { reg, r, mgr } = await controllerCluster({ nodes, namespaces: ['default', 'kube-system'] });
  const pods = async (): Promise<Pod[]> => (await reg.list(r('pods'), 'kube-system')).items as unknown as Pod[];
  const ds = async (name: string): Promise<DaemonSet> => await reg.get(r('daemonsets'), 'kube-system', name) as unknown as DaemonSet;
  return { reg, r, mgr, pods, ds };
}

const proxyDs = (extra: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { 'k8s-app': 'kube-proxy' } },
  spec: {
    selector: { matchLabels: { 'k8s-app': 'kube-proxy' } },
    template: { metadata: { labels: { 'k8s-app': 'kube-proxy' } }, spec: { hostNetwork: true, containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.32.4' }], ...podSpec } },
    ...extra,
  },
});

test('daemonset: one pod per node, bound to it through node affinity, with the daemon tolerations; status as rollout status reads it', async () => {
  const c = await setup([{ name: 'node-1' }, { name: 'node-2' }, { name: 'node-3' }]);
  await c.reg.create(c.r('daemonsets'), 'kube-system', proxyDs());
  const created = await c.ds('kube-proxy');
  assert.deepEqual(created.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, 'apps/v1 defaults');
  await c.mgr.settle();
  const pods = await c.pods();
  assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['node-1', 'node-2', 'node-3']);
  for (const p of pods) {
    assert.match(p.metadata.name!, /^kube-proxy-[a-z0-9]{5}$/);
    assert.equal(p.status?.phase, 'Running');
    assert.equal(p.status?.podIP, p.status?.hostIP, 'host network');
    assert.deepEqual(p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec.nodeName] }] }]);
    assert.ok(p.spec.tolerations?.some((t) => t.key === 'node.kubernetes.io/network-unavailable'), 'host-network pods tolerate network-unavailable');
    assert.equal(p.metadata.labels?.['pod-template-generation'], '1');
    assert.equal(daemonPodNode(p), p.spec.nodeName);
  }
  const ds = await c.ds('kube-proxy');
  assert.deepEqual(ds.status, { currentNumberScheduled: 3, numberMisscheduled: 0, desiredNumberScheduled: 3, numberReady: 3, observedGeneration: 1, updatedNumberScheduled: 3, numberAvailable: 3 });
});

test('daemonset: nodeSelector and taints choose the nodes; a node that stops matching loses its pod', async () => {
  const c = await setup([
    { name: 'cp', labels: { role: 'cp' }, taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
    { name: 'w1', labels: { role: 'worker' } },
    { name: 'w2', labels: { role: 'worker' } },
  ]);
  await c.reg.create(c.r('daemonsets'), 'kube-system', { ...proxyDs(), metadata: { name: 'agent', namespace: 'kube-system' } });
  await c.mgr.settle();
  assert.deepEqual((await c.pods()).map((p) => p.spec.nodeName).sort(), ['w1', 'w2'], 'the control-plane taint is not tolerated');
  // Tolerating it (as kube-proxy's `operator: Exists` does) adds the node.
  await c.reg.patch(c.r('daemonsets'), 'kube-system', 'agent', 'strategic', { spec: { template: { spec: { tolerations: [{ operator: 'Exists' }] } } } });
  await c.mgr.settle();
  assert.deepEqual((await c.pods()).map((p) => p.spec.nodeName).sort(), ['cp', 'w1', 'w2']);
  // A nodeSelector narrows it to workers; then w2 stops being one.
  await c.reg.patch(c.r('daemonsets'), 'kube-system', 'agent', 'strategic', { spec: { template: { spec: { nodeSelector: { role: 'worker' } } } } });
  await c.mgr.settle();
  assert.deepEqual((await c.pods()).map((p) => p.spec.nodeName).sort(), ['w1', 'w2']);
  await c.reg.patch(c.r('nodes'), undefined, 'w2', 'merge', { metadata: { labels: { role: 'spare' } } });
  await c.mgr.settle();
  assert.deepEqual((await c.pods()).map((p) => p.spec.nodeName), ['w1']);
  const st = (await c.ds('agent')).status!;
  assert.deepEqual([st.desiredNumberScheduled, st.currentNumberScheduled, st.numberMisscheduled], [1, 1, 0]);
});

test('daemonset: RollingUpdate replaces pods node by node within maxUnavailable; OnDelete only on deletion; a deleted pod comes back', async () => {
  const c = await setup([{ name: 'node-1' }, { name: 'node-2' }, { name: 'node-3' }]);
  await c.reg.create(c.r('daemonsets'), 'kube-system', proxyDs());
  await c.mgr.settle();
  const hash1 = (await c.pods())[0]!.metadata.labels![CONTROLLER_REVISION_HASH];
  await c.reg.patch(c.r('daemonsets'), 'kube-system', 'kube-proxy', 'strategic', { spec: { template: { spec: { containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.32.5' }] } } } });
  let maxDown = 0;
  for (let i = 0; i < 50; i++) {
    const w = await c.mgr.runOnce();
    const live = (await c.pods()).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running');
    maxDown = Math.max(maxDown, 3 - live.length);
    if (w === 0) break;
  }
  assert.equal(maxDown, 1, 'never more than maxUnavailable=1 node without a running pod');
  const after = await c.pods();
  assert.equal(after.length, 3);
  assert.ok(after.every((p) => p.spec.containers[0]!.image === 'registry.k8s.io/kube-proxy:v1.32.5' && p.metadata.labels![CONTROLLER_REVISION_HASH] !== hash1));
  const ds = await c.ds('kube-proxy');
  assert.deepEqual([ds.status?.observedGeneration, ds.status?.updatedNumberScheduled, ds.status?.numberAvailable], [2, 3, 3]);

  // OnDelete: a template change leaves pods alone until one is deleted.
  await c.reg.patch(c.r('daemonsets'), 'kube-system', 'kube-proxy', 'merge', { spec: { updateStrategy: { type: 'OnDelete', rollingUpdate: null }, template: { spec: { containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.32.6' }] } } } });
  await c.mgr.settle();
  assert.equal((await c.pods()).filter((p) => (p.spec.containers[0]!.image ?? '').endsWith('v1.32.6')).length, 0);
  assert.equal((await c.ds('kube-proxy')).status?.updatedNumberScheduled, 0);
  const victim = (await c.pods()).find((p) => p.spec.nodeName === 'node-2')!;
  await c.reg.delete(c.r('pods'), 'kube-system', victim.metadata.name!);
  await c.mgr.settle();
  const now = await c.pods();
  assert.equal(now.length, 3);
  const replaced = now.find((p) => p.spec.nodeName === 'node-2')!;
  assert.notEqual(replaced.metadata.name, victim.metadata.name, 'the DaemonSet controller recreated it');
  assert.ok((replaced.spec.containers[0]!.image ?? '').endsWith('v1.32.6'));
  assert.equal((await c.ds('kube-proxy')).status?.updatedNumberScheduled, 1);
});

test('node-fit: tolerations and required node affinity as the scheduler filters them', () => {
  const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { zone: 'a' } }, spec: { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] } };
  assert.equal(tolerates([{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }], node.spec!.taints![0]!), true);
  assert.equal(tolerates([{ key: 'k', operator: 'Equal', value: 'w' }], node.spec!.taints![0]!), false);
  assert.equal(tolerates([{ key: 'k', operator: 'Exists', effect: 'NoExecute' }], node.spec!.taints![0]!), false);
  assert.equal(tolerates([{ operator: 'Exists' }], node.spec!.taints![0]!), true);
  const spec = (extra: object) => ({ containers: [], tolerations: [{ operator: 'Exists' as const }], ...extra });
  assert.equal(podFitsNode(spec({}), node), true);
  assert.equal(podFitsNode({ containers: [] }, node), false, 'untolerated NoSchedule');
  assert.equal(podFitsNode(spec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] } } } }), node), true, 'terms are ORed');
  assert.equal(podFitsNode(spec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }] } } } }), node), false);
  assert.equal(podFitsNode(spec({ nodeSelector: { zone: 'a' } }), { ...node, spec: { ...node.spec, unschedulable: true } }), true, 'unschedulable is tolerated by Exists');
});

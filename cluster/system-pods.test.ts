import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './cluster.ts';
import { demoSpec } from './demo-flows.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import type { DaemonSet, Node, Pod } from '../control/api/index.ts';

const SVC = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'default' }, spec: { selector: { app: 'nginx' }, ports: [{ port: 8080, targetPort: 80 }] } };

async function systemPods(c: Cluster): Promise<Pod[]> {
  // kube-system also holds the DNS add-on's CoreDNS pods, which are not host-network.
  return (await c.control.api.list<Pod>('pods')).filter((p) => ['kube-system', 'kube-flannel'].includes(p.metadata.namespace ?? '') && p.spec.hostNetwork === true);
}

test('system pods: kube-proxy and kube-flannel DaemonSets put a Running host-network pod on every node, with the node address and a rolled-out status', async () => {
  const c = await Cluster.build(demoSpec());
  const nodes = await c.control.api.list<Node>('nodes');
  const addr = new Map(nodes.map((n) => [n.metadata.name, n.status!.addresses!.find((a) => a.type === 'InternalIP')!.address]));
  const pods = await systemPods(c);
  const rows = pods.map((p) => [p.metadata.namespace, p.metadata.name!.replace(/-[a-z0-9]{5}$/, '-xxxxx'), p.spec.nodeName, p.status?.phase, p.status?.podIP === addr.get(p.spec.nodeName) ? 'node-ip' : p.status?.podIP]).sort((a, b) => String(a).localeCompare(String(b)));
  assert.deepEqual(rows, [
    ['kube-flannel', 'kube-flannel-ds-xxxxx', 'node01', 'Running', 'node-ip'],
    ['kube-flannel', 'kube-flannel-ds-xxxxx', 'node02', 'Running', 'node-ip'],
    ['kube-system', 'kube-proxy-xxxxx', 'node01', 'Running', 'node-ip'],
    ['kube-system', 'kube-proxy-xxxxx', 'node02', 'Running', 'node-ip'],
  ]);
  for (const name of [['kube-system', 'kube-proxy'], ['kube-flannel', 'kube-flannel-ds']] as const) {
    const ds = (await c.control.api.list<DaemonSet>('daemonsets', name[0])).find((d) => d.metadata.name === name[1])!;
    assert.deepEqual([ds.status?.desiredNumberScheduled, ds.status?.updatedNumberScheduled, ds.status?.numberAvailable, ds.status?.observedGeneration], [2, 2, 2, 1], name.join('/'));
  }
  // Host-network pods take no pod address: the user pods keep .2, .3, … of their node's subnet.
  const user = (await c.control.api.list<Pod>('pods', 'default')).map((p) => p.status?.podIP ?? '');
  assert.ok(user.every((ip) => /^10\.244\.\d+\.\d+$/.test(ip)), user.join(' '));
  await c.close();
});

test('system pods: deleting a kube-proxy pod stops that kube-proxy; the DaemonSet controller recreates it and its rules resync', async () => {
  const c = await Cluster.build(demoSpec());
  const old = (await systemPods(c)).find((p) => p.metadata.name!.startsWith('kube-proxy-') && p.spec.nodeName === 'node01')!;
  await c.control.api.delete('pods', 'kube-system', old.metadata.name!);
  // While it is down, a new Service appears: node01 does not hear of it.
  await c.control.apply(SVC);
  await c.runFor(200 * 1_000_000);
  const node01 = c.clusterNodes.get('node01')!;
  const node02 = c.clusterNodes.get('node02')!;
  const rules = (n: typeof node01): boolean => n.netfilter.iptables.save().includes('default/late cluster IP');
  const now = (await systemPods(c)).filter((p) => p.metadata.name!.startsWith('kube-proxy-') && p.spec.nodeName === 'node01');
  assert.equal(now.length, 1);
  assert.notEqual(now[0]!.metadata.name, old.metadata.name, 'a new pod from the DaemonSet controller');
  await c.runFor(2 * SECOND);
  assert.equal(now[0]!.status?.phase ?? (await systemPods(c)).find((p) => p.metadata.name === now[0]!.metadata.name)!.status?.phase, 'Running');
  assert.ok(rules(node02), 'node02 programmed the Service');
  assert.ok(rules(node01), 'node01 resynced after its kube-proxy restarted');
  await c.close();
});

test('system pods: while a kube-proxy pod is gone its node keeps the old rules and misses changes', async () => {
  const c = await Cluster.build(demoSpec());
  const node01 = c.clusterNodes.get('node01')!;
  const pod = (await systemPods(c)).find((p) => p.metadata.name!.startsWith('kube-proxy-') && p.spec.nodeName === 'node01')!;
  // Stop the component the way the agent does when the pod stops, without letting the controller recreate it.
  const run = [...node01.agent.pods.values()].find((r) => r.name === pod.metadata.name)!;
  const before = node01.netfilter.iptables.save();
  run.component!.stop();
  await c.control.apply(SVC);
  await c.runFor(2 * SECOND);
  assert.equal(node01.netfilter.iptables.save().includes('default/late cluster IP'), false, 'a stopped kube-proxy hears nothing');
  assert.ok(before.includes('KUBE-SERVICES'), 'its rules stay');
  run.component!.start();
  await c.runFor(2 * SECOND);
  assert.ok(node01.netfilter.iptables.save().includes('default/late cluster IP'));
  await c.close();
});

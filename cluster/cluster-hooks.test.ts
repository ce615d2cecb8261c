import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './cluster.ts';
import { demoSpec } from './demo-flows.ts';
import { httpGet } from '../netsim/apps/http.ts';
import { udpRequest } from '../netsim/apps/echo.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import type { EndpointSlice } from '../control/api/service.ts';
import type { Event, Node, Pod } from '../control/api/index.ts';
import { resourceForKind } from '../control/resources/index.ts';

const ECHO = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'echo', labels: { app: 'echo' } },
  spec: { nodeName: 'node02', containers: [{ name: 'echo', image: 'netsim/udp-echo', ports: [{ containerPort: 7, protocol: 'UDP' }] }] },
};

async function readyEndpoints(c: Cluster, svc: string): Promise<string[]> {
  const slices = (await c.control.api.list<EndpointSlice>('endpointslices')).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc);
  return slices.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).map((e) => e.addresses[0] ?? '')).sort();
}

test('appTap sees every datagram an echo pod reads, with the pod key and port', async () => {
  const seen: string[] = [];
  const c = await Cluster.build(demoSpec(), { manifests: [ECHO], appTap: (pod, kind, port, data) => seen.push(`${pod} ${kind} ${port} ${new TextDecoder().decode(data)}`) });
  const echo = c.pods.get('default/echo');
  assert.ok(echo !== undefined);
  const ex = udpRequest(c.pods.get('default/webapp01')!.ns, echo.ip, 7, new TextEncoder().encode('hi-1'));
  await c.runFor(SECOND);
  assert.equal(ex.reply !== undefined, true);
  assert.deepEqual(seen, ['default/echo udp-echo 7 hi-1']);
  await c.close();
});

test('nodeDown: link down, pods stopped and unready, endpoints gone; nodeUp brings them back', async () => {
  const c = await Cluster.build(demoSpec());
  const before = await readyEndpoints(c, 'nginx-service');
  assert.equal(before.length, 2);
  const onNode2 = [...c.pods.values()].filter((p) => p.node === 'node02').map((p) => p.key);
  assert.ok(onNode2.length > 0);
  await c.nodeDown('node02');
  await c.runFor(2 * SECOND);
  const node = (await c.control.api.list<Node>('nodes')).find((n) => n.metadata.name === 'node02');
  assert.equal(node?.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'Unknown');
  const pods = (await c.control.api.list<Pod>('pods')).filter((p) => p.spec.nodeName === 'node02');
  assert.ok(pods.every((p) => p.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'False'));
  assert.equal([...c.pods.values()].filter((p) => p.node === 'node02').length, 0, 'no pod runs on the down node');
  // The node lifecycle controller's events: NodeNotReady on the Node, and a Warning on each of its pods.
  const events = await c.control.api.list<Event>('events');
  assert.ok(events.some((e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === 'node02' && e.reason === 'NodeNotReady' && e.message === 'Node node02 status is now: NodeNotReady' && e.source?.component === 'node-controller'));
  for (const p of pods) assert.ok(events.some((e) => e.involvedObject.kind === 'Pod' && e.involvedObject.name === p.metadata.name && e.type === 'Warning' && e.reason === 'NodeNotReady' && e.message === 'Node is not ready'), `event for ${p.metadata.name}`);
  const after = await readyEndpoints(c, 'nginx-service');
  assert.equal(after.length, before.length - [...before].filter((ip) => !after.includes(ip)).length);
  assert.ok(after.length < before.length || onNode2.every((k) => !k.includes('nginx')), 'an nginx endpoint on node02 left the Service');
  // Traffic from node01 to the Service still works (only node01's endpoints remain).
  const s = httpGet(c.pods.get('default/webapp01')!.ns, c.services.get('default/nginx-service')!.clusterIP, 80);
  await c.runFor(SECOND);
  assert.equal(s.results[0]?.status, 200);
  await c.nodeUp('node02');
  await c.runFor(3 * SECOND);
  assert.deepEqual((await readyEndpoints(c, 'nginx-service')).length, 2);
  assert.ok([...c.pods.values()].some((p) => p.node === 'node02'));
  await c.close();
});

test('delayProxy: a node\'s kube-proxy hears of endpoint changes only when the hold ends', async () => {
  const c = await Cluster.build(demoSpec());
  const save = (n: string): number => (c.nodeView(n, 'iptables-save') ?? '').split('\n').filter((l) => l.startsWith('-A KUBE-SVC-') && l.includes('KUBE-SEP-')).length;
  const n1 = save('node01');
  c.delayProxy('node01', 5 * SECOND);
  await c.control.registry.patch(resourceForKind('apps/v1', 'Deployment')!, 'default', 'nginx-deployment', 'merge', { spec: { replicas: 4 } }, {}, 'scale');
  await c.runFor(3 * SECOND);
  assert.equal(save('node01'), n1, 'node01 still has the old rules');
  assert.ok(save('node02') > n1, 'node02 synced the new endpoints');
  await c.runFor(4 * SECOND);
  assert.equal(save('node01'), save('node02'), 'node01 caught up after the hold');
  await c.close();
});

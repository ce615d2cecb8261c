/**
 * `default/kubernetes` points at the API server as in a real cluster: the first
 * node's address:6443, written by the bootstrap as kube-apiserver's endpoint
 * reconciler does, and programmed by kube-proxy like any other Service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './cluster.ts';
import { demoSpec } from './demo-flows.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import type { EndpointSlice } from '../control/api/service.ts';
import type { Endpoints } from '../control/api/types.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';

test('default/kubernetes: Endpoints and EndpointSlice at node01:6443, kept by the controllers, programmed by kube-proxy; nothing listens there', async () => {
  const c = await Cluster.build(demoSpec());
  try {
    await c.runFor(5 * SECOND); // controllers run several passes: the apiserver's objects must survive them
    const slices = (await c.control.api.list<EndpointSlice>('endpointslices', 'default')).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'kubernetes');
    assert.equal(slices.length, 1);
    const slice = slices[0] as EndpointSlice;
    assert.equal(slice.metadata.name, 'kubernetes');
    assert.deepEqual(slice.metadata.labels, { 'kubernetes.io/service-name': 'kubernetes' }, 'only the service-name label, as the apiserver writes it');
    assert.deepEqual(slice.endpoints?.map((e) => e.addresses[0]), ['192.168.50.11']);
    assert.deepEqual(slice.ports?.map((p) => [p.name, p.port, p.protocol]), [['https', 6443, 'TCP']]);
    const ep = (await c.control.api.list<Endpoints>('endpoints', 'default')).find((e) => e.metadata.name === 'kubernetes');
    assert.equal(ep?.metadata.labels?.['endpointslice.kubernetes.io/skip-mirror'], 'true');
    assert.deepEqual(ep?.subsets?.[0]?.addresses?.map((a) => a.ip), ['192.168.50.11']);

    const save = c.nodeView?.('node02', 'iptables-save') ?? '';
    assert.match(save, /^-A KUBE-SERVICES -d 10\.96\.0\.1\/32 -p tcp -m comment --comment "default\/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y$/m);
    assert.match(save, /-m comment --comment "default\/kubernetes:https" -m tcp -j DNAT --to-destination 192\.168\.50\.11:6443$/m);
    assert.doesNotMatch(save, /default\/kubernetes:https has no endpoints/);

    // The API server is not in the emulated network: a pod's connection is DNATed to node01:6443 and refused there.
    const pod = c.pods.get('default/webapp01');
    assert.ok(pod !== undefined);
    const conn = pod.ns.tcp.connect(parseIpv4('10.96.0.1'), 443);
    let closed = '';
    conn.onClose = (reason) => { closed = reason; };
    await c.runFor(SECOND);
    assert.equal(closed, 'refused');
  } finally {
    await c.close();
  }
});

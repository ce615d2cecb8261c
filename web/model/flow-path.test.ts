// A selected flow's path on the picture: same-node pods turn at the bridge, pods on two
// nodes cross flannel's device, eth0 and the underlay on both sides, outside hosts come
// in through the router; every id names an element the picture has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowEndpoint } from '../../observe/flow.ts';
import type { Topology } from '../../observe/topology.ts';
import { flowPath } from './flow-path.ts';
import { topologyElements } from './topology-elements.ts';

const dev = (name: string, kind: 'nic' | 'bridge' | 'flannel') => ({ name, kind, addresses: [] });
const T: Topology = {
  flannelBackend: 'vxlan', proxyMode: 'iptables',
  nodes: [
    { name: 'node01', ip: '192.168.50.11', devices: [dev('eth0', 'nic'), dev('cni0', 'bridge'), dev('flannel.1', 'flannel')] },
    { name: 'node02', ip: '192.168.50.12', devices: [dev('eth0', 'nic'), dev('cni0', 'bridge'), dev('flannel.1', 'flannel')] },
  ],
  pods: [
    { key: 'default/a', namespace: 'default', name: 'a', ip: '10.244.1.2', node: 'node01', hostVeth: 'veth1', ready: true, labels: {} },
    { key: 'default/b', namespace: 'default', name: 'b', ip: '10.244.1.3', node: 'node01', hostVeth: 'veth2', ready: true, labels: {} },
    { key: 'default/c', namespace: 'default', name: 'c', ip: '10.244.2.2', node: 'node02', hostVeth: 'veth3', ready: true, labels: {} },
  ],
  outside: [{ name: 'router', kind: 'router', addresses: [] }, { name: 'client', kind: 'external', addresses: [] }],
  services: [],
};
const pod = (name: string): FlowEndpoint => ({ ip: '0.0.0.0', kind: 'pod', namespace: 'default', name });

test('pods on one node meet at the bridge; on two nodes the path crosses flannel, eth0 and the underlay on both sides', () => {
  assert.deepEqual(flowPath(T, pod('a'), pod('b')), ['pod:default/a', 'dev:node01:cni0', 'pod:default/b']);
  assert.deepEqual(flowPath(T, pod('a'), pod('c')), [
    'pod:default/a', 'dev:node01:cni0', 'dev:node01:flannel.1', 'dev:node01:eth0', 'net:underlay',
    'dev:node02:eth0', 'dev:node02:flannel.1', 'dev:node02:cni0', 'pod:default/c',
  ]);
});

test('an outside host comes through the router; a node reaches its own pods through its bridge, others\' through flannel, nodes through eth0; an unknown end gives what is known', () => {
  assert.deepEqual(flowPath(T, { ip: '203.0.113.10', kind: 'external', name: 'client' }, pod('c')), [
    'host:client', 'net:outside', 'host:router', 'net:underlay', 'dev:node02:eth0', 'dev:node02:flannel.1', 'dev:node02:cni0', 'pod:default/c',
  ]);
  assert.deepEqual(flowPath(T, { ip: '192.168.50.11', kind: 'node', name: 'node01' }, pod('a')), ['dev:node01:cni0', 'pod:default/a'], 'a node reaches its own pods through its bridge');
  assert.deepEqual(flowPath(T, { ip: '192.168.50.12', kind: 'node', name: 'node02' }, pod('a')), ['dev:node02:flannel.1', 'dev:node02:eth0', 'net:underlay', 'dev:node01:eth0', 'dev:node01:flannel.1', 'dev:node01:cni0', 'pod:default/a']);
  assert.deepEqual(flowPath(T, { ip: '192.168.50.12', kind: 'node', name: 'node02' }, { ip: '192.168.50.11', kind: 'node', name: 'node01' }), ['dev:node02:eth0', 'net:underlay', 'dev:node01:eth0']);
  assert.deepEqual(flowPath(T, pod('a'), { ip: '8.8.8.8', kind: 'world' }), ['pod:default/a', 'dev:node01:cni0', 'dev:node01:flannel.1', 'dev:node01:eth0', 'net:underlay']);
  const ids = new Set(topologyElements(T).map((e) => e.data.id));
  for (const [x, y] of [[pod('a'), pod('c')], [pod('c'), { ip: '', kind: 'external', name: 'client' } as FlowEndpoint], [{ ip: '', kind: 'node', name: 'node02' } as FlowEndpoint, pod('a')]] as const) {
    for (const id of flowPath(T, x, y)) assert.ok(ids.has(id), id);
  }
});

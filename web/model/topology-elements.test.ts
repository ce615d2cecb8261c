// The topology picture's elements: every pod sits in its node's box behind a veth to
// the bridge, the devices a packet crosses are linked in order, Services point at the
// pods that are their endpoints, and for any topology the graph is well formed (unique
// ids, every edge end and parent present, no two things drawn on the same spot).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Topology, TopologyPod } from '../../observe/topology.ts';
import { LABEL_MAX, shorten, topologyElements } from './topology-elements.ts';
import type { GraphElement } from './topology-elements.ts';

const dev = (name: string, kind: 'nic' | 'bridge' | 'flannel' | 'ipvs' | 'other', addresses: string[] = []): { name: string; kind: typeof kind; addresses: string[] } => ({ name, kind, addresses });

const SAMPLE: Topology = {
  flannelBackend: 'udp', proxyMode: 'iptables',
  nodes: [
    { name: 'node01', ip: '192.168.50.11', podSubnet: '10.244.51.1/24', devices: [dev('eth0', 'nic', ['192.168.50.11/24']), dev('flannel0', 'flannel', ['10.244.51.0/16']), dev('docker0', 'bridge', ['10.244.51.1/24'])] },
    { name: 'node02', ip: '192.168.50.12', devices: [dev('eth0', 'nic', ['192.168.50.12/24']), dev('docker0', 'bridge', ['10.244.58.1/24']), dev('kube-ipvs0', 'ipvs', ['10.96.0.1/32'])] },
  ],
  pods: [
    { key: 'default/webapp01', namespace: 'default', name: 'webapp01', ip: '10.244.51.2', node: 'node01', hostVeth: 'veth1', ready: true, labels: {} },
    { key: 'default/nginx-deployment-6d7bc6944-57f85', namespace: 'default', name: 'nginx-deployment-6d7bc6944-57f85', ip: '10.244.51.4', node: 'node01', hostVeth: 'veth2', ready: true, labels: { app: 'nginx' } },
    { key: 'default/nginx-deployment-6d7bc6944-x2zzq', namespace: 'default', name: 'nginx-deployment-6d7bc6944-x2zzq', ip: '10.244.58.3', node: 'node02', hostVeth: 'veth3', ready: false, labels: { app: 'nginx' } },
  ],
  outside: [{ name: 'router', kind: 'router', addresses: ['192.168.50.1/24', '203.0.113.1/24'] }, { name: 'client', kind: 'external', addresses: ['203.0.113.10/24'] }],
  services: [
    { key: 'default/nginx-service', namespace: 'default', name: 'nginx-service', type: 'ClusterIP', clusterIP: '10.96.63.155', ports: [{ name: '', port: 80, protocol: 'TCP' }], endpoints: [{ ip: '10.244.51.4', pod: 'default/nginx-deployment-6d7bc6944-57f85', ready: true }, { ip: '10.244.58.3', pod: 'default/nginx-deployment-6d7bc6944-x2zzq', ready: false }, { ip: '10.1.2.3', ready: true }] },
    { key: 'default/headless', namespace: 'default', name: 'headless', type: 'ClusterIP', ports: [], endpoints: [] },
  ],
};

function byId(els: readonly GraphElement[]): Map<string, GraphElement> {
  return new Map(els.map((e) => [e.data.id, e]));
}

/** Unique ids, edges between existing nodes, everything placed, devices and pods inside their node's box, boxes apart, no two things on one spot. */
function assertWellFormed(els: readonly GraphElement[]): void {
  const ids = byId(els);
  assert.equal(ids.size, els.length, 'element ids are unique');
  const spots = new Set<string>();
  for (const e of els) {
    if (e.group === 'edges') {
      assert.equal(ids.get(e.data.source ?? '')?.group, 'nodes', `${e.data.id}: source ${e.data.source}`);
      assert.equal(ids.get(e.data.target ?? '')?.group, 'nodes', `${e.data.id}: target ${e.data.target}`);
    } else {
      assert.ok(e.position !== undefined, `${e.data.id} has a place`);
      if (e.data.node !== undefined) {
        // Inside its node's box.
        const box = ids.get(`node:${e.data.node}`);
        assert.ok(box?.position !== undefined && box.data.w !== undefined && box.data.h !== undefined, `${e.data.id}: box of ${e.data.node}`);
        assert.ok(Math.abs(e.position.x - box.position.x) < box.data.w / 2 - 40 && Math.abs(e.position.y - box.position.y) < box.data.h / 2 - 15, `${e.data.id} at ${JSON.stringify(e.position)} outside its box ${JSON.stringify(box.position)} ${box.data.w}×${box.data.h}`);
      }
      if (e.classes === 'node') {
        // Boxes (drawn behind) do not overlap one another.
        for (const o of els) {
          if (o === e || o.classes !== 'node' || o.position === undefined || e.data.w === undefined || e.data.h === undefined || o.data.w === undefined || o.data.h === undefined) continue;
          const apart = Math.abs(e.position.x - o.position.x) >= (e.data.w + o.data.w) / 2 || Math.abs(e.position.y - o.position.y) >= (e.data.h + o.data.h) / 2;
          assert.ok(apart, `${e.data.id} overlaps ${o.data.id}`);
        }
      } else {
        const spot = `${Math.round(e.position.x)},${Math.round(e.position.y)}`;
        assert.ok(!spots.has(spot), `${e.data.id} drawn on top of another element at ${spot}`);
        spots.add(spot);
      }
    }
  }
}

test('each pod is in its node\'s box, joined by its veth to the bridge; the bridge leads to flannel\'s device and on to eth0 on the underlay', () => {
  const els = topologyElements(SAMPLE);
  assertWellFormed(els);
  const ids = byId(els);
  for (const p of SAMPLE.pods) {
    const e = ids.get(`pod:${p.key}`);
    assert.equal(e?.data.node, p.node);
    assert.match(e?.data.title ?? '', new RegExp(p.key));
    assert.equal(ids.get(`veth:${p.key}`)?.data.label, p.hostVeth);
    assert.equal(ids.get(`veth:${p.key}`)?.data.target, `dev:${p.node}:docker0`);
  }
  assert.deepEqual([ids.get('in:node01:br-fl')?.data.target, ids.get('in:node01:fl-nic')?.data.target], ['dev:node01:flannel0', 'dev:node01:eth0']);
  // Without flannel's device (host-gw) the bridge leads straight to eth0; kube-ipvs0 is drawn but carries no link.
  assert.equal(ids.get('in:node02:br-nic')?.data.target, 'dev:node02:eth0');
  assert.ok(ids.has('dev:node02:kube-ipvs0'));
  assert.equal(els.filter((e) => e.group === 'edges' && (e.data.source === 'dev:node02:kube-ipvs0' || e.data.target === 'dev:node02:kube-ipvs0')).length, 0);
  assert.deepEqual(['wire:node01', 'wire:node02', 'wire:router', 'wire:router-outside', 'wire:host:client'].map((id) => ids.has(id)), [true, true, true, true, true]);
});

test('a Service is drawn at its VIP with an edge to each endpoint pod (not-ready ones marked); a headless one has no VIP to draw', () => {
  const ids = byId(topologyElements(SAMPLE));
  assert.match(ids.get('svc:default/nginx-service')?.data.label ?? '', /10\.96\.63\.155/);
  assert.equal(ids.get('ep:default/nginx-service:10.244.51.4')?.classes, 'endpoint');
  assert.equal(ids.get('ep:default/nginx-service:10.244.58.3')?.classes, 'endpoint notready');
  assert.ok(!ids.has('ep:default/nginx-service:10.1.2.3'), 'an endpoint that is no pod of the picture has no edge');
  assert.ok(!ids.has('svc:default/headless'));
  assert.equal(ids.get('pod:default/nginx-deployment-6d7bc6944-x2zzq')?.classes, 'pod notready');
});

test('long names are cut with an ellipsis on the label and kept whole in the tooltip', () => {
  assert.equal(shorten('webapp01'), 'webapp01');
  const long = 'nginx-deployment-6d7bc6944-57f85';
  assert.equal(shorten(long).length, LABEL_MAX);
  assert.ok(shorten(long).endsWith('…'));
  const pod = byId(topologyElements(SAMPLE)).get(`pod:default/${long}`);
  assert.ok(pod?.data.label?.startsWith(shorten(long)));
  assert.match(pod?.data.title ?? '', new RegExp(`default/${long}`));
});

test('property: any topology gives a well-formed graph with one element per node, device and pod', () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/);
  const topo = fc.record({
    nodes: fc.uniqueArray(name, { minLength: 1, maxLength: 12 }),
    pods: fc.uniqueArray(fc.tuple(name, fc.nat(11), fc.boolean()), { maxLength: 80, selector: (p) => p[0] }),
    bridge: fc.constantFrom('docker0', 'cni0'),
    flannel: fc.constantFrom('flannel0', 'flannel.1', undefined),
    services: fc.uniqueArray(fc.tuple(name, fc.array(fc.nat(79), { maxLength: 5 })), { maxLength: 6, selector: (s) => s[0] }),
  });
  fc.assert(fc.property(topo, (r) => {
    const pods: TopologyPod[] = r.pods.map(([n, i, ready], k) => ({ key: `ns/${n}`, namespace: 'ns', name: n, ip: `10.0.${k >> 8}.${k & 255}`, node: r.nodes[i % r.nodes.length] as string, hostVeth: `veth${k}`, ready, labels: {} }));
    const t: Topology = {
      flannelBackend: 'udp', proxyMode: 'iptables', outside: [],
      nodes: r.nodes.map((n, i) => ({ name: n, ip: `192.168.0.${i}`, devices: [dev('eth0', 'nic'), dev(r.bridge, 'bridge'), ...(r.flannel !== undefined ? [dev(r.flannel, 'flannel')] : [])] })),
      pods,
      services: r.services.map(([n, eps], i) => ({ key: `ns/${n}`, namespace: 'ns', name: n, type: 'ClusterIP', clusterIP: `10.96.0.${i}`, ports: [], endpoints: eps.filter((e) => e < pods.length).map((e) => ({ ip: (pods[e] as TopologyPod).ip, pod: (pods[e] as TopologyPod).key, ready: true })) })),
    };
    const els = topologyElements(t);
    assertWellFormed(els);
    const nodes = els.filter((e) => e.group === 'nodes');
    assert.equal(nodes.filter((e) => e.classes.split(' ')[0] === 'pod').length, pods.length);
    assert.equal(nodes.filter((e) => e.classes === 'node').length, r.nodes.length);
    assert.equal(nodes.filter((e) => e.classes.startsWith('device')).length, t.nodes.reduce((a, n) => a + n.devices.length, 0));
  }), { numRuns: 150 });
});

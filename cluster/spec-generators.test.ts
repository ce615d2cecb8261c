import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { loadClusterSpec, parseClusterSpec, SpecError } from './spec.ts';
import { specError } from '../tests/support/spec-error.ts';
import type { ClusterSpec } from './spec.ts';
import { patternName } from './spec-generators.ts';

const names = (s: ClusterSpec): string[] => s.nodes.map((n) => `${n.name}=${n.address}`);

test('name patterns: {n} is the index from 1, {n:W} zero-pads it', () => {
  assert.equal(patternName('node{n}', 7), 'node7');
  assert.equal(patternName('node{n:3}', 7), 'node007');
  assert.equal(patternName('w-{n:2}-a', 123), 'w-123-a');
  assert.equal(patternName('solo', 1), 'solo');
});

test('a node pool is the node list it stands for: names, addresses in order, labels, cpus', () => {
  const pooled = parseClusterSpec([
    'nodes: [{name: cp, address: 192.168.50.11}]',
    'nodePools:',
    '  - { name: "w{n:2}", count: 3, addresses: 192.168.50.10-192.168.50.20, labels: { pool: a }, cpus: 2 }',
    '  - { name: "x{n}", count: 2, addresses: 192.168.50.252/30 }',
    'outside: { cidr: 203.0.113.0/24, router: { underlay: 192.168.50.12, outside: 203.0.113.1 } }',
  ].join('\n'));
  // The listed node's .11 and the router's .12 are skipped; a /30 pool leaves out its network and broadcast addresses.
  assert.deepEqual(names(pooled), ['cp=192.168.50.11', 'w01=192.168.50.10', 'w02=192.168.50.13', 'w03=192.168.50.14', 'x1=192.168.50.253', 'x2=192.168.50.254']);
  assert.deepEqual(pooled.nodes[1], { name: 'w01', address: '192.168.50.10', labels: { pool: 'a' }, cpus: 2 });
  const listed = parseClusterSpec([
    'nodes:',
    ...pooled.nodes.map((n) => `  - { name: ${n.name}, address: ${n.address}, labels: ${JSON.stringify(n.labels)}${n.cpus !== undefined ? `, cpus: ${n.cpus}` : ''} }`),
    'outside: { cidr: 203.0.113.0/24, router: { underlay: 192.168.50.12, outside: 203.0.113.1 } }',
  ].join('\n'));
  assert.deepEqual(pooled, listed);
});

test('a workload generator is N Deployments of M replicas, each behind a ClusterIP Service, after the manifests', () => {
  const s = parseClusterSpec([
    'nodes: [{name: a, address: 192.168.50.5}]',
    'workloads:',
    '  - { name: "web{n:2}", count: 2, replicas: 3, port: 8080 }',
    '  - { name: "dns{n}", count: 1, image: "netsim/udp-echo", port: 53, protocol: UDP, namespace: infra }',
    'manifests: |',
    '  apiVersion: v1',
    '  kind: Pod',
    '  metadata: { name: solo }',
    '  spec: { containers: [{ name: c, image: busybox }] }',
  ].join('\n'));
  const what = s.manifests.map((m) => `${String(m['kind'])}/${String((m['metadata'] as { namespace?: string }).namespace ?? '')}/${String((m['metadata'] as { name: string }).name)}`);
  assert.deepEqual(what, ['Pod//solo', 'Namespace//infra', 'Deployment/default/web01', 'Service/default/web01', 'Deployment/default/web02', 'Service/default/web02', 'Deployment/infra/dns1', 'Service/infra/dns1']);
  const dep = s.manifests[2] as { spec: { replicas: number; selector: unknown; template: { metadata: { labels: unknown }; spec: { containers: Array<{ image: string; ports: unknown }> } } } };
  assert.equal(dep.spec.replicas, 3);
  assert.deepEqual(dep.spec.selector, { matchLabels: { app: 'web01' } });
  assert.deepEqual(dep.spec.template.metadata.labels, { app: 'web01' });
  assert.equal(dep.spec.template.spec.containers[0]?.image, 'nginx:1.27');
  assert.deepEqual(dep.spec.template.spec.containers[0]?.ports, [{ containerPort: 8080, protocol: 'TCP' }]);
  assert.deepEqual((s.manifests[7] as { spec: unknown }).spec, { selector: { app: 'dns1' }, ports: [{ name: 'udp', port: 53, targetPort: 53, protocol: 'UDP' }] });
});

test('the envelope: 5 000 nodes, 150 000 pods at 110 a node, 10 000 Services in a few lines (examples/envelope-cluster.yaml); one more is NETSIM_SPEC_LIMIT where it is asked for', () => {
  const big = (nodes: number, services: number, replicas: number): string => [
    'nodePools:',
    `  - { name: "node{n:4}", count: ${nodes}, addresses: 172.16.0.10 }`,
    'network: { underlayCIDR: 172.16.0.0/12, clusterCIDR: 100.64.0.0/10 }',
    'workloads:',
    `  - { name: "svc{n:5}", count: ${services}, replicas: ${replicas} }`,
  ].join('\n');
  const s = loadClusterSpec(fileURLToPath(new URL('../examples/envelope-cluster.yaml', import.meta.url)));
  assert.equal(s.nodes.length, 5000);
  assert.equal(s.nodes.at(-1)?.name, 'node5000');
  assert.equal(s.manifests.length, 20_000);
  assert.equal(s.manifests.reduce((n, m) => n + ((m['spec'] as { replicas?: number }).replicas ?? 0), 0), 150_000);
  let e = specError(big(5001, 10, 1));
  assert.equal(e.code, 'NETSIM_SPEC_LIMIT');
  assert.equal(e.message, 'c.yaml:2:26: nodePools.0.count: 5001 nodes with this pool: Kubernetes supports at most 5000 nodes in a cluster');
  e = specError(big(5000, 10_001, 1));
  assert.equal(e.message, 'c.yaml:5:25: workloads.0.count: 10001 Services with this generator: Kubernetes supports at most 10000 in a cluster');
  e = specError(big(5000, 10_000, 16));
  assert.equal(e.message, 'c.yaml:5:39: workloads.0.replicas: Kubernetes supports at most 150000 pods in a cluster; the spec asks for 160000');
  e = specError(big(10, 10, 111));
  assert.equal(e.code, 'NETSIM_SPEC_LIMIT');
  assert.match(e.message, /workloads\.0\.replicas: 10 nodes run at most 1100 \(kubelet's --max-pods 110 per node\); the spec asks for 1110$/);
  // Manifests count too: a DaemonSet is a pod on every node.
  e = specError('nodes: [{name: a, address: 192.168.50.5}]\nmanifests: |\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata: { name: d }\n  spec: { replicas: 111 }\n');
  assert.match(e.message, /^c\.yaml:2:1: manifests: 1 nodes run at most 110/);
});

test('pool and generator mistakes are located NETSIM_SPEC_VALUE errors', () => {
  const cases: Array<[string, RegExp]> = [
    ['nodePools: [{ name: node, count: 2, addresses: 192.168.50.10 }]', /nodePools\.0\.name: "node" names 2 nodes: put \{n\}/],
    ['nodePools: [{ name: "n{n}", count: 3, addresses: 192.168.50.10-192.168.50.11 }]', /nodePools\.0\.addresses: 192\.168\.50\.10-192\.168\.50\.11 has room for 2 of the pool's 3 nodes/],
    ['nodePools: [{ name: "n{n}", count: 300, addresses: 192.168.50.10 }]', /nodePools\.0\.addresses: 192\.168\.51\.0 \(node 246 of the pool\) is outside underlayCIDR 192\.168\.50\.0\/24/],
    ['nodePools: [{ name: "n{n}", count: 2, addresses: nowhere }]', /nodePools\.0\.addresses: "nowhere" is not a CIDR/],
    ['nodePools: [{ name: "n{n}", count: 300, addresses: 10.0.0.1 }]\nnetwork: { underlayCIDR: 10.0.0.0/16 }', /network\.clusterCIDR: 10\.244\.0\.0\/16 holds 255 node subnets of \/24 for 300 nodes/],
    ['nodes: [{name: n1, address: 192.168.50.5}]\nnodePools: [{ name: "n{n}", count: 2, addresses: 192.168.50.10 }]', /nodePools\.0\.name: duplicate node name "n1"/],
    ['nodes: []', /nodes: the cluster has no nodes/],
    ['nodes: [{name: a, address: 192.168.50.5}]\nworkloads: [{ name: "1web{n}", count: 2 }]', /workloads\.0\.name: "1web\{n\}" gives "1web1", which is not a Service name/],
    ['nodes: [{name: a, address: 192.168.50.5}]\nworkloads: [{ name: web, count: 2 }]', /workloads\.0\.name: "web" names 2 workloads/],
  ];
  for (const [text, re] of cases) {
    const e = specError(text);
    assert.equal(e.code, 'NETSIM_SPEC_VALUE', text);
    assert.match(e.message, /^c\.yaml:\d+:\d+: /, text);
    assert.match(e.message, re, text);
  }
});

test('property: any pool or generator gives a spec or a SpecError, never another exception', () => {
  const pattern = fc.oneof(fc.constantFrom('n{n}', 'n{n:3}', 'node', '{n}', 'a{n:99}', '{n:1}x', 'a-{n}-'), fc.string({ maxLength: 12 }));
  const addresses = fc.oneof(fc.constantFrom('192.168.50.0/24', '192.168.50.250', '192.168.50.1-192.168.50.3', '10.0.0.0/8', '1.2.3', '192.168.50.9/33', '-'), fc.string({ maxLength: 20 }));
  fc.assert(fc.property(pattern, fc.integer({ min: -1, max: 400 }), addresses, pattern, fc.integer({ min: -1, max: 300 }), fc.integer({ min: -1, max: 200 }), (p, count, addr, w, wc, reps) => {
    const text = `nodePools: [{ name: ${JSON.stringify(p)}, count: ${count}, addresses: ${JSON.stringify(addr)} }]\nworkloads: [{ name: ${JSON.stringify(w)}, count: ${wc}, replicas: ${reps} }]\n`;
    try {
      const s = parseClusterSpec(text);
      assert.equal(s.nodes.length, count);
      assert.equal(s.manifests.length, 2 * wc);
    } catch (e) {
      assert.ok(e instanceof SpecError, `unexpected ${String(e)}`);
    }
  }), { numRuns: 300 });
});

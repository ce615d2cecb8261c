import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseClusterSpec, parseManifests, SpecError, parseDuration, parseBandwidth, loadClusterSpec } from './spec.ts';
import { specError } from '../tests/support/spec-error.ts';

const seedText = readFileSync(new URL('../examples/seed-cluster.yaml', import.meta.url), 'utf8');

test('the seed example parses with its defaults and manifests', () => {
  const s = parseClusterSpec(seedText, 'seed-cluster.yaml');
  assert.equal(s.name, 'seed');
  assert.deepEqual(s.nodes.map((n) => `${n.name}=${n.address}`), ['node01=192.168.50.11', 'node02=192.168.50.12']);
  assert.equal(s.network.flannel.backend, 'udp');
  assert.equal(s.network.flannel.port, 8285);
  assert.equal(s.runtime, 'docker');
  assert.equal(s.proxy.mode, 'iptables');
  assert.equal(s.underlay.latencyNs, 50_000);
  assert.equal(s.underlay.bandwidthBps, 1e9);
  assert.deepEqual(s.manifests.map((m) => `${String(m['kind'])}/${String((m['metadata'] as { name: string }).name)}`), [
    'Deployment/nginx-deployment', 'Service/nginx-service', 'Pod/webapp01', 'Pod/webapp02', 'Pod/webapp03', 'Pod/backend', 'Service/backend',
  ]);
  assert.equal(s.outside?.hosts[0]?.name, 'client');
});

test('defaults: vxlan backend gets port 8472; minimal spec needs only nodes', () => {
  const s = parseClusterSpec('nodes: [{name: a, address: 192.168.50.5}]\nnetwork: {flannel: {backend: vxlan}}\n');
  assert.equal(s.network.flannel.port, 8472);
  assert.equal(s.network.clusterCIDR, '10.244.0.0/16');
  assert.equal(s.seed, 1);
});

test('errors name the code, file, line, column and field', () => {
  let e = specError('nodes:\n  - name: node01\n    address: 192.168.50.11\n    colour: blue\n');
  assert.equal(e.code, 'NETSIM_SPEC_SCHEMA');
  assert.equal(e.message, 'c.yaml:2:5: nodes.0: unknown field "colour"');
  e = specError('nodes:\n  - {name: a, address: 192.168.50.11}\nruntime: containerd\n');
  assert.equal(e.code, 'NETSIM_SPEC_SCHEMA');
  assert.match(e.message, /^c\.yaml:3:1: runtime: must be one of "docker", "cni"$/);
  e = specError('nodes:\n  - {name: a, address: 10.0.0.1}\n');
  assert.equal(e.code, 'NETSIM_SPEC_VALUE');
  assert.match(e.message, /nodes\.0\.address: 10\.0\.0\.1 is outside underlayCIDR 192\.168\.50\.0\/24/);
  e = specError('nodes:\n  - {name: a, address: 192.168.50.2}\n  - {name: a, address: 192.168.50.3}\n');
  assert.match(e.message, /duplicate node name "a"/);
  e = specError('nodes: [\n');
  assert.equal(e.code, 'NETSIM_SPEC_YAML');
  assert.equal(e.line !== undefined, true);
  e = specError('nodes:\n  - {name: a, address: 192.168.50.999}\n');
  assert.match(e.message, /not an IPv4 address/);
  e = specError('nodes:\n  - {name: a, address: 192.168.50.9}\nmanifests: |\n  kind: Pod\n');
  assert.equal(e.code, 'NETSIM_SPEC_MANIFEST');
  assert.throws(() => loadClusterSpec('/nonexistent/x.yaml'), (x: unknown) => x instanceof SpecError && x.code === 'NETSIM_SPEC_FILE');
});

test('manifests are YAML 1.1 like kubectl: `on` is a boolean', () => {
  const [m] = parseManifests('apiVersion: v1\nkind: ConfigMap\ndata:\n  flag: on\n');
  assert.equal((m?.['data'] as { flag: unknown }).flag, true);
});

test('durations and bandwidths', () => {
  assert.equal(parseDuration('50us'), 50_000);
  assert.equal(parseDuration('1.5ms'), 1_500_000);
  assert.equal(parseDuration('2s'), 2e9);
  assert.equal(parseBandwidth('100Mbit'), 1e8);
  assert.throws(() => parseDuration('5 minutes'), RangeError);
});

test('property: any text gives a spec or a SpecError, never another exception', () => {
  const fragments = ['nodes:', '\n  - ', 'name: a', 'address: 192.168.50.1', '{', '}', '[', ']', ': ', 'runtime: cni', 'seed: -1', 'network:', ' flannel: {backend: x}', '\t', '"', "'", '---', 'manifests: |', '  kind: Pod'];
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(fc.constantFrom(...fragments), { maxLength: 30 }).map((a) => a.join(''))), (text) => {
    try {
      parseClusterSpec(text);
    } catch (e) {
      assert.ok(e instanceof SpecError, `unexpected ${String(e)}`);
    }
  }), { numRuns: 500 });
});

test('network.loadBalancerPool: a CIDR, a range or a list; absent means no load-balancer controller', () => {
  const base = 'nodes: [{name: a, address: 192.168.50.5}]\n';
  assert.equal(parseClusterSpec(base).network.loadBalancerPool, undefined);
  assert.deepEqual(parseClusterSpec(`${base}network: {loadBalancerPool: 198.51.100.0/28}\n`).network.loadBalancerPool, ['198.51.100.0/28']);
  assert.deepEqual(parseClusterSpec(`${base}network:\n  loadBalancerPool: [198.51.100.10-198.51.100.20, 198.51.100.99]\n`).network.loadBalancerPool, ['198.51.100.10-198.51.100.20', '198.51.100.99']);
  let e = specError(`${base}network:\n  loadBalancerPool:\n    - 198.51.100.0/28\n    - 198.51.100.20-198.51.100.10\n`);
  assert.equal(e.code, 'NETSIM_SPEC_VALUE');
  assert.equal(e.message, 'c.yaml:5:7: network.loadBalancerPool.1: "198.51.100.20-198.51.100.10" is not a CIDR (198.51.100.0/28), a range (198.51.100.10-198.51.100.20) or an IPv4 address');
  e = specError(`${base}network: {loadBalancerPool: 10.96.0.0/28}\n`);
  assert.match(e.message, /^c\.yaml:2:11: network\.loadBalancerPool: 10\.96\.0\.0\/28 overlaps serviceCIDR 10\.96\.0\.0\/12$/);
  e = specError(`${base}network: {loadBalancerPool: 10.0.0.0/8}\n`);
  assert.match(e.message, /overlaps clusterCIDR 10\.244\.0\.0\/16/);
  e = specError(`${base}network: {loadBalancerPool: 192.168.50.0-192.168.50.9}\n`);
  assert.match(e.message, /contains the address of node a \(nodes\.0\)/);
  e = specError(`${base}network: {loadBalancerPool: 7}\n`);
  assert.equal(e.code, 'NETSIM_SPEC_SCHEMA');
  assert.match(e.message, /network\.loadBalancerPool: /);
});

test('dns: on by default with cluster.local and 2 replicas; the upstream must be an outside host; records and domain validated', () => {
  const s = parseClusterSpec(seedText, 'seed-cluster.yaml');
  assert.deepEqual(s.dns, { enabled: true, clusterDomain: 'cluster.local', replicas: 2, upstream: undefined, records: { 'client.example.com': '203.0.113.10' }, nodeLocalCache: undefined });
  const withDns = (dns: string): string => seedText.replace('\nmanifests: |', `\ndns: ${dns}\nmanifests: |`);
  assert.equal(parseClusterSpec(withDns('{ enabled: false }')).dns.enabled, false);
  assert.deepEqual(parseClusterSpec(withDns('{ upstream: client, records: { Example.COM.: 203.0.113.10 } }')).dns.records, { 'example.com': '203.0.113.10' });
  let e = specError(withDns('{ upstream: nobody }'));
  assert.equal(e.code, 'NETSIM_SPEC_VALUE');
  assert.match(e.message, /dns\.upstream: no outside host named "nobody"/);
  e = specError(withDns('{ clusterDomain: "Not_A.domain" }'));
  assert.equal(e.code, 'NETSIM_SPEC_SCHEMA');
  assert.match(e.message, /dns\.clusterDomain/);
  e = specError(withDns('{ records: { a.example: 999.1.1.1 } }'));
  assert.match(e.message, /dns\.records/);
});

test('dns.nodeLocalCache: off by default; enabled, its address defaults to 169.254.20.10; bad input is a spec error naming the field', () => {
  const base = 'nodes: [{name: a, address: 192.168.50.5}]\noutside: { cidr: 203.0.113.0/24, router: { underlay: 192.168.50.1, outside: 203.0.113.1 } }\n';
  assert.equal(parseClusterSpec(base).dns.nodeLocalCache, undefined);
  assert.equal(parseClusterSpec(`${base}dns: { nodeLocalCache: { enabled: false, address: 10.96.0.10 } }\n`).dns.nodeLocalCache, undefined, 'disabled: nothing checked, nothing installed');
  assert.deepEqual(parseClusterSpec(`${base}dns: { nodeLocalCache: { enabled: true } }\n`).dns.nodeLocalCache, { address: '169.254.20.10' });
  assert.deepEqual(parseClusterSpec(`${base}dns: { nodeLocalCache: { enabled: true, address: 169.254.25.10 } }\n`).dns.nodeLocalCache, { address: '169.254.25.10' });
  let e = specError(`${base}dns:\n  nodeLocalCache: { enabled: true, address: 10.96.0.10 }\n`);
  assert.equal(e.code, 'NETSIM_SPEC_VALUE');
  assert.match(e.message, /^c\.yaml:4:36: dns\.nodeLocalCache\.address: 10\.96\.0\.10 is inside serviceCIDR 10\.96\.0\.0\/12/);
  e = specError(`${base}dns: { nodeLocalCache: { enabled: true, address: 192.168.50.77 } }\n`);
  assert.match(e.message, /is inside underlayCIDR 192\.168\.50\.0\/24/);
  e = specError(`${base}dns: { nodeLocalCache: { enabled: true, address: 127.0.0.53 } }\n`);
  assert.match(e.message, /is inside loopback/);
  e = specError(`${base}dns: { nodeLocalCache: { enabled: true, address: 169.254.20 } }\n`);
  assert.match(e.message, /dns\.nodeLocalCache\.address: not an IPv4 address: "169\.254\.20"/);
  e = specError(`${base}dns: { enabled: false, nodeLocalCache: { enabled: true } }\n`);
  assert.match(e.message, /dns\.nodeLocalCache\.enabled: the node-local cache forwards to kube-dns: it needs the DNS add-on/);
  e = specError('nodes: [{name: a, address: 192.168.50.5}]\ndns: { nodeLocalCache: { enabled: true } }\n');
  assert.match(e.message, /dns\.nodeLocalCache\.enabled: the node-local cache reaches kube-dns from the node itself, which needs a default route/);
  e = specError(`${base}dns: { nodeLocalCache: { enabled: true, port: 53 } }\n`);
  assert.equal(e.code, 'NETSIM_SPEC_SCHEMA');
  assert.match(e.message, /unknown field "port"/);
});

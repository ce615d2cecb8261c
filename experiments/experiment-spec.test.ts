import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExperimentSpecError, loadExperimentSpec, parseExperimentDuration, parseExperimentSpec, parseRate } from './experiment-spec.ts';

const full = `apiVersion: netsim/v1
kind: Experiment
metadata: { name: udp-blackhole }
cluster: ../examples/seed-cluster.yaml
seed: 7
clients:
  - { name: pods, count: 20, nodes: [node01, node02] }
  - { name: internet, count: 50, outside: client, sourceCIDR: 203.0.113.128/25 }
target: { kind: NodePort, service: default/nginx-service, port: 30000, node: node01 }
modes: [iptables, ipvs-rr, ipvs-mh]
protocol: udp
pattern: keep-alive
requestsPerConnection: 5
rate: 2/ms
duration: 10s
window: 500ms
service: { sessionAffinity: ClientIP, affinityTimeout: 60s, externalTrafficPolicy: Local }
proxy: { conntrackCleanup: false, syncPeriod: 1s }
events:
  - { at: 6s, action: node-down, node: node02 }
  - { at: 3s, action: scale, deployment: nginx, replicas: 5 }
  - { at: 3s, action: endpoint-unready, pod: default/nginx-abc, label: "nginx-abc unready" }
  - { at: 4s, action: proxy-sync-delay, node: node01, delay: 2s }
`;

const minimal = `cluster: c.yaml
clients: [{ count: 10, nodes: [node01] }]
target: { kind: ClusterIP, service: web, port: 80 }
modes: [iptables]
rate: 1000/s
duration: 2s
`;

function specError(text: string): ExperimentSpecError {
  try {
    parseExperimentSpec(text, 'e.yaml');
  } catch (e) {
    assert.ok(e instanceof ExperimentSpecError, `expected ExperimentSpecError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

test('a full experiment parses, with events sorted and times in ns', () => {
  const s = parseExperimentSpec(full, '/x/examples/exp/udp.yaml');
  assert.equal(s.name, 'udp-blackhole');
  assert.deepEqual(s.cluster, { file: '/x/examples/examples/seed-cluster.yaml' });
  assert.equal(s.seed, 7);
  assert.deepEqual(s.clients[1], { name: 'internet', count: 50, placement: { kind: 'outside', host: 'client' }, sourceCIDR: '203.0.113.128/25' });
  assert.deepEqual(s.target, { kind: 'NodePort', service: { namespace: 'default', name: 'nginx-service' }, port: 30000, node: 'node01' });
  assert.deepEqual(s.modes, ['iptables', 'ipvs-rr', 'ipvs-mh']);
  assert.equal(s.protocol, 'udp');
  assert.equal(s.requestsPerConnection, 5);
  assert.equal(s.ratePerSecond, 2000);
  assert.equal(s.durationNs, 10e9);
  assert.equal(s.windowNs, 500e6);
  assert.deepEqual(s.service, { sessionAffinity: 'ClientIP', affinityTimeoutNs: 60e9, externalTrafficPolicy: 'Local', internalTrafficPolicy: undefined });
  assert.deepEqual(s.proxy, { conntrackCleanup: false, syncPeriodNs: 1e9 });
  assert.deepEqual(s.events.map((e) => [e.at / 1e9, e.action, e.label]), [
    [3, 'scale', 'scale nginx to 5'], [3, 'endpoint-unready', 'nginx-abc unready'], [4, 'proxy-sync-delay', 'node01 kube-proxy sync +2s'], [6, 'node-down', 'node02 down'],
  ]);
  const d = s.events[0]!;
  assert.ok(d.action === 'scale' && d.deployment.namespace === 'default' && d.replicas === 5);
});

test('defaults for a minimal experiment', () => {
  const s = parseExperimentSpec(minimal);
  assert.equal(s.name, 'experiment');
  assert.equal(s.seed, 1);
  assert.equal(s.protocol, 'tcp');
  assert.equal(s.pattern, 'per-request');
  assert.equal(s.requestsPerConnection, 1);
  assert.equal(s.arrival, 'poisson');
  assert.equal(s.windowNs, 100e6);
  assert.equal(s.proxy.conntrackCleanup, true);
  assert.deepEqual(s.clients[0]?.name, 'clients-1');
  assert.deepEqual(s.events, []);
  assert.deepEqual(s.cluster, { file: 'c.yaml' });
});

test('errors carry a stable code, file, line, column and field', () => {
  let e = specError(minimal.replace('modes: [iptables]', 'modes: [iptables, ipvs-xx]'));
  assert.equal(e.code, 'NETSIM_EXP_SCHEMA');
  assert.match(e.message, /^e\.yaml:4:\d+: modes\.1: must be one of "iptables", "nftables", "ipvs-rr"/);
  e = specError(minimal + 'colour: blue\n');
  assert.equal(e.message, 'e.yaml:7:1: unknown field "colour"');
  e = specError(minimal.replace('duration: 2s', 'duration: 2 seconds'));
  assert.equal(e.message, 'e.yaml:6:1: duration: has the wrong format');
  e = specError(minimal + 'window: 5s\n');
  assert.equal(e.code, 'NETSIM_EXP_VALUE');
  assert.equal(e.message, 'e.yaml:7:1: window: is longer than the duration (2s)');
  e = specError(minimal.replace('kind: ClusterIP', 'kind: NodePort'));
  assert.equal(e.message, 'e.yaml:3:1: target: missing required field "node" (the node whose NodePort the clients hit)');
  e = specError(minimal.replace('{ count: 10, nodes: [node01] }', '{ count: 10, nodes: [node01], outside: client }'));
  assert.equal(e.message, 'e.yaml:2:11: clients.0: give exactly one of "nodes" (client pods on those nodes) or "outside" (an outside host)');
  e = specError(minimal.replace('{ count: 10, nodes: [node01] }', '{ count: 10, outside: c, sourceCIDR: 10.0.0.0/30 }'));
  assert.match(e.message, /clients\.0\.sourceCIDR: 10\.0\.0\.0\/30 has 4 addresses for 10 clients/);
  e = specError(minimal + 'events:\n  - { at: 3s, action: node-down, node: n1 }\n');
  assert.equal(e.message, 'e.yaml:8:7: events.0.at: 3s is after the end of the run (2s)');
  e = specError(minimal + 'events:\n  - { at: 1s, action: scale, deployment: web }\n');
  assert.equal(e.message, 'e.yaml:8:5: events.0: missing required field "replicas" for action scale');
  e = specError(minimal + 'events:\n  - { at: 1s, action: node-down, node: n1, pod: p }\n');
  assert.match(e.message, /events\.0\.pod: not used with action node-down/);
  e = specError(minimal + 'requestsPerConnection: 3\n');
  assert.match(e.message, /requestsPerConnection: only used with pattern: keep-alive/);
  e = specError(minimal + 'modes: [ipvs-rr]\n');
  assert.equal(e.code, 'NETSIM_EXP_YAML'); // duplicate key
  e = specError('clients: [\n');
  assert.equal(e.code, 'NETSIM_EXP_YAML');
  assert.equal(e.line !== undefined, true);
  e = specError('- just a list\n');
  assert.equal(e.message, 'e.yaml:1:1: an experiment must be a mapping');
  e = specError(minimal.replace('modes: [iptables]', 'modes: [iptables, iptables]'));
  assert.match(e.message, /modes: lists the same mode twice/);
  e = specError(minimal.replace('rate: 1000/s', 'rate: fast'));
  assert.match(e.message, /^e\.yaml:5:1: rate: has the wrong type or format$/);
  assert.throws(() => loadExperimentSpec('/nonexistent/exp.yaml'), (x: unknown) => x instanceof ExperimentSpecError && x.code === 'NETSIM_EXP_FILE');
});

test('durations and rates', () => {
  assert.equal(parseExperimentDuration('50us'), 50_000);
  assert.equal(parseExperimentDuration('1.5s'), 1.5e9);
  assert.equal(parseExperimentDuration('2m'), 120e9);
  assert.equal(parseRate('600/min'), 10);
  assert.equal(parseRate(250), 250);
  assert.throws(() => parseRate('x'), RangeError);
});

test('property: any text gives a spec or an ExperimentSpecError, never another exception', () => {
  const fragments = ['cluster: c.yaml\n', 'clients: [{count: 3, nodes: [a]}]\n', 'target: {kind: Pod, pod: p, port: 80}\n', 'modes: [iptables]\n', 'rate: 10/s\n', 'duration: 1s\n',
    'events: [{at: 1s, action: scale}]\n', 'window: 0s\n', '&a [*a]\n', 'x: *b\n', '? [a]\n: b\n', '"\\u0000"\n', '__proto__: {}\n', 'constructor: 1\n', '%YAML 1.2\n---\n', '- 1\n', '{', '\t'];
  const textArb = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(fc.constantFrom(...fragments), { maxLength: 10 }).map((a) => a.join('')),
    fc.tuple(fc.constant(minimal), fc.string({ maxLength: 30 }), fc.nat(200)).map(([m, s, i]) => m.slice(0, i % (m.length + 1)) + s + m.slice(i % (m.length + 1))),
  );
  fc.assert(fc.property(textArb, (text) => {
    try {
      const s = parseExperimentSpec(text, 'f.yaml');
      assert.ok(s.modes.length > 0 && s.durationNs > 0);
    } catch (e) {
      if (!(e instanceof ExperimentSpecError)) throw new Error(`not an ExperimentSpecError for ${JSON.stringify(text)}: ${String(e)}`);
      assert.match(e.code, /^NETSIM_EXP_(YAML|SCHEMA|VALUE)$/);
    }
  }), { numRuns: 400 });
});

test('clients[].nameservers (protocol dns): the pods\' resolv.conf nameservers replaced; bad input named', () => {
  const dns = minimal.replace('service: web, port: 80', 'service: kube-system/kube-dns, port: 53') + 'protocol: dns\nlookup: web\n';
  const s = parseExperimentSpec(dns.replace('{ count: 10, nodes: [node01] }', '{ count: 10, nodes: [node01], nameservers: [10.96.0.10] }'));
  assert.deepEqual(s.clients[0]?.nameservers, ['10.96.0.10']);
  assert.equal(parseExperimentSpec(dns).clients[0]?.nameservers, undefined, 'kubelet\'s by default');
  let e = specError(dns.replace('{ count: 10, nodes: [node01] }', '{ count: 10, nodes: [node01], nameservers: [10.96.0] }'));
  assert.equal(e.code, 'NETSIM_EXP_VALUE');
  assert.match(e.message, /clients\.0\.nameservers\.0: not an IPv4 address: "10\.96\.0"/);
  e = specError(dns.replace('{ count: 10, nodes: [node01] }', '{ count: 10, nodes: [node01], nameservers: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4] }'));
  assert.equal(e.code, 'NETSIM_EXP_SCHEMA', 'glibc reads three at most');
  e = specError(minimal.replace('{ count: 10, nodes: [node01] }', '{ count: 10, nodes: [node01], nameservers: [10.96.0.10] }'));
  assert.match(e.message, /clients\.0\.nameservers: only used with protocol: dns/);
});

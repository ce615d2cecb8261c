import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cluster } from './cluster.ts';
import { DEMO_SPEC_PATH } from './demo-flows.ts';
import { parseClusterSpec, SpecError } from './spec.ts';
import { EndpointError } from './endpoint.ts';
import { SECOND } from '../netsim/time/scheduler.ts';

const seed = readFileSync(DEMO_SPEC_PATH, 'utf8');
const withClients = (yaml: string): string => seed.replace(/^manifests: \|/m, `${yaml}\nmanifests: |`);

test('declared clients run by themselves on the virtual clock and count answers per backend', async () => {
  const spec = parseClusterSpec(withClients([
    'clients:',
    '  - { name: poll, from: pod:webapp01, to: service:default/nginx-service:80, every: 1s, count: 6, path: /hello.html }',
    '  - { name: dgram, from: external:client, to: pod:backend, proto: udp, port: 9, every: 500ms, start: 1s, count: 2 }',
  ].join('\n')), 'spec.yaml');
  assert.equal(spec.clients[0]?.everyNs, SECOND);
  const cluster = await Cluster.build(spec);
  try {
    await cluster.runFor(8 * SECOND);
    const [poll, dgram] = cluster.clients;
    assert.equal(poll?.sent, 6);
    assert.equal(poll?.answered, 6);
    const names = [...(poll?.backends.keys() ?? [])].sort();
    assert.ok(names.length >= 1 && names.every((n) => /^nginx-deployment-[a-z0-9]+-[a-z0-9]{5}$/.test(n)), `answers name the nginx pods: ${names.join(', ')}`);
    assert.equal([...(poll?.backends.values() ?? [])].reduce((a, b) => a + b, 0), 6);
    // Nothing listens on UDP 9 in the backend pod: both datagrams fail (ICMP port unreachable), none is answered.
    assert.deepEqual([dgram?.sent, dgram?.answered, dgram?.failed], [2, 0, 2]);
  } finally {
    await cluster.close();
  }
});

test('clients: a typo in an endpoint fails the build with the closest names; bad values are located SpecErrors', async () => {
  await assert.rejects(Cluster.build(parseClusterSpec(withClients('clients:\n  - { name: c, from: pod:webap01, to: pod:backend }'))), (e: unknown) => e instanceof EndpointError && /did you mean "default\/webapp01"/.test(e.message));
  assert.throws(() => parseClusterSpec(withClients('clients:\n  - { name: c, from: pod:a, to: pod:b }\n  - { name: c, from: pod:a, to: pod:b }'), 's.yaml'), (e: unknown) => e instanceof SpecError && e.code === 'NETSIM_SPEC_VALUE' && e.path === 'clients.1.name' && /duplicate client name "c"/.test(e.message));
  assert.throws(() => parseClusterSpec(withClients('clients:\n  - { name: c, from: pod:a, to: pod:b, proto: sctp }'), 's.yaml'), (e: unknown) => e instanceof SpecError && e.code === 'NETSIM_SPEC_SCHEMA' && e.path.startsWith('clients.0'));
  assert.throws(() => parseClusterSpec(withClients('clients:\n  - { name: c, from: pod:a, to: pod:b, every: 0s }'), 's.yaml'), /clients\.0\.every: must be longer than 0/);
});

/**
 * A ReplicaSet of thousands of pods gets all of them (issue 23: a 200-node cluster asked
 * for 6 000 pods ran 1 732). Generated names are the prefix and five
 * characters; the first one tried spells a hash's leading decimal digits (≈10⁵ names),
 * so among a few thousand pods some names are taken. The apiserver tries other names
 * (upstream's RetryGenerateName) instead of answering 409, which stopped the
 * ReplicaSet's pass and, once the driver's rounds ran out, the rollout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory-store.ts';
import { Registry } from '../server/registry.ts';
import { resourceByName } from '../resources/index.ts';
import type { KubeObject, Pod, ReplicaSet } from '../api/index.ts';
import { RegistryControlApi } from './registry-api.ts';
import { ControllerManager } from './manager.ts';
import { standardControllers } from './standard.ts';

function registry(): Registry {
  let n = 0;
  return new Registry({ store: new MemoryStore(), clock: () => new Date(Date.parse('2025-01-01T00:00:00Z')), uid: () => `u${++n}`, gracefulPodDeletion: true });
}

const pods = resourceByName('pods')!;
const podBody = (generateName: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });

test('generateName: 4 000 creates from one prefix all succeed with distinct names; the first names are the ones always given', async () => {
  const reg = registry();
  await reg.create(resourceByName('namespaces')!, undefined, { metadata: { name: 'default' } });
  const names = new Set<string>();
  for (let i = 0; i < 4000; i++) {
    const p = await reg.create(pods, 'default', podBody('web-'));
    assert.match(p.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    names.add(p.metadata!.name!);
  }
  assert.equal(names.size, 4000);
  // Names that were free at the first try are unchanged (traces and docs keep their pod names).
  const again = registry();
  await again.create(resourceByName('namespaces')!, undefined, { metadata: { name: 'default' } });
  const first = await again.create(pods, 'default', podBody('web-'));
  assert.equal(first.metadata!.name, [...names][0]);
});

test('generateName: a dry run also reports a free name, and a name given explicitly still conflicts', async () => {
  const reg = registry();
  await reg.create(resourceByName('namespaces')!, undefined, { metadata: { name: 'default' } });
  const made = new Set<string>();
  for (let i = 0; i < 3000; i++) made.add((await reg.create(pods, 'default', podBody('x-'))).metadata!.name!);
  for (let i = 0; i < 500; i++) {
    const dry = await reg.create(pods, 'default', podBody('x-'), { dryRun: true });
    assert.ok(!made.has(dry.metadata!.name!), `dry run offered the taken name ${dry.metadata!.name!}`);
  }
  const taken = [...made][0]!;
  await assert.rejects(reg.create(pods, 'default', { ...podBody(''), metadata: { name: taken } }), (e: { code?: number }) => e.code === 409);
});

test('a Deployment of 3 000 replicas on 30 nodes gets all 3 000 pods Running in one settle', async () => {
  const reg = registry();
  const r = (x: string) => resourceByName(x)!;
  await reg.create(r('namespaces'), undefined, { metadata: { name: 'default' } });
  for (let i = 0; i < 30; i++) {
    await reg.create(r('nodes'), undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}` }, spec: {}, status: { addresses: [{ type: 'InternalIP', address: `192.168.56.${11 + i}` }] } });
  }
  const api = new RegistryControlApi(reg);
  const mgr = new ControllerManager(api, standardControllers(api, { clock: () => new Date(Date.parse('2025-01-01T00:00:00Z')), fakeKubelet: { terminationDelayMs: 0 } }));
  await reg.create(r('deployments'), 'default', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { replicas: 3000, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } } },
  });
  await mgr.settle();
  const all = (await reg.list(r('pods'), 'default')).items as unknown as Pod[];
  assert.equal(all.length, 3000);
  assert.equal(all.filter((p) => p.status?.phase === 'Running').length, 3000);
  const rs = (await reg.list(r('replicasets'), 'default')).items as unknown as ReplicaSet[];
  assert.deepEqual(rs.map((x) => [x.spec.replicas, x.status?.replicas, x.status?.readyReplicas]), [[3000, 3000, 3000]]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory-store.ts';
import { Registry } from '../server/registry.ts';
import { resourceByName } from '../resources/index.ts';
import type { Event, KubeObject, Service } from '../api/index.ts';
import { RegistryControlApi } from './registry-api.ts';
import { ControllerManager } from './manager.ts';
import { standardControllers } from './standard.ts';
import { LoadBalancerController, parseAddressPool, LB_EVENT_FAILED } from './load-balancer.ts';

async function setup(pool: string[] | undefined) {
  let now = Date.parse('2025-01-01T00:00:00Z');
  let n = 0;
  const clock = (): Date => new Date(now);
  const reg = new Registry({ store: new MemoryStore(), clock, uid: () => `u${++n}`, gracefulPodDeletion: true });
  const r = (x: string) => resourceByName(x)!;
  await reg.create(r('namespaces'), undefined, { metadata: { name: 'default' } });
  const api = new RegistryControlApi(reg);
  const mgr = new ControllerManager(api, standardControllers(api, { clock, ...(pool !== undefined ? { loadBalancerPool: pool } : {}) }));
  const svcs = async (): Promise<Map<string, string[]>> => new Map((await api.list<Service>('services', 'default')).map((s) => [s.metadata.name!, (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip!)]));
  const events = async (): Promise<Event[]> => api.list<Event>('events', 'default');
  const lb = async (name: string, extra: Record<string, unknown> = {}): Promise<void> => {
    now += 1000; // distinct creationTimestamps: allocation order is age order
    await reg.create(r('services'), 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80 }], ...extra } } as KubeObject);
  };
  return { reg, r, api, mgr, svcs, events, lb };
}

test('pool parsing: CIDRs, ranges and single IPs, merged and sorted; bad entries refused', () => {
  assert.deepEqual(parseAddressPool(['198.51.100.8/30', '198.51.100.1-198.51.100.3', '198.51.100.4']).map(([a, b]) => [a & 0xff, b & 0xff]), [[1, 4], [8, 11]]);
  assert.deepEqual(parseAddressPool(['10.0.0.5/24']).map(([a, b]) => [a & 0xff, b & 0xff]), [[0, 255]], 'a CIDR covers its whole block');
  for (const bad of ['198.51.100.0/33', '198.51.100.9-198.51.100.1', '300.1.1.1', 'nope']) assert.throws(() => parseAddressPool([bad]), /load-balancer pool/);
});

test('standardControllers: no pool, no load-balancer controller; LoadBalancer services stay pending', async () => {
  const c = await setup(undefined);
  assert.ok(!c.mgr.controllers.some((k) => k instanceof LoadBalancerController));
  await c.lb('a');
  await c.mgr.settle();
  assert.deepEqual((await c.svcs()).get('a'), []);
});

test('lowest free address, in age order; requested loadBalancerIP honoured when free; exhaustion is an Event, not a crash', async () => {
  const c = await setup(['198.51.100.10-198.51.100.11', '198.51.100.20/31']);
  assert.ok(c.mgr.controllers.some((k) => k instanceof LoadBalancerController));
  await c.lb('a');
  await c.lb('b');
  await c.lb('want21', { loadBalancerIP: '198.51.100.21' });
  await c.reg.create(c.r('services'), 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'plain' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } } as KubeObject);
  await c.mgr.settle();
  let s = await c.svcs();
  assert.deepEqual([s.get('a'), s.get('b'), s.get('want21'), s.get('plain')], [['198.51.100.10'], ['198.51.100.11'], ['198.51.100.21'], []]);
  // One left (.20); a second request for .21 is refused, then the pool runs dry.
  await c.lb('dup', { loadBalancerIP: '198.51.100.21' });
  await c.lb('outside', { loadBalancerIP: '203.0.113.1' });
  await c.lb('c');
  await c.lb('d');
  const passes = await c.mgr.settle();
  assert.ok(passes < 10, 'converges');
  s = await c.svcs();
  assert.deepEqual([s.get('dup'), s.get('outside'), s.get('c'), s.get('d')], [[], [], ['198.51.100.20'], []]);
  const failed = (await c.events()).filter((e) => e.reason === LB_EVENT_FAILED).map((e) => `${e.involvedObject.name}: ${e.message}`).sort();
  assert.deepEqual(failed, [
    'd: Failed to allocate IP for "default/d": no available IPs in the pool',
    'dup: Failed to allocate IP for "default/dup": requested loadBalancerIP 198.51.100.21 is already in use by "default/want21"',
    'outside: Failed to allocate IP for "default/outside": requested loadBalancerIP 203.0.113.1 is not in the pool',
  ]);
  assert.ok((await c.events()).filter((e) => e.reason === LB_EVENT_FAILED).every((e) => e.type === 'Warning' && e.involvedObject.kind === 'Service'));
  // Another pass writes nothing new (no repeated Events).
  assert.equal(await c.mgr.runOnce(), 0);

  // Deleting a holder frees its address; the waiting service gets it (lowest free).
  await c.reg.delete(c.r('services'), 'default', 'a', {});
  await c.mgr.settle();
  s = await c.svcs();
  assert.deepEqual(s.get('d'), ['198.51.100.10'], 'released on delete, reused by the oldest waiting service');
  // A type change releases too: b becomes ClusterIP, its status is cleared, dup still waits for .21.
  const b = (await c.api.list<Service>('services', 'default')).find((x) => x.metadata.name === 'b')!;
  const { externalTrafficPolicy: _etp, allocateLoadBalancerNodePorts: _alloc, ...spec } = b.spec;
  await c.api.update('services', 'default', 'b', { ...b, spec: { ...spec, type: 'ClusterIP', ports: b.spec.ports!.map(({ nodePort: _np, ...p }) => p) } });
  await c.mgr.settle();
  s = await c.svcs();
  assert.deepEqual(s.get('b'), [], 'status cleared when no longer a LoadBalancer');
  assert.deepEqual(s.get('dup'), [], 'the requested address is still held by want21');
  await c.lb('e');
  await c.mgr.settle();
  assert.deepEqual((await c.svcs()).get('e'), ['198.51.100.11'], 'b\'s address was released');
});

test('an address outside the pool or claimed twice is replaced; the older claimant keeps a shared one', async () => {
  const c = await setup(['198.51.100.0/30']);
  await c.lb('old');
  await c.lb('young');
  await c.lb('stray');
  // Statuses written by someone else: old and young both claim .2, stray an address outside the pool.
  for (const [name, ip] of [['old', '198.51.100.2'], ['young', '198.51.100.2'], ['stray', '192.0.2.1']] as const) {
    const s = (await c.api.list<Service>('services', 'default')).find((x) => x.metadata.name === name)!;
    await c.api.updateStatus('services', 'default', name, { ...s, status: { loadBalancer: { ingress: [{ ip }] } } });
  }
  await c.mgr.settle();
  const s = await c.svcs();
  assert.deepEqual([s.get('old'), s.get('young'), s.get('stray')], [['198.51.100.2'], ['198.51.100.0'], ['198.51.100.1']]);
});

/**
 * Lists at scale (issue 23): objects are decoded once per stored revision and kept next
 * to their bytes. `shared` lists (the in-process controllers) get the same frozen
 * objects until an object changes; selector lists decode only what matches; both give
 * the same items as an uncached list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { KubeObject } from '../api/index.ts';
import { resourceByName } from '../resources/index.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { deepFreeze, FROZEN_EMPTY, Registry } from './registry.ts';
import { RegistryControlApi } from '../controllers/registry-api.ts';

const PODS = resourceByName('pods')!;

function pod(name: string, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } as KubeObject;
}

async function registryWith(n: number): Promise<Registry> {
  const reg = new Registry({ store: new MemoryStore(), uid: (() => { let i = 0; return () => `uid-${++i}`; })(), clock: () => new Date(0) });
  await reg.create(resourceByName('namespaces')!, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } } as KubeObject, { fieldManager: 't' });
  for (let i = 0; i < n; i++) await reg.create(PODS, 'default', pod(`p${i}`, { app: `a${i % 10}`, tier: i % 2 === 0 ? 'web' : 'db' }), { fieldManager: 't' });
  return reg;
}

test('shared lists: one frozen object per stored revision, a new one once it changes; same items as a plain list', async () => {
  const reg = await registryWith(20);
  const a = (await reg.list(PODS, 'default', { shared: true })).items;
  const b = (await reg.list(PODS, 'default', { shared: true })).items;
  assert.equal(a.length, 20);
  assert.ok(a.every((o, i) => o === b[i]), 'the same objects, not decoded again');
  assert.ok(Object.isFrozen(a[0]) && Object.isFrozen(a[0]!.metadata) && Object.isFrozen((a[0] as unknown as { spec: { containers: unknown[] } }).spec.containers[0]));
  assert.throws(() => { (a[0]!.metadata as { name?: string }).name = 'x'; }, TypeError);
  assert.deepEqual(a, (await reg.list(PODS, 'default')).items);
  const p3 = a[3]!;
  await reg.update(PODS, 'default', p3.metadata!.name!, { ...p3, metadata: { ...p3.metadata, labels: { app: 'changed' } } }, { fieldManager: 't' });
  const c = (await reg.list(PODS, 'default', { shared: true })).items;
  assert.notEqual(c[3], a[3]);
  assert.equal(c[3]!.metadata?.labels?.['app'], 'changed');
  assert.equal(c[4], a[4]);
  // The in-process ControlApi lists shared objects.
  const api = new RegistryControlApi(reg);
  assert.equal((await api.list<KubeObject>('pods'))[4], a[4]);
  // Plain lists stay the caller's own (HTTP handlers may change them).
  const plain = (await reg.list(PODS, 'default')).items;
  assert.ok(!Object.isFrozen(plain[0]) && plain[0] !== c[0]);
});

test('shared lists: every empty object of a frozen copy is the one FROZEN_EMPTY (managedFields leaves); the copy equals a plain decode', async () => {
  const reg = await registryWith(3);
  const [a, b] = (await reg.list(PODS, 'default', { shared: true })).items;
  const fields = (o: KubeObject) => (o.metadata!.managedFields![0]!.fieldsV1 as { 'f:spec': { 'f:containers': Record<string, Record<string, unknown>> } })['f:spec']['f:containers'];
  const leafA = Object.values(fields(a!))[0]!['f:image'];
  assert.equal(leafA, FROZEN_EMPTY);
  assert.equal(Object.values(fields(b!))[0]!['f:image'], leafA, 'one object for every {} of every copy');
  assert.deepEqual(a, (await reg.list(PODS, 'default')).items[0]);
  assert.equal(JSON.stringify(a), JSON.stringify((await reg.list(PODS, 'default')).items[0]));
});

test('property: deepFreeze keeps the value (as JSON) and freezes every object in it', () => {
  const everyFrozen = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(everyFrozen));
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    const text = JSON.stringify(v);
    const frozen = deepFreeze(JSON.parse(text) as unknown);
    assert.equal(JSON.stringify(frozen), text);
    assert.ok(everyFrozen(frozen));
  }), { numRuns: 300 });
});

test('property: a selector list gives what filtering a plain list gives, whatever changed in between', async () => {
  const reg = await registryWith(30);
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(29), fc.constantFrom('a1', 'a2', 'a3')), { maxLength: 5 }), fc.constantFrom('app=a1', 'app in (a2,a3)', 'tier=web,app!=a2', '!tier', 'tier'), async (edits, selector) => {
    for (const [i, app] of edits) {
      const cur = (await reg.get(PODS, 'default', `p${i}`));
      await reg.update(PODS, 'default', `p${i}`, { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata?.labels, app } } }, { fieldManager: 't' });
    }
    const got = (await reg.list(PODS, 'default', { labelSelector: selector })).items.map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`);
    const all = (await reg.list(PODS, 'default')).items;
    const want = all.filter((o) => matches(selector, o.metadata?.labels ?? {})).map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`);
    assert.deepEqual(got, want);
  }), { numRuns: 40 });
});

/** The five selectors above, spelled out (an oracle independent of the registry's parser). */
function matches(sel: string, l: Record<string, string>): boolean {
  switch (sel) {
    case 'app=a1': return l['app'] === 'a1';
    case 'app in (a2,a3)': return l['app'] === 'a2' || l['app'] === 'a3';
    case 'tier=web,app!=a2': return l['tier'] === 'web' && l['app'] !== 'a2';
    case '!tier': return l['tier'] === undefined;
    default: return l['tier'] !== undefined;
  }
}

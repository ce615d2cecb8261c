import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Json } from './patch.ts';
import { applyMergePatch, createMergePatch, applyJsonPatch, applyStrategicMergePatch, PatchError, fieldSet, removeFields, subtractFieldSets } from './patch.ts';
import { strategyOf, resourceForKind } from '../resources/index.ts';

const merge = (kind: string) => strategyOf(resourceForKind(kind === 'Deployment' ? 'apps/v1' : 'v1', kind)!).merge;

// JSON values without nulls inside objects (merge patch cannot express a null value).
const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.boolean());
const doc: fc.Arbitrary<Json> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), tie('o')),
  o: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('v'), { maxKeys: 4 }),
})).o.map((o) => JSON.parse(JSON.stringify(o)) as Json);

test('property: merge patch computed from a diff turns the source into the target', () => {
  fc.assert(fc.property(doc, doc, (a, b) => {
    assert.deepEqual(applyMergePatch(a, createMergePatch(a, b)), b);
  }), { numRuns: 400 });
});

test('property: merge patch laws (idempotent; empty patch is identity)', () => {
  fc.assert(fc.property(doc, doc, (a, p) => {
    const once = applyMergePatch(a, p);
    assert.deepEqual(applyMergePatch(once, p), once);
    assert.deepEqual(applyMergePatch(a, {}), a);
  }), { numRuns: 300 });
});

test('RFC 7386 examples', () => {
  assert.deepEqual(applyMergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } }), { a: 'z', c: { d: 'e' } });
  assert.deepEqual(applyMergePatch({ a: [1, 2] }, { a: [3] }), { a: [3] });
  assert.deepEqual(applyMergePatch({ a: 'b' }, ['c']), ['c']);
});

test('RFC 6902: add/remove/replace/move/copy/test and failures', () => {
  const d = { a: { b: [1, 2] }, c: 'x' } as Json;
  assert.deepEqual(applyJsonPatch(d, [{ op: 'add', path: '/a/b/1', value: 9 }, { op: 'add', path: '/a/b/-', value: 3 }]), { a: { b: [1, 9, 2, 3] }, c: 'x' });
  assert.deepEqual(applyJsonPatch(d, [{ op: 'remove', path: '/c' }, { op: 'replace', path: '/a/b/0', value: 0 }]), { a: { b: [0, 2] } });
  assert.deepEqual(applyJsonPatch(d, [{ op: 'move', from: '/c', path: '/e' }, { op: 'copy', from: '/a', path: '/f' }]), { a: { b: [1, 2] }, e: 'x', f: { b: [1, 2] } });
  assert.deepEqual(applyJsonPatch({ 'x/y': { '~': 1 } }, [{ op: 'replace', path: '/x~1y/~0', value: 2 }]), { 'x/y': { '~': 2 } });
  assert.throws(() => applyJsonPatch(d, [{ op: 'test', path: '/c', value: 'y' }]), (e: unknown) => e instanceof PatchError && e.kind === 'Invalid');
  assert.throws(() => applyJsonPatch(d, [{ op: 'remove', path: '/zz' }]), PatchError);
  assert.throws(() => applyJsonPatch(d, { op: 'add' }), PatchError);
  assert.deepEqual(d, { a: { b: [1, 2] }, c: 'x' }, 'input untouched');
});

const deployment: Json = {
  metadata: { name: 'api', labels: { app: 'api', tier: 'be' } },
  spec: { replicas: 2, template: { spec: { containers: [
    { name: 'api', image: 'api:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 9090, protocol: 'TCP' }] },
    { name: 'sidecar', image: 'side:1' },
  ] } } },
};

test('strategic merge: the patch kubectl apply sends (observed) merges by name/containerPort and honours $patch: delete', () => {
  const patch = {
    metadata: { labels: { tier: null } },
    spec: { template: { spec: {
      '$setElementOrder/containers': [{ name: 'api' }],
      containers: [
        { '$setElementOrder/env': [{ name: 'A' }], '$setElementOrder/ports': [{ containerPort: 8080 }], env: [{ $patch: 'delete', name: 'B' }], image: 'api:2', name: 'api', ports: [{ $patch: 'delete', containerPort: 9090 }] },
        { $patch: 'delete', name: 'sidecar' },
      ],
    } } },
  } as Json;
  const out = applyStrategicMergePatch(deployment, patch, merge('Deployment'));
  assert.deepEqual(out, {
    metadata: { name: 'api', labels: { app: 'api' } },
    spec: { replicas: 2, template: { spec: { containers: [
      { name: 'api', image: 'api:2', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 8080, protocol: 'TCP' }] },
    ] } } },
  });
});

test('strategic merge: an image change keeps container ports (the naive merge loses them)', () => {
  const out = applyStrategicMergePatch(deployment, { spec: { template: { spec: { containers: [{ name: 'api', image: 'api:3' }] } } } }, merge('Deployment')) as { spec: { template: { spec: { containers: { name: string; image: string; ports?: unknown[] }[] } } } };
  const c = out.spec.template.spec.containers;
  assert.equal(c.length, 2);
  assert.equal(c[0]!.image, 'api:3');
  assert.equal(c[0]!.ports!.length, 2);
  assert.deepEqual(applyMergePatch(deployment, { spec: { template: { spec: { containers: [{ name: 'api', image: 'api:3' }] } } } }) !== null, true);
});

test('strategic merge: service ports by port, $setElementOrder reorders, $patch: replace, $retainKeys, primitive lists', () => {
  const svc = { spec: { ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }], selector: { app: 'a', x: 'y' } } } as Json;
  assert.deepEqual(applyStrategicMergePatch(svc, { spec: { '$setElementOrder/ports': [{ port: 443 }, { port: 80 }], ports: [{ port: 80, targetPort: 8080 }], selector: { x: null } } }, merge('Service')),
    { spec: { ports: [{ port: 443, name: 'https' }, { port: 80, name: 'http', targetPort: 8080 }], selector: { app: 'a' } } });
  assert.deepEqual(applyStrategicMergePatch(svc, { spec: { ports: [{ $patch: 'replace' }, { port: 53 }] } }, merge('Service')), { spec: { ports: [{ port: 53 }], selector: { app: 'a', x: 'y' } } });
  const d = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } } as Json;
  assert.deepEqual(applyStrategicMergePatch(d, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, merge('Deployment')), { spec: { strategy: { type: 'Recreate' } } });
  const m = { metadata: { finalizers: ['a', 'b'] } } as Json;
  assert.deepEqual(applyStrategicMergePatch(m, { metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] } }, merge('Pod')), { metadata: { finalizers: ['b', 'c'] } });
  // Lists without a merge key are replaced atomically (Endpoints.subsets).
  assert.deepEqual(applyStrategicMergePatch({ subsets: [{ a: 1 }] }, { subsets: [{ b: 2 }] }, merge('Endpoints')), { subsets: [{ b: 2 }] });
  assert.throws(() => applyStrategicMergePatch(svc, { spec: { ports: [{ name: 'nokey' }] } }, merge('Service')), /does not contain declared merge key: port/);
});

test('property: strategic merge of keyed lists = union by key with patch values winning', () => {
  const item = fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), image: fc.constantFrom('x', 'y', 'z') });
  const uniq = (xs: { name: string; image: string }[]): { name: string; image: string }[] => xs.filter((x, i) => xs.findIndex((y) => y.name === x.name) === i);
  fc.assert(fc.property(fc.array(item, { maxLength: 4 }).map(uniq), fc.array(item, { maxLength: 4 }).map(uniq), (orig, patch) => {
    const out = applyStrategicMergePatch({ spec: { containers: orig } }, { spec: { containers: patch } }, merge('Pod')) as { spec: { containers: { name: string; image: string }[] } };
    const names = [...new Set([...orig.map((o) => o.name), ...patch.map((p) => p.name)])];
    assert.deepEqual(out.spec.containers.map((c) => c.name), names, 'originals keep their order, new keys append');
    for (const c of out.spec.containers) assert.equal(c.image, (patch.find((p) => p.name === c.name) ?? orig.find((o) => o.name === c.name))!.image);
  }), { numRuns: 300 });
});

test('server-side apply field sets: removing a field the applier dropped', () => {
  const schema = merge('Service');
  const before = fieldSet({ metadata: { labels: { a: '1', b: '2' } }, spec: { ports: [{ port: 80 }, { port: 81 }] } }, schema);
  const after = fieldSet({ metadata: { labels: { a: '1' } }, spec: { ports: [{ port: 80 }] } }, schema);
  const gone = subtractFieldSets(before, after);
  const live = { metadata: { labels: { a: '1', b: '2', c: 'other-manager' } }, spec: { ports: [{ port: 80 }, { port: 81 }] } } as Json;
  assert.deepEqual(removeFields(live, gone, schema), { metadata: { labels: { a: '1', c: 'other-manager' } }, spec: { ports: [{ port: 80 }] } });
  assert.ok('k:{"port":80}' in ((before['f:spec'] as Record<string, Json>)['f:ports'] as Record<string, Json>));
});

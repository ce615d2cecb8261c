import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiError } from '../server/errors.ts';
import { controllerCluster } from '../../tests/support/controller-cluster.ts';
import type { KubeObject, Namespace, Pod } from '../api/index.ts';
import { deletionConditions } from './namespace.ts';

async function setup() {
  const { reg, r, mgr, advance } = await controllerCluster({ terminationDelayMs: 2000 });
  return { reg, r, mgr, advance, get: (ns: string) => reg.getOrUndefined(r('namespaces'), undefined, ns) as Promise<Namespace | undefined> };
}

const deployment = (ns: string): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
});

test('namespace: DELETE marks it Terminating with the kubernetes finalizer; the controller empties it after 5 s, then it goes', async () => {
  const c = await setup();
  await c.reg.create(c.r('namespaces'), undefined, { metadata: { name: 'shop' } });
  assert.deepEqual((await c.get('shop'))!.spec, { finalizers: ['kubernetes'] });
  await c.reg.create(c.r('deployments'), 'shop', deployment('shop'));
  await c.reg.create(c.r('services'), 'shop', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  await c.mgr.settle();
  assert.equal((await c.reg.list(c.r('pods'), 'shop')).items.length, 2);

  const marked = await c.reg.delete(c.r('namespaces'), undefined, 'shop') as Namespace;
  assert.equal(marked.status?.phase, 'Terminating');
  assert.equal(marked.metadata.deletionTimestamp, '2025-01-01T00:00:00Z');
  assert.deepEqual(marked.spec?.finalizers, ['kubernetes']);
  // Within the grace the content stays, creations are Forbidden, a second DELETE is a Conflict.
  await c.mgr.settle();
  assert.equal((await c.reg.list(c.r('pods'), 'shop')).items.length, 2, 'content kept during the 5 s grace');
  await assert.rejects(c.reg.create(c.r('services'), 'shop', { metadata: { name: 'late' }, spec: { ports: [{ port: 80 }] } }), (e: ApiError) => {
    assert.equal(e.code, 403);
    assert.equal(e.message, 'services "late" is forbidden: unable to create new content in namespace shop because it is being terminated');
    assert.deepEqual(e.details?.causes, [{ reason: 'NamespaceTerminating', message: 'namespace shop is being terminated', field: 'metadata.namespace' }]);
    return true;
  });
  await assert.rejects(c.reg.delete(c.r('namespaces'), undefined, 'shop'), (e: ApiError) => e.code === 409 && /The system is ensuring all content is removed from this namespace/.test(e.message));
  // Objects in it may still be deleted (what kubectl delete -f does after the namespace).
  await c.reg.delete(c.r('services'), 'shop', 'web');

  c.advance(5000);
  await c.mgr.settle();
  // Pods are terminating (graceful), so content remains and the conditions say so.
  const terminating = (await c.get('shop'))!;
  const cond = (t: string) => terminating.status!.conditions!.find((x) => x.type === t)!;
  assert.deepEqual(terminating.status!.conditions!.map((x) => [x.type, x.status, x.reason]), [
    ['NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered'],
    ['NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions'],
    ['NamespaceDeletionContentFailure', 'False', 'ContentDeleted'],
    ['NamespaceContentRemaining', 'True', 'SomeResourcesRemain'],
    ['NamespaceFinalizersRemaining', 'False', 'ContentRemoved'],
  ]);
  assert.equal(cond('NamespaceContentRemaining').message, 'Some resources are remaining: pods. has 2 resource instances');
  const pods = (await c.reg.list(c.r('pods'), 'shop')).items as unknown as Pod[];
  assert.ok(pods.every((p) => p.metadata.deletionTimestamp !== undefined), 'pods deleted gracefully');
  assert.equal((await c.reg.list(c.r('deployments'), 'shop')).items.length, 0);

  c.advance(2000);
  await c.mgr.settle();
  assert.equal(await c.get('shop'), undefined, 'namespace gone once its content is');
  assert.equal((await c.reg.list(c.r('pods'), 'shop')).items.length, 0);
  // The name can be used again.
  await c.reg.create(c.r('namespaces'), undefined, { metadata: { name: 'shop' } });
  assert.equal((await c.get('shop'))!.status?.phase, 'Active');
});

test('namespace: an object with a finalizer holds it (NamespaceFinalizersRemaining) until the finalizer is removed', async () => {
  const c = await setup();
  await c.reg.create(c.r('namespaces'), undefined, { metadata: { name: 'held' } });
  await c.reg.create(c.r('services'), 'held', { metadata: { name: 'keep', finalizers: ['example.com/hold'] }, spec: { ports: [{ port: 80 }] } });
  await c.reg.delete(c.r('namespaces'), undefined, 'held');
  c.advance(5000);
  await c.mgr.settle();
  const svc = await c.reg.get(c.r('services'), 'held', 'keep');
  assert.ok(svc.metadata!.deletionTimestamp, 'marked, not deleted');
  assert.equal(svc.metadata!.deletionGracePeriodSeconds, 0);
  const ns = (await c.get('held'))!;
  const byType = new Map(ns.status!.conditions!.map((x) => [x.type, x]));
  assert.equal(byType.get('NamespaceContentRemaining')!.message, 'Some resources are remaining: services. has 1 resource instances');
  assert.deepEqual([byType.get('NamespaceFinalizersRemaining')!.status, byType.get('NamespaceFinalizersRemaining')!.reason, byType.get('NamespaceFinalizersRemaining')!.message],
    ['True', 'SomeFinalizersRemain', 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances']);
  // Removing the finalizer deletes the service (the update that empties finalizers deletes it), then the namespace goes.
  await c.reg.patch(c.r('services'), 'held', 'keep', 'merge', { metadata: { finalizers: null } });
  assert.equal(await c.reg.getOrUndefined(c.r('services'), 'held', 'keep'), undefined);
  await c.mgr.settle();
  assert.equal(await c.get('held'), undefined);
});

test('namespace: spec.finalizers change only through /finalize; an empty namespace with no finalizers is deleted at once', async () => {
  const c = await setup();
  await c.reg.create(c.r('namespaces'), undefined, { metadata: { name: 'a' } });
  const ns = (await c.get('a'))!;
  await c.reg.update(c.r('namespaces'), undefined, 'a', { ...ns, spec: { finalizers: [] } });
  assert.deepEqual((await c.get('a'))!.spec?.finalizers, ['kubernetes'], 'a plain update keeps spec.finalizers');
  const ns2 = (await c.get('a'))!;
  await c.reg.update(c.r('namespaces'), undefined, 'a', { ...ns2, metadata: { ...ns2.metadata, labels: { x: 'y' } }, spec: { finalizers: [] } }, {}, 'finalize');
  const fin = (await c.get('a'))!;
  assert.deepEqual(fin.spec?.finalizers, [], '/finalize sets them');
  assert.equal(fin.metadata.labels?.x, undefined, '/finalize changes nothing else');
  await c.reg.delete(c.r('namespaces'), undefined, 'a');
  assert.equal(await c.get('a'), undefined, 'no finalizer: gone at once');
});

test('deletionConditions keeps lastTransitionTime while a status holds and sorts its messages', () => {
  const t0 = deletionConditions([], { remaining: new Map([['pods.', 2], ['deployments.apps', 1]]), finalizers: new Map(), errors: [] }, 'T0');
  assert.equal(t0.find((c) => c.type === 'NamespaceContentRemaining')!.message, 'Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances');
  const t1 = deletionConditions(t0, { remaining: new Map([['pods.', 1]]), finalizers: new Map(), errors: ['b', 'a'] }, 'T1');
  const get = (cs: typeof t1, type: string) => cs.find((c) => c.type === type)!;
  assert.equal(get(t1, 'NamespaceContentRemaining').lastTransitionTime, 'T0', 'still True: time kept');
  assert.equal(get(t1, 'NamespaceDeletionDiscoveryFailure').lastTransitionTime, 'T0');
  assert.deepEqual([get(t1, 'NamespaceDeletionContentFailure').status, get(t1, 'NamespaceDeletionContentFailure').lastTransitionTime, get(t1, 'NamespaceDeletionContentFailure').message],
    ['True', 'T1', 'Failed to delete all resource types, 2 remaining: a, b']);
});

// The real kubectl (1.32) against the emulated API server: ConfigMaps, Secrets and
// ServiceAccounts, `create --dry-run=server` of an existing object, concurrent
// `kubectl label`s of one object (none conflicts), and kubectl's view of bad options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryControlApi } from '../../control/controllers/registry-api.ts';
import { ServiceAccountsController } from '../../control/controllers/serviceaccounts.ts';
import { kubectlAgainstApp } from '../support/kubectl-app.ts';

const h = kubectlAgainstApp('kubectl-api-kinds');
const { skipWhy, kubectl, ok } = h;

test('kubectl: configmaps and secrets, create --dry-run=server of an existing object is AlreadyExists', { skip: skipWhy, timeout: 60_000 }, async () => {
  assert.equal(await ok('create', 'configmap', 'cfg', '--from-literal=a=b', '--dry-run=server'), 'configmap/cfg created (server dry run)\n');
  assert.equal((await kubectl('get', 'configmap', 'cfg')).code, 1);
  assert.equal(await ok('create', 'configmap', 'cfg', '--from-literal=a=b'), 'configmap/cfg created\n');
  const again = await kubectl('create', 'configmap', 'cfg', '--from-literal=a=b', '--dry-run=server');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /configmaps "cfg" already exists/);
  assert.equal(await ok('create', 'secret', 'generic', 'db', '--from-literal=user=admin'), 'secret/db created\n');
  assert.equal(await ok('get', 'secret', 'db', '-o', 'jsonpath={.type} {.data.user}'), `Opaque ${Buffer.from('admin').toString('base64')}`);
  assert.match(await ok('get', 'secrets'), /^NAME\s+TYPE\s+DATA\s+AGE\ndb\s+Opaque\s+1\s+/);
  assert.match(await ok('get', 'cm'), /^NAME\s+DATA\s+AGE\ncfg\s+1\s+/);
});

test('kubectl: every namespace has its default ServiceAccount once the controller ran', { skip: skipWhy, timeout: 30_000 }, async () => {
  await new ServiceAccountsController(new RegistryControlApi(h.app().registry)).sync();
  const out = await ok('get', 'sa', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}');
  assert.deepEqual(out.trim().split(' ').sort(), ['default/default', 'kube-node-lease/default', 'kube-public/default', 'kube-system/default']);
});

test('kubectl: concurrent `kubectl label` of one object all succeed (no spurious conflicts)', { skip: skipWhy, timeout: 60_000 }, async () => {
  const n = 6;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => kubectl('label', 'configmap', 'cfg', `k${i}=v${i}`)));
  assert.deepEqual(results.filter((r) => r.code !== 0).map((r) => r.stderr), []);
  const labels = JSON.parse(await ok('get', 'configmap', 'cfg', '-o', 'jsonpath={.metadata.labels}')) as Record<string, string>;
  for (let i = 0; i < n; i++) assert.equal(labels[`k${i}`], `v${i}`);
});

test('kubectl: an unsupported field selector and a bad resourceVersion are the server\'s 400s', { skip: skipWhy, timeout: 30_000 }, async () => {
  const sel = await kubectl('get', 'pods', '--field-selector', 'spec.foo=x');
  assert.equal(sel.code, 1);
  assert.match(sel.stderr, /field label not supported: spec\.foo/);
  const rv = await kubectl('get', '--raw', '/api/v1/namespaces/default/configmaps?resourceVersion=abc');
  assert.equal(rv.code, 1);
  assert.match(rv.stderr, /invalid resource version/);
});

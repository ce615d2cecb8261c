// The real kubectl (1.32) against the emulated API server: ConfigMaps, Secrets and
// ServiceAccounts, `create --dry-run=server` of an existing object, concurrent
// `kubectl label`s of one object (none conflicts), and kubectl's view of bad options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../../control/store/memory-store.ts';
import { buildApp } from '../../control/server/app.ts';
import { RegistryControlApi } from '../../control/controllers/registry-api.ts';
import { ServiceAccountsController } from '../../control/controllers/serviceaccounts.ts';

const KUBECTL = '/usr/bin/kubectl';
const skipWhy = existsSync(KUBECTL) ? false : `kubectl not found at ${KUBECTL} (.ci/run installs it from .ci/apt-packages.txt)`;
if (skipWhy) console.log(`# kubectl-api-kinds.test: skipped, ${skipWhy}`);

let app: FastifyInstance;
let dir: string;
let server: string;

before(async () => {
  if (skipWhy) return;
  dir = mkdtempSync(join(tmpdir(), 'kubectl-api-kinds-'));
  writeFileSync(join(dir, 'kubeconfig'), '');
  app = buildApp({ store: new MemoryStore() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  server = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  if (skipWhy) return;
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--server', server, '--cache-dir', join(dir, 'cache'), ...args], { env, timeout: 30_000, cwd: dir }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

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
  await new ServiceAccountsController(new RegistryControlApi(app.registry)).sync();
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

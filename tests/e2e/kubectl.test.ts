// Drives the real kubectl (the machine's dispatcher, which picks kubectl 1.32 from the
// server's /version) against the emulated API server with controllers and the FakeKubelet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../../control/store/memory-store.ts';
import { buildApp } from '../../control/server/app.ts';
import { ControllerManager, RegistryControlApi, standardControllers } from '../../control/controllers/index.ts';
import { findResource } from '../../control/resources/index.ts';

const KUBECTL = '/usr/bin/kubectl';
const have = existsSync(KUBECTL);
/** Why the kubectl tests skip (printed by the runner), or false to run them. */
const skipWhy = have ? false : `kubectl not found at ${KUBECTL} (.ci/run installs it from .ci/apt-packages.txt)`;
if (!have) console.log('# kubectl.test: skipped, /usr/bin/kubectl is missing');

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: IMAGE
        ports:
        - containerPort: 80
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: nginx-service
  labels:
    app: nginx
spec:
  selector:
    app: nginx
  ports:
  - name: nginx-port
    protocol: TCP
    port: 80
    nodePort: NODEPORT
    targetPort: 80
  type: NodePort
`;

let app: FastifyInstance;
let mgr: ControllerManager;
let dir: string;
let server: string;

before(async () => {
  if (!have) return;
  dir = mkdtempSync(join(tmpdir(), 'kubectl-e2e-'));
  writeFileSync(join(dir, 'kubeconfig'), '');
  writeFileSync(join(dir, 'seed.yaml'), `${DEPLOY.replace('IMAGE', 'nginx')}---\n${SERVICE.replace('NODEPORT', '30000')}`);
  writeFileSync(join(dir, 'seed2.yaml'), `${DEPLOY.replace('IMAGE', 'nginx:1.27')}---\n${SERVICE.replace('NODEPORT', '30000')}`);
  writeFileSync(join(dir, 'bad.yaml'), SERVICE.replace('NODEPORT', '80').replace('name: nginx-service', 'name: bad-service'));
  app = buildApp({ store: new MemoryStore(), gracefulPodDeletion: true });
  await app.ready();
  const nodes = findResource('', 'v1', 'nodes')!;
  for (const [i, name] of ['node-1', 'node-2'].entries()) {
    await app.registry.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { addresses: [{ type: 'InternalIP', address: `192.168.56.${11 + i}` }] } });
  }
  const api = new RegistryControlApi(app.registry);
  mgr = new ControllerManager(api, standardControllers(api, { fakeKubelet: { terminationDelayMs: 200 } }), { kickMs: 5, resyncMs: 200 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  server = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await mgr.start();
});

after(async () => {
  if (!have) return;
  await mgr.stop();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
}

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--server', server, '--cache-dir', join(dir, 'cache'), ...args], { env: env(), timeout: 30_000, cwd: dir }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rows = (out: string): string[][] => out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s{2,}/));

test('kubectl: apply, get -o wide, svc, endpoints, scale, rolling update, server-side apply, label, watch, delete, invalid', { skip: skipWhy, timeout: 180_000 }, async () => {
  const a = await kubectl('apply', '-f', 'seed.yaml');
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, 'deployment.apps/nginx-deployment created\nservice/nginx-service created\n');
  assert.equal((await kubectl('apply', '-f', 'seed.yaml')).stdout, 'deployment.apps/nginx-deployment unchanged\nservice/nginx-service unchanged\n');

  const wide = await until('2 running pods', async () => {
    const r = await kubectl('get', 'pods', '-o', 'wide');
    const rs = rows(r.stdout);
    return rs.length === 2 && rs.every((x) => x[2] === 'Running') ? r.stdout : undefined;
  });
  const header = wide.split('\n')[0]!.trim().split(/\s{2,}/);
  assert.deepEqual(header, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
  const podRows = rows(wide);
  for (const r of podRows) {
    assert.match(r[0]!, /^nginx-deployment-[a-z0-9]+-[a-z0-9]{5}$/);
    assert.equal(r[1], '1/1');
    assert.match(r[5]!, /^10\.244\.[01]\.\d+$/);
  }
  assert.deepEqual(podRows.map((r) => r[6]).sort(), ['node-1', 'node-2']);

  const svc = await kubectl('get', 'svc');
  assert.deepEqual(svc.stdout.split('\n')[0]!.trim().split(/\s{2,}/), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
  const svcRows = rows(svc.stdout);
  assert.deepEqual(svcRows.find((r) => r[0] === 'kubernetes')!.slice(1, 5), ['ClusterIP', '10.96.0.1', '<none>', '443/TCP']);
  const nginxSvc = svcRows.find((r) => r[0] === 'nginx-service')!;
  assert.equal(nginxSvc[1], 'NodePort');
  assert.equal(nginxSvc[4], '80:30000/TCP');

  const ips = podRows.map((r) => `${r[5]}:80`).sort();
  const ep = await until('endpoints', async () => {
    const r = await kubectl('get', 'endpoints', 'nginx-service');
    const e = rows(r.stdout)[0];
    return e && e[1]!.split(',').sort().join(',') === ips.join(',') ? e : undefined;
  });
  assert.equal(ep[0], 'nginx-service');

  const sc = await kubectl('scale', 'deployment', 'nginx-deployment', '--replicas=4');
  assert.equal(sc.stdout, 'deployment.apps/nginx-deployment scaled\n');
  await until('4 endpoints', async () => {
    const r = await kubectl('get', 'endpoints', 'nginx-service', '-o', 'jsonpath={.subsets[*].addresses[*].ip}');
    return r.stdout.trim().split(' ').filter(Boolean).length === 4 ? true : undefined;
  });

  // Rolling update by re-apply with a new image: all pods replaced, container port kept.
  const before = new Set(rows((await kubectl('get', 'pods')).stdout).map((r) => r[0]));
  const up = await kubectl('apply', '-f', 'seed2.yaml');
  assert.equal(up.stdout, 'deployment.apps/nginx-deployment configured\nservice/nginx-service unchanged\n');
  const ro = await kubectl('rollout', 'status', 'deployment/nginx-deployment', '--timeout=60s');
  assert.equal(ro.code, 0, ro.stderr);
  assert.match(ro.stdout, /deployment "nginx-deployment" successfully rolled out/);
  const newPods = await until('old pods gone', async () => {
    const out = await kubectl('get', 'pods', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.containers[0].image} {.spec.containers[0].ports[0].containerPort}{"\\n"}{end}');
    const lines = out.stdout.trim().split('\n').filter(Boolean);
    return lines.length === 2 ? lines : undefined; // the manifest sets replicas back to 2
  });
  for (const l of newPods) {
    const [name, image, port] = l.split(' ');
    assert.ok(!before.has(name), `${name} was not replaced`);
    assert.equal(image, 'nginx:1.27');
    assert.equal(port, '80');
  }
  assert.equal((await kubectl('rollout', 'history', 'deployment/nginx-deployment')).stdout.match(/^\d+\s/gm)?.length, 2);

  const ssa = await kubectl('apply', '--server-side', '-f', 'seed2.yaml');
  assert.equal(ssa.code, 0, ssa.stderr);
  assert.equal(ssa.stdout, 'deployment.apps/nginx-deployment serverside-applied\nservice/nginx-service serverside-applied\n');
  const mf = await kubectl('get', 'svc', 'nginx-service', '-o', 'jsonpath={.metadata.managedFields[*].manager}');
  assert.match(mf.stdout, /\bkubectl\b/);

  // get -w: sees the list, then a change; still running until killed.
  const w = spawn(KUBECTL, ['--server', server, '--cache-dir', join(dir, 'cache'), 'get', 'svc', 'nginx-service', '-w', '--output-watch-events'], { env: env(), cwd: dir });
  let wout = '';
  w.stdout.on('data', (d: Buffer) => { wout += d.toString(); });
  try {
    await until('watch list', async () => (wout.includes('nginx-service') ? true : undefined));
    const lb = await kubectl('label', 'svc', 'nginx-service', 'tier=web');
    assert.equal(lb.stdout, 'service/nginx-service labeled\n');
    await until('watch event', async () => (/MODIFIED\s+nginx-service/.test(wout) ? true : undefined));
    assert.equal(w.exitCode, null, 'kubectl get -w is still running');
  } finally {
    w.kill('SIGTERM');
  }
  assert.match((await kubectl('get', 'svc', 'nginx-service', '--show-labels')).stdout, /app=nginx,tier=web/);

  const bad = await kubectl('apply', '-f', 'bad.yaml');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /The Service "bad-service" is invalid: spec\.ports\[0\]\.nodePort: Invalid value: 80: provided port is not in the valid range\. The range of valid ports is 30000-32767/);
  const badCreate = await kubectl('create', '-f', 'bad.yaml');
  // kubectl renders a 422 whose Status carries details.causes as "The <Kind> "<name>" is invalid: <causes>"
  // (the same as against kube-apiserver); "Error from server (<Reason>)" is its form for other Status errors.
  assert.match(badCreate.stderr, /^The Service "bad-service" is invalid: spec\.ports\[0\]\.nodePort: Invalid value: 80/);
  const dup = await kubectl('create', '-f', 'seed.yaml');
  assert.match(dup.stderr, /Error from server \(AlreadyExists\): error when creating "seed\.yaml": deployments\.apps "nginx-deployment" already exists/);
  assert.match((await kubectl('get', 'pod', 'nope')).stderr, /Error from server \(NotFound\): pods "nope" not found/);

  const del = await kubectl('delete', '-f', 'seed.yaml');
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout, 'deployment.apps "nginx-deployment" deleted\nservice "nginx-service" deleted\n');
  await until('pods garbage-collected', async () => (rows((await kubectl('get', 'pods')).stdout).length === 0 ? true : undefined));
});

test('kubectl apply --server-side from two field managers: conflict, then --force-conflicts takes the field', { skip: skipWhy, timeout: 60_000 }, async () => {
  const manifest = (replicas: number): string => DEPLOY.replace('nginx-deployment', 'ssa-demo').replace(/app: nginx/g, 'app: ssa-demo').replace('replicas: 2', `replicas: ${replicas}`).replace('IMAGE', 'nginx');
  writeFileSync(join(dir, 'ssa-alice.yaml'), manifest(1));
  writeFileSync(join(dir, 'ssa-bob.yaml'), manifest(3));
  const a = await kubectl('apply', '--server-side', '--field-manager=alice', '-f', 'ssa-alice.yaml');
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, 'deployment.apps/ssa-demo serverside-applied\n');
  const b = await kubectl('apply', '--server-side', '--field-manager=bob', '-f', 'ssa-bob.yaml');
  assert.notEqual(b.code, 0);
  // kubectl recognises the 409 Conflict Status and adds its advice after the server's message.
  assert.match(b.stderr, /Apply failed with 1 conflict: conflict with "alice": \.spec\.replicas/);
  assert.match(b.stderr, /--force-conflicts/);
  assert.equal((await kubectl('get', 'deploy', 'ssa-demo', '-o', 'jsonpath={.spec.replicas}')).stdout, '1');
  const f = await kubectl('apply', '--server-side', '--field-manager=bob', '--force-conflicts', '-f', 'ssa-bob.yaml');
  assert.equal(f.code, 0, f.stderr);
  assert.equal((await kubectl('get', 'deploy', 'ssa-demo', '-o', 'jsonpath={.spec.replicas}')).stdout, '3');
  const mf = await kubectl('get', 'deploy', 'ssa-demo', '--show-managed-fields', '-o', 'json');
  const entries = (JSON.parse(mf.stdout) as { metadata: { managedFields: { manager: string; fieldsV1: { 'f:spec'?: Record<string, unknown> } }[] } }).metadata.managedFields;
  const replicaOwners = entries.filter((e) => e.fieldsV1['f:spec'] !== undefined && 'f:replicas' in e.fieldsV1['f:spec']).map((e) => e.manager);
  assert.deepEqual(replicaOwners, ['bob']);
  assert.equal((await kubectl('delete', 'deploy', 'ssa-demo')).code, 0);
});

test('kubectl apply validates server-side: Strict (the default) rejects an unknown field, --validate=warn prints Warning and creates', { skip: skipWhy, timeout: 60_000 }, async () => {
  writeFileSync(join(dir, 'typo.yaml'), DEPLOY.replace('nginx-deployment', 'typo').replace(/app: nginx/g, 'app: typo').replace('IMAGE', 'nginx').replace('        ports:', '        imagePullPolice: Always\n        ports:'));
  const strict = await kubectl('apply', '-f', 'typo.yaml');
  assert.notEqual(strict.code, 0);
  assert.match(strict.stderr, /Error from server \(BadRequest\): error when creating "typo\.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolice"/);
  assert.equal((await kubectl('get', 'deploy', 'typo')).code, 1, 'nothing was created');
  const warn = await kubectl('apply', '--validate=warn', '-f', 'typo.yaml');
  assert.equal(warn.code, 0, warn.stderr);
  assert.match(warn.stderr, /^Warning: unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolice"$/m);
  assert.equal(warn.stdout, 'deployment.apps/typo created\n');
  assert.equal((await kubectl('delete', 'deploy', 'typo')).code, 0);
});

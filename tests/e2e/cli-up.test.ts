// `netsim up` as a user runs it: the listening line and `export KUBECONFIG=…`, the real
// kubectl with nothing but that kubeconfig (TLS with the generated CA, the bearer token)
// against the running emulation (nodes Ready, pods Running with addresses from the flannel
// leases, a scale reaching the node agents), `netsim apply --kubeconfig`, `netsim get`,
// exit 0 on SIGTERM, and the store kept in --state across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, runWith, startUp, until } from '../support/netsim-up.ts';
import type { Up } from '../support/netsim-up.ts';

const KUBECTL = '/usr/bin/kubectl';
const haveKubectl = existsSync(KUBECTL);

test('netsim up: kubectl with the written kubeconfig sees the seed cluster, a scale reaches the nodes, apply --kubeconfig works, SIGTERM exits 0, --state survives a restart', { skip: haveKubectl ? false : 'kubectl not installed (.ci/run installs it)', timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-up-'));
  const state = join(dir, 'state');
  let up: Up | undefined;
  try {
    up = await startUp(['--listen', '127.0.0.1:0', '--state', state]);
    assert.equal(up.kubeconfig, join(state, 'kubeconfig'));
    const k = (...args: string[]) => runWith(KUBECTL, ['--cache-dir', join(dir, 'cache'), ...args], dir, up!.kubeconfig);
    const nodes = await k('get', 'nodes', '-o', 'wide');
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, /^node01\s+Ready\s+<none>\s+\S+\s+v1\.32\.4\s+192\.168\.50\.11\s/m);
    assert.match(nodes.stdout, /^node02\s+Ready\s/m);
    const pods = await k('get', 'pods', '-o', 'wide');
    assert.equal(pods.code, 0, pods.stderr);
    // Every pod Running and Ready with an address from its node's flannel lease.
    for (const name of ['webapp01', 'webapp02', 'webapp03', 'backend']) assert.match(pods.stdout, new RegExp(`^${name}\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+10\\.244\\.\\d+\\.\\d+\\s+node0[12]\\s`, 'm'));
    assert.equal((pods.stdout.match(/^nginx-deployment-\S+\s+1\/1\s+Running/gm) ?? []).length, 2);
    const svc = await k('get', 'svc', 'nginx-service');
    assert.match(svc.stdout, /^nginx-service\s+NodePort\s+10\.96\.63\.155\s+<none>\s+80:30000\/TCP\s/m);

    const scaled = await k('scale', 'deployment', 'nginx-deployment', '--replicas=3');
    assert.equal(scaled.code, 0, scaled.stderr);
    await until('3 running nginx pods with IPs', async () => {
      const r = await k('get', 'pods', '-l', 'app=nginx', '-o', 'jsonpath={range .items[*]}{.status.phase} {.status.podIP}{"\\n"}{end}');
      const lines = r.stdout.split('\n').filter((l) => /^Running 10\.244\.\d+\.\d+$/.test(l));
      return lines.length === 3 ? lines : undefined;
    });
    const eps = await until('3 endpoints', async () => {
      const r = await k('get', 'endpoints', 'nginx-service', '-o', 'jsonpath={.subsets[0].addresses[*].ip}');
      return r.stdout.split(' ').filter((x) => x !== '').length === 3 ? r.stdout : undefined;
    });
    assert.match(eps, /^10\.244\.\d+\.\d+ 10\.244\.\d+\.\d+ 10\.244\.\d+\.\d+$/);

    writeFileSync(join(dir, 'echo.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: echo\n  labels: { app: echo }\nspec:\n  nodeName: node02\n  containers:\n  - { name: echo, image: netsim/udp-echo, ports: [ { containerPort: 7, protocol: UDP } ] }\n');
    const applied = await runWith(process.execPath, [BIN, 'apply', '--kubeconfig', up.kubeconfig, '-f', 'echo.yaml'], dir, up.kubeconfig);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, 'pod/echo created\n');
    await until('echo pod running', async () => {
      const r = await k('get', 'pod', 'echo', '-o', 'jsonpath={.status.phase}');
      return r.stdout === 'Running' ? true : undefined;
    });

    up.proc.kill('SIGTERM');
    assert.equal(await up.exit, 0, 'SIGTERM exits 0');
    up = undefined;

    up = await startUp(['--listen', '127.0.0.1:0', '--state', state]);
    // A new start has a new token and CA; the rewritten kubeconfig carries them.
    const again = await runWith(KUBECTL, ['--cache-dir', join(dir, 'cache'), 'get', 'deployment', 'nginx-deployment', '-o', 'jsonpath={.spec.replicas}'], dir, up.kubeconfig);
    assert.equal(again.stdout, '3', 'the scale survived the restart in --state');
    const echo = await runWith(KUBECTL, ['--cache-dir', join(dir, 'cache'), 'get', 'pod', 'echo', '-o', 'name'], dir, up.kubeconfig);
    assert.equal(echo.stdout.trim(), 'pod/echo');
  } finally {
    if (up !== undefined) {
      up.proc.kill('SIGTERM');
      await up.exit;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim get and apply without a server: kubectl-style tables of a fresh cluster; bad input exits 2 with a code', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-get-'));
  try {
    const get = spawnSync(process.execPath, [BIN, 'get', 'svc'], { encoding: 'utf8' });
    assert.equal(get.status, 0, get.stderr);
    const lines = get.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    assert.ok(lines.some((l) => /^nginx-service\s+NodePort\s+10\.96\.63\.155\s+<none>\s+80:30000\/TCP\s+\S+$/.test(l)), get.stdout);
    assert.ok(lines.some((l) => /^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\S+$/.test(l)), get.stdout);

    writeFileSync(join(dir, 'extra.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: extra, labels: { app: nginx } }\nspec:\n  nodeName: node01\n  containers: [ { name: web, image: nginx:1.27 } ]\n');
    const ap = spawnSync(process.execPath, [BIN, 'apply', '-f', join(dir, 'extra.yaml')], { encoding: 'utf8' });
    assert.equal(ap.status, 0, ap.stderr);
    assert.match(ap.stdout, /^pod\/extra created$/m);
    assert.match(ap.stdout, /^default\s+extra\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+node01\s/m);

    const pods = spawnSync(process.execPath, [BIN, 'get', 'pods', '-f', join(dir, 'extra.yaml'), '-o', 'json'], { encoding: 'utf8' });
    const list = JSON.parse(pods.stdout) as { items: Array<{ metadata: { name: string }; status: { phase: string } }> };
    assert.equal(list.items.find((p) => p.metadata.name === 'extra')?.status.phase, 'Running');

    const badRes = spawnSync(process.execPath, [BIN, 'get', 'widgets'], { encoding: 'utf8' });
    assert.equal(badRes.status, 2);
    assert.match(badRes.stderr, /^netsim: NETSIM_ERR_RESOURCE: the server doesn't have a resource type "widgets"$/m);
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: { name: bad }\nspec:\n  type: NodePort\n  ports: [ { port: 80, nodePort: 80 } ]\n');
    const badSvc = spawnSync(process.execPath, [BIN, 'apply', '-f', join(dir, 'bad.yaml')], { encoding: 'utf8' });
    assert.equal(badSvc.status, 2);
    assert.match(badSvc.stderr, /NETSIM_ERR_MANIFEST: \S+bad\.yaml:1:1: service\/bad: .*spec\.ports\[0\]\.nodePort: Invalid value: 80: provided port is not in the valid range/);
    const badYaml = spawnSync(process.execPath, [BIN, 'get', 'pods', '-f', join(dir, 'nope.yaml')], { encoding: 'utf8' });
    assert.equal(badYaml.status, 2);
    assert.match(badYaml.stderr, /NETSIM_SPEC_FILE: .*nope\.yaml: cannot read: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// `netsim up --store etcd --etcd-endpoints URL` against a private etcd: the cluster's
// objects live in etcd (kubectl reads them), an etcd outage answers 503 ServiceUnavailable
// with Retry-After — never 500 — and the server keeps running and serves again when etcd
// is back; an unreachable etcd at start, or one that times out or drops connections while
// the cluster is being built, is a CLI error with exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEtcd, ETCD_SKIP_REASON, FailingEtcdProxy, LocalEtcd } from '../../control/store/etcd-harness.ts';
import type { EtcdFailure } from '../../control/store/etcd-harness.ts';
import { readKubeconfig } from '../../cli/up/kubeconfig.ts';
import { remoteRequest } from '../../cli/remote.ts';
import { BIN, startUp } from '../support/netsim-up.ts';
import type { Up } from '../support/netsim-up.ts';

const etcdBin = findEtcd();
if (etcdBin === undefined) console.log(`# up-etcd.test: skipped, ${ETCD_SKIP_REASON}`);


test('netsim up --store etcd: objects in etcd; an etcd outage is 503 with Retry-After, then it serves again', { skip: etcdBin === undefined ? ETCD_SKIP_REASON : false, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-upetcd-'));
  const etcd = await LocalEtcd.start(etcdBin as string, dir);
  let up: Up | undefined;
  try {
    up = await startUp(['--listen', '127.0.0.1:0', '--state', join(dir, 'state'), '--store', 'etcd', '--etcd-endpoints', etcd.endpoint, '--etcd-prefix', '/netsim-test']);
    assert.match(up.err(), new RegExp(`store: etcd at ${etcd.endpoint.replace(/\./g, '\\.')}`));
    const kc = readKubeconfig(up.kubeconfig);
    const pod = await remoteRequest(kc, 'GET', '/api/v1/namespaces/default/pods/webapp01', {});
    assert.equal(pod.status, 200, pod.body);
    // The object really is in etcd, under the prefix (etcd's JSON gateway, base64 keys).
    const range = await fetch(`${etcd.endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/netsim-test/registry/pods/default/webapp01').toString('base64'), count_only: true }) });
    assert.equal(((await range.json()) as { count?: string }).count, '1');

    await etcd.stop('SIGKILL');
    const outageAt = Date.now();
    for (const [method, path, body] of [['GET', '/api/v1/namespaces/default/pods/webapp01', undefined], ['GET', '/api/v1/namespaces/default/pods', undefined], ['POST', '/api/v1/namespaces/default/services', JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'during-outage' }, spec: { ports: [{ port: 80 }] } })]] as const) {
      const r = await remoteRequest(kc, method, path, body !== undefined ? { 'content-type': 'application/json' } : {}, body);
      assert.equal(r.status, 503, `${method} ${path}: ${r.body}`);
      const s = JSON.parse(r.body) as { kind: string; reason: string; code: number };
      assert.deepEqual([s.kind, s.reason, s.code], ['Status', 'ServiceUnavailable', 503]);
    }
    const withHeader = await new Promise<string | undefined>((resolve, reject) => {
      // remoteRequest drops headers; one raw request reads Retry-After.
      void import('node:https').then(({ request }) => {
        const u = new URL(`${kc.server}/api/v1/namespaces/default/pods`);
        const req = request(u, { headers: { authorization: `Bearer ${kc.token ?? ''}` }, ...(kc.caPem !== undefined ? { ca: kc.caPem } : {}) }, (res) => { res.resume(); resolve(res.headers['retry-after']); });
        req.on('error', reject);
        req.end();
      });
    });
    assert.equal(withHeader, '1');
    assert.equal(up.proc.exitCode, null, 'the server keeps running through the outage');

    // The store probe (every 2 s) logs the outage.
    while (!/ERROR store: .*etcd/.test(up.err()) && Date.now() - outageAt < 10_000) await new Promise((r) => setTimeout(r, 200));
    await etcd.restart();
    let back = 0;
    for (let i = 0; i < 50 && back !== 200; i++) {
      back = (await remoteRequest(kc, 'GET', '/api/v1/namespaces/default/pods/webapp01', {})).status;
      if (back !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(back, 200, 'serving again once etcd is back');
    up.proc.kill('SIGTERM');
    assert.equal(await up.exit, 0, up.err());
    assert.match(up.err(), /ERROR store: .*etcd.*\(the API answers 503 until it is back\)/, 'the outage was logged');
    up = undefined;
  } finally {
    if (up !== undefined) { up.proc.kill('SIGKILL'); await up.exit; }
    await etcd.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim up --store etcd: an unreachable etcd at start is NETSIM_ERR_STORE_UNAVAILABLE, exit 2', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-upetcd-'));
  try {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const r = spawnSync(process.execPath, [BIN, 'up', '--listen', '127.0.0.1:0', '--state', join(dir, 's'), '--etcd-endpoints', 'http://127.0.0.1:1'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^netsim: NETSIM_ERR_STORE_UNAVAILABLE: cannot reach the etcd store at http:\/\/127\.0\.0\.1:1: .*check --etcd-endpoints$/m);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim up --store etcd: an etcd endpoint that accepts but never answers is NETSIM_ERR_STORE_UNAVAILABLE after the request timeout, exit 2', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-upetcd-'));
  const silent = createNetServer((sock) => { sock.on('error', () => {}); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  try {
    const child = spawn(process.execPath, [BIN, 'up', '--listen', '127.0.0.1:0', '--state', join(dir, 's'), '--etcd-endpoints', endpoint], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^netsim: NETSIM_ERR_STORE_UNAVAILABLE: cannot reach the etcd store at http:\/\/127\.0\.0\.1:\d+: .*timeout.*check --etcd-endpoints$/im);
    assert.doesNotMatch(stderr, /^\s+at /m);
  } finally {
    silent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// etcd failing part-way through `netsim up`'s start, at requests that land in different
// steps: the API server's bootstrap (a create's txn), applying the spec's manifests, the
// controllers' first reconcile (a DaemonSet list). Each once gave exit 70 (an ApiError
// wrapping the store error) or blamed the manifest (NETSIM_ERR_MANIFEST).
const FAILURES: ReadonlyArray<[number, EtcdFailure]> = [[10, 'timeout'], [35, 'timeout'], [150, 'timeout'], [600, 'timeout'], [150, 'refused']];
for (const [failFrom, how] of FAILURES) {
  test(`netsim up --store etcd: etcd ${how === 'timeout' ? 'timing out' : 'dropping connections'} from request ${failFrom} on is NETSIM_ERR_STORE_UNAVAILABLE, exit 2`, { skip: etcdBin === undefined ? ETCD_SKIP_REASON : false, timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsim-upetcd-'));
    const etcd = await LocalEtcd.start(etcdBin as string, dir);
    const proxy = await FailingEtcdProxy.start(etcd.endpoint, failFrom, how);
    try {
      const child = spawn(process.execPath, [BIN, 'up', '--listen', '127.0.0.1:0', '--anonymous', '--no-tls', '--state', join(dir, 's'), '--etcd-endpoints', proxy.endpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      assert.ok(proxy.requests >= failFrom, `the start made only ${proxy.requests} requests, so etcd never failed (move the failure point): ${stderr}`);
      assert.doesNotMatch(stdout, /listening/);
      assert.equal(code, 2, stderr);
      assert.match(stderr, new RegExp(`^netsim: NETSIM_ERR_STORE_UNAVAILABLE: the etcd store at ${proxy.endpoint.replace(/\./g, '\\.')} failed while netsim up was starting: etcd .*${how === 'timeout' ? 'etcdserver: request timed out' : 'UND_ERR_SOCKET'}.*etcdctl endpoint health`, 'm'));
      assert.doesNotMatch(stderr, /NETSIM_ERR_INTERNAL|^\s+at /m);
    } finally {
      await proxy.close();
      await etcd.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

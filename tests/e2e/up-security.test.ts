// `netsim up` as a safe server process: the bearer token (401 Status without it, 200 with
// it), TLS with the generated CA that the written kubeconfig carries (real kubectl over
// it; plain HTTP only on loopback, refused elsewhere with a clear message), private modes
// of the state directory, start-up failures as NETSIM_ERR_* codes with exit 2 and no stack
// trace, and SIGTERM through `npx` stopping the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { readKubeconfig } from '../../cli/up/kubeconfig.ts';
import { remoteRequest } from '../../cli/remote.ts';
import { FileStore } from '../../control/store/file-store.ts';
import { BIN, runWith, startUp, stopUp } from '../support/netsim-up.ts';
import type { Run, Up } from '../support/netsim-up.ts';

const KUBECTL = '/usr/bin/kubectl';
const haveKubectl = existsSync(KUBECTL);

const kubectl = (kubeconfig: string, dir: string, ...args: string[]): Promise<Run> => runWith(KUBECTL, ['--cache-dir', join(dir, 'cache'), ...args], dir, kubeconfig, 30_000);

function modes(dir: string): Array<[string, number]> {
  const out: Array<[string, number]> = [[dir, statSync(dir).mode & 0o777]];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...modes(p));
    else out.push([p, statSync(p).mode & 0o777]);
  }
  return out;
}

/** A CLI failure as the contract wants it: exit 2, one `netsim: CODE: message` line, no stack trace. */
function assertCliError(r: { status: number | null; stderr: string }, code: string, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^netsim: ${code}: `, 'm'));
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

const upSync = (args: string[]): { status: number | null; stderr: string } => spawnSync(process.execPath, [BIN, 'up', ...args], { encoding: 'utf8', timeout: 60_000 });

test('netsim up: 401 Status without the token, 200 with it; kubectl works with the written kubeconfig over TLS; state dir 0700 and files 0600', { skip: haveKubectl ? false : 'kubectl not installed (.ci/run installs it)', timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-upsec-'));
  const state = join(dir, 'state');
  let up: Up | undefined;
  try {
    up = await startUp(['--listen', '127.0.0.1:0', '--state', state]);
    assert.match(up.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const kc = readKubeconfig(up.kubeconfig);
    assert.equal(kc.server, up.url);
    assert.ok(kc.token !== undefined && kc.token.length >= 32, 'a random token of at least 32 characters');
    assert.match(kc.caPem ?? '', /^-----BEGIN CERTIFICATE-----/);

    const anonymous = { server: up.url, caPem: kc.caPem as string };
    const denied = await remoteRequest(anonymous, 'GET', '/api/v1/namespaces/default/pods', {});
    assert.equal(denied.status, 401);
    assert.deepEqual(JSON.parse(denied.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    assert.equal((await remoteRequest({ ...anonymous, token: `${kc.token}x` }, 'GET', '/api/v1/namespaces/default/pods', {})).status, 401, 'a wrong token');
    assert.equal((await remoteRequest(anonymous, 'DELETE', '/api/v1/namespaces/default/pods/webapp01', {})).status, 401, 'nothing deleted without the token');
    assert.equal((await remoteRequest(anonymous, 'GET', '/healthz', {})).status, 200, 'health stays open');
    const ok = await remoteRequest(kc, 'GET', '/api/v1/namespaces/default/pods/webapp01', {});
    assert.equal(ok.status, 200, ok.body);

    // The certificate verifies only against the kubeconfig's CA: without it, TLS fails.
    await assert.rejects(remoteRequest({ server: up.url, ...(kc.token !== undefined ? { token: kc.token } : {}) }, 'GET', '/version', {}), /self-signed|unable to verify|self signed/);

    const pods = await kubectl(up.kubeconfig, dir, 'get', 'pods');
    assert.equal(pods.code, 0, pods.stderr);
    assert.match(pods.stdout, /^webapp01\s+1\/1\s+Running\s/m);

    // netsim's own clients take the same kubeconfig: its server, token and CA.
    const observed = spawnSync(process.execPath, [BIN, 'observe', '--kubeconfig', up.kubeconfig, '--last', '3', '-o', 'json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(observed.status, 0, observed.stderr);
    const noToken = spawnSync(process.execPath, [BIN, 'observe', '--server', up.url, '--last', '1'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(noToken.status, 2);
    assert.match(noToken.stderr, /^netsim: NETSIM_ERR_SERVER: cannot reach https:\/\/127\.0\.0\.1:\d+: (self[- ]signed certificate|unable to verify)/m, `without the kubeconfig's CA the server is not trusted: ${noToken.stderr}`);

    for (const [p, mode] of modes(state)) {
      const want = statSync(p).isDirectory() ? 0o700 : 0o600;
      assert.equal(mode, want, `${p} is ${mode.toString(8)}, want ${want.toString(8)}`);
    }
    assert.ok(existsSync(join(state, 'store', 'LOCK')), 'the store files were among those checked');

    // A second `up` on the same state: the store is locked by the first.
    const second = upSync(['--listen', '127.0.0.1:0', '--state', state]);
    assertCliError(second, 'NETSIM_ERR_STORE_LOCKED', /locked by running process pid \d+/);

    assert.equal(await stopUp(up), 0, up.err());
    up = undefined;
  } finally {
    if (up !== undefined) await stopUp(up);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim up: a wildcard listener serves TLS by itself; plain HTTP and --anonymous off loopback are refused with a clear message', { skip: haveKubectl ? false : 'kubectl not installed (.ci/run installs it)', timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-upsec-'));
  let up: Up | undefined;
  try {
    const plain = upSync(['--listen', '0.0.0.0:0', '--no-tls', '--state', join(dir, 'a')]);
    assertCliError(plain, 'NETSIM_ERR_INSECURE', /refusing to serve plain HTTP on 0\.0\.0\.0, which is not a loopback address: the bearer token would cross the network in clear text/);
    assert.equal(existsSync(join(dir, 'a')), false, 'refused before anything was created');
    const anon = upSync(['--listen', '0.0.0.0:0', '--anonymous', '--state', join(dir, 'a')]);
    assertCliError(anon, 'NETSIM_ERR_INSECURE', /refusing --anonymous on 0\.0\.0\.0/);

    // Traffic stays on loopback: the wildcard listener is reached at 127.0.0.1, which the certificate names.
    up = await startUp(['--listen', '0.0.0.0:0', '--state', join(dir, 'b')]);
    assert.match(up.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const nodes = await kubectl(up.kubeconfig, dir, 'get', 'nodes');
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, /^node01\s+Ready\s/m);
    assert.equal(await stopUp(up), 0, up.err());
    up = undefined;
  } finally {
    if (up !== undefined) await stopUp(up);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim up: the user\'s --tls-cert/--tls-key are served and trusted through the kubeconfig; --no-tls --anonymous on loopback works for kubectl', { skip: haveKubectl ? false : 'kubectl not installed (.ci/run installs it)', timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-upsec-'));
  let up: Up | undefined;
  try {
    const pem = await generate([{ name: 'commonName', value: 'my-apiserver' }], {
      keyType: 'ec', algorithm: 'sha256',
      extensions: [{ name: 'basicConstraints', cA: true }, { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    writeFileSync(join(dir, 'tls.crt'), pem.cert);
    writeFileSync(join(dir, 'tls.key'), pem.private);
    writeFileSync(join(dir, 'other.key'), (await generate(undefined, { keyType: 'ec' })).private);
    const mismatch = upSync(['--listen', '127.0.0.1:0', '--state', join(dir, 'x'), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'other.key')]);
    assertCliError(mismatch, 'NETSIM_ERR_TLS', /is not the key of the certificate/);
    const half = upSync(['--listen', '127.0.0.1:0', '--state', join(dir, 'x'), '--tls-cert', join(dir, 'tls.crt')]);
    assertCliError(half, 'NETSIM_ERR_TLS', /--tls-cert and --tls-key go together/);

    up = await startUp(['--listen', '127.0.0.1:0', '--state', join(dir, 'a'), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--kubeconfig', join(dir, 'my.kubeconfig')]);
    assert.equal(up.kubeconfig, join(dir, 'my.kubeconfig'));
    assert.equal(statSync(up.kubeconfig).mode & 0o777, 0o600);
    assert.equal(readKubeconfig(up.kubeconfig).caPem, pem.cert);
    const ns = await kubectl(up.kubeconfig, dir, 'get', 'namespaces');
    assert.equal(ns.code, 0, ns.stderr);
    assert.match(ns.stdout, /^kube-system\s+Active\s/m);
    assert.equal(await stopUp(up), 0, up.err());

    up = await startUp(['--listen', '127.0.0.1:0', '--state', join(dir, 'b'), '--no-tls', '--anonymous']);
    assert.match(up.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(readKubeconfig(up.kubeconfig).token, undefined);
    const svc = await kubectl(up.kubeconfig, dir, 'get', 'svc', 'kubernetes');
    assert.equal(svc.code, 0, svc.stderr);
    assert.match(svc.stdout, /^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s/m);
    assert.equal(await stopUp(up), 0, up.err());
    up = undefined;
  } finally {
    if (up !== undefined) await stopUp(up);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim up: a port in use, an address not on this machine, --state a file, a damaged store: exit 2 with a NETSIM_* code and what to do', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-upsec-'));
  const busy: Server = createServer();
  try {
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    const inUse = upSync(['--listen', `127.0.0.1:${port}`, '--state', join(dir, 'a')]);
    assertCliError(inUse, 'NETSIM_ERR_ADDR_IN_USE', new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use.*--listen HOST:PORT`));
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address, and bind() sends nothing.
    const notLocal = upSync(['--listen', '192.0.2.1:0', '--state', join(dir, 'a')]);
    assertCliError(notLocal, 'NETSIM_ERR_ADDR_UNAVAILABLE', /no interface of this machine has that address/);

    writeFileSync(join(dir, 'file'), 'x');
    assertCliError(upSync(['--listen', '127.0.0.1:0', '--state', join(dir, 'file')]), 'NETSIM_ERR_STATE', /is not a directory/);

    const damaged = join(dir, 'damaged');
    const fs = await FileStore.open({ dir: join(damaged, 'store') });
    await fs.create('/registry/x/a', '{}');
    await fs.create('/registry/x/b', '{}');
    await fs.close();
    // The first of two WAL records damaged (not a torn tail): STORE_CORRUPT, never skipped.
    const wal = join(damaged, 'store', 'wal-0000000000000001.jsonl');
    writeFileSync(wal, readFileSync(wal, 'utf8').replace('/registry/x/a', '/registry/x/A'));
    const corrupt = upSync(['--listen', '127.0.0.1:0', '--state', damaged]);
    assertCliError(corrupt, 'NETSIM_ERR_STORE_CORRUPT', /is damaged: .*wal-0000000000000001\.jsonl: corrupt record at byte offset 0.*To recover, .*mv .*store .*store\.damaged/);
  } finally {
    busy.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npx netsim up: SIGTERM to npx stops the server, not only npx (npm signals its `sh -c` alone)', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-upsec-'));
  let up: Up | undefined;
  try {
    up = await startUp(['--listen', '127.0.0.1:0', '--state', join(dir, 'st')], { viaNpx: true });
    const port = Number(new URL(up.url).port);
    let out = '';
    up.proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    // The server holds npx's stdout: 'close' comes when the last process writing it has exited.
    const closed = new Promise<void>((r) => up!.proc.on('close', () => r()));
    up.proc.kill('SIGTERM');
    const gone = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000))]);
    const err = up.err();
    up = undefined;
    if (!gone) {
      const pid = /pid (\d+)/.exec(err)?.[1];
      if (pid !== undefined) process.kill(Number(pid), 'SIGKILL');
    }
    assert.ok(gone, `the server outlived npx: ${err}`);
    assert.match(out, /^netsim up: stopped$/m, `it stopped cleanly: ${err}`);
    // Usually its npm parent's death tells it; should npm's signal reach it as well, that is as good.
    assert.match(err, /INFO {2}(parent exited|SIGTERM): stopping/);
    // The server process is gone with it: nothing accepts on the port any more.
    const refused = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); r(false); });
      s.on('error', () => r(true));
    });
    assert.ok(refused, `port ${port} still accepts after npx exited`);
  } finally {
    if (up !== undefined) await stopUp(up);
    rmSync(dir, { recursive: true, force: true });
  }
});

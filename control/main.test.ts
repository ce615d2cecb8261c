// control/main.ts as a process: the listening line, /version, the token it writes (401
// without it), SIGTERM exits 0, and the file store carries state across a restart
// (resourceVersions keep increasing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Running { child: ChildProcess; url: string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string }

async function start(state: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--listen', '127.0.0.1:0', '--state', state, '--nodes', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line after 60 s; stdout=${out} stderr=${err}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^API server listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    void exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`exited ${String(code)} before listening: ${err}`)); });
  });
  return { child, url, exited, stderr: () => err };
}

test('control/main.ts: listens, serves /version, exits 0 on SIGTERM, state survives a restart', { timeout: 180_000 }, async () => {
  const state = mkdtempSync(join(tmpdir(), 'control-main-'));
  let run: Running | undefined;
  try {
    run = await start(state);
    assert.equal(statSync(join(state, 'token')).mode & 0o777, 0o600);
    let auth = { authorization: `Bearer ${readFileSync(join(state, 'token'), 'utf8').trim()}` };
    assert.equal((await fetch(`${run.url}/api/v1/namespaces/default/services`)).status, 401, 'no token, no access');
    const v = await (await fetch(`${run.url}/version`, { headers: auth })).json() as { major: string; minor: string };
    assert.deepEqual([v.major, v.minor], ['1', '32']);
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'keep-me' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } };
    const c = await fetch(`${run.url}/api/v1/namespaces/default/services`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(svc) });
    assert.equal(c.status, 201);
    const created = await c.json() as { metadata: { uid: string; resourceVersion: string }; spec: { clusterIP: string } };
    run.child.kill('SIGTERM');
    const first = await run.exited;
    assert.deepEqual(first, { code: 0, signal: null }, run.stderr());

    run = await start(state);
    auth = { authorization: `Bearer ${readFileSync(join(state, 'token'), 'utf8').trim()}` };
    const g = await fetch(`${run.url}/api/v1/namespaces/default/services/keep-me`, { headers: auth });
    assert.equal(g.status, 200);
    const again = await g.json() as { metadata: { uid: string; resourceVersion: string }; spec: { clusterIP: string } };
    assert.equal(again.metadata.uid, created.metadata.uid);
    assert.equal(again.spec.clusterIP, created.spec.clusterIP);
    const n = await (await fetch(`${run.url}/api/v1/nodes`, { headers: auth })).json() as { items: unknown[] };
    assert.equal(n.items.length, 1, 'node-1 registered once, not again after the restart');
    const w = await fetch(`${run.url}/api/v1/namespaces/default/services/keep-me`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { labels: { restarted: 'yes' } } }) });
    const patched = await w.json() as { metadata: { resourceVersion: string } };
    assert.ok(Number(patched.metadata.resourceVersion) > Number(created.metadata.resourceVersion), 'resourceVersions keep increasing across the restart');
    run.child.kill('SIGTERM');
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    run = undefined;
  } finally {
    if (run && run.child.exitCode === null) { run.child.kill('SIGKILL'); await run.exited; }
    rmSync(state, { recursive: true, force: true });
  }
});

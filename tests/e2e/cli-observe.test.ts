// `netsim observe --follow` as a user runs it beside `netsim up`: the stream stays open,
// prints the flows of traffic made after it started (here a live `netsim trace` to the
// nginx Service), honours the server-side filter, and Ctrl-C ends it with exit 0 and no
// stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startUp, stopUp, until } from '../support/netsim-up.ts';
import type { Up } from '../support/netsim-up.ts';
import type { Flow } from '../../observe/flow.ts';

test('netsim observe --follow: flows of later traffic arrive filtered; SIGINT exits 0', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-observe-'));
  let up: Up | undefined;
  try {
    up = await startUp(['--listen', '127.0.0.1:0', '--state', join(dir, 'state')]);
    const obs = spawn(process.execPath, [BIN, 'observe', '--kubeconfig', up.kubeconfig, '--follow', '-o', 'json', '--to-service', 'default/nginx-service', '--protocol', 'TCP'], { stdio: 'pipe' });
    let out = '';
    let err = '';
    obs.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    obs.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exit = new Promise<number | null>((r) => obs.on('exit', (code) => r(code)));
    // The stream is open (the process is alive) before the traffic it must see is made.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(obs.exitCode, null, `observe --follow ended early: ${err}`);
    const trace = spawnSync(process.execPath, [BIN, 'trace', '--kubeconfig', up.kubeconfig, '--from', 'webapp01', '--to', 'service:default/nginx-service', '-o', 'json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(trace.status, 0, trace.stderr);
    const flows = await until('the traced request in the followed stream', async () => {
      const fs = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Flow);
      return fs.length > 0 ? fs : undefined;
    }, 30_000);
    for (const f of flows) {
      assert.equal(f.service, 'default/nginx-service', JSON.stringify(f));
      assert.equal(f.protocol, 'TCP', JSON.stringify(f));
    }
    assert.ok(flows.some((f) => f.source.kind === 'pod' && f.source.namespace === 'default' && f.source.name === 'webapp01'), `a flow from webapp01: ${out}`);
    obs.kill('SIGINT');
    assert.equal(await exit, 0, err);
    assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
  } finally {
    await stopUp(up);
    rmSync(dir, { recursive: true, force: true });
  }
});

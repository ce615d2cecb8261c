/**
 * verify runs as root and executes the flanneld-like proxy it compiled into a cache in
 * the temporary directory. A cache another user made first (or a binary they left in
 * it) is never run; the cache this user made is reused. Needs root (to make a directory
 * another user owns) and gcc; skips saying which is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./flannel-proxy.c', import.meta.url));
const MODULE = fileURLToPath(new URL('./flannel-proxy.ts', import.meta.url));
const NAME = `flannel-proxy-${createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16)}`;
const skip = process.getuid?.() !== 0 ? 'not root' : spawnSync('gcc', ['--version']).status !== 0 ? 'gcc is not installed' : undefined;
if (skip !== undefined) console.log(`# flannel proxy cache tests skipped: ${skip}`);

/** buildFlannelProxy() in a fresh process whose temporary directory is `base`. */
function build(base: string): { bin?: string; reason?: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(MODULE)}).then((m) => console.log(JSON.stringify(m.buildFlannelProxy())))`], {
    encoding: 'utf8', env: { ...process.env, TMPDIR: base },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { bin?: string; reason?: string };
}

test('a cache directory another user made, with a binary of the expected name in it, is passed over', { skip }, () => {
  const base = mkdtempSync(join(tmpdir(), 'nsim-fpcache-'));
  try {
    const planted = join(base, 'netsim-verify-bin');
    mkdirSync(planted);
    writeFileSync(join(planted, NAME), '#!/bin/sh\necho planted\n');
    chmodSync(join(planted, NAME), 0o755);
    chownSync(join(planted, NAME), 65534, 65534);
    chownSync(planted, 65534, 65534);
    const b = build(base);
    assert.ok(b.bin !== undefined, b.reason);
    assert.notEqual(dirname(b.bin), planted, 'the planted binary would run as root');
    assert.equal(readFileSync(join(planted, NAME), 'utf8'), '#!/bin/sh\necho planted\n');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('the cache this user made is reused; a binary in it writable by others is rebuilt', { skip }, () => {
  const base = mkdtempSync(join(tmpdir(), 'nsim-fpcache-'));
  try {
    const first = build(base);
    assert.equal(first.bin, join(base, 'netsim-verify-bin', NAME), first.reason);
    assert.equal(build(base).bin, first.bin);
    chmodSync(first.bin as string, 0o777);
    writeFileSync(first.bin as string, 'tampered');
    const again = build(base);
    assert.equal(again.bin, first.bin);
    assert.notEqual(readFileSync(again.bin as string, 'utf8'), 'tampered', 'rebuilt, not run as found');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

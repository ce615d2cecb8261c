/**
 * The README's main job: `netsim demo` runs from the package's own bin, exits 0,
 * prints the traced flows, writes its files, and is deterministic per seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function demo(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/netsim.mjs', 'demo', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('netsim demo: exit 0, same-node and cross-node flows delivered, files written, same seed same bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-demo-'));
  try {
    const a = demo(['--out', join(dir, 'a'), '--seed', '3']);
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /== 1\. same-node pod → pod: webapp01 → webapp02 \(ping\)/);
    assert.match(a.out, /-> echo reply, ttl 64/);
    assert.match(a.out, /-> HTTP 200: Hello World, Kubernetes! from backend/);
    assert.match(a.out, /node01\s+ttl decrement\s+64 → 63 \(forward\)/);
    assert.match(a.out, /node01\s+flannel0 encap\s+flanneld UDP: 192\.168\.50\.11:8285 → 192\.168\.50\.12:8285/);
    assert.match(a.out, /== 3\. pod → ClusterIP[^\n]*\n(.*\n)*?.*nat KUBE-SEP-[A-Z2-7]{16}:2 -j DNAT/);
    assert.match(a.out, /-> HTTP 200: Hello World, Kubernetes! from nginx-deployment-[a-z0-9]+-[a-z0-9]{5}\n(.*\n)*?== 4\./);
    // Rule 1 counts localhost NodePort connections (-d 127.0.0.0/8 -m nfacct); an outside client's matches rule 2.
    assert.match(a.out, /== 4\. outside → NodePort[^\n]*\n(.*\n)*?.*nat KUBE-NODEPORTS:2 -j KUBE-EXT-/);
    assert.match(a.out, /-> HTTP 200: Hello World, Kubernetes! from client/);
    const b = demo(['--out', join(dir, 'b'), '--seed', '3']);
    const files = readdirSync(join(dir, 'a')).sort();
    assert.ok(files.length >= 2);
    for (const f of files) assert.deepEqual(readFileSync(join(dir, 'b', f)), readFileSync(join(dir, 'a', f)), `${f} identical for the same seed`);
    demo(['--out', join(dir, 'c'), '--seed', '4']);
    assert.notDeepEqual(readFileSync(join(dir, 'c', 'flow-2.trace.txt')), readFileSync(join(dir, 'a', 'flow-2.trace.txt')), 'another seed picks other ports and sequence numbers');
    void b;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim rejects a bad --seed with a clear message and a non-zero exit', () => {
  const r = demo(['--seed', 'abc']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /--seed must be an integer, got "abc"/);
});

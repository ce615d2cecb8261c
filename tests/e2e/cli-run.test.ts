/**
 * `netsim run`: the spec's declared clients for a span of virtual time; with
 * `--workers 2` the nodes run in two worker threads in lockstep and the output and
 * the capture bytes are those of the serial run. Refusals exit 2 with a code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function netsim(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/netsim.mjs', ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('netsim run --workers 2: the serial run\'s counts (json) and pcapng bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-run-'));
  try {
    const base = ['run', '--spec', 'examples/seed-clients.yaml', '--duration', '500ms', '-o', 'json'];
    const a = netsim([...base, '-w', join(dir, 'a.pcapng')]);
    assert.equal(a.code, 0, a.err);
    const counts = JSON.parse(a.out) as { clients: Array<{ name: string; answered: number; failed: number }> };
    assert.deepEqual(counts.clients.map((c) => c.name), ['web-backend', 'web-nginx', 'nodeport', 'web-outside']);
    for (const c of counts.clients) assert.ok(c.answered > 3 && c.failed === 0, JSON.stringify(c));
    const b = netsim([...base, '-w', join(dir, 'b.pcapng'), '--workers', '2']);
    assert.equal(b.code, 0, b.err);
    assert.equal(b.out, a.out);
    const pa = readFileSync(join(dir, 'a.pcapng'));
    assert.ok(pa.length > 100_000, `a capture of the run (${pa.length} bytes)`);
    assert.ok(pa.equals(readFileSync(join(dir, 'b.pcapng'))), 'identical pcapng bytes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim run refuses: no declared clients, more workers than nodes (exit 2, coded)', () => {
  const none = netsim(['run', '--duration', '1s']);
  assert.equal(none.code, 2);
  assert.match(none.err, /NETSIM_ERR_ARGUMENT: the cluster spec declares no clients/);
  const many = netsim(['run', '--spec', 'examples/seed-clients.yaml', '--duration', '1s', '--workers', '3']);
  assert.equal(many.code, 2);
  assert.match(many.err, /NETSIM_ERR_PARTITION: 3 workers for 2 node\(s\)/);
});

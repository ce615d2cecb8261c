// `netsim node NODE nft` / `nft-json` on the seed cluster with kube-proxy in nftables
// mode: the node's nf_tables as nft 1.0.6 lists them, and — where root and nft are
// present — the listing loaded by the real `nft -f` in a fresh namespace lists back
// byte for byte, as text and as JSON.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertSameText, listRealNft, realNftSkipReason } from '../../netsim/netfilter/nftables/test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'nsim-nft-view-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const spec = join(dir, 'cluster.yaml');
writeFileSync(spec, readFileSync('examples/seed-cluster.yaml', 'utf8').replace(/^ {2}mode: iptables$/m, '  mode: nftables'));

function netsim(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/netsim.mjs', ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 26 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

for (const node of ['node01', 'node02']) test(`netsim node ${node} nft and nft-json show kube-proxy's table; the real nft reads the listing back unchanged`, () => {
  const text = netsim(['node', node, 'nft', '--spec', spec]);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^table ip kube-proxy \{\n\tcomment "rules for kube-proxy"\n/);
  assert.match(text.out, /\t\tip daddr \. meta l4proto \. th dport vmap @service-ips\n/);
  const json = netsim(['node', node, 'nft-json', '--spec', spec]);
  assert.equal(json.code, 0, json.err);
  const doc = JSON.parse(json.out) as { nftables: Array<Record<string, unknown>> };
  assert.deepEqual(doc.nftables[0], { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } });
  assert.ok(doc.nftables.some((o) => 'map' in o && (o.map as { name: string }).name === 'service-ips'));
  const skip = realNftSkipReason();
  if (skip !== undefined) {
    console.log(`# real nft comparison skipped: ${skip}`);
    return;
  }
  const ns = `nsim-nft-view-${process.pid}-${node}`;
  assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  try {
    const load = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: text.out, encoding: 'utf8' });
    assert.equal(load.status, 0, load.stderr);
    const listed = listRealNft(ns);
    assert.equal(listed.status, 0, listed.stderr);
    assertSameText(listed.stdout, text.out, 'real nft lists the view as the view prints it');
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});

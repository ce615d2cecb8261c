/**
 * The real iptables (1.8.9, nf_tables) is the oracle. Each fixture in
 * tests/golden/iptables/xt-*.rules (hand-written in the shapes kube-proxy, flanneld,
 * dockerd and the CNI plugins write) has a golden `.saved` — what the real
 * `iptables-save` printed after a real `iptables-restore` of it in a fresh netns —
 * and `.list` files with `iptables -L -n -v` / `--line-numbers` output.
 *
 * Always: the emulator renders every golden byte for byte. With root and
 * `ip netns add`: the real tool still prints the goldens, and accepts the
 * emulator's rendering with `iptables-restore --test`. XT_UPDATE_GOLDEN=1
 * rewrites the goldens from the real tool (review the diff by eye).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Xtables } from './xtables.ts';
import type { TableName } from './model.ts';

const dir = new URL('../../../tests/golden/iptables/', import.meta.url);
const fixtures = readdirSync(dir).filter((f) => f.startsWith('xt-') && f.endsWith('.rules')).map((f) => f.slice(0, -'.rules'.length)).sort();
const read = (f: string): string => readFileSync(new URL(f, dir), 'utf8');
const update = process.env['XT_UPDATE_GOLDEN'] === '1';

/** ipsets the IPVS-mode fixture names (created in the netns before the restore). */
const IPSETS: readonly (readonly [string, string])[] = [
  ['KUBE-LOOP-BACK', 'hash:ip,port,ip'], ['KUBE-CLUSTER-IP', 'hash:ip,port'], ['KUBE-NODE-PORT-TCP', 'bitmap:port range 0-65535'],
  ['KUBE-HEALTH-CHECK-NODE-PORT', 'bitmap:port range 0-65535'], ['KUBE-LOAD-BALANCER-FW', 'hash:ip,port'], ['KUBE-EXTERNAL-IP', 'hash:ip,port'],
];
/** Listings kept as goldens: [fixture, table, flags]. */
const LISTINGS: readonly (readonly [string, TableName, string])[] = [
  ['xt-kube-proxy', 'nat', '-v'], ['xt-kube-proxy', 'filter', '--line-numbers'], ['xt-matches-1', 'filter', '-v'],
  ['xt-matches-2', 'filter', '-v'], ['xt-matches-3', 'filter', '-v'], ['xt-targets', 'nat', '-v'], ['xt-targets', 'raw', '--line-numbers'],
  ['xt-docker', 'filter', '-v'], ['xt-flannel', 'nat', '-v'], ['xt-cni', 'nat', '-v'], ['xt-ipvs', 'nat', '-v'],
];
const listFile = (f: string, table: string, flags: string) => `${f}.${table}${flags === '-v' ? '' : '.lines'}.list`;

function emulator(f: string): Xtables {
  const x = new Xtables();
  x.restore(read(`${f}.rules`));
  return x;
}

test('the emulator prints every golden iptables-save exactly (parse → render)', () => {
  for (const f of fixtures) {
    if (!existsSync(new URL(`${f}.saved`, dir))) continue;
    assert.equal(emulator(f).save(), read(`${f}.saved`), f);
  }
});

test('iptables-save output is a fixed point: restoring it prints it again', () => {
  for (const f of fixtures) {
    const once = emulator(f).save();
    const x = new Xtables();
    x.restore(once);
    assert.equal(x.save(), once, f);
  }
});

test('the emulator prints the golden iptables -L listings exactly', () => {
  for (const [f, table, flags] of LISTINGS) {
    const file = listFile(f, table, flags);
    if (!existsSync(new URL(file, dir))) continue;
    const opts = flags === '-v' ? { verbose: true } : { lineNumbers: true };
    assert.equal(emulator(f).list(table, opts), read(file), file);
  }
});

// ------------------------------------------------------------------ the real tool

function canUseNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `nsxt-${process.pid}-probe`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add failed: ${r.stderr.trim() || r.error?.message}`;
  spawnSync('ip', ['netns', 'del', probe]);
  if (spawnSync('iptables-save', ['--version'], { encoding: 'utf8' }).status !== 0) return 'iptables-save not installed';
  return undefined;
}
const skip = canUseNetns();
if (skip !== undefined) console.log(`# xtables oracle: real-tool comparison skipped (${skip})`);
const made: string[] = [];
let seq = 0;
after(() => {
  for (const ns of made) spawnSync('ip', ['netns', 'del', ns]);
});

function freshNetns(): string {
  const ns = `nsxt-${process.pid}-${seq++}`;
  const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  made.push(ns);
  const hasIpset = spawnSync('ip', ['netns', 'exec', ns, 'ipset', '--version']).status === 0;
  if (hasIpset) for (const [name, type] of IPSETS) spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', `ipset create ${name} ${type}`]);
  return ns;
}

function run(ns: string, cmd: string[], input?: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const stripDates = (s: string): string => s.split('\n').filter((l) => !l.startsWith('#')).join('\n');

test('the real iptables-restore/iptables-save print the goldens; the real tool accepts our rendering', { skip: skip ?? false }, () => {
  for (const f of fixtures) {
    const ns = freshNetns();
    run(ns, ['iptables-restore'], read(`${f}.rules`));
    const saved = stripDates(run(ns, ['iptables-save']));
    if (update) writeFileSync(new URL(`${f}.saved`, dir), saved);
    else assert.equal(saved, read(`${f}.saved`), `${f}: real iptables-save differs from the golden`);
    for (const [lf, table, flags] of LISTINGS) {
      if (lf !== f) continue;
      const listing = run(ns, ['iptables', '-t', table, '-L', '-n', flags]);
      if (update) writeFileSync(new URL(listFile(f, table, flags), dir), listing);
      else assert.equal(listing, read(listFile(f, table, flags)), `${f} ${table} ${flags}`);
    }
    // Our rendering loads into the real kernel and comes back unchanged.
    const ns2 = freshNetns();
    const ours = emulator(f).save();
    run(ns2, ['iptables-restore', '--test'], ours);
    run(ns2, ['iptables-restore'], ours);
    assert.equal(stripDates(run(ns2, ['iptables-save'])), ours, `${f}: real tool re-prints our rendering differently`);
  }
});

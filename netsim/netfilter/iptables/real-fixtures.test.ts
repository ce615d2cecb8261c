/**
 * The real iptables (1.8.9, nf_tables) is the oracle. Each fixture in
 * tests/golden/iptables/real/*.rules (written in the shapes kube-proxy in iptables and
 * IPVS modes, flanneld, dockerd and the CNI bridge/portmap/firewall plugins write, and
 * a zoo of matches and targets) has a golden `.saved` — what the real `iptables-save`
 * printed after a real `iptables-restore` of it in a fresh netns — and `.list` files
 * with `iptables -L -n -v` (`.lines.list`: `-L -n --line-numbers`) output.
 *
 * Always: the emulator reproduces every golden byte for byte. With root, `ip netns`
 * and iptables-nft: the real tool still prints the goldens, and takes the emulator's
 * rendering back unchanged. IPT_UPDATE_GOLDEN=1 rewrites the goldens from the real
 * tool (review the diff by eye before committing).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Iptables } from './iptables.ts';
import type { TableName } from './model.ts';
import { Netns, realToolSkipReason } from './test-support.ts';

const dir = new URL('../../../tests/golden/iptables/real/', import.meta.url);
const read = (f: string): string => readFileSync(new URL(f, dir), 'utf8');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.rules')).map((f) => f.slice(0, -'.rules'.length)).sort();
const update = process.env['IPT_UPDATE_GOLDEN'] === '1';

/** The golden listings: every `FIXTURE.TABLE[.lines].list` file. */
const listings = readdirSync(dir).filter((f) => f.endsWith('.list')).map((f) => {
  const [fixture, table, lines] = f.split('.') as [string, TableName, string];
  return { file: f, fixture, table, lineNumbers: lines === 'lines' };
});

/** ipsets the IPVS-mode fixture names (the real iptables-restore refuses rules naming missing sets). */
const IPSETS: readonly (readonly [string, ...string[]])[] = [
  ['KUBE-LOOP-BACK', 'hash:ip,port,ip'], ['KUBE-CLUSTER-IP', 'hash:ip,port'], ['KUBE-NODE-PORT-TCP', 'bitmap:port', 'range', '0-65535'],
  ['KUBE-HEALTH-CHECK-NODE-PORT', 'bitmap:port', 'range', '0-65535'], ['KUBE-LOAD-BALANCER-FW', 'hash:ip,port'], ['KUBE-EXTERNAL-IP', 'hash:ip,port'],
];

function emulator(f: string): Iptables {
  const ipt = new Iptables();
  ipt.restore(read(`${f}.rules`));
  return ipt;
}

test('fixtures are there: kube-proxy (iptables and IPVS), flannel, Docker, CNI and the match/target zoo', () => {
  for (const f of ['kube-proxy', 'ipvs', 'flannel', 'docker', 'cni', 'matches-1', 'matches-2', 'matches-3', 'targets']) assert.ok(fixtures.includes(f), f);
  assert.ok(listings.length >= 11);
});

test('iptables-save of every fixture is byte for byte what the real tool printed', () => {
  for (const f of fixtures) assert.equal(emulator(f).save(), read(`${f}.saved`), f);
});

test('iptables-save output is a fixed point: restoring it prints it again, in a fresh and in the same namespace', () => {
  for (const f of fixtures) {
    const once = emulator(f).save();
    const fresh = new Iptables();
    fresh.restore(once);
    assert.equal(fresh.save(), once, f);
    const same = emulator(f);
    same.restore(once);
    assert.equal(same.save(), once, `${f} over itself`);
  }
});

test('iptables -L -n -v and -L -n --line-numbers print what the real tool printed', () => {
  for (const l of listings) {
    const got = emulator(l.fixture).list(l.table, l.lineNumbers ? { verbose: false, lineNumbers: true } : {});
    assert.equal(got, read(l.file), l.file);
  }
});

// ------------------------------------------------------------------ the real tool

const skip = realToolSkipReason();
if (skip !== undefined) console.log(`# real-fixtures: comparison with the real iptables skipped (${skip})`);
const hasIpset = skip === undefined && spawnSync('ipset', ['--version']).status === 0;
if (skip === undefined && !hasIpset) console.log('# real-fixtures: ipset is not installed; the IPVS-mode fixture (it names ipsets) is skipped against the real tool');
const netns = new Netns('nsiptfx');
after(() => netns.cleanup());

function freshNetns(): string {
  const ns = netns.fresh();
  if (hasIpset) for (const [name, ...type] of IPSETS) netns.run(ns, ['ipset', 'create', name, ...type]);
  return ns;
}

function run(ns: string, cmd: readonly string[], input?: string): string {
  const r = netns.run(ns, cmd, input);
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const stripComments = (s: string): string => s.split('\n').filter((l) => !l.startsWith('#')).join('\n');

test('the real iptables-restore/iptables-save/iptables -L print the goldens; the real tool takes our rendering back unchanged', { skip: skip ?? false }, () => {
  for (const f of fixtures) {
    if (f === 'ipvs' && !hasIpset) continue;
    const ns = freshNetns();
    run(ns, ['iptables-restore'], read(`${f}.rules`));
    const saved = stripComments(run(ns, ['iptables-save']));
    if (update) writeFileSync(new URL(`${f}.saved`, dir), saved);
    else assert.equal(saved, read(`${f}.saved`), `${f}: the real iptables-save differs from the golden`);
    for (const l of listings.filter((x) => x.fixture === f)) {
      const listing = run(ns, ['iptables', '-t', l.table, '-L', '-n', l.lineNumbers ? '--line-numbers' : '-v']);
      if (update) writeFileSync(new URL(l.file, dir), listing);
      else assert.equal(listing, read(l.file), l.file);
    }
    // Our rendering loads into the real kernel (also with --test) and comes back unchanged.
    const ours = emulator(f).save();
    const ns2 = freshNetns();
    run(ns2, ['iptables-restore', '--test'], ours);
    run(ns2, ['iptables-restore'], ours);
    assert.equal(stripComments(run(ns2, ['iptables-save'])), ours, `${f}: the real tool re-prints our rendering differently`);
  }
});

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { Iptables } from './iptables.ts';
import { IptablesError } from './errors.ts';
import { tokenize } from './tokenize.ts';

const golden = (f: string): string => readFileSync(new URL(`../../../tests/golden/iptables/${f}`, import.meta.url), 'utf8');

test('kube-proxy, flannel, Docker and CNI rule shapes render exactly as the real iptables-save printed them', () => {
  const ipt = new Iptables();
  ipt.restore(golden('mixed.rules'));
  assert.equal(ipt.save(), golden('mixed.saved'));
  const canon = new Iptables();
  canon.restore(golden('canonical.rules'));
  assert.equal(canon.save(), golden('canonical.saved'), '--syn, icmp names, nth, MARK variants, probabilities');
  const cni = new Iptables();
  cni.restore(golden('cni-flannel-docker.rules'));
  assert.equal(cni.save(), golden('cni-flannel-docker.saved'), 'Docker, flannel and CNI bridge/portmap shapes');
  // iptables-save output is a fixed point of restore → save.
  const again = new Iptables();
  again.restore(ipt.save());
  assert.equal(again.save(), golden('mixed.saved'));
});

const ns = `nsipt${process.pid}`;
const root = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'add', ns]).status === 0;
after(() => {
  if (root) spawnSync('ip', ['netns', 'del', ns]);
});
test('the real iptables-restore/iptables-save agree with the golden file', { skip: root ? false : 'needs root and ip netns (the golden file was made with them)' }, () => {
  for (const f of ['mixed', 'canonical', 'cni-flannel-docker']) {
    // A fresh namespace per file: restore only flushes the tables a file names.
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['netns', 'add', ns]);
    const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore'], { input: golden(`${f}.rules`), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const saved = spawnSync('ip', ['netns', 'exec', ns, 'iptables-save'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    assert.equal(saved, golden(`${f}.saved`));
  }
});

test('--noflush keeps other chains and tables; a declared user chain is flushed; without it the table is replaced', () => {
  const ipt = new Iptables();
  ipt.restore('*nat\n:KUBE-SERVICES - [0:0]\n:OTHER - [0:0]\n-A KUBE-SERVICES -j RETURN\n-A OTHER -j RETURN\nCOMMIT\n*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
  ipt.restore('*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j RETURN\nCOMMIT\n', { noflush: true });
  assert.equal(ipt.save({ table: 'nat' }), '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:OTHER - [0:0]\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j RETURN\n-A OTHER -j RETURN\nCOMMIT\n');
  assert.match(ipt.save({ table: 'filter' }), /-A INPUT -j ACCEPT/);
  ipt.restore('*nat\n:PREROUTING DROP [0:0]\nCOMMIT\n');
  assert.equal(ipt.save({ table: 'nat' }), '*nat\n:PREROUTING DROP [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n');
});

test('errors name the line and leave the ruleset untouched', () => {
  const ipt = new Iptables();
  ipt.restore('*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
  const before = ipt.save();
  const cases: Array<[string, string, number]> = [
    ['*filter\n-A INPUT -j DROP\n-A NOPE -j ACCEPT\nCOMMIT\n', 'IPT_NO_CHAIN', 3],
    ['*filter\n-A INPUT -m bogus --x 1 -j ACCEPT\nCOMMIT\n', 'IPT_UNKNOWN_MATCH', 2],
    // iptables-nft resolves jumps when it commits: the error names the COMMIT line.
    ['*filter\n-A INPUT -j KUBE-NOWHERE\nCOMMIT\n', 'IPT_UNKNOWN_TARGET', 3],
    ['*filter\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n', 'IPT_BAD_ARG', 2],
    ['*filter\n-A INPUT -j ACCEPT\n', 'IPT_NO_COMMIT', 3],
    ['*nat\n-A PREROUTING -j SNAT --to-source 1.2.3.4\nCOMMIT\n', 'IPT_TARGET_NOT_ALLOWED', 2],
    ['*filter\n-A INPUT -m comment --comment "open\nCOMMIT\n', 'IPT_PARSE', 2],
    ['*bogus\nCOMMIT\n', 'IPT_BAD_TABLE', 1],
    ['*filter\n:X - [0:0]\n-A INPUT -j X\n-X X\nCOMMIT\n', 'IPT_CHAIN_IN_USE', 4],
  ];
  for (const [text, code, line] of cases) {
    assert.throws(() => ipt.restore(text, { noflush: true }), (e: unknown) => e instanceof IptablesError && e.code === code && e.line === line, `${code} at line ${line}`);
    assert.equal(ipt.save(), before, 'nothing changed');
  }
});

test('kernel canonical forms: MARK variants, probabilities, REJECT and recent defaults', () => {
  const ipt = new Iptables();
  ipt.restore([
    '*mangle', '-A PREROUTING -j MARK --and-mark 0xff', '-A PREROUTING -j MARK --set-mark 0x1/0x3', 'COMMIT',
    '*nat', ':KUBE-SVC - [0:0]', '-A KUBE-SVC -m statistic --mode random --probability 0.5000000000 -j RETURN',
    '-A KUBE-SVC -m statistic --mode random --probability 0.1 -j RETURN', '-A KUBE-SVC -m recent --name X --update --seconds 5 --hitcount 2 -j RETURN', 'COMMIT', '',
  ].join('\n'));
  const out = ipt.save();
  assert.match(out, /-A PREROUTING -j MARK --set-xmark 0x0\/0xffffff00/);
  assert.match(out, /-A PREROUTING -j MARK --set-xmark 0x1\/0x3/);
  assert.match(out, /--probability 0\.50000000000 -j RETURN/);
  assert.match(out, /--probability 0\.10000000009 -j RETURN/);
  assert.match(out, /-m recent --update --seconds 5 --hitcount 2 --name X --mask 255\.255\.255\.255 --rsource -j RETURN/);
});

test('tokenize: quotes and escapes like iptables-restore', () => {
  assert.deepEqual(tokenize('-A X -m comment --comment "a \\"b\\" c" -j ACCEPT'), ['-A', 'X', '-m', 'comment', '--comment', 'a "b" c', '-j', 'ACCEPT']);
  // Only double quotes group; a closing quote ends the argument; backslashes escape only inside quotes.
  assert.deepEqual(tokenize("--log-prefix 'x y '"), ['--log-prefix', "'x", 'y', "'"]);
  assert.deepEqual(tokenize('--comment ab"c d"ef "" x\\y "p\\q"'), ['--comment', 'abc d', 'ef', '', 'x\\y', 'pq']);
  assert.throws(() => tokenize('--comment "open', 7), (e: unknown) => e instanceof IptablesError && e.code === 'IPT_PARSE' && e.line === 7);
});

test('property: any text, or any mutation of a real ruleset, restores or fails with IptablesError; save is a fixed point', () => {
  const lines = golden('mixed.rules').split('\n');
  const words = ['-A', '-I', '-N', '-X', '-F', '-j', '-m', '!', '-p', 'tcp', '--dport', '80', 'KUBE-SVC-X', '"', 'ACCEPT', 'DNAT', '--to-destination', '10.0.0.1:80', 'COMMIT', '*nat', ':FOO - [0:0]', '-s', '10.0.0.0/8', 'mark', '--mark', '0x4000/0x4000'];
  const mutated = fc.tuple(fc.nat({ max: lines.length - 1 }), fc.array(fc.constantFrom(...words), { maxLength: 6 })).map(([i, ws]) => {
    const copy = [...lines];
    copy[i] = `${copy[i] ?? ''} ${ws.join(' ')}`;
    return copy.join('\n');
  });
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated), (text) => {
    const ipt = new Iptables();
    try {
      ipt.restore(text);
    } catch (e) {
      assert.ok(e instanceof IptablesError, `unexpected ${String(e)}`);
      return;
    }
    const saved = ipt.save();
    const again = new Iptables();
    again.restore(saved);
    assert.equal(again.save(), saved);
  }), { numRuns: 300 });
});

test('iptables -L -n -v listings match the real tool', () => {
  for (const [file, tables] of [['mixed', ['nat', 'filter']], ['canonical', ['nat', 'mangle']]] as const) {
    const ipt = new Iptables();
    ipt.restore(golden(`${file}.rules`));
    for (const t of tables) assert.equal(ipt.list(t), golden(`${file}.${t}.list`), `${file} -t ${t}`);
  }
});

test('iptables-save lists tables in iptables-nft order (mangle, raw, filter, nat); empty blocks create nothing', () => {
  const ipt = new Iptables();
  ipt.restore('*nat\n-A OUTPUT -j ACCEPT\nCOMMIT\n*mangle\n-A OUTPUT -j ACCEPT\nCOMMIT\n*raw\n-A OUTPUT -j ACCEPT\nCOMMIT\n*filter\n-A OUTPUT -j ACCEPT\nCOMMIT\n');
  assert.deepEqual(ipt.save().split('\n').filter((l) => l.startsWith('*')), ['*mangle', '*raw', '*filter', '*nat']);
  const empty = new Iptables();
  empty.restore('*nat\nCOMMIT\n');
  assert.equal(empty.save(), '');
});

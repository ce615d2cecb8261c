import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IptablesRestoreError } from './errors.ts';
import { Xtables } from './xtables.ts';
import { formatProbability } from './render-rule.ts';
import { probabilityToFixed } from './matches.ts';
import { evalCtx, packet } from './test-support.ts';
import { Rng } from '../../time/rng.ts';

const BASE = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:U - [0:0]
:V - [0:0]
-A INPUT -j U
-A U -j ACCEPT
-A V -j ACCEPT
-A FORWARD -j ACCEPT
COMMIT
`;

function errorOf(x: Xtables, text: string, opts = {}): IptablesRestoreError {
  try {
    x.restore(text, opts);
  } catch (e) {
    assert.ok(e instanceof IptablesRestoreError, String(e));
    return e;
  }
  assert.fail('restore succeeded');
}

test('--noflush: `:CHAIN` flushes an existing user chain, a built-in line sets the policy only, other tables untouched', () => {
  const x = new Xtables();
  x.restore(BASE);
  x.restore('*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n', { noflush: true });
  x.restore('*filter\n:U - [0:0]\n:INPUT DROP [0:0]\n-A V -j DROP\nCOMMIT\n', { noflush: true });
  assert.equal(x.save({ table: 'filter' }), `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:U - [0:0]
:V - [0:0]
-A INPUT -j U
-A FORWARD -j ACCEPT
-A V -j ACCEPT
-A V -j DROP
COMMIT
`);
  assert.match(x.save(), /\*nat[\s\S]*-A POSTROUTING -j MASQUERADE/);
  // Without --noflush a block replaces its table.
  x.restore('*filter\n-A FORWARD -j DROP\nCOMMIT\n');
  assert.doesNotMatch(x.save({ table: 'filter' }), /:U /);
  assert.match(x.save(), /-A POSTROUTING -j MASQUERADE/);
});

test('errors carry a stable code and the line, worded like iptables-restore; nothing changes', () => {
  const x = new Xtables();
  x.restore(BASE);
  const before = x.save();
  const cases: [string, string, number, RegExp][] = [
    ['*filter\n-N V\nCOMMIT\n', 'IPT_CHAIN_EXISTS', 2, /line 2 failed: Chain already exists\./],
    ['*filter\n-X U\nCOMMIT\n', 'IPT_CHAIN_IN_USE', 2, /Device or resource busy/],
    ['*filter\n-A NOPE -j ACCEPT\nCOMMIT\n', 'IPT_NO_CHAIN', 2, /No chain\/target\/match by that name/],
    ['*filter\n-A V -j NOPE\nCOMMIT\n', 'IPT_NO_CHAIN', 2, /Chain 'NOPE' does not exist/],
    ['*filter\n-A V -m foo -j DROP\nCOMMIT\n', 'IPT_UNKNOWN_MATCH', 2, /Couldn't load match `foo'/],
    ['*filter\n-A V -j TPROXY\nCOMMIT\n', 'IPT_UNKNOWN_TARGET', 2, /TPROXY/],
    ['*filter\n-A V -p tcp --bogus -j DROP\nCOMMIT\n', 'IPT_UNKNOWN_OPTION', 2, /unknown option "--bogus"/],
    ['*filter\n-A V -s 1.2.3.300 -j DROP\nCOMMIT\n', 'IPT_BAD_ARG', 2, /host\/network `1\.2\.3\.300' not found/],
    ['*filter\n-A V -p tcp --dport 99999 -j DROP\nCOMMIT\n', 'IPT_BAD_ARG', 2, /invalid port\/service `99999'/],
    ['*filter\n-A INPUT -o eth0 -j DROP\nCOMMIT\n', 'IPT_BAD_ARG', 2, /Can't use -o with INPUT/],
    ['*filter\n-A V -j DROP\n', 'IPT_NO_COMMIT', 0, /COMMIT expected at line 3/],
    ['*foo\nCOMMIT\n', 'IPT_BAD_TABLE', 1, /table name 'foo' invalid/],
    ['*nat\n-A PREROUTING -j DROP\nCOMMIT\n', 'IPT_BAD_ARG', 2, /not intended for filtering/],
    ['*filter\n-A V -m statistic --mode nth --every 3 -j DROP\nCOMMIT\n', 'IPT_BAD_ARG', 2, /also requires "--packet"/],
    ['*filter\n-A V -j\nCOMMIT\n', 'IPT_BAD_ARG', 2, /option "-j" requires an argument/],
    ['*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\nCOMMIT\n', 'IPT_LOOP', 5, /Too many levels/],
    ['*filter\n-D V -j REJECT\nCOMMIT\n', 'IPT_NO_RULE', 2, /Bad rule/],
    ['*filter\n-I V 5 -j DROP\nCOMMIT\n', 'IPT_BAD_ARG', 2, /Index of insertion too big/],
    ['*filter\n-A V -m comment --comment "open -j DROP\nCOMMIT\n', 'IPT_PARSE', 2, /unterminated/],
    ['-A V -j DROP\n', 'IPT_PARSE', 1, /line 1 failed/],
    ['*nat\nCOMMIT\n*filter\n-A V -j DROP\n*nat\nCOMMIT\n', 'IPT_PARSE', 5, /Bad argument `\*nat'/],
  ];
  for (const [text, code, line, msg] of cases) {
    const e = errorOf(x, text, { noflush: true });
    assert.equal(e.code, code, text);
    assert.equal(e.line, line, text);
    assert.match(e.message, msg, text);
    assert.equal(x.save(), before, `unchanged after: ${text}`);
  }
  // Atomic across tables: a later failing block undoes an earlier committed one.
  errorOf(x, '*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n*filter\n-A V -j NOPE\nCOMMIT\n');
  assert.equal(x.save(), before);
});

test('--counters sets [p:b] on chains and rules; -c always does; --test changes nothing', () => {
  const x = new Xtables();
  x.restore('*filter\n:INPUT ACCEPT [5:100]\n[7:700] -A INPUT -p tcp -j ACCEPT\n-A INPUT -c 8 800 -p udp -j ACCEPT\nCOMMIT\n');
  assert.match(x.save({ counters: true }), /:INPUT ACCEPT \[0:0\]\n[\s\S]*\[0:0\] -A INPUT -p tcp -j ACCEPT\n\[8:800\] -A INPUT -p udp -j ACCEPT/);
  x.restore('*filter\n:INPUT ACCEPT [5:100]\n[7:700] -A INPUT -p tcp -j ACCEPT\nCOMMIT\n', { counters: true });
  assert.match(x.save({ counters: true }), /:INPUT ACCEPT \[5:100\]\n[\s\S]*\[7:700\] -A INPUT -p tcp -j ACCEPT/);
  const saved = x.save();
  x.restore('*filter\n-F\nCOMMIT\n', { test: true });
  assert.equal(x.save(), saved);
  assert.equal(x.save({ date: 'Tue Nov 24 08:30:27 2026' }).split('\n')[0], '# Generated by iptables-save v1.8.9 (nf_tables) on Tue Nov 24 08:30:27 2026');
});

test('-I, -D by number and by spec, -R, -E, -X, -F, -P', () => {
  const x = new Xtables();
  x.restore(BASE);
  x.restore(`*filter
-I V -j DROP
-I V 3 -j REJECT
-D V 2
-R V 1 -p udp -j DROP
-D V -j REJECT --reject-with icmp-port-unreachable
-E V W
-P FORWARD DROP
-F INPUT
-F U
-X U
COMMIT
`, { noflush: true });
  assert.equal(x.save(), `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:W - [0:0]
-A FORWARD -j ACCEPT
-A W -p udp -j DROP
COMMIT
`);
});

test('probabilities print as iptables does: %.11f of round(p × 2^31) / 2^31, exact ties to even', () => {
  assert.equal(formatProbability(probabilityToFixed(0.3333333333)), '0.33333333349');
  assert.equal(formatProbability(probabilityToFixed(0.5)), '0.50000000000');
  assert.equal(formatProbability(probabilityToFixed(0.2)), '0.20000000019');
  assert.equal(formatProbability(probabilityToFixed(0.0001)), '0.00009999983');
  assert.equal(formatProbability(probabilityToFixed(0.9999999999)), '1.00000000000');
  // 1/4096 = 0.000244140625 exactly: printf rounds the tie to even.
  assert.equal(formatProbability(0x80000000 / 4096), '0.00024414062');
  assert.equal(formatProbability((3 * 0x80000000) / 4096), '0.00073242188');
});

// ------------------------------------------------------------------ properties

const CORPUS = [
  '*nat', '*filter', '*mangle', '*raw', 'COMMIT', ':KUBE-SVC-X - [0:0]', ':PREROUTING ACCEPT [0:0]', ':INPUT DROP [1:2]',
  '-A KUBE-SVC-X -m comment --comment "ns/svc:p -> 10.0.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-Y',
  '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SVC-X', ':KUBE-SEP-Y - [0:0]',
  '-A KUBE-SEP-Y -p tcp -m tcp -j DNAT --to-destination 10.0.0.1:80', '-A INPUT -s 10.0.0.0/8 ! -d 1.2.3.4 -p udp --dport 53 -j ACCEPT',
  '-A KUBE-SVC-X -m recent --name A --rcheck --seconds 10 --reap -j KUBE-SEP-Y', '-A INPUT -m mark --mark 0x4000/0x4000 -j RETURN',
  '-A POSTROUTING -j MASQUERADE --random-fully', '-N FOO', '-X FOO', '-F', '-A INPUT -j MARK --or-mark 0x4000', '# comment', '',
  '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A INPUT -p icmp --icmp-type 8 -j REJECT', '"', '!', '-j', '[1:2]',
];

test('property: restore throws only IptablesRestoreError, and save is a fixed point of restore', () => {
  const line = fc.oneof(fc.constantFrom(...CORPUS), fc.string({ maxLength: 30 }),
    fc.tuple(fc.constantFrom(...CORPUS), fc.nat(80), fc.string({ maxLength: 6 })).map(([l, at, s]) => l.slice(0, at) + s + l.slice(at)));
  fc.assert(fc.property(fc.array(line, { maxLength: 14 }), fc.boolean(), (lines, noflush) => {
    const x = new Xtables();
    try {
      x.restore(lines.join('\n'), { noflush });
    } catch (e) {
      if (!(e instanceof IptablesRestoreError)) throw e;
      return;
    }
    const once = x.save();
    const y = new Xtables();
    y.restore(once);
    assert.equal(y.save(), once);
  }), { numRuns: 400, seed: 42 });
});

test('property: indexed dispatch gives the same verdicts, rule counts and counters as the linear walk', () => {
  const svc = fc.record({ ip: fc.integer({ min: 1, max: 6 }), port: fc.constantFrom(53, 80, 443), udp: fc.boolean(), kind: fc.nat(9) });
  fc.assert(fc.property(fc.array(svc, { minLength: 1, maxLength: 30 }), fc.array(svc, { minLength: 1, maxLength: 10 }), (rules, probes) => {
    const lines = ['*nat', ':X - [0:0]', ':Y - [0:0]', '-A X -j MARK --or-mark 1', '-A Y -j RETURN'];
    for (const r of rules) {
      const p = r.udp ? 'udp' : 'tcp';
      // Mostly indexable rules, some that break runs.
      const extra = r.kind === 0 ? ' -s 10.0.0.0/8' : r.kind === 1 ? ' -m mark --mark 1' : '';
      const dst = r.kind === 2 ? '' : ` -d 10.96.0.${r.ip}`;
      lines.push(`-A PREROUTING${dst} -p ${p}${extra} -m ${p} --dport ${r.port} -j ${r.kind % 2 ? 'X' : 'Y'}`);
    }
    lines.push('COMMIT');
    const text = lines.join('\n') + '\n';
    const a = new Xtables({ indexed: true });
    const b = new Xtables({ indexed: false });
    a.restore(text);
    b.restore(text);
    for (const q of probes) {
      const mk = () => packet({ src: '10.1.1.1', dst: `10.96.0.${q.ip}`, dport: q.port, proto: q.udp ? 'udp' : 'tcp' });
      const pa = mk(), pb = mk();
      assert.deepEqual(a.evaluate('nat', pa, evalCtx({ rng: new Rng(1) })), b.evaluate('nat', pb, evalCtx({ rng: new Rng(1) })));
      assert.equal(pa.mark, pb.mark);
    }
    assert.equal(a.save({ counters: true }), b.save({ counters: true }));
  }), { numRuns: 300, seed: 7 });
});

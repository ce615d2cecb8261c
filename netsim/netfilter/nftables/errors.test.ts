/**
 * Bad input: nft's own words and locations for malformed and inconsistent batches
 * (recorded from nft 1.0.6 and, where root and nft are present, checked against it
 * again), a failed batch leaving the ruleset exactly as it was, and a property: the
 * parser and the transaction throw nothing but NftError on any input.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Netns } from '../iptables/test-support.ts';
import { Nftables } from './nftables.ts';
import { NftError } from './errors.ts';
import { realNft, realNftSkipReason } from './test-support.ts';

const BASE = 'add table ip t\nadd chain ip t c\n';

/** [the line after BASE, the first line nft 1.0.6 prints]. */
const CASES: ReadonlyArray<readonly [string, string]> = [
  ['add rule ip t x accept', '/dev/stdin:3:15-15: Error: Could not process rule: No such file or directory'],
  ['add rule ip t c jump nope', '/dev/stdin:3:22-25: Error: Could not process rule: No such file or directory'],
  ['add rule ip t c ip daddr 1.2.3.4 tcp dport ~ 80', '/dev/stdin:3:44-44: Error: syntax error, unexpected junk'],
  ['add chain ip t d {', '/dev/stdin:4:1-1: Error: syntax error, unexpected end of file'],
  ['add chain ip t d { type filter hook input priority dstnat; }', '/dev/stdin:3:43-57: Error: invalid priority expression value in this context.'],
  ['add chain ip nope d', '/dev/stdin:3:14-17: Error: No such file or directory'],
  ['add element ip t nope { 1.2.3.4 }', '/dev/stdin:3:18-21: Error: No such file or directory'],
  ['add set ip t s { type ipv4_addr ; }\nadd element ip t s { 1.2.3.4/24 }', "/dev/stdin:4:22-31: Error: You must add 'flags interval' to your set declaration if you want to add prefix elements"],
  ['add set ip t s { type ipv4_addr ; }\nadd rule ip t c tcp dport @s accept', '/dev/stdin:4:27-28: Error: datatype mismatch, expected internet network service, expression has type IPv4 address'],
  ['add rule ip t c tcp dport 99999 accept', '/dev/stdin:3:27-31: Error: Service out of range'],
  ['add rule ip t c dnat to 1.2.3.4:80', '/dev/stdin:3:33-34: Error: transport protocol mapping is only valid after transport protocol match'],
  ['delete chain ip t nope', '/dev/stdin:3:19-22: Error: Could not process rule: No such file or directory'],
  ['delete rule ip t c handle 999', '/dev/stdin:3:27-29: Error: Could not process rule: No such file or directory'],
  ['add rule ip t c ip daddr @nope accept', '/dev/stdin:3:26-30: Error: No such file or directory'],
  ['add rule ip t c ct state neww accept', '/dev/stdin:3:26-29: Error: Could not parse conntrack state'],
  ['add map ip t m { type ipv4_addr : verdict ; }\nadd element ip t m { 1.1.1.1 : goto nowhere }', '/dev/stdin:4:22-28: Error: Could not process rule: No such file or directory'],
  ['create table ip t', '/dev/stdin:3:17-17: Error: Could not process rule: File exists'],
  ['add rule ip t c numgen random mod 0 vmap { 0 : drop }', '/dev/stdin:3:17-35: Error: Could not process rule: Numerical result out of range'],
  ['add rule ip t c iifname "eth0000000000000000" accept', '/dev/stdin:3:25-45: Error: String exceeds maximum length of 16'],
  ['add chain ip t d { type filter hook input priority 0; }\nadd rule ip t d jump c\nadd rule ip t c jump d', '/dev/stdin:5:22-22: Error: Could not process rule: Operation not supported'],
];

for (const [line, want] of CASES) {
  test(`nft's error for: ${line.replaceAll('\n', ' ⏎ ')}`, () => {
    const n = new Nftables();
    const r = n.tryApply(BASE + line + '\n');
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(r.error instanceof NftError);
    assert.equal(r.report.split('\n')[0], want);
    assert.equal(n.listRuleset(), '', 'the failed batch left nothing behind (not even its table)');
  });
}

const skip = realNftSkipReason();
const netns = new Netns('nsim-nfterr');
after(() => netns.cleanup());

test('the recorded errors are what the real nft says', { skip }, () => {
  const ns = netns.fresh();
  for (const [line, want] of CASES) {
    const r = realNft(ns, BASE + line + '\n');
    assert.equal(r.ok, false, line);
    assert.equal(r.stderr.split('\n')[0], want, line);
  }
});

test('a jump loop reachable from a base chain is refused (ELOOP as EMLINK); one no base chain reaches is not', () => {
  const loop = 'add chain ip t d\nadd rule ip t c jump d\nadd rule ip t d jump c\n';
  const n = new Nftables();
  assert.equal(n.tryApply(BASE + loop).ok, true, 'nothing hooks c or d: the kernel validates from base chains only');
  const m = new Nftables();
  const r = m.tryApply(BASE + loop + 'add chain ip t b { type filter hook input priority 0; }\nadd rule ip t b jump c\n');
  assert.ok(!r.ok && r.error.message.endsWith('Error: Could not process rule: Too many links'));
});

test('the report quotes the line and points at the token, as nft does', () => {
  const n = new Nftables();
  const r = n.tryApply(`${BASE}add rule ip t c jump nope\n`);
  assert.ok(!r.ok);
  if (!r.ok) assert.equal(r.report, '/dev/stdin:3:22-25: Error: Could not process rule: No such file or directory\nadd rule ip t c jump nope\n                     ^^^^');
});

test('a failed transaction leaves a loaded ruleset unchanged, sets and counters included', () => {
  const n = new Nftables();
  n.apply(`${BASE}add set ip t s { type ipv4_addr ; elements = { 10.0.0.1 } ; }\nadd rule ip t c ip saddr @s counter accept\n`);
  const before = n.listRuleset();
  const gen = n.generation;
  for (const bad of [
    'add element ip t s { 10.0.0.2 }\nflush chain ip t c\ndelete set ip t nope',
    'flush ruleset\nadd table ip u\nadd rule ip u c accept',
    'add chain ip t d\nadd chain ip t b { type filter hook input priority 0 ; }\nadd rule ip t b jump d\nadd rule ip t d jump d',
    'add chain ip t d\nadd rule ip t d jump c\ndelete chain ip t c',
  ]) {
    assert.equal(n.tryApply(bad).ok, false, bad);
    assert.equal(n.listRuleset(), before, bad);
  }
  assert.equal(n.generation, gen, 'no commit happened');
});

test('property: any text either applies or fails with NftError, and a failure changes nothing', () => {
  const words = ['add', 'delete', 'flush', 'table', 'chain', 'rule', 'set', 'map', 'element', 'ip', 'inet', 't', 'c', 'd', 'ruleset', '{', '}', ';', ':', '.', ',', '@s', 'type', 'hook', 'input',
    'filter', 'nat', 'priority', 'policy', 'accept', 'drop', 'jump', 'goto', 'ip saddr', 'tcp dport', 'meta l4proto', 'ct state', 'new', '1.2.3.4', '10.0.0.0/8', '80', '0x10', '-5', 'vmap', 'numgen random mod',
    'dnat to', 'masquerade', 'counter', 'comment', '"x"', 'ipv4_addr', 'inet_service', 'verdict', 'elements', '=', '\n', 'mark set', '!=', 'reject with', 'tcp reset', 'flags interval', 'timeout', '1h'];
  const text = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.array(fc.constantFrom(...words), { maxLength: 30 }).map((w) => w.join(' ')),
    fc.tuple(fc.constantFrom(...CASES.map((c) => BASE + c[0])), fc.nat(120), fc.string({ maxLength: 5 })).map(([l, at, s]) => l.slice(0, at) + s + l.slice(at)),
  );
  fc.assert(fc.property(text, (t) => {
    const n = new Nftables();
    n.apply(`${BASE}add rule ip t c accept\n`);
    const before = n.listRuleset();
    try {
      n.apply(t);
    } catch (e) {
      if (!(e instanceof NftError)) throw e;
      assert.equal(n.listRuleset(), before);
      assert.ok(e.loc === undefined || (e.loc.line >= 1 && e.loc.col >= 1));
      return;
    }
    // What applied lists and reads back to the same listing.
    const listed = n.listRuleset();
    const m = new Nftables();
    m.apply(listed);
    assert.equal(m.listRuleset(), listed);
  }), { numRuns: 3000 });
});

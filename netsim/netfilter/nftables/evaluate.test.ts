/**
 * nft_do_chain semantics, packet by packet: jump/goto/return and policies, the
 * protocol dependency of tcp/udp selectors (and none for th), conntrack state flags,
 * interval and concatenated sets, verdict-map misses, marks, timeouts and `update
 * @set` (kube-proxy's affinity), numgen from the seeded RNG, reject's dependency,
 * fib address types and interface names — each with the verdict a kernel gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../time/rng.ts';
import { parseIpv4 } from '../../wire/addr.ts';
import { setIpv4Context } from '../../packet/packet.ts';
import { packet } from '../iptables/test-support.ts';
import type { TestPacket } from '../iptables/test-support.ts';
import { Nftables } from './nftables.ts';
import { evaluateBaseChain } from './evaluate.ts';
import type { NftEnv, NftResult } from './evaluate.ts';

function env(o: Partial<NftEnv> = {}): NftEnv {
  const local = new Set(['192.168.0.10', '127.0.0.1'].map(parseIpv4));
  return {
    inDev: 'eth0', outDev: undefined, ctState: 8, ctStatus: 0, ctMark: 0, setCtMark: undefined, now: 0, rng: new Rng(1),
    addrType: (a) => (local.has(a) ? 'LOCAL' : 'UNICAST'), onRule: undefined, onLog: undefined, ...o,
  };
}

/** A table `ip t` whose base chain `c` (filter input, policy as given) holds `rules`, plus `extra` commands. */
function load(rules: string[], extra = '', policy = 'accept'): Nftables {
  const n = new Nftables();
  n.apply(`add table ip t\nadd chain ip t c { type filter hook input priority 0 ; policy ${policy} ; }\n${extra}\n${rules.map((r) => `add rule ip t c ${r}`).join('\n')}\n`);
  return n;
}

function run(n: Nftables, p: TestPacket, e: NftEnv = env()): NftResult & { mark: number } {
  const t = n.ruleset.tables.get('ip t');
  const c = t?.chains.get('c');
  assert.ok(t !== undefined && c !== undefined);
  const pkt = packet(p);
  setIpv4Context(pkt);
  const r = evaluateBaseChain(t, c, pkt, e);
  return { ...r, mark: pkt.mark };
}

const TCP80: TestPacket = { src: '10.0.0.1', dst: '192.168.0.10', proto: 'tcp', dport: 80 };
const UDP80: TestPacket = { src: '10.0.0.1', dst: '192.168.0.10', proto: 'udp', dport: 80 };

test('jump returns to the rule after it; goto does not come back; return in a base chain ends in the policy', () => {
  const extra = 'add chain ip t a\nadd chain ip t b\nadd rule ip t a meta mark set 1\nadd rule ip t b meta mark set meta mark | 0x2\nadd rule ip t b return\nadd rule ip t b drop';
  const n = load(['jump a', 'meta mark 1 goto b', 'drop'], extra, 'accept');
  // a sets 1, back in c; goto b: b ors 2 and returns — to c's caller, i.e. the end of c: policy accept.
  const r = run(n, TCP80);
  assert.equal(r.verdict, 'ACCEPT');
  assert.equal(r.handle, 0, 'decided by the policy');
  assert.equal(r.mark, 3);
  assert.equal(r.rulesEvaluated, 5, 'c#1, a#1, c#2, b#1, b#2');
  const m = load(['jump a', 'drop'], extra.replace('add rule ip t a meta mark set 1', 'add rule ip t a return'), 'accept');
  assert.equal(run(m, TCP80).verdict, 'DROP', 'return from a jumped-to chain resumes the caller');
  const p = load(['return', 'accept'], '', 'drop');
  const rp = run(p, TCP80);
  assert.deepEqual([rp.verdict, rp.handle], ['DROP', 0], 'return in a base chain applies the policy');
});

test('tcp and udp selectors imply their protocol; th reads the ports of either', () => {
  const n = load(['tcp dport 80 meta mark set 1', 'udp dport 80 meta mark set 2', 'th dport 80 meta mark set meta mark | 0x10', 'tcp dport != 80 meta mark set 0x20']);
  assert.equal(run(n, TCP80).mark, 0x11);
  assert.equal(run(n, UDP80).mark, 0x12, 'tcp dport != 80 does not match a UDP packet either');
  assert.equal(run(n, { ...TCP80, proto: 'icmp' }).mark, 0);
});

test('ct state tests any of the listed bits; != tests none', () => {
  const n = load(['ct state established,related accept', 'ct state != new drop', 'ct state new meta mark set 7 drop']);
  assert.equal(run(n, TCP80, env({ ctState: 2 })).verdict, 'ACCEPT');
  assert.equal(run(n, TCP80, env({ ctState: 4 })).verdict, 'ACCEPT');
  assert.deepEqual([run(n, TCP80, env({ ctState: 1 })).verdict, run(n, TCP80, env({ ctState: 1 })).handle > 0], ['DROP', true], 'invalid is not new');
  assert.equal(run(n, TCP80, env({ ctState: 8 })).mark, 7);
});

test('sets: intervals, concatenations, negation, and a verdict-map miss falls through', () => {
  const extra = [
    'add set ip t nets { type ipv4_addr ; flags interval ; elements = { 10.0.0.0/24, 172.16.0.1-172.16.0.9 } ; }',
    'add set ip t svc { type ipv4_addr . inet_proto . inet_service ; elements = { 192.168.0.10 . tcp . 80 } ; }',
    'add map ip t vm { type inet_proto . inet_service : verdict ; elements = { udp . 80 : drop } ; }',
  ].join('\n');
  const n = load(['ip saddr != @nets drop', 'ip daddr . meta l4proto . th dport @svc accept', 'meta l4proto . th dport vmap @vm', 'tcp dport { 81, 443 } accept', 'meta mark set 9'], extra);
  assert.equal(run(n, TCP80).verdict, 'ACCEPT');
  assert.equal(run(n, { ...TCP80, src: '172.16.0.5', dport: 443 }).verdict, 'ACCEPT', 'in the range; anonymous set');
  assert.equal(run(n, { ...TCP80, src: '172.16.0.10' }).verdict, 'DROP', 'outside the interval set');
  assert.equal(run(n, UDP80).verdict, 'DROP', 'vmap hit');
  const miss = run(n, { ...UDP80, dport: 81 });
  assert.deepEqual([miss.verdict, miss.mark, miss.handle], ['ACCEPT', 9, 0], 'a vmap miss is no match: the next rule runs');
});

test('marks: set, or, xor, and a masked comparison (kube-proxy masquerading)', () => {
  const n = load(['mark set mark or 0x4000', 'mark and 0x4000 == 0 return', 'mark set mark xor 0x4000', 'meta mark 0x5 accept', 'drop'], '', 'accept');
  const r = run(n, { ...TCP80, mark: 5 });
  assert.deepEqual([r.verdict, r.mark], ['ACCEPT', 5], '0x4005 → 0x5 → accepted by the exact match');
});

test('update @set adds the source with the set timeout; the element expires (ClientIP affinity)', () => {
  const extra = 'add set ip t aff { type ipv4_addr ; flags dynamic,timeout ; timeout 10s ; }';
  const n = load(['ip saddr @aff accept', 'update @aff { ip saddr }', 'drop'], extra);
  const S = 1e9;
  assert.equal(run(n, TCP80, env({ now: 0 })).verdict, 'DROP', 'first packet: not yet in the set');
  assert.equal(run(n, TCP80, env({ now: 5 * S })).verdict, 'ACCEPT');
  assert.equal(run(n, TCP80, env({ now: 10 * S })).verdict, 'DROP', 'expired at 10 s: update refreshes it from now');
  assert.equal(run(n, TCP80, env({ now: 19 * S })).verdict, 'ACCEPT');
  assert.match(n.listRuleset(), /elements = \{ 10\.0\.0\.1 expires 20s \}/, 'listed with its expiry (added at 10 s; at 19 s the lookup accepted before the update) as seen at time 0');
});

test('numgen draws from the seeded RNG: the same seed gives the same choices, spread over all buckets', () => {
  const n = load(['numgen random mod 3 vmap { 0 : accept, 1 : drop, 2 : continue }', 'meta mark set 2']);
  const draw = (seed: number): string => {
    const e = env({ rng: new Rng(seed) });
    return Array.from({ length: 300 }, () => { const r = run(n, TCP80, e); return r.verdict === 'DROP' ? 'd' : r.mark === 2 ? 'c' : 'a'; }).join('');
  };
  assert.equal(draw(5), draw(5));
  assert.notEqual(draw(5), draw(6));
  for (const k of ['a', 'c', 'd']) assert.ok(draw(5).split(k).length - 1 > 70, `bucket ${k} drawn`);
});

test('reject: ICMP port unreachable by default; `with tcp reset` only for TCP packets', () => {
  const n = load(['reject with tcp reset', 'reject with icmp type host-unreachable']);
  assert.deepEqual([run(n, TCP80).verdict, run(n, TCP80).rejectWith], ['DROP', 'tcp-reset']);
  assert.equal(run(n, UDP80).rejectWith, 'icmp-host-unreachable', 'the tcp reset rule does not apply to UDP');
  assert.equal(run(load(['reject']), UDP80).rejectWith, 'icmp-port-unreachable');
});

test('fib daddr type local and interface names', () => {
  const n = load(['fib daddr type local iifname "eth0" meta mark set 1', 'fib daddr type != local meta mark set 2', 'oifname "eth1" meta mark set 3']);
  assert.equal(run(n, TCP80).mark, 1);
  assert.equal(run(n, { ...TCP80, dst: '8.8.8.8' }).mark, 2);
  assert.equal(run(n, TCP80, env({ inDev: 'eth9' })).mark, 0, 'no output device at input: oifname does not match');
});

test('counters count packets and bytes of the rules that ran', () => {
  const n = load(['tcp dport 80 counter accept', 'counter drop']);
  run(n, TCP80);
  run(n, TCP80);
  run(n, UDP80);
  const listed = n.listRuleset();
  assert.match(listed, /tcp dport 80 counter packets 2 bytes 80 accept/);
  assert.match(listed, /counter packets 1 bytes 28 drop/);
});

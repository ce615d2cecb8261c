import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../../time/rng.ts';
import { CT_ESTABLISHED, CT_INVALID } from '../eval-types.ts';
import { Xtables } from './xtables.ts';
import { evalCtx, packet } from './test-support.ts';

const kubeProxy = readFileSync(new URL('../../../tests/golden/iptables/xt-kube-proxy.rules', import.meta.url), 'utf8');
const NS = 1_000_000_000;

function loaded(text: string, indexed = true): Xtables {
  const x = new Xtables({ indexed });
  x.restore(text);
  return x;
}

test('ClusterIP: nat PREROUTING walks KUBE-SERVICES → KUBE-SVC → KUBE-SEP and asks for DNAT', () => {
  const x = loaded(kubeProxy);
  const hits: string[] = [];
  const r = x.evaluate('nat', packet({ src: '10.1.2.3', dst: '172.30.0.41', dport: 80 }), evalCtx({ hits, rng: new Rng(7) }));
  assert.equal(r.verdict, 'ACCEPT');
  assert.equal(r.nat?.kind, 'DNAT');
  assert.match(hits[0] as string, /^nat PREROUTING:1 KUBE-SERVICES$/);
  assert.equal(hits[1], 'nat KUBE-SERVICES:1 KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(hits.at(-1), `nat ${r.chain}:2 DNAT`);
  // Source 10.1.2.3 is inside 10.0.0.0/8: no KUBE-MARK-MASQ.
  assert.ok(!hits.some((h) => h.includes('KUBE-MARK-MASQ')));
});

test('indexed dispatch reports the rules a kernel walks and leaves the same counters as a linear walk', () => {
  const fast = loaded(kubeProxy, true);
  const slow = loaded(kubeProxy, false);
  const probes = [
    { dst: '172.30.0.45', dport: 80 }, { dst: '172.30.0.44', dport: 53, proto: 'udp' as const }, { dst: '1.2.3.6', dport: 80 },
    { dst: '192.168.0.10', dport: 3001 }, { dst: '192.168.0.10', dport: 3002 }, { dst: '8.8.8.8', dport: 443 }, { dst: '172.30.0.41', dport: 81 },
  ];
  for (const p of probes) {
    const a = fast.evaluate('nat', packet({ src: '192.168.7.7', ...p }), evalCtx({ rng: new Rng(3) }));
    const b = slow.evaluate('nat', packet({ src: '192.168.7.7', ...p }), evalCtx({ rng: new Rng(3) }));
    assert.deepEqual(a, b, JSON.stringify(p));
  }
  assert.equal(fast.save({ counters: true }), slow.save({ counters: true }));
  assert.match(fast.save({ counters: true }), /\[1:40\] -A KUBE-SERVICES -d 172\.30\.0\.45\/32/);
});

test('masquerade mark: KUBE-MARK-MASQ ORs 0x4000, KUBE-POSTROUTING clears it and asks for MASQUERADE --random-fully', () => {
  const x = loaded(kubeProxy);
  const pkt = packet({ src: '192.168.7.7', dst: '172.30.0.41', dport: 80 });
  x.evaluate('nat', pkt, evalCtx());
  assert.equal(pkt.mark, 0x4000);
  const r = x.evaluate('nat', pkt, evalCtx({ hook: 'POSTROUTING', outDev: 'eth0' }));
  assert.equal(pkt.mark, 0);
  assert.deepEqual(r.nat, { kind: 'MASQUERADE', randomFully: true });
  assert.equal(r.chain, 'KUBE-POSTROUTING');
  assert.equal(r.rule, 3);
  // Unmarked traffic returns at rule 1 and meets the POSTROUTING policy.
  const q = x.evaluate('nat', packet({ src: '10.1.1.1', dst: '8.8.8.8' }), evalCtx({ hook: 'POSTROUTING' }));
  assert.deepEqual({ v: q.verdict, c: q.chain, r: q.rule, n: q.nat }, { v: 'ACCEPT', c: 'POSTROUTING', r: 0, n: undefined });
});

test('a service without endpoints is REJECTed in filter; INVALID is dropped in KUBE-FORWARD', () => {
  const x = loaded(kubeProxy);
  const r = x.evaluate('filter', packet({ src: '10.1.2.3', dst: '172.30.0.43', dport: 80 }), evalCtx({ hook: 'FORWARD', outDev: 'eth0' }));
  assert.equal(r.verdict, 'DROP');
  assert.equal(r.rejectWith, 'icmp-port-unreachable');
  assert.equal(r.chain, 'KUBE-SERVICES');
  const inv = x.evaluate('filter', packet({ src: '10.1.2.3', dst: '10.2.0.1' }), evalCtx({ hook: 'FORWARD', ctState: CT_INVALID }));
  assert.deepEqual([inv.verdict, inv.chain, inv.rule], ['DROP', 'KUBE-FORWARD', 1]);
  const est = x.evaluate('filter', packet({ src: '10.1.2.3', dst: '10.2.0.1' }), evalCtx({ hook: 'FORWARD', ctState: CT_ESTABLISHED }));
  assert.deepEqual([est.verdict, est.chain, est.rule], ['ACCEPT', 'KUBE-FORWARD', 3]);
});

test('statistic --probability cascade spreads evenly over 3 endpoints (chi-square, fixed seed)', () => {
  const x = loaded(kubeProxy);
  const rng = new Rng('xt-stat');
  const counts = new Map<string, number>();
  const N = 30000;
  for (let i = 0; i < N; i++) {
    const r = x.evaluate('nat', packet({ src: '10.1.2.3', dst: '172.30.0.41', dport: 80, sport: 1024 + (i % 50000) }), evalCtx({ rng }));
    const to = r.nat?.addrMin ?? 0;
    counts.set(String(to), (counts.get(String(to)) ?? 0) + 1);
  }
  assert.equal(counts.size, 3);
  const e = N / 3;
  const chi2 = [...counts.values()].reduce((s, o) => s + ((o - e) ** 2) / e, 0);
  assert.ok(chi2 < 13.8, `chi-square ${chi2} (df 2, p = 0.001)`);
});

test('recent: ClientIP affinity sticks for --seconds, then the cascade decides again', () => {
  const x = loaded(kubeProxy);
  const go = (now: number, seed: number) =>
    x.evaluate('nat', packet({ src: '10.9.9.9', dst: '172.30.0.42', dport: 80 }), evalCtx({ now, rng: new Rng(seed) })).nat?.addrMin;
  const first = go(0, 1);
  for (let s = 2; s < 30; s++) assert.equal(go(100 * NS + s, s), first);
  assert.equal(x.recent.entries(first === 0x0ab40004 ? 'KUBE-SEP-UKSFD7AGPMPPLUHC' : 'KUBE-SEP-C6EBXVWJJZMIWKLZ').length, 1);
  // After 10800 s of silence the rcheck fails; the cascade picks by random draw again.
  const later = new Set<number | undefined>();
  for (let s = 0; s < 40; s++) later.add(go((20000 + s * 20000) * NS, 100 + s));
  assert.equal(later.size, 2);
});

test('jump, goto, RETURN and policies follow ipt_do_table', () => {
  const x = loaded(`*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
-A INPUT -p tcp --dport 1 -g A
-A INPUT -p tcp --dport 2 -j B
-A INPUT -p tcp --dport 3 -j C
-A INPUT -p tcp -j ACCEPT
-A A -j RETURN
-A B -j RETURN
-A C -j MARK --set-mark 7
COMMIT
`);
  const f = (dport: number) => {
    const pkt = packet({ src: '1.1.1.1', dst: '2.2.2.2', dport });
    const r = x.evaluate('filter', pkt, evalCtx({ hook: 'INPUT' }));
    return [r.verdict, r.chain, r.rule, r.rulesEvaluated, pkt.mark];
  };
  // goto then RETURN: nothing to return to, the INPUT policy decides.
  assert.deepEqual(f(1), ['DROP', 'INPUT', 0, 2, 0]);
  assert.deepEqual(f(2), ['ACCEPT', 'INPUT', 4, 5, 0]);
  assert.deepEqual(f(3), ['ACCEPT', 'INPUT', 4, 5, 7]);
  const udp = x.evaluate('filter', packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 'udp' }), evalCtx({ hook: 'INPUT' }));
  assert.deepEqual([udp.verdict, udp.rule, udp.rulesEvaluated], ['DROP', 0, 4]);
  assert.match(x.save(), /:INPUT DROP \[2:\d+\]/);
});

test('interfaces with + wildcards, negated addresses, tcp flags, multiport, icmp, addrtype', () => {
  const x = loaded(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i veth+ ! -o eth0 -j DROP
-A FORWARD ! -s 10.0.0.0/8 -p tcp --syn -j REJECT --reject-with tcp-reset
-A FORWARD -p tcp -m multiport --dports 22,8000:8080 -j DROP
-A FORWARD -p icmp --icmp-type echo-request -j DROP
-A FORWARD -m addrtype --dst-type LOCAL -j DROP
COMMIT
`);
  const f = (p: Parameters<typeof packet>[0], inDev: string, outDev: string) => {
    const r = x.evaluate('filter', packet(p), evalCtx({ hook: 'FORWARD', inDev, outDev }));
    return `${r.verdict}:${r.rule}${r.rejectWith ? ':' + r.rejectWith : ''}`;
  };
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2' }, 'veth12', 'cni0'), 'DROP:1');
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2' }, 'veth12', 'eth0'), 'ACCEPT:0');
  assert.equal(f({ src: '8.8.8.8', dst: '10.0.0.2', flags: 0x02 }, 'eth0', 'cni0'), 'DROP:2:tcp-reset');
  assert.equal(f({ src: '8.8.8.8', dst: '10.0.0.2', flags: 0x12 }, 'eth0', 'cni0'), 'ACCEPT:0');
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2', dport: 8042 }, 'eth0', 'cni0'), 'DROP:3');
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 8 }, 'eth0', 'cni0'), 'DROP:4');
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 0 }, 'eth0', 'cni0'), 'ACCEPT:0');
  assert.equal(f({ src: '10.0.0.1', dst: '192.168.0.10', dport: 1 }, 'eth0', 'cni0'), 'DROP:5');
});

test('statistic nth and the kernel fixed-point probability threshold', () => {
  const x = loaded(`*mangle
-A PREROUTING -m statistic --mode nth --every 3 --packet 0 -j MARK --set-mark 1
-A PREROUTING -m statistic --mode random --probability 1 -j MARK --or-mark 2
-A PREROUTING -m statistic --mode random --probability 0 -j MARK --or-mark 4
COMMIT
`);
  const marks: number[] = [];
  for (let i = 0; i < 6; i++) {
    const pkt = packet({ src: '1.1.1.1', dst: '2.2.2.2' });
    x.evaluate('mangle', pkt, evalCtx());
    marks.push(pkt.mark);
  }
  assert.deepEqual(marks, [2, 2, 3, 2, 2, 3]);
});

test('TRACE-style hits include the policy; LOG and NOTRACK continue; CONNMARK reports the new ct mark', () => {
  const x = loaded(`*raw
-A PREROUTING -p udp -j CT --notrack
-A PREROUTING -j TRACE
COMMIT
*mangle
-A PREROUTING -j LOG --log-prefix "pre: "
-A PREROUTING -j CONNMARK --set-mark 0x5
COMMIT
`);
  const hits: string[] = [];
  const raw = x.evaluate('raw', packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 'udp' }), evalCtx({ hits }));
  assert.equal(raw.notrack, true);
  assert.deepEqual(hits, ['raw PREROUTING:1 CT', 'raw PREROUTING:2 TRACE', 'raw PREROUTING:0 ACCEPT']);
  const logs: string[] = [];
  const m = x.evaluate('mangle', packet({ src: '1.1.1.1', dst: '2.2.2.2' }), { ...evalCtx(), onLog: (_t, c, n, p, l) => { logs.push(`${c}:${n} ${p}${l}`); } });
  assert.deepEqual(logs, ['PREROUTING:1 pre: 4']);
  assert.equal(m.ctMark, 5);
});

test('zero() clears rule and policy counters; hasTable says which tables matter', () => {
  const x = loaded(kubeProxy);
  x.evaluate('nat', packet({ src: '10.1.2.3', dst: '172.30.0.41', dport: 80 }), evalCtx());
  assert.match(x.save({ counters: true }), /\[1:40\]/);
  x.zero();
  assert.doesNotMatch(x.save({ counters: true }), /\[[1-9]/);
  assert.equal(x.hasTable('nat'), true);
  assert.equal(x.hasTable('raw'), false);
  assert.equal(x.hasTable('mangle'), false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Iptables } from './iptables.ts';
import { Packet } from '../../packet/packet.ts';
import { buildIpv4Tcp, buildIpv4Udp } from '../../wire/build.ts';
import { Rng } from '../../time/rng.ts';
import type { EvalContext } from '../eval-types.ts';
import { CT_ESTABLISHED, CT_NEW } from '../eval-types.ts';
import { parseIpv4 } from '../../wire/addr.ts';
import { readFileSync } from 'node:fs';
import { CT_INVALID } from '../eval-types.ts';
import { evalCtx, packet } from './test-support.ts';

const ip = parseIpv4;
function tcp(src: string, dst: string, dport: number, sport = 40000): Packet {
  const b = buildIpv4Tcp({ src: ip(src), dst: ip(dst) }, { srcPort: sport, dstPort: dport, seq: 1, ack: 0, flags: 2, window: 100 }, new Uint8Array(0));
  return new Packet(1, b, 0, b.length);
}
function ctx(over: Partial<EvalContext> = {}): EvalContext {
  return { hook: 'PREROUTING', inDev: 'eth0', outDev: undefined, now: 0, rng: new Rng(1), ctState: CT_NEW, addrType: (a) => (a === ip('192.168.50.11') ? 'LOCAL' : 'UNICAST'), ipsets: undefined, ...over };
}

test('jump, goto, RETURN, policies, MARK continues, counters exact, rule numbers reported', () => {
  const ipt = new Iptables();
  ipt.restore([
    '*filter', ':INPUT DROP [0:0]', ':A - [0:0]', ':B - [0:0]',
    '-A INPUT -j A', '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
    '-A A -s 10.0.0.0/8 -g B', '-A A -j RETURN', '-A B -p tcp -m tcp --dport 80 -j ACCEPT', 'COMMIT', '',
  ].join('\n'));
  const c = ctx({ hook: 'INPUT' });
  assert.deepEqual(ipt.evaluate('filter', tcp('10.1.2.3', '1.1.1.1', 80), c), { verdict: 'ACCEPT', chain: 'B', rule: 1, rulesEvaluated: 3 });
  // goto B without a match in B: B ends, returns past A (goto does not push) to INPUT rule 2.
  assert.deepEqual(ipt.evaluate('filter', tcp('10.1.2.3', '1.1.1.1', 22), c), { verdict: 'ACCEPT', chain: 'INPUT', rule: 2, rulesEvaluated: 4 });
  assert.deepEqual(ipt.evaluate('filter', tcp('192.168.0.1', '1.1.1.1', 443), c), { verdict: 'DROP', chain: 'INPUT', rule: 0, rulesEvaluated: 4 });
  assert.match(ipt.save({ counters: true }), /\[3:\d+\] -A INPUT -j A/);
  assert.match(ipt.save({ counters: true }), /:INPUT DROP \[1:40\]/);
  const m = new Iptables();
  m.restore('*mangle\n-A PREROUTING -j MARK --or-mark 0x4000\n-A PREROUTING -m mark --mark 0x4000/0x4000 -j MARK --xor-mark 0x1\nCOMMIT\n');
  const p = tcp('1.1.1.1', '2.2.2.2', 1);
  m.evaluate('mangle', p, ctx());
  assert.equal(p.mark, 0x4001);
});

test('matches: interfaces with +, addrtype, ctstate, multiport, icmp, negation', () => {
  const ipt = new Iptables();
  ipt.restore([
    '*filter',
    '-A FORWARD -i veth+ ! -o eth0 -j DROP',
    '-A FORWARD -m addrtype --dst-type LOCAL -j DROP',
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A FORWARD -p tcp -m multiport --dports 1000:2000,8080 -j DROP',
    '-A FORWARD -j ACCEPT', 'COMMIT', '',
  ].join('\n'));
  const r = (p: Packet, c: Partial<EvalContext>) => ipt.evaluate('filter', p, ctx({ hook: 'FORWARD', ...c }));
  assert.equal(r(tcp('1.1.1.1', '2.2.2.2', 1), { inDev: 'veth123', outDev: 'cni0' }).rule, 1);
  assert.equal(r(tcp('1.1.1.1', '2.2.2.2', 1), { inDev: 'veth123', outDev: 'eth0' }).rule, 5);
  assert.equal(r(tcp('1.1.1.1', '192.168.50.11', 1), { inDev: 'eth0', outDev: 'cni0' }).rule, 2);
  assert.equal(r(tcp('1.1.1.1', '2.2.2.2', 1), { inDev: 'eth0', outDev: 'cni0', ctState: CT_ESTABLISHED }).rule, 3);
  assert.equal(r(tcp('1.1.1.1', '2.2.2.2', 1500), { inDev: 'eth0', outDev: 'cni0' }).rule, 4);
  assert.equal(r(tcp('1.1.1.1', '2.2.2.2', 8080), { inDev: 'eth0', outDev: 'cni0' }).rule, 4);
  assert.equal(r(tcp('1.1.1.1', '2.2.2.2', 8081), { inDev: 'eth0', outDev: 'cni0' }).rule, 5);
});

test('property: indexed dispatch gives exactly the linear first-match result, rule count and counters', () => {
  const arbRule = fc.record({
    dst: fc.integer({ min: 0, max: 5 }), port: fc.integer({ min: 80, max: 83 }), udp: fc.boolean(),
    plain: fc.integer({ min: 0, max: 9 }), // 0 → a non-indexable rule breaks the run
  });
  fc.assert(fc.property(fc.array(arbRule, { minLength: 1, maxLength: 40 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 79, max: 84 }), fc.boolean()), { minLength: 1, maxLength: 20 }), (rules, probes) => {
    const text = ['*nat', ':T - [0:0]', ...rules.map((r, i) => r.plain === 0
      ? `-A PREROUTING -s 10.0.0.${i}/32 -j T`
      : `-A PREROUTING -d 10.96.0.${r.dst}/32 -p ${r.udp ? 'udp' : 'tcp'} -m comment --comment "r${i}" -m ${r.udp ? 'udp' : 'tcp'} --dport ${r.port} -j T`), 'COMMIT', ''].join('\n');
    const fast = new Iptables({ indexMinRun: 2 });
    const slow = new Iptables({ indexMinRun: Number.POSITIVE_INFINITY });
    fast.restore(text);
    slow.restore(text);
    for (const [d, port, udp] of probes) {
      const mk = (): Packet => {
        const b = udp ? buildIpv4Udp({ src: ip('10.0.0.99'), dst: ip(`10.96.0.${d}`) }, { srcPort: 1, dstPort: port }, new Uint8Array(0))
          : buildIpv4Tcp({ src: ip('10.0.0.99'), dst: ip(`10.96.0.${d}`) }, { srcPort: 1, dstPort: port, seq: 0, ack: 0, flags: 2, window: 1 }, new Uint8Array(0));
        return new Packet(1, b, 0, b.length);
      };
      assert.deepEqual(fast.evaluate('nat', mk(), ctx()), slow.evaluate('nat', mk(), ctx()));
    }
    assert.equal(fast.save({ counters: true }), slow.save({ counters: true }));
  }), { numRuns: 200 });
});

test('recent: --set then --rcheck --seconds matches within the window and reaps after it', () => {
  const ipt = new Iptables();
  ipt.restore('*nat\n:S - [0:0]\n-A PREROUTING -m recent --name X --rcheck --seconds 10 --reap -j ACCEPT\n-A PREROUTING -m recent --name X --set -j S\nCOMMIT\n');
  const p = () => tcp('10.0.0.5', '1.1.1.1', 80);
  // First packet: not in the list; rule 2 sets it and jumps to the empty S, so the policy decides.
  assert.deepEqual(ipt.evaluate('nat', p(), ctx({ now: 0 })), { verdict: 'ACCEPT', chain: 'PREROUTING', rule: 0, rulesEvaluated: 2 });
  assert.equal(ipt.evaluate('nat', p(), ctx({ now: 5e9 })).rule, 1, 'within 10 s: rcheck matches');
  assert.equal(ipt.evaluate('nat', p(), ctx({ now: 20e9 })).rule, 0, 'after 10 s: reaped, no match (set again by rule 2)');
  assert.equal(ipt.recent.get('X')?.size, 1);
});

// ------------------------------------------------------------------ on the real-tool fixtures

const kubeProxy = readFileSync(new URL('../../../tests/golden/iptables/real/kube-proxy.rules', import.meta.url), 'utf8');
const NS = 1_000_000_000;

function loaded(text: string, indexMinRun?: number): Iptables {
  const ipt = new Iptables(indexMinRun !== undefined ? { indexMinRun } : {});
  ipt.restore(text);
  return ipt;
}

test('ClusterIP: nat PREROUTING walks KUBE-SERVICES → KUBE-SVC → KUBE-SEP and asks for DNAT', () => {
  const ipt = loaded(kubeProxy);
  const hits: string[] = [];
  const r = ipt.evaluate('nat', packet({ src: '10.1.2.3', dst: '172.30.0.41', dport: 80 }), evalCtx({ hits, rng: new Rng(7) }));
  assert.equal(r.verdict, 'ACCEPT');
  assert.equal(r.nat?.kind, 'DNAT');
  assert.equal(hits[0], 'nat PREROUTING:1 KUBE-SERVICES');
  assert.equal(hits[1], 'nat KUBE-SERVICES:1 KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(hits.at(-1), `nat ${r.chain}:2 DNAT`);
  assert.match(r.chain, /^KUBE-SEP-/);
  // Source 10.1.2.3 is inside 10.0.0.0/8: no KUBE-MARK-MASQ.
  assert.ok(!hits.some((h) => h.includes('KUBE-MARK-MASQ')));
});

test('indexed dispatch reports the rules a kernel walks and leaves the same counters as a linear walk (kube-proxy fixture)', () => {
  const fast = loaded(kubeProxy, 2);
  const slow = loaded(kubeProxy, Number.POSITIVE_INFINITY);
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
  const ipt = loaded(kubeProxy);
  const pkt = packet({ src: '192.168.7.7', dst: '172.30.0.41', dport: 80 });
  ipt.evaluate('nat', pkt, evalCtx());
  assert.equal(pkt.mark, 0x4000);
  const r = ipt.evaluate('nat', pkt, evalCtx({ hook: 'POSTROUTING', outDev: 'eth0' }));
  assert.equal(pkt.mark, 0);
  assert.deepEqual(r.nat, { kind: 'MASQUERADE', random: false, randomFully: true });
  assert.deepEqual([r.chain, r.rule], ['KUBE-POSTROUTING', 3]);
  // Unmarked traffic returns at rule 1 and meets the POSTROUTING policy.
  const q = ipt.evaluate('nat', packet({ src: '10.1.1.1', dst: '8.8.8.8' }), evalCtx({ hook: 'POSTROUTING' }));
  assert.deepEqual({ v: q.verdict, c: q.chain, r: q.rule, n: q.nat }, { v: 'ACCEPT', c: 'POSTROUTING', r: 0, n: undefined });
});

test('a service without endpoints is REJECTed in filter; INVALID is dropped in KUBE-FORWARD', () => {
  const ipt = loaded(kubeProxy);
  const r = ipt.evaluate('filter', packet({ src: '10.1.2.3', dst: '172.30.0.43', dport: 80 }), evalCtx({ hook: 'FORWARD', outDev: 'eth0' }));
  assert.deepEqual([r.verdict, r.rejectWith, r.chain], ['DROP', 'icmp-port-unreachable', 'KUBE-SERVICES']);
  const inv = ipt.evaluate('filter', packet({ src: '10.1.2.3', dst: '10.2.0.1' }), evalCtx({ hook: 'FORWARD', ctState: CT_INVALID }));
  assert.deepEqual([inv.verdict, inv.chain, inv.rule], ['DROP', 'KUBE-FORWARD', 1]);
  const est = ipt.evaluate('filter', packet({ src: '10.1.2.3', dst: '10.2.0.1' }), evalCtx({ hook: 'FORWARD', ctState: CT_ESTABLISHED }));
  assert.deepEqual([est.verdict, est.chain, est.rule], ['ACCEPT', 'KUBE-FORWARD', 3]);
});

test('statistic --probability cascade spreads evenly over 3 endpoints (chi-square, fixed seed)', () => {
  const ipt = loaded(kubeProxy);
  const rng = new Rng('xt-stat');
  const counts = new Map<number, number>();
  const N = 30000;
  for (let i = 0; i < N; i++) {
    const r = ipt.evaluate('nat', packet({ src: '10.1.2.3', dst: '172.30.0.41', dport: 80, sport: 1024 + (i % 50000) }), evalCtx({ rng }));
    const to = r.nat?.addrMin ?? 0;
    counts.set(to, (counts.get(to) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort(), [ip('10.180.0.1'), ip('10.180.0.2'), ip('10.180.0.3')].sort());
  const e = N / 3;
  const chi2 = [...counts.values()].reduce((s, o) => s + ((o - e) ** 2) / e, 0);
  assert.ok(chi2 < 13.8, `chi-square ${chi2} (df 2, p = 0.001)`);
});

test('recent: ClientIP affinity sticks for --seconds, then the cascade decides again', () => {
  const ipt = loaded(kubeProxy);
  const go = (now: number, seed: number): number | undefined =>
    ipt.evaluate('nat', packet({ src: '10.9.9.9', dst: '172.30.0.42', dport: 80 }), evalCtx({ now, rng: new Rng(seed) })).nat?.addrMin;
  const first = go(0, 1);
  for (let s = 2; s < 30; s++) assert.equal(go(100 * NS + s, s), first);
  const list = first === ip('10.180.0.4') ? 'KUBE-SEP-UKSFD7AGPMPPLUHC' : 'KUBE-SEP-C6EBXVWJJZMIWKLZ';
  assert.equal(ipt.recent.get(list)?.size, 1);
  // After 10800 s of silence the rcheck fails; the cascade picks by random draw again.
  const later = new Set<number | undefined>();
  for (let s = 0; s < 40; s++) later.add(go((20000 + s * 20000) * NS, 100 + s));
  assert.equal(later.size, 2);
});

test('jump, goto, RETURN and policies follow ipt_do_table (RETURN or chain end after -g applies the hook policy)', () => {
  const ipt = loaded(`*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
:D - [0:0]
-A INPUT -p tcp --dport 1 -g A
-A INPUT -p tcp --dport 2 -j B
-A INPUT -p tcp --dport 3 -j C
-A INPUT -p tcp --dport 4 -g D
-A INPUT -p tcp -j ACCEPT
-A A -j RETURN
-A B -j RETURN
-A C -j MARK --set-mark 7
-A D -j MARK --set-mark 9
COMMIT
`);
  const f = (dport: number): unknown[] => {
    const pkt = packet({ src: '1.1.1.1', dst: '2.2.2.2', dport });
    const r = ipt.evaluate('filter', pkt, evalCtx({ hook: 'INPUT' }));
    return [r.verdict, r.chain, r.rule, r.rulesEvaluated, pkt.mark];
  };
  // goto then RETURN: nothing to return to, the INPUT policy decides.
  assert.deepEqual(f(1), ['DROP', 'INPUT', 0, 2, 0]);
  assert.deepEqual(f(2), ['ACCEPT', 'INPUT', 5, 6, 0]);
  assert.deepEqual(f(3), ['ACCEPT', 'INPUT', 5, 6, 7]);
  // goto, then the end of D: the INPUT policy too (not an implicit ACCEPT).
  assert.deepEqual(f(4), ['DROP', 'INPUT', 0, 5, 9]);
  const udp = ipt.evaluate('filter', packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 'udp' }), evalCtx({ hook: 'INPUT' }));
  assert.deepEqual([udp.verdict, udp.rule, udp.rulesEvaluated], ['DROP', 0, 5]);
  assert.match(ipt.save({ counters: true }), /:INPUT DROP \[3:\d+\]/);
});

test('interfaces with + wildcards, negated addresses, tcp flags, multiport, icmp, addrtype lists, non-contiguous masks', () => {
  const ipt = loaded(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i veth+ ! -o eth0 -j DROP
-A FORWARD ! -s 10.0.0.0/8 -p tcp --syn -j REJECT --reject-with tcp-reset
-A FORWARD -p tcp -m multiport --dports 22,8000:8080 -j DROP
-A FORWARD -p icmp --icmp-type echo-request -j DROP
-A FORWARD -m addrtype --dst-type BROADCAST,LOCAL -j DROP
-A FORWARD -s 10.0.7.0/255.0.255.0 -j DROP
COMMIT
`);
  const f = (p: Parameters<typeof packet>[0], inDev: string, outDev: string): string => {
    const r = ipt.evaluate('filter', packet(p), evalCtx({ hook: 'FORWARD', inDev, outDev }));
    return `${r.verdict}:${r.rule}${r.rejectWith !== undefined ? ':' + r.rejectWith : ''}`;
  };
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2' }, 'veth12', 'cni0'), 'DROP:1');
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2' }, 'veth12', 'eth0'), 'ACCEPT:0');
  assert.equal(f({ src: '8.8.8.8', dst: '10.0.0.2', flags: 0x02 }, 'eth0', 'cni0'), 'DROP:2:tcp-reset');
  assert.equal(f({ src: '8.8.8.8', dst: '10.0.0.2', flags: 0x12 }, 'eth0', 'cni0'), 'ACCEPT:0');
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2', dport: 8042 }, 'eth0', 'cni0'), 'DROP:3');
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 8 }, 'eth0', 'cni0'), 'DROP:4');
  assert.equal(f({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 0 }, 'eth0', 'cni0'), 'ACCEPT:0');
  assert.equal(f({ src: '10.0.0.1', dst: '192.168.0.10', dport: 1 }, 'eth0', 'cni0'), 'DROP:5');
  assert.equal(f({ src: '10.99.7.5', dst: '10.0.0.2', dport: 1 }, 'eth0', 'cni0'), 'DROP:6');
  assert.equal(f({ src: '10.99.8.5', dst: '10.0.0.2', dport: 1 }, 'eth0', 'cni0'), 'ACCEPT:0');
});

test('statistic nth counts as xt_statistic (the counter advances, then meets --packet) and the fixed-point probability threshold', () => {
  const ipt = loaded(`*mangle
-A PREROUTING -m statistic --mode nth --every 3 --packet 0 -j MARK --set-mark 1
-A PREROUTING -m statistic --mode random --probability 1 -j MARK --or-mark 2
-A PREROUTING -m statistic --mode random --probability 0 -j MARK --or-mark 4
COMMIT
`);
  const marks: number[] = [];
  for (let i = 0; i < 6; i++) {
    const pkt = packet({ src: '1.1.1.1', dst: '2.2.2.2' });
    ipt.evaluate('mangle', pkt, evalCtx());
    marks.push(pkt.mark);
  }
  assert.deepEqual(marks, [2, 2, 3, 2, 2, 3]);
});

test('TRACE-style hits include the policy; LOG calls onLog and continues; NOTRACK and CONNMARK are reported', () => {
  const ipt = loaded(`*raw
-A PREROUTING -p udp -j CT --notrack
-A PREROUTING -j TRACE
COMMIT
*mangle
-A PREROUTING -j LOG --log-prefix "pre: "
-A PREROUTING -j CONNMARK --set-mark 0x5
-A PREROUTING -j CONNMARK --save-mark --mask 0xf0
-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00
COMMIT
`);
  const hits: string[] = [];
  const raw = ipt.evaluate('raw', packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 'udp' }), evalCtx({ hits }));
  assert.equal(raw.notrack, true);
  assert.deepEqual(hits, ['raw PREROUTING:1 CT', 'raw PREROUTING:2 TRACE', 'raw PREROUTING:0 ACCEPT']);
  assert.equal(ipt.evaluate('raw', packet({ src: '1.1.1.1', dst: '2.2.2.2' }), evalCtx()).notrack, undefined);
  const logs: string[] = [];
  const pkt = packet({ src: '1.1.1.1', dst: '2.2.2.2', mark: 0x1234 });
  const m = ipt.evaluate('mangle', pkt, { ...evalCtx(), ctMark: 0xab00, onLog: (_t, c, n, p, l) => { logs.push(`${c}:${n} ${p}${l}`); } });
  assert.deepEqual(logs, ['PREROUTING:1 pre: 4']);
  // set: 0xab00 → 0x5; save --mask 0xf0: (0x5 & ~0xf0) ^ (0x1234 & 0xf0) = 0x35; restore: mark = (0x1234 & ~0xff00) ^ (0x35 & 0xff00).
  assert.equal(m.ctMark, 0x35);
  assert.equal(pkt.mark, 0x34);
});

test('-Z clears rule and policy counters', () => {
  const ipt = loaded(kubeProxy);
  ipt.evaluate('nat', packet({ src: '10.1.2.3', dst: '172.30.0.41', dport: 80 }), evalCtx());
  assert.match(ipt.save({ counters: true }), /\[1:40\]/);
  ipt.restore('*nat\n-Z\nCOMMIT\n', { noflush: true });
  assert.doesNotMatch(ipt.save({ counters: true, table: 'nat' }), /\[[1-9]/);
});

// ------------------------------------------------------------------ a reference walker

type RefRule = { dst?: number; port?: number; udp: boolean; src?: number; mark?: number; target: string };

/**
 * A literal ipt_do_table for the rule shapes below (addresses as their last octet):
 * first match, jump/goto/RETURN, policy on underflow.
 */
function referenceWalk(chains: Map<string, RefRule[]>, policy: 'ACCEPT' | 'DROP', p: { dst: number; port: number; udp: boolean; src: number }, mark0: number): { verdict: string; chain: string; rule: number; evaluated: number; mark: number } {
  const stack: Array<[string, number]> = [];
  let chain = 'PREROUTING';
  let i = 0;
  let evaluated = 0;
  let mark = mark0;
  for (;;) {
    const rules = chains.get(chain) as RefRule[];
    if (i >= rules.length) {
      const back = stack.pop();
      if (back === undefined) return { verdict: policy, chain: 'PREROUTING', rule: 0, evaluated, mark };
      [chain, i] = back;
      continue;
    }
    const r = rules[i] as RefRule;
    evaluated++;
    const hit = (r.dst === undefined || r.dst === p.dst) && (r.port === undefined || (r.port === p.port && r.udp === p.udp)) &&
      (r.src === undefined || r.src === p.src) && (r.mark === undefined || (mark & r.mark) === r.mark);
    if (!hit) {
      i++;
      continue;
    }
    if (r.target === 'ACCEPT' || r.target === 'DROP') return { verdict: r.target, chain, rule: i + 1, evaluated, mark };
    if (r.target === 'MARK') {
      mark |= 1;
      i++;
    } else if (r.target === 'RETURN') {
      const back = stack.pop();
      if (back === undefined) return { verdict: policy, chain: 'PREROUTING', rule: 0, evaluated, mark };
      [chain, i] = back;
    } else {
      const [kind, to] = r.target.split(' ') as [string, string];
      if (kind === '-j') stack.push([chain, i + 1]);
      chain = to;
      i = 0;
    }
  }
}

test('property: indexed and linear evaluation both equal a reference walk of the same rules (verdict, place, rules walked, mark, counters)', () => {
  const arbRule = fc.record({
    dst: fc.option(fc.integer({ min: 1, max: 4 }), { freq: 5 }), port: fc.option(fc.constantFrom(53, 80, 443), { freq: 6 }), udp: fc.boolean(),
    src: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 1 }), mark: fc.option(fc.constant(1), { freq: 1 }),
    target: fc.constantFrom('-j X', '-g X', '-j Y', '-g Y', 'ACCEPT', 'DROP', 'MARK', 'RETURN'),
  }).map((r): RefRule => ({
    udp: r.udp, target: r.target,
    ...(r.dst !== null ? { dst: r.dst } : {}), ...(r.port !== null ? { port: r.port } : {}), ...(r.src !== null ? { src: r.src } : {}), ...(r.mark !== null ? { mark: r.mark } : {}),
  }));
  const chainRules = fc.array(arbRule, { maxLength: 25 });
  fc.assert(fc.property(chainRules, chainRules, chainRules, fc.constantFrom('ACCEPT', 'DROP') as fc.Arbitrary<'ACCEPT' | 'DROP'>,
    fc.array(fc.record({ dst: fc.integer({ min: 1, max: 5 }), port: fc.constantFrom(53, 80, 443, 8080), udp: fc.boolean(), src: fc.integer({ min: 1, max: 4 }), mark: fc.integer({ min: 0, max: 1 }) }), { minLength: 1, maxLength: 8 }),
    (pre, x, y, policy, probes) => {
      // No loops: PREROUTING may go to X or Y, X only to Y, Y nowhere.
      const chains = new Map<string, RefRule[]>([
        ['PREROUTING', pre],
        ['X', x.map((r) => ({ ...r, target: r.target.endsWith(' X') ? 'RETURN' : r.target }))],
        ['Y', y.map((r) => ({ ...r, target: r.target.includes(' ') ? 'MARK' : r.target }))],
      ]);
      const spec = (r: RefRule): string => {
        const p = r.udp ? 'udp' : 'tcp';
        const parts = [r.dst !== undefined ? `-d 10.96.0.${r.dst}/32` : '', r.port !== undefined ? `-p ${p} -m ${p} --dport ${r.port}` : '',
          r.src !== undefined ? `-s 10.0.0.${r.src}/32` : '', r.mark !== undefined ? `-m mark --mark 0x${r.mark.toString(16)}/0x${r.mark.toString(16)}` : ''];
        const t = r.target === 'MARK' ? '-j MARK --or-mark 0x1' : r.target.includes(' ') ? r.target : `-j ${r.target}`;
        return [...parts.filter((s) => s !== ''), t].join(' ');
      };
      // Build the mangle table (DROP is allowed there, unlike nat).
      const text = ['*mangle', `:PREROUTING ${policy} [0:0]`, ':X - [0:0]', ':Y - [0:0]',
        ...[...chains].flatMap(([c, rs]) => rs.map((r) => `-A ${c} ${spec(r)}`)), 'COMMIT', ''].join('\n');
      const fast = loaded(text, 2);
      const slow = loaded(text, Number.POSITIVE_INFINITY);
      for (const q of probes) {
        const want = referenceWalk(chains, policy, { dst: q.dst, port: q.port, udp: q.udp, src: q.src }, q.mark);
        for (const ipt of [fast, slow]) {
          const pkt = packet({ src: `10.0.0.${q.src}`, dst: `10.96.0.${q.dst}`, dport: q.port, proto: q.udp ? 'udp' : 'tcp', mark: q.mark });
          const got = ipt.evaluate('mangle', pkt, evalCtx());
          assert.deepEqual({ verdict: got.verdict, chain: got.chain, rule: got.rule, evaluated: got.rulesEvaluated, mark: pkt.mark }, want, text);
        }
      }
      assert.equal(fast.save({ counters: true }), slow.save({ counters: true }));
    }), { numRuns: 300, seed: 11 });
});

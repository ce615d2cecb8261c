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

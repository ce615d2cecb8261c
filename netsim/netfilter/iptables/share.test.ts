import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Iptables } from './iptables.ts';
import { IptablesShare } from './share.ts';
import { IptablesError } from './errors.ts';
import { evalCtx, packet } from './test-support.ts';
import { Rng } from '../../time/rng.ts';

/** Restore blocks that exercise what sharing touches: -A from the share, jumps, -I/-R/-D, -E, -F, -Z, counters, errors, per-rule state. */
const BLOCKS: readonly string[] = [
  '*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-A - [0:0]\n:KUBE-SEP-A1 - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A\n-A KUBE-SVC-A -m statistic --mode random --probability 0.5 -j KUBE-SEP-A1\n-A KUBE-SVC-A -j KUBE-SEP-A1\n-A KUBE-SEP-A1 -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080\nCOMMIT\n',
  '*nat\n:KUBE-SVC-A - [0:0]\n-A KUBE-SVC-A -j KUBE-SEP-A1\nCOMMIT\n',
  '*nat\n:KUBE-SVC-B - [0:0]\n-A KUBE-SERVICES -d 10.96.0.2/32 -p udp -m udp --dport 53 -j KUBE-SVC-B\n-A KUBE-SVC-B -j KUBE-SEP-A1\nCOMMIT\n',
  '*nat\n-A KUBE-SVC-B -j KUBE-MISSING\nCOMMIT\n',
  '*nat\n:KUBE-LOOP - [0:0]\n-A KUBE-LOOP -j KUBE-SERVICES\n-A KUBE-SERVICES -j KUBE-LOOP\nCOMMIT\n',
  '*filter\n:KUBE-FW - [0:0]\n-A INPUT -j KUBE-FW\n-A KUBE-FW -p tcp -m tcp --dport 22 -j ACCEPT\n-A KUBE-FW -p tcp -m tcp --dport 22 -j ACCEPT\n-A KUBE-FW -m statistic --mode nth --every 3 --packet 0 -j DROP\n-A KUBE-FW -m limit --limit 2/sec --limit-burst 1 -j ACCEPT\nCOMMIT\n',
  '*filter\n-I KUBE-FW 2 -p tcp -m tcp --dport 443 -j ACCEPT\n-R KUBE-FW 1 -p tcp -m tcp --dport 23 -j ACCEPT\n-D KUBE-FW -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n',
  '*filter\n[5:300] -A KUBE-FW -p udp -m udp --dport 53 -j ACCEPT\n-A KUBE-FW -c 7 700 -p udp -m udp --dport 54 -j DROP\nCOMMIT\n',
  '*filter\n-Z KUBE-FW\nCOMMIT\n',
  '*filter\n-F KUBE-FW\n-A KUBE-FW -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n',
  '*filter\n:KUBE-FW2 - [0:0]\n-A KUBE-FW2 -j ACCEPT\n-A INPUT -j KUBE-FW2\nCOMMIT\n',
  '*filter\n-E KUBE-FW2 KUBE-FW3\nCOMMIT\n',
  '*nat\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A\nCOMMIT\n',
  '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n',
  // Texts a plan loads in a further namespace (restore-plan.ts): kube-proxy-shaped chains, closed or naming chains that must exist.
  '*nat\n:KUBE-SVC-P - [0:0]\n:KUBE-SEP-P1 - [0:0]\n:KUBE-SEP-P2 - [0:0]\n-A KUBE-SVC-P -m statistic --mode random --probability 0.5 -j KUBE-SEP-P1\n-A KUBE-SVC-P -j KUBE-SEP-P2\n-A KUBE-SEP-P1 -p tcp -m tcp -j DNAT --to-destination 10.244.1.6:8080\n-A KUBE-SEP-P2 -p tcp -m tcp -j DNAT --to-destination 10.244.2.6:8080\nCOMMIT\n',
  '*filter\n:KUBE-FW4 - [0:0]\n-A KUBE-FW4 -p tcp -m tcp --dport 8080 -j ACCEPT\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.3/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-P\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A\nCOMMIT\n',
  '*nat\n:KUBE-SVC-A - [0:0]\n-A KUBE-SVC-A -j KUBE-LOOP\nCOMMIT\n',
  '*nat\n:KUBE-SEP-P2 - [0:0]\n-A KUBE-SEP-P2 -j KUBE-MARK-X\n:KUBE-MARK-X - [0:0]\n-A KUBE-MARK-X -p tcp -m tcp -j DNAT --to-destination 10.244.3.6:8080\nCOMMIT\n',
];
const FULL = new Set([13]);

const PACKETS = [
  { hook: 'PREROUTING' as const, table: 'nat' as const, p: { src: '10.0.0.9', dst: '10.96.0.1', dport: 80 } },
  { hook: 'PREROUTING' as const, table: 'nat' as const, p: { src: '10.0.0.9', dst: '10.96.0.3', dport: 80 } },
  { hook: 'PREROUTING' as const, table: 'nat' as const, p: { src: '10.0.0.9', dst: '10.96.0.2', proto: 'udp' as const, dport: 53 } },
  { hook: 'INPUT' as const, table: 'filter' as const, p: { src: '10.0.0.9', dst: '192.168.0.10', dport: 22 } },
  { hook: 'INPUT' as const, table: 'filter' as const, p: { src: '10.0.0.9', dst: '192.168.0.10', proto: 'udp' as const, dport: 53 } },
  { hook: 'INPUT' as const, table: 'filter' as const, p: { src: '10.0.0.9', dst: '192.168.0.10', dport: 9 } },
];

/** A restore on one namespace or (ns -1) on each in turn, as kube-proxy on every node; a packet on one. */
type Step = { ns: number; block: number } | { ns: number; packet: number };

/** Run the steps on `n` namespaces; what each shows after each step. */
function run(steps: readonly Step[], n: number, share: IptablesShare | undefined): string[] {
  const nss = Array.from({ length: n }, () => new Iptables(share !== undefined ? { share } : {}));
  const rng = new Rng(7);
  const out: string[] = [];
  steps.forEach((s, k) => {
    if ('block' in s) {
      for (const ipt of s.ns < 0 ? nss : [nss[s.ns] as Iptables]) {
        try {
          ipt.restore(BLOCKS[s.block] as string, { noflush: !FULL.has(s.block), counters: true });
          out.push('ok');
        } catch (e) {
          out.push(e instanceof IptablesError ? `${e.code} ${e.message}` : String(e));
        }
      }
    } else {
      const ipt = nss[s.ns] as Iptables;
      const q = PACKETS[s.packet] as (typeof PACKETS)[number];
      const r = ipt.evaluate(q.table, packet(q.p), evalCtx({ hook: q.hook, now: k * 1e8, rng }));
      out.push(JSON.stringify(r));
    }
    for (const x of nss) out.push(x.save({ counters: true }), x.list('filter'));
  });
  return out;
}

const step = (n: number): fc.Arbitrary<Step> => fc.oneof(
  fc.record({ ns: fc.integer({ min: -1, max: n - 1 }), block: fc.nat(BLOCKS.length - 1) }),
  fc.record({ ns: fc.nat(n - 1), packet: fc.nat(PACKETS.length - 1) }),
);

test('sharing is unobservable: namespaces that share rules show what unshared ones show after any restores and packets (save -c, -L -v, verdicts, errors)', () => {
  fc.assert(fc.property(fc.array(step(3), { minLength: 15, maxLength: 40 }), (steps) => {
    assert.deepEqual(run(steps, 3, new IptablesShare()), run(steps, 3, undefined));
  }), { numRuns: 100 });
});

test('namespaces that restore the same text hold one copy of each chain, and count on their own', () => {
  const share = new IptablesShare();
  const a = new Iptables({ share });
  const b = new Iptables({ share });
  a.restore(BLOCKS[0] as string, { noflush: true });
  b.restore(BLOCKS[0] as string, { noflush: true });
  for (const name of ['KUBE-SERVICES', 'KUBE-SVC-A', 'KUBE-SEP-A1', 'PREROUTING']) assert.equal(a.chain('nat', name)?.rules, b.chain('nat', name)?.rules, name);
  assert.equal(share.stats().parsed, 5);
  assert.equal(share.stats().hits, 5);
  a.evaluate('nat', packet({ src: '10.0.0.9', dst: '10.96.0.1', dport: 80 }), evalCtx({ hook: 'PREROUTING' }));
  assert.match(a.save({ counters: true }), /\[1:40\] -A KUBE-SERVICES -d 10.96.0.1/);
  assert.match(b.save({ counters: true }), /\[0:0\] -A KUBE-SERVICES -d 10.96.0.1/);
  // b edits its copy: a keeps its rules.
  b.restore(BLOCKS[1] as string, { noflush: true });
  assert.equal(a.chain('nat', 'KUBE-SVC-A')?.rules.length, 2);
  assert.equal(b.chain('nat', 'KUBE-SVC-A')?.rules.length, 1);
  assert.notEqual(a.chain('nat', 'KUBE-SVC-A')?.rules, b.chain('nat', 'KUBE-SVC-A')?.rules);
});

test('a text restored again in a further namespace is loaded from its plan: the same chains, rule lists and saves; a failing check falls back to the line-by-line load and its error', () => {
  const share = new IptablesShare();
  const [a, b, c] = [new Iptables({ share }), new Iptables({ share }), new Iptables({ share })];
  const alone = new Iptables();
  const svc = BLOCKS[14] as string;
  const services = BLOCKS[15] as string;
  for (const x of [a, b, alone]) {
    x.restore(BLOCKS[0] as string, { noflush: true });
    x.restore(svc, { noflush: true });
    x.restore(services, { noflush: true, counters: true });
  }
  assert.equal(share.stats().planned, 2);
  for (const name of ['KUBE-SVC-P', 'KUBE-SEP-P1', 'KUBE-SERVICES']) assert.equal(a.chain('nat', name)?.rules, b.chain('nat', name)?.rules, name);
  assert.equal(b.save({ counters: true }), alone.save({ counters: true }));
  // c lacks KUBE-SVC-A: the plan's check fails, the line-by-line load reports the missing chain at COMMIT as iptables-nft does.
  c.restore(svc, { noflush: true });
  assert.throws(() => c.restore(services, { noflush: true }), (e: unknown) => e instanceof IptablesError && e.code === 'IPT_UNKNOWN_TARGET' && e.line === 9);
  assert.equal(c.chain('filter', 'KUBE-FW4')?.rules.length, 1, 'the filter block committed before the failing one stays');
});

test('a rule with per-rule state (statistic nth) is not shared: each namespace steps its own counter', () => {
  const share = new IptablesShare();
  const text = '*filter\n-A INPUT -m statistic --mode nth --every 2 --packet 0 -j DROP\nCOMMIT\n';
  const a = new Iptables({ share });
  const b = new Iptables({ share });
  a.restore(text);
  b.restore(text);
  const v = (x: Iptables): string => x.evaluate('filter', packet({ src: '10.0.0.1', dst: '10.0.0.2' }), evalCtx({ hook: 'INPUT' })).verdict;
  assert.deepEqual([v(a), v(a), v(b), v(b)], ['ACCEPT', 'DROP', 'ACCEPT', 'DROP']);
  assert.notEqual(a.chain('filter', 'INPUT')?.rules[0], b.chain('filter', 'INPUT')?.rules[0]);
});

test('under churn the share forgets what no namespace holds any more: bounded, and the namespaces still show what unshared ones do', () => {
  const share = new IptablesShare();
  const shared = [new Iptables({ share }), new Iptables({ share })];
  const alone = new Iptables();
  for (let round = 0; round < 20; round++) {
    const lines = Array.from({ length: 4000 }, (_, i) => `-A KUBE-SEP-CHURN -p tcp -m tcp --dport ${1 + ((round * 4000 + i) % 65000)} -j DNAT --to-destination 10.244.${round}.${i % 250}:80`);
    const text = `*nat\n:KUBE-SEP-CHURN - [0:0]\n${lines.join('\n')}\nCOMMIT\n`;
    for (const ipt of [...shared, alone]) ipt.restore(text, { noflush: true });
  }
  // 80 000 distinct lines went through; the share sweeps at 65 536 entries.
  assert.equal(share.stats().parsed, 20 * 4000);
  assert.ok(share.stats().rules < 65536, `the share holds ${share.stats().rules} lines`);
  for (const ipt of shared) assert.equal(ipt.save(), alone.save());
  assert.equal(shared[0]?.chain('nat', 'KUBE-SEP-CHURN')?.rules, shared[1]?.chain('nat', 'KUBE-SEP-CHURN')?.rules);
});

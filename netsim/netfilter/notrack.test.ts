/**
 * The raw table's NOTRACK (xt_CT notrack_tg, nf_conntrack_in's "untracked? ignore"):
 * a packet marked untracked gets no conntrack entry in either direction, no NAT (the
 * nat table is only consulted through an entry), and `--ctstate UNTRACKED` matches it,
 * `--ctstate INVALID` does not. Without the rule the same exchange is tracked and NATed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { Segment } from '../link/segment.ts';
import { attachNic } from '../topology.ts';
import { parseIpv4 } from '../wire/addr.ts';
import { recordTrace } from '../trace/tracer.ts';
import { NetfilterStack } from './netfilter-stack.ts';
import { ruleCounts } from './iptables/model.ts';

function rig(rules: string): { sim: Sim; host: NetNamespace; nf: NetfilterStack; ask(): string[] } {
  const sim = new Sim({ seed: 1 });
  const host = new NetNamespace(sim, 'node01', 'node01');
  const peer = new NetNamespace(sim, 'pod', 'node01');
  const wire = new Segment(sim, 'lan');
  attachNic(host, wire, 'eth0', '10.0.0.1/24');
  attachNic(peer, wire, 'eth0', '10.0.0.2/24');
  const nf = NetfilterStack.install(host);
  nf.iptables.restore(rules);
  // A server on 53 answers from the port it was asked on; another on 5353 says who it is.
  for (const port of [53, 5353]) {
    const s = host.udp.bind(port);
    s.onMessage = (m) => s.send(m.src, m.sport, new TextEncoder().encode(`port ${port}`));
  }
  const ask = (): string[] => {
    const got: string[] = [];
    const c = peer.udp.bind(40000);
    c.onMessage = (m) => got.push(`${m.sport} ${new TextDecoder().decode(m.data)}`);
    c.send(parseIpv4('10.0.0.1'), 53, new Uint8Array([1, 2, 3]));
    sim.clock.run(sim.clock.now() + 1e9);
    c.close();
    return got;
  };
  return { sim, host, nf, ask };
}

const RULES = (notrack: boolean): string => `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
${notrack ? '-A PREROUTING -d 10.0.0.1/32 -p udp -m udp --dport 53 -j NOTRACK\n-A OUTPUT -s 10.0.0.1/32 -p udp -m udp --sport 53 -j NOTRACK\n' : ''}COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j REDIRECT --to-ports 5353
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A OUTPUT -m conntrack --ctstate UNTRACKED -j ACCEPT
COMMIT
`;

test('NOTRACK: no conntrack entry either way, no NAT, --ctstate UNTRACKED matches (not INVALID)', () => {
  const { sim, nf, ask } = rig(RULES(true));
  const rec = recordTrace(sim.tracer);
  assert.deepEqual(ask(), ['53 port 53'], 'the nat REDIRECT never applied: the server on 53 answered');
  assert.equal(nf.conntrack.size(), 0, 'no entry');
  const input = nf.iptables.table('filter').chains.get('INPUT')!;
  assert.equal(ruleCounts(input, 0).packets, 1, 'the query matched --ctstate UNTRACKED');
  assert.equal(ruleCounts(nf.iptables.table('filter').chains.get('OUTPUT')!, 0).packets, 1, 'so did the answer');
  assert.equal(ruleCounts(input, 1).packets, 0, 'not INVALID');
  assert.ok(rec.events.some((e) => e.kind === 'ct' && /untracked: raw PREROUTING NOTRACK/.test(e.detail)), 'traced');
  assert.ok(!rec.events.some((e) => e.kind === 'nat'), 'no NAT event');
  assert.match(nf.conntrack.statsText(), /ignore=2 /, 'conntrack ignored both packets');
});

test('without NOTRACK the same exchange is tracked and REDIRECTed', () => {
  const { nf, ask } = rig(RULES(false));
  assert.deepEqual(ask(), ['53 port 5353'], 'REDIRECTed to 5353, the reply un-NATed to come from 53');
  assert.equal(nf.conntrack.size(), 1);
  assert.equal(ruleCounts(nf.iptables.table('filter').chains.get('INPUT')!, 0).packets, 0);
});

test('nft notrack (nft_notrack_eval) at priority raw: the same — no entry, no NAT', () => {
  const { sim, nf, ask } = rig(RULES(false));
  nf.nft.apply('table ip raw {\n  chain pre {\n    type filter hook prerouting priority raw; policy accept;\n    udp dport 53 notrack\n  }\n  chain out {\n    type filter hook output priority raw; policy accept;\n    udp sport 53 notrack\n  }\n}\n');
  const rec = recordTrace(sim.tracer);
  assert.deepEqual(ask(), ['53 port 53'], 'the REDIRECT never applied');
  assert.equal(nf.conntrack.size(), 0);
  assert.equal(ruleCounts(nf.iptables.table('filter').chains.get('INPUT')!, 0).packets, 1, '--ctstate UNTRACKED');
  assert.ok(rec.events.some((e) => e.kind === 'ct' && /untracked: ip raw notrack/.test(e.detail)));
});

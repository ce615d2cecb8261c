/**
 * The per-hook plans of established flows (hook-plans.ts), packet by packet: three
 * identical namespaces — plans on, plans off with the walks' fast path on, everything
 * walked — get the same packets and the same changes (a DNAT'ed and masqueraded flow
 * both ways, an ipset member removed and added back, a packet arriving with another
 * mark or on another device, a ruleset change) and must agree after every packet on the
 * verdicts, the packet's bytes and mark, every counter, and the `rulesEvaluated` reports
 * with the addresses the packet had when each was made (the experiment runner's cost
 * model reads them, so the reports' order against NAT's rewrites matters).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { NF_ACCEPT } from '../stack/netfilter-hooks.ts';
import type { NfHook } from '../stack/netfilter-hooks.ts';
import { DummyDevice } from '../link/dummy.ts';
import { Packet } from '../packet/packet.ts';
import { buildIpv4Udp } from '../wire/build.ts';
import { formatIpv4, parseIpv4Addr } from '../wire/addr.ts';
import { Ipv4 } from '../wire/ipv4.ts';
import { Ipsets } from '../ipset/ipset.ts';
import { NetfilterStack } from './netfilter-stack.ts';

const RULES = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -j MARK --set-xmark 0x10/0x10
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.0.2.2:5353
-A POSTROUTING -o eth1 -j SNAT --to-source 10.0.2.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CHK - [0:0]
-A FORWARD -j CHK
-A FORWARD -m conntrack --ctstate ESTABLISHED -j MARK --set-xmark 0x2/0x2
-A FORWARD -p udp -j ACCEPT
-A CHK -m mark --mark 0x1/0x1 -j RETURN
-A CHK -m set --match-set allowed dst -j ACCEPT
-A CHK -m set --match-set allowed src -j ACCEPT
COMMIT
`;

function node(fast: boolean, plans: boolean) {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, 'n', 'n', { ipForward: true });
  const ipsets = new Ipsets();
  ipsets.create('allowed', 'hash:ip');
  ipsets.add('allowed', '10.0.2.2');
  const nf = NetfilterStack.install(ns, { ipsets });
  nf.fastPath = fast;
  nf.hookPlans = plans;
  nf.iptables.restore(RULES);
  const reports: string[] = [];
  nf.onRulesEvaluated = (p, table, rules) => void reports.push(`${table} ${rules} ${formatIpv4(Ipv4.src(p.buf, p.nh))}>${formatIpv4(Ipv4.dst(p.buf, p.nh))}`);
  const a = new DummyDevice(sim, 'eth0', 0x020000000001);
  const b = new DummyDevice(sim, 'eth1', 0x020000000002);
  const c = new DummyDevice(sim, 'eth2', 0x020000000003);
  let id = 1;
  /** One packet through PREROUTING, FORWARD, POSTROUTING: where it stopped, its mark and bytes, and the reports it caused. */
  const send = (reply: boolean, opts: { mark?: number; otherDevice?: boolean } = {}): string => {
    const [src, dst, sport, dport] = reply ? ['10.0.2.2', '10.0.2.1', 5353, 4000] : ['10.0.1.1', '10.96.0.10', 4000, 53];
    const bytes = buildIpv4Udp({ src: parseIpv4Addr(src), dst: parseIpv4Addr(dst) }, { srcPort: sport, dstPort: dport }, new Uint8Array(10), 64);
    const pkt = new Packet(id++, bytes, 64, bytes.length - 64);
    pkt.mark = opts.mark ?? 0;
    const [inDev, outDev] = reply ? [b, a] : [opts.otherDevice === true ? c : a, b];
    reports.length = 0;
    let out = 'accepted';
    for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as NfHook[]) {
      const v = nf.run(hook, pkt, { hook, inDev: hook === 'POSTROUTING' ? undefined : inDev, outDev: hook === 'PREROUTING' ? undefined : outDev });
      if (v !== NF_ACCEPT) {
        out = `${hook} ${v}`;
        break;
      }
    }
    return `${out} mark ${pkt.mark} bytes ${Buffer.from(pkt.buf.subarray(pkt.off, pkt.off + pkt.len)).toString('hex')} reports ${reports.join(', ')}`;
  };
  return { nf, ipsets, send };
}

test('hook plans agree with the operations packet by packet: NAT both ways, ipsets, marks, devices, ruleset changes', () => {
  const planned = node(true, true);
  const walked = node(true, false);
  const slow = node(false, false);
  const steps: Array<[string, (n: ReturnType<typeof node>) => string]> = [
    ['first packet', (n) => n.send(false)],
    ['reply', (n) => n.send(true)],
    ['established', (n) => n.send(false)],
    ['established again (planned)', (n) => n.send(false)],
    ['established, planned', (n) => n.send(false)],
    ['reply again', (n) => n.send(true)],
    ['reply planned', (n) => n.send(true)],
    ['set member removed', (n) => { n.ipsets.del('allowed', '10.0.2.2'); return n.send(false); }],
    ['reply with the member removed', (n) => n.send(true)],
    ['set member back', (n) => { n.ipsets.add('allowed', '10.0.2.2'); return n.send(false); }],
    ['plan rebuilt', (n) => n.send(false)],
    ['plan replayed', (n) => n.send(false)],
    ['mark 0x1 on arrival', (n) => n.send(false, { mark: 1 })],
    ['mark 0x1 again', (n) => n.send(false, { mark: 1 })],
    ['mark 0 again', (n) => n.send(false)],
    ['another ingress device', (n) => n.send(false, { otherDevice: true })],
    ['ruleset changed', (n) => { n.nf.iptables.restore(RULES.replace('--set-xmark 0x2/0x2', '--set-xmark 0x4/0x4')); return n.send(false); }],
    ['after the change', (n) => n.send(false)],
    ['after the change, planned', (n) => n.send(false)],
    ['reply after the change', (n) => n.send(true)],
    ['reply after the change, planned', (n) => n.send(true)],
  ];
  for (const [what, step] of steps) {
    const want = step(slow);
    assert.equal(step(walked), want, what);
    assert.equal(step(planned), want, what);
    const counters = slow.nf.iptables.save({ counters: true });
    assert.equal(walked.nf.iptables.save({ counters: true }), counters, `counters after: ${what}`);
    assert.equal(planned.nf.iptables.save({ counters: true }), counters, `counters after: ${what}`);
  }
  assert.ok(planned.nf.planReplays >= 6, `plan replays: ${planned.nf.planReplays}`);
  assert.equal(walked.nf.planReplays, 0);
  assert.equal(slow.nf.fastPathReplays, 0);
});

test('a hook with an operation a plan cannot replay (an nftables chain) runs its operations', () => {
  const n = node(true, true);
  n.nf.nft.apply('table ip t {\n  chain f {\n    type filter hook forward priority 10; policy accept;\n  }\n}\n');
  for (let i = 0; i < 4; i++) n.send(i % 2 === 1);
  const before = n.nf.planReplays;
  n.send(false);
  n.send(false);
  // PREROUTING and POSTROUTING still plan (two hooks per packet), FORWARD does not.
  assert.equal(n.nf.planReplays - before, 4);
});

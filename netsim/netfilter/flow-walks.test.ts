/**
 * The fast path's invalidation, packet by packet: two identical namespaces, one
 * replaying established walks and one walking every packet, get the same packets and
 * the same changes — an ipset member removed and added back, a packet arriving with a
 * different mark, a MARK target on the walk, a ruleset change, the reply direction —
 * and must agree on every verdict, every mark and every counter after every packet. The
 * walk passes kube-proxy's `--ctstate INVALID -m nfacct` rule: an nfacct test that is never
 * reached (the packet fails --ctstate first) does not stop a walk from being replayed.
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
import { parseIpv4Addr } from '../wire/addr.ts';
import { Ipsets } from '../ipset/ipset.ts';
import { NetfilterStack } from './netfilter-stack.ts';

const RULES = `*filter
:FORWARD DROP [0:0]
:CHK - [0:0]
-A FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
-A FORWARD -j CHK
-A FORWARD -m conntrack --ctstate ESTABLISHED -j MARK --set-xmark 0x2/0x2
-A FORWARD -p udp -m udp --sport 53 -j ACCEPT
-A CHK -m mark --mark 0x1/0x1 -j RETURN
-A CHK -m set --match-set allowed dst -j ACCEPT
COMMIT
`;

function node(fast: boolean) {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, 'n', 'n', { ipForward: true });
  const ipsets = new Ipsets();
  ipsets.create('allowed', 'hash:ip');
  ipsets.add('allowed', '10.0.2.2');
  const nf = NetfilterStack.install(ns, { ipsets });
  nf.fastPath = fast;
  nf.iptables.nfacct.set('ct_state_invalid_dropped_pkts', { pkts: 0, bytes: 0 });
  nf.iptables.restore(RULES);
  const a = new DummyDevice(sim, 'eth0', 0x020000000001);
  const b = new DummyDevice(sim, 'eth1', 0x020000000002);
  let id = 1;
  /** One packet through PREROUTING, FORWARD, POSTROUTING; its verdict at the first hook that did not accept, and its mark. */
  const send = (reply: boolean, mark = 0): string => {
    const [src, dst, sport, dport] = reply ? ['10.0.2.2', '10.0.1.1', 53, 4000] : ['10.0.1.1', '10.0.2.2', 4000, 53];
    const bytes = buildIpv4Udp({ src: parseIpv4Addr(src), dst: parseIpv4Addr(dst) }, { srcPort: sport, dstPort: dport }, new Uint8Array(10), 64);
    const pkt = new Packet(id++, bytes, 64, bytes.length - 64);
    pkt.mark = mark;
    const [inDev, outDev] = reply ? [b, a] : [a, b];
    for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as NfHook[]) {
      const v = nf.run(hook, pkt, { hook, inDev: hook === 'POSTROUTING' ? undefined : inDev, outDev: hook === 'PREROUTING' ? undefined : outDev });
      if (v !== NF_ACCEPT) return `${hook} ${v} mark ${pkt.mark}`;
    }
    return `accepted mark ${pkt.mark}`;
  };
  return { nf, ipsets, send };
}

test('replayed walks agree with full walks packet by packet, across ipset, mark and ruleset changes', () => {
  const fast = node(true);
  const slow = node(false);
  const steps: Array<[string, (n: ReturnType<typeof node>) => string]> = [
    ['first packet', (n) => n.send(false)],
    ['reply', (n) => n.send(true)],
    ['established', (n) => n.send(false)],
    ['established again (replayed)', (n) => n.send(false)],
    ['reply again', (n) => n.send(true)],
    ['reply replayed', (n) => n.send(true)],
    ['set member removed', (n) => { n.ipsets.del('allowed', '10.0.2.2'); return n.send(false); }],
    ['set member back', (n) => { n.ipsets.add('allowed', '10.0.2.2'); return n.send(false); }],
    ['walk recorded again', (n) => n.send(false)],
    ['mark 0x1 on arrival', (n) => n.send(false, 1)],
    ['mark 0x1 again', (n) => n.send(false, 1)],
    ['mark 0 again', (n) => n.send(false)],
    ['ruleset changed', (n) => { n.nf.iptables.restore(RULES.replace('--set-xmark 0x2/0x2', '--set-xmark 0x4/0x4')); return n.send(false); }],
    ['after the change', (n) => n.send(false)],
    ['after the change, replayed', (n) => n.send(false)],
  ];
  for (const [what, step] of steps) {
    assert.equal(step(fast), step(slow), what);
    assert.equal(fast.nf.iptables.save({ counters: true }), slow.nf.iptables.save({ counters: true }), `counters after: ${what}`);
    assert.equal(fast.nf.iptables.nfacctList(), slow.nf.iptables.nfacctList(), `nfacct after: ${what}`);
  }
  assert.ok(fast.nf.fastPathReplays >= 4, `replays: ${fast.nf.fastPathReplays}`);
  assert.equal(slow.nf.fastPathReplays, 0);
});

/**
 * Walks shared across flows (flow-classes.ts) are exact: two identical namespaces, one
 * with the fast path (per-flow walks, shared walks, plans) and one walking every packet,
 * get the same random sequences of UDP and TCP packets of many flows — addresses, both
 * ports, protocols, marks on arrival, replies — with ipset and ruleset changes between
 * them and local addresses added and removed, and must agree after every packet on the verdict, the mark, the bytes (NAT
 * applied), every rule and policy counter, the conntrack table and the `rulesEvaluated`
 * reports. The rules make walks that read different fields take different ways (a
 * source-port test behind a shared prefix, a multiport source test, a set of
 * address,port pairs, a mark test after a MARK, a statistic branch the nat table must
 * never share, an address-type test, DNAT and MASQUERADE answers, an indexed run of KUBE-SERVICES' shape), so a field missing from a rule's read set
 * shows up as a different counter or verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { NF_ACCEPT } from '../stack/netfilter-hooks.ts';
import type { NfHook } from '../stack/netfilter-hooks.ts';
import { DummyDevice } from '../link/dummy.ts';
import { Packet } from '../packet/packet.ts';
import { buildIpv4Tcp, buildIpv4Udp } from '../wire/build.ts';
import { parseIpv4Addr } from '../wire/addr.ts';
import { Ipsets } from '../ipset/ipset.ts';
import { NetfilterStack } from './netfilter-stack.ts';
import { TcpFlags } from '../wire/tcp.ts';

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SVC - [0:0]
:TAG - [0:0]
-A PREROUTING -d 10.0.2.2/32 -p tcp -m tcp --dport 80 -j TAG
-A PREROUTING -d 10.0.2.3/32 -p tcp -m tcp --dport 53 -j TAG
-A PREROUTING -d 10.0.9.9/32 -p tcp -m tcp --dport 8080 -j TAG
-A PREROUTING -d 10.0.9.9/32 -p udp -m udp --dport 53 -j TAG
-A PREROUTING -d 10.0.3.1/32 -p tcp -m tcp --dport 80 -j TAG
-A PREROUTING -d 10.0.3.2/32 -p tcp -m tcp --dport 80 -j TAG
-A PREROUTING -d 10.0.3.3/32 -p tcp -m tcp --dport 80 -j TAG
-A PREROUTING -d 10.0.3.4/32 -p tcp -m tcp --dport 80 -j TAG
-A PREROUTING -p udp -d 10.0.9.9 --dport 80 -j SVC
-A PREROUTING -m addrtype --dst-type LOCAL -j MARK --set-xmark 0x20/0x20
-A PREROUTING -p tcp -m tcp --sport 1001 -j MARK --set-xmark 0x8/0x8
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.2.3:80
-A SVC -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.2.2:53
-A SVC -j DNAT --to-destination 10.0.2.3:53
-A TAG -j MARK --set-xmark 0x10/0x10
-A POSTROUTING -m mark --mark 0x4/0x4 -j MASQUERADE
-A POSTROUTING -s 10.0.1.2 -j RETURN
-A POSTROUTING -p tcp -m multiport --sports 1000,2000 -j ACCEPT
COMMIT
*filter
:FORWARD DROP [0:0]
:CHK - [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -j CHK
-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --sport 1000 -j MARK --set-xmark 0x4/0x4
-A FORWARD -m mark --mark 0x4/0x4 -j ACCEPT
-A FORWARD -p udp -m udp --dport 53 -j ACCEPT
-A FORWARD -p tcp -m multiport --sports 1000,1001 -j ACCEPT
-A FORWARD -d 10.0.2.3 -j ACCEPT
-A CHK -m mark --mark 0x1/0x1 -j RETURN
-A CHK -d 10.0.2.2 -m set --match-set pairs dst,dst -j ACCEPT
-A CHK -s 10.0.1.3 -j DROP
COMMIT
`;

const ADDRS = ['10.0.1.1', '10.0.1.2', '10.0.1.3'];
const DSTS = ['10.0.2.2', '10.0.2.3', '10.0.9.9'];
const SPORTS = [1000, 1001, 2000, 3000, 3001, 3002, 3003, 3004];
const DPORTS = [53, 80, 8080];

interface Pkt { readonly tcp: boolean; readonly src: number; readonly dst: number; readonly sport: number; readonly dport: number; readonly reply: boolean; readonly mark: number }
type Step = { readonly kind: 'pkt'; readonly p: Pkt } | { readonly kind: 'set'; readonly add: boolean } | { readonly kind: 'rules' } | { readonly kind: 'addr'; readonly add: boolean };

function node(fast: boolean) {
  const sim = new Sim({ seed: 7 });
  const ns = new NetNamespace(sim, 'n', 'n', { ipForward: true });
  const ipsets = new Ipsets();
  ipsets.create('pairs', 'hash:ip,port');
  ipsets.add('pairs', '10.0.2.2,udp:53');
  const nf = NetfilterStack.install(ns, { ipsets });
  nf.fastPath = fast;
  nf.iptables.restore(RULES);
  const reports: string[] = [];
  nf.onRulesEvaluated = (_p, table, n) => void reports.push(`${table}:${n}`);
  const a = new DummyDevice(sim, 'eth0', 0x020000000001);
  const b = new DummyDevice(sim, 'eth1', 0x020000000002);
  ns.addDevice(a);
  let local = false;
  let id = 1;
  const send = (p: Pkt): string => {
    let [src, dst, sport, dport] = [ADDRS[p.src] as string, DSTS[p.dst] as string, SPORTS[p.sport] as number, DPORTS[p.dport] as number];
    if (p.reply) [src, dst, sport, dport] = [dst, src, dport, sport];
    const ip = { src: parseIpv4Addr(src), dst: parseIpv4Addr(dst) };
    const bytes = p.tcp
      ? buildIpv4Tcp(ip, { srcPort: sport, dstPort: dport, seq: 1, ack: p.reply ? 2 : 0, flags: p.reply ? TcpFlags.SYN | TcpFlags.ACK : TcpFlags.SYN, window: 1000 }, new Uint8Array(0), 64)
      : buildIpv4Udp(ip, { srcPort: sport, dstPort: dport }, new Uint8Array(6), 64);
    const pkt = new Packet(id++, bytes, 64, bytes.length - 64);
    pkt.mark = p.mark;
    const [inDev, outDev] = p.reply ? [b, a] : [a, b];
    reports.length = 0;
    let out = 'accepted';
    for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as NfHook[]) {
      const v = nf.run(hook, pkt, { hook, inDev: hook === 'POSTROUTING' ? undefined : inDev, outDev: hook === 'PREROUTING' ? undefined : outDev });
      if (v !== NF_ACCEPT) {
        out = `${hook} ${v}`;
        break;
      }
    }
    return `${out} mark ${pkt.mark} ${Buffer.from(pkt.buf.subarray(pkt.off, pkt.off + pkt.len)).toString('hex')} ${reports.join(',')}`;
  };
  const apply = (s: Step): string => {
    if (s.kind === 'pkt') return send(s.p);
    if (s.kind === 'addr') {
      // 10.0.2.3 becomes (or stops being) a local address: `--dst-type LOCAL` changes its answer.
      if (s.add && !local) ns.addAddress('eth0', '10.0.2.3/32');
      if (!s.add && local) ns.delAddress('eth0', '10.0.2.3/32');
      local = s.add;
      return 'addr';
    }
    if (s.kind === 'set') {
      if (s.add) ipsets.add('pairs', '10.0.2.3,udp:53', { exist: true });
      else ipsets.del('pairs', '10.0.2.3,udp:53', { exist: true });
      return 'set';
    }
    nf.iptables.restore(RULES.replace('--sport 1000 -j MARK', '--sport 2000 -j MARK'));
    return 'rules';
  };
  return { nf, apply };
}

const pkt: fc.Arbitrary<Step> = fc.record({
  tcp: fc.boolean(), src: fc.nat(ADDRS.length - 1), dst: fc.nat(DSTS.length - 1), sport: fc.nat(SPORTS.length - 1), dport: fc.nat(DPORTS.length - 1),
  reply: fc.constantFrom(false, false, true), mark: fc.constantFrom(0, 0, 0, 1),
}).map((p) => ({ kind: 'pkt' as const, p }));
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 30, arbitrary: pkt },
  { weight: 1, arbitrary: fc.boolean().map((add) => ({ kind: 'set' as const, add })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rules' as const }) },
  { weight: 1, arbitrary: fc.boolean().map((add) => ({ kind: 'addr' as const, add })) },
);

test('walks shared across flows agree with full walks packet by packet (random flows, ipset and ruleset changes)', () => {
  let shared = 0;
  fc.assert(fc.property(fc.array(step, { minLength: 100, maxLength: 300 }), (steps) => {
    const fast = node(true);
    const slow = node(false);
    for (const [i, s] of steps.entries()) {
      assert.equal(fast.apply(s), slow.apply(s), `step ${i}`);
      assert.equal(fast.nf.iptables.save({ counters: true }), slow.nf.iptables.save({ counters: true }), `counters after step ${i}`);
    }
    assert.equal(JSON.stringify(fast.nf.conntrack.entries()), JSON.stringify(slow.nf.conntrack.entries()));
    assert.equal(slow.nf.classReplays, 0);
    shared += fast.nf.classReplays;
  }), { numRuns: 40, seed: 17 });
  assert.ok(shared > 500, `walks replayed from other flows: ${shared}`);
});

/**
 * Hook operations: the order the kernel's priorities give (nf_ip_hook_priorities and
 * IPVS's ip_vs_ops4), tables present only while loaded, the entries rebuilt only when
 * the layout changes, and the registration API another module (nftables, a policy
 * enforcer) uses: its operation runs at its priority and its verdict counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { NF_DROP } from '../stack/netfilter-hooks.ts';
import type { NfHook } from '../stack/netfilter-hooks.ts';
import { Segment } from '../link/segment.ts';
import { attachNic } from '../topology.ts';
import { Ipvs } from '../ipvs/ipvs.ts';
import { recordTrace } from '../trace/tracer.ts';
import { NetfilterStack } from './netfilter-stack.ts';
import { NF_IP_PRI_FILTER } from './hook-ops.ts';
import type { NfHookOps } from './hook-ops.ts';
import { ping } from '../apps/ping.ts';

function host(): { sim: Sim; ns: NetNamespace; nf: NetfilterStack; peer: NetNamespace } {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const peer = new NetNamespace(sim, 'node02', 'node02');
  const wire = new Segment(sim, 'underlay');
  attachNic(ns, wire, 'eth0', '192.168.50.11/24');
  attachNic(peer, wire, 'eth0', '192.168.50.12/24');
  const nf = NetfilterStack.install(ns);
  return { sim, ns, nf, peer };
}

const names = (nf: NetfilterStack, h: NfHook): string[] => nf.hookOps(h).map((o) => `${o.name}@${o.priority}`);

test('without tables only conntrack and NAT are registered; loaded tables join at the kernel priorities', () => {
  const { nf } = host();
  assert.deepEqual(names(nf, 'PREROUTING'), ['ipv4_conntrack_in@-200', 'nf_nat_ipv4_pre_routing@-100']);
  assert.deepEqual(names(nf, 'FORWARD'), [], 'an empty hook runs nothing');
  nf.iptables.restore('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n');
  nf.ipvs = new Ipvs(() => 0);
  assert.deepEqual(names(nf, 'PREROUTING'), ['iptable_raw_hook@-300', 'ipv4_conntrack_in@-200', 'iptable_mangle_hook@-150', 'nf_nat_ipv4_pre_routing@-100']);
  assert.deepEqual(names(nf, 'INPUT'), ['iptable_mangle_hook@-150', 'iptable_filter_hook@0', 'ip_vs_reply4@98', 'ip_vs_remote_request4@99', 'nf_nat_ipv4_local_in@100', 'ipv4_confirm@2147483647']);
  assert.deepEqual(names(nf, 'FORWARD'), ['iptable_mangle_hook@-150', 'iptable_filter_hook@0', 'ip_vs_reply4@100']);
  assert.deepEqual(names(nf, 'OUTPUT'), ['iptable_raw_hook@-300', 'ipv4_conntrack_local@-200', 'iptable_mangle_out@-150', 'nf_nat_ipv4_local_fn@-100', 'ip_vs_local_reply4@-99', 'ip_vs_local_request4@-98', 'iptable_filter_hook@0']);
  assert.deepEqual(names(nf, 'POSTROUTING'), ['iptable_mangle_hook@-150', 'nf_nat_ipv4_out@100', 'ipv4_confirm@2147483647']);
});

test('the entries are rebuilt when a table appears, not on every ruleset change', () => {
  const { nf } = host();
  nf.iptables.restore('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
  const before = nf.hookOps('INPUT');
  nf.iptables.restore('*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n');
  assert.equal(nf.hookOps('INPUT'), before, 'same array after a rule change');
  nf.iptables.restore('*mangle\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
  assert.notEqual(nf.hookOps('INPUT'), before, 'a new table rebuilds');
});

test('a registered operation runs at its priority, sees the parsed context, and its DROP ends the hook', () => {
  const { sim, ns, nf, peer } = host();
  nf.iptables.restore('*mangle\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
  const seen: string[] = [];
  const policy: NfHookOps = {
    hook: 'OUTPUT', priority: NF_IP_PRI_FILTER - 1, name: 'test_policy',
    run(pkt) {
      seen.push(`proto ${pkt.l4proto} hl ${pkt.th - pkt.nh} mangle counted ${nf.iptables.hookChain('mangle', 'OUTPUT')?.packets} filter counted ${nf.iptables.hookChain('filter', 'OUTPUT')?.packets}`);
      return NF_DROP;
    },
  };
  nf.registerOps(policy);
  assert.deepEqual(names(nf, 'OUTPUT').slice(-2), ['test_policy@-1', 'iptable_filter_hook@0']);
  const rec = recordTrace(sim.tracer);
  const p = ping(ns, peer.primaryAddress('eth0') ?? 0, { count: 1 });
  sim.clock.run(2e9);
  assert.deepEqual(seen, ['proto 1 hl 20 mangle counted 1 filter counted 0'], 'after mangle (-150), before filter (0)');
  assert.equal(p.replies.length, 0, 'the DROP ended the packet');
  assert.equal(rec.events.filter((e) => e.kind === 'nf' && e.table === 'filter').length, 0, 'filter never ran');
  nf.unregisterOps(policy);
  assert.ok(!names(nf, 'OUTPUT').includes('test_policy@-1'));
  const q = ping(ns, peer.primaryAddress('eth0') ?? 0, { count: 1 });
  sim.clock.run(4e9);
  assert.equal(q.replies.length, 1);
});

/**
 * nf_tables on the datapath: base chains registered at their priorities among the
 * iptables tables and conntrack, a kube-proxy-shaped ruleset (verdict map on the
 * destination, `numgen random mod N vmap` to endpoints, DNAT, masquerade by mark,
 * reject of a service without endpoints) carrying real packets, and traces naming
 * table, chain and rule handle with a verdict-map lookup as one step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../sim.ts';
import { NetNamespace } from '../../stack/net-namespace.ts';
import type { NfHook } from '../../stack/netfilter-hooks.ts';
import { Segment } from '../../link/segment.ts';
import { attachNic } from '../../topology.ts';
import { formatIpv4, parseIpv4 } from '../../wire/addr.ts';
import { recordTrace } from '../../trace/tracer.ts';
import { startUdpEcho, udpRequest } from '../../apps/echo.ts';
import { NetfilterStack } from '../netfilter-stack.ts';

const RULESET = `
add table ip kube-proxy { comment "rules for kube-proxy" ; }
add chain ip kube-proxy filter-output { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority -110 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy services
add chain ip kube-proxy service-endpoints-check
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy masquerading
add chain ip kube-proxy reject-chain
add chain ip kube-proxy service-A
add chain ip kube-proxy endpoint-A1
add chain ip kube-proxy endpoint-A2
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy service-A ip daddr 10.96.0.10 udp dport 53 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
add rule ip kube-proxy service-A numgen random mod 2 vmap { 0 : goto endpoint-A1 , 1 : goto endpoint-A2 }
add rule ip kube-proxy endpoint-A1 meta l4proto udp dnat to 10.0.2.2:7
add rule ip kube-proxy endpoint-A2 meta l4proto udp dnat to 10.0.2.3:7
add element ip kube-proxy service-ips { 10.96.0.10 . udp . 53 : goto service-A }
add element ip kube-proxy no-endpoint-services { 10.96.0.11 . udp . 53 : goto reject-chain }
`;

/** client (192.168.50.12) — node (192.168.50.11 | 10.0.2.1) — backends 10.0.2.2, 10.0.2.3 with UDP echo on 7. */
function cluster() {
  const sim = new Sim({ seed: 7 });
  const client = new NetNamespace(sim, 'client', 'client');
  const node = new NetNamespace(sim, 'node', 'node', { ipForward: true });
  const b1 = new NetNamespace(sim, 'b1', 'b1');
  const b2 = new NetNamespace(sim, 'b2', 'b2');
  const front = new Segment(sim, 'front');
  const back = new Segment(sim, 'back');
  attachNic(client, front, 'eth0', '192.168.50.12/24');
  attachNic(node, front, 'eth0', '192.168.50.11/24');
  attachNic(node, back, 'eth1', '10.0.2.1/24');
  attachNic(b1, back, 'eth0', '10.0.2.2/24');
  attachNic(b2, back, 'eth0', '10.0.2.3/24');
  client.addRoute({ dst: '10.96.0.0/16', via: '192.168.50.11' });
  // No route back to the client: only masquerading makes replies reach it. A default
  // route, as on a real node, so a Service IP without endpoints is routed to FORWARD.
  node.addRoute({ dst: 'default', via: '10.0.2.254' });
  const nf = NetfilterStack.install(node);
  NetfilterStack.install(client);
  startUdpEcho(b1);
  startUdpEcho(b2);
  return { sim, client, node, nf };
}

const names = (nf: NetfilterStack, h: NfHook): string[] => nf.hookOps(h).map((o) => `${o.name}@${o.priority}`);

test('base chains register at their priorities, among conntrack, NAT and iptables tables', () => {
  const { nf } = cluster();
  nf.iptables.restore('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n');
  nf.nft.apply(RULESET);
  assert.deepEqual(names(nf, 'FORWARD'), ['nft_do_chain_ipv4 ip kube-proxy filter-forward@-110', 'iptable_filter_hook@0']);
  assert.deepEqual(names(nf, 'OUTPUT'), ['ipv4_conntrack_local@-200', 'nft_do_chain_ipv4 ip kube-proxy filter-output@-110', 'nf_nat_ipv4_local_fn@-100', 'iptable_filter_hook@0']);
  // nat chains run inside NAT, not as operations of their own.
  assert.ok(!names(nf, 'PREROUTING').some((n) => n.includes('nat-prerouting')));
  const before = nf.hookOps('FORWARD');
  nf.nft.apply('add element ip kube-proxy service-ips { 10.96.0.12 . tcp . 80 : goto service-A }');
  assert.equal(nf.hookOps('FORWARD'), before, 'an element change does not rebuild the hook entries');
  nf.nft.apply('delete chain ip kube-proxy filter-output');
  assert.ok(!names(nf, 'OUTPUT').some((n) => n.includes('filter-output')), 'a deleted base chain unregisters');
});

test('a ClusterIP reaches both endpoints through the verdict maps, DNATed and masqueraded', () => {
  const { sim, client, nf } = cluster();
  nf.nft.apply(RULESET);
  const seen = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const ex = udpRequest(client, parseIpv4('10.96.0.10'), 53, new Uint8Array([i]));
    sim.clock.run(sim.clock.now() + 1e9);
    assert.ok(ex.reply !== undefined, `request ${i} answered`);
    assert.equal(formatIpv4(ex.reply.from), '10.96.0.10', 'the reply is un-NATed to the ClusterIP');
  }
  for (const line of nf.conntrack.list().split('\n').filter((l) => l.includes('dport=53'))) {
    const ep = /src=(10\.0\.2\.\d)/.exec(line)?.[1] ?? '?';
    seen.set(ep, (seen.get(ep) ?? 0) + 1);
    assert.match(line, /dst=10\.0\.2\.1 /, 'masqueraded to the node address on the way out');
  }
  assert.deepEqual([...seen.keys()].sort(), ['10.0.2.2', '10.0.2.3'], 'numgen spreads over both endpoints');
});

test('a service without endpoints is rejected with ICMP port unreachable from the filter chain', () => {
  const { sim, client, nf } = cluster();
  nf.nft.apply(RULESET);
  const ex = udpRequest(client, parseIpv4('10.96.0.11'), 53, new Uint8Array([1]));
  sim.clock.run(1e9);
  assert.equal(ex.reply, undefined);
  assert.equal(ex.error?.type, 3);
  assert.equal(ex.error?.code, 3);
});

test('the trace names table, chain and rule handle; a verdict-map lookup is one step', () => {
  const { sim, client, nf } = cluster();
  nf.nft.apply(RULESET);
  const rec = recordTrace(sim.tracer);
  udpRequest(client, parseIpv4('10.96.0.10'), 53, new Uint8Array([1]));
  sim.clock.run(1e9);
  const nfEvents = rec.events.filter((e) => e.kind === 'nf' && e.netns === 'node' && e.hook === 'PREROUTING');
  const steps = nfEvents.map((e) => (e.kind === 'nf' ? `${e.table} ${e.chain} #${e.rule} ${e.verdict}` : ''));
  assert.deepEqual(steps.slice(0, 3), [
    'ip kube-proxy nat-prerouting #' + String(handleOf(nf, 'nat-prerouting', 0)) + ' jump services',
    'ip kube-proxy services #' + String(handleOf(nf, 'services', 0)) + ' goto service-A',
    'ip kube-proxy service-A #' + String(handleOf(nf, 'service-A', 0)) + ' jump mark-for-masquerade',
  ]);
  assert.match(steps[3] ?? '', /^ip kube-proxy mark-for-masquerade #\d+ continue$/);
  assert.match(steps[4] ?? '', /^ip kube-proxy service-A #\d+ goto endpoint-A[12]$/);
  assert.match(steps[5] ?? '', /^ip kube-proxy endpoint-A[12] #\d+ dnat$/);
  const services = nfEvents.find((e) => e.kind === 'nf' && e.chain === 'services');
  assert.ok(services?.kind === 'nf' && services.detail.includes('vmap @service-ips'), 'the map lookup is the rule');
});

test('counters count, `nft list ruleset` shows them, and a failed transaction changes nothing', () => {
  const { sim, client, nf } = cluster();
  nf.nft.apply(RULESET.replace('add rule ip kube-proxy nat-prerouting jump services', 'add rule ip kube-proxy nat-prerouting counter jump services'));
  udpRequest(client, parseIpv4('10.96.0.10'), 53, new Uint8Array([1, 2, 3]));
  sim.clock.run(1e9);
  const listed = nf.nft.listRuleset();
  assert.match(listed, /counter packets 1 bytes 31 jump services/);
  const r = nf.nft.tryApply('add element ip kube-proxy service-ips { 10.96.0.20 . tcp . 80 : goto service-A }\nadd rule ip kube-proxy services jump nowhere\n');
  assert.equal(r.ok, false);
  assert.equal(nf.nft.listRuleset(), listed, 'nothing of the failed batch is left');
});

function handleOf(nf: NetfilterStack, chain: string, i: number): number {
  return nf.nft.ruleset.tables.get('ip kube-proxy')?.chains.get(chain)?.rules[i]?.handle ?? -1;
}

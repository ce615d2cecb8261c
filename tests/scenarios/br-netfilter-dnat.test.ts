/**
 * br_netfilter and DNAT, as a real node does them (net/bridge/br_netfilter_hooks.c):
 * a pod's packet to a service VIP runs nat PREROUTING in docker0's bridge hook; when
 * the chosen endpoint sits on the same bridge the frame stays BRIDGED (destination
 * MAC rewritten to the endpoint's, source MAC kept, TTL kept, no ip_forward),
 * filter FORWARD and nat POSTROUTING run through the bridge's forward and
 * post-routing hooks (so the hairpin MASQUERADE still happens), and the reply's
 * un-NAT takes the same path. An endpoint reached through another device is routed
 * (TTL − 1). ICMP errors the node generates about a DNATed first packet leave from
 * the VIP and quote what the client sent (nf_ct_attach + nf_nat_icmp_reply_translation),
 * and MASQUERADE out `lo` takes a global address (inet_select_addr), never 127.0.0.1.
 *
 * The TTLs, addresses and hook orders below are what netsim verify's real-kernel
 * twin of the seed cluster shows (kernel 6.x, iptables-nft 1.8.9).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod, attachNic } from '../../netsim/topology.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { startUdpEcho, udpRequest } from '../../netsim/apps/echo.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import type { TraceEvent } from '../../netsim/trace/trace-event.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import { formatIpv4, formatMac } from '../../netsim/wire/addr.ts';
import { readU16, readU32, readU48 } from '../../netsim/wire/field.ts';
import { ip } from '../support/net.ts';

const VIP = '10.96.0.10';

/** kube-proxy-shaped nat rules for one UDP service port 80 → `endpoint`, plus extra lines. */
function rules(endpoint: string, extra: { filter?: string[]; nat?: string[] } = {}): string {
  return [
    '*filter', ...(extra.filter ?? []), 'COMMIT',
    '*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-SVC-WEB - [0:0]', ':KUBE-SEP-WEB - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    `-A KUBE-SERVICES -d ${VIP}/32 -p udp -m udp --dport 80 -j KUBE-SVC-WEB`,
    `-A KUBE-SVC-WEB ! -s 10.244.0.0/16 -d ${VIP}/32 -p udp -m udp --dport 80 -j KUBE-MARK-MASQ`,
    '-A KUBE-SVC-WEB -j KUBE-SEP-WEB',
    `-A KUBE-SEP-WEB -s ${endpoint.split(':')[0]}/32 -j KUBE-MARK-MASQ`,
    `-A KUBE-SEP-WEB -p udp -m udp -j DNAT --to-destination ${endpoint}`,
    ...(extra.nat ?? []),
    'COMMIT', '',
  ].join('\n');
}

/** node01: docker0 10.244.1.1/24 with a client and a server pod, eth0 on an underlay with a host at .99. */
function node(endpoint: string, opts: { hairpin?: boolean; filter?: string[]; nat?: string[]; eth0Mtu?: number } = {}) {
  const sim = new Sim({ seed: 1 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true, bridgeNfCallIptables: true });
  const br = createBridge(host, 'docker0', '10.244.1.1/24');
  const wire = new Segment(sim, 'underlay');
  attachNic(host, wire, 'eth0', '192.168.50.11/24');
  if (opts.eth0Mtu !== undefined) host.setMtu('eth0', opts.eth0Mtu);
  host.addRoute({ dst: 'default', via: '192.168.50.99' });
  const outside = new NetNamespace(sim, 'outside');
  attachNic(outside, wire, 'eth0', '192.168.50.99/24');
  outside.addRoute({ dst: '10.244.0.0/16', via: '192.168.50.11' });
  startUdpEcho(outside, 80);
  const nf = NetfilterStack.install(host);
  const client = attachPod(host, br, { name: 'default/client', cidr: '10.244.1.2/24', gateway: '10.244.1.1', hostVeth: 'veth-client', hairpin: opts.hairpin ?? true });
  const server = attachPod(host, br, { name: 'default/web', cidr: '10.244.1.10/24', gateway: '10.244.1.1', hostVeth: 'veth-web', hairpin: opts.hairpin ?? true });
  startUdpEcho(server.ns, 80);
  nf.iptables.restore(rules(endpoint, opts));
  return { sim, host, br, nf, client, server, outside };
}

/** The IPv4 header fields of a captured Ethernet frame. */
function frame(e: TraceEvent): { dstMac: string; srcMac: string; src: string; dst: string; ttl: number; sport: number; dport: number } {
  assert.ok(e.kind === 'rx' || e.kind === 'tx');
  const d = e.data as Uint8Array;
  const hl = ((d[14] as number) & 0x0f) * 4;
  return {
    dstMac: formatMac(readU48(d, 0)), srcMac: formatMac(readU48(d, 6)), src: formatIpv4(readU32(d, 26)), dst: formatIpv4(readU32(d, 30)),
    ttl: d[22] as number, sport: readU16(d, 14 + hl), dport: readU16(d, 16 + hl),
  };
}

/** Events in `netns`; rx/tx events only for IPv4 frames (ARP carries the id of the packet that caused it). */
function at(events: TraceEvent[], netns: string): TraceEvent[] {
  return events.filter((e) => e.netns === netns && ((e.kind !== 'rx' && e.kind !== 'tx') || isIp(e)));
}

function isIp(e: TraceEvent): boolean {
  return (e.kind === 'rx' || e.kind === 'tx') && e.data !== undefined && readU16(e.data, 12) === 0x0800;
}

/** The node's netfilter and bridge steps for one packet, compactly (ARP frames it caused left out). */
function steps(events: TraceEvent[], pkt: number): string[] {
  const out: string[] = [];
  let arp = false;
  for (const e of events) {
    if (e.netns !== 'node01' || e.pkt !== pkt) continue;
    if (e.kind === 'rx' || e.kind === 'tx') {
      arp = !isIp(e);
      if (!arp) out.push(`${e.kind} ${e.dev}`);
    } else if (e.kind === 'nf' && e.rule !== 0) out.push(`${e.hook} ${e.table} ${e.chain}:${e.rule} ${e.verdict}`);
    else if (e.kind === 'bridge' && e.action !== 'learn' && !arp) out.push(`bridge ${e.action} ${e.port ?? ''}`.trimEnd());
    else if (e.kind === 'ttl') out.push(`ttl ${e.from}→${e.to}`);
  }
  return out;
}

test('pod → VIP → endpoint on the same bridge: bridged, TTL 64, client MAC kept; FORWARD/POSTROUTING via the bridge hooks; the reply the same way', () => {
  const { sim, host, client, server, br } = node('10.244.1.10:80');
  const rec = recordTrace(sim.tracer, { bytes: true });
  const first = udpRequest(client.ns, ip(VIP), 80, new Uint8Array([1]), { sport: 40001 });
  sim.clock.run(1e9);
  assert.deepEqual([first.reply?.from, first.reply?.ttl], [ip(VIP), 64], 'the answer comes from the VIP, not routed (kernel: ttl 64)');
  const inServer = at(rec.events, 'default/web').filter((e) => e.kind === 'rx' && e.pkt === first.sentPkt).map(frame);
  assert.deepEqual(inServer, [{ dstMac: formatMac(server.eth.mac), srcMac: formatMac(client.eth.mac), src: '10.244.1.2', dst: '10.244.1.10', ttl: 64, sport: 40001, dport: 80 }]);
  // First packet: the endpoint's MAC is unknown, so docker0's neighbour layer resolves it and
  // hands the frame back to the bridge (the only moment it shows on docker0, with docker0's MAC).
  assert.deepEqual(steps(rec.events, first.sentPkt), [
    'rx veth-client',
    'bridge nf-call veth-client',
    'PREROUTING nat PREROUTING:1 KUBE-SERVICES',
    'PREROUTING nat KUBE-SERVICES:1 KUBE-SVC-WEB',
    'PREROUTING nat KUBE-SVC-WEB:2 KUBE-SEP-WEB',
    'PREROUTING nat KUBE-SEP-WEB:2 DNAT',
    'bridge bridged-dnat veth-client',
    'tx docker0',
    'bridge forward veth-web',
    'bridge nf-call veth-web',
    'POSTROUTING nat POSTROUTING:1 KUBE-POSTROUTING',
    'POSTROUTING nat KUBE-POSTROUTING:1 RETURN',
    'tx veth-web',
  ]);
  const onDocker0 = at(rec.events, 'node01').filter((e) => e.kind === 'tx' && e.dev === 'docker0' && e.pkt === first.sentPkt).map(frame);
  assert.deepEqual(onDocker0.map((f) => [f.srcMac, f.dstMac, f.ttl]), [[formatMac(br.mac), formatMac(server.eth.mac), 64]]);
  // The reply: PREROUTING sees no change of destination (only POSTROUTING un-DNATs the source).
  const replyPkt = at(rec.events, 'default/web').find((e) => e.kind === 'tx' && e.dev === 'eth0' && frame(e).sport === 80)?.pkt as number;
  assert.deepEqual(steps(rec.events, replyPkt), ['rx veth-web', 'bridge nf-call veth-web', 'bridge forward veth-client', 'bridge nf-call veth-client', 'tx veth-client']);
  assert.ok(rec.events.some((e) => e.kind === 'nat' && e.pkt === replyPkt && e.detail === 'source un-NAT: 10.244.1.10:80 → 10.244.1.2:40001 → 10.96.0.10:80 → 10.244.1.2:40001'));
  assert.ok(!rec.events.some((e) => e.kind === 'ttl' && e.netns === 'node01'), 'nothing is routed on the node');
  // web's ARP request for the client, flooded to docker0 too, leaves docker0's entry for web REACHABLE.
  assert.equal(host.neighbours('docker0').find((n) => n.ip === server.ip)?.state, 'REACHABLE');

  // Second flow: the neighbour is REACHABLE, the MAC is rewritten in the bridge hook directly.
  rec.events.length = 0;
  const second = udpRequest(client.ns, ip(VIP), 80, new Uint8Array([2]), { sport: 40002 });
  sim.clock.run(sim.clock.now() + 1e9);
  assert.equal(second.reply?.ttl, 64);
  assert.deepEqual(steps(rec.events, second.sentPkt).filter((s) => !s.startsWith('PREROUTING') && !s.startsWith('POSTROUTING')),
    ['rx veth-client', 'bridge nf-call veth-client', 'bridge bridged-dnat veth-client', 'bridge forward veth-web', 'bridge nf-call veth-web', 'tx veth-web']);
  const b = rec.events.find((e) => e.kind === 'bridge' && e.action === 'bridged-dnat');
  assert.ok(b !== undefined && b.kind === 'bridge');
  assert.equal(b.detail, `10.244.1.10 is reached through docker0 itself: bridged to ${formatMac(server.eth.mac)} (not routed, TTL kept)`);
});

test('FORWARD runs for bridged DNAT with in = out = docker0 and physdev ports; a DROP there stops it', () => {
  const { sim, client } = node('10.244.1.10:80', { filter: ['-A FORWARD -i docker0 -o docker0 -m physdev --physdev-in veth-client --physdev-out veth-web -d 10.244.1.10/32 -j DROP'] });
  const rec = recordTrace(sim.tracer, { bytes: true });
  const ex = udpRequest(client.ns, ip(VIP), 80, new Uint8Array([1]), { sport: 40001 });
  sim.clock.run(1e9);
  assert.equal(ex.reply, undefined);
  assert.ok(rec.events.some((e) => e.kind === 'nf' && e.hook === 'FORWARD' && e.table === 'filter' && e.chain === 'FORWARD' && e.rule === 1 && e.verdict === 'DROP'));
  assert.ok(!at(rec.events, 'default/web').some((e) => e.kind === 'rx' && e.pkt === ex.sentPkt));
});

test('hairpin: a pod → its own VIP comes back bridged through its own port, masqueraded to docker0\'s address, TTL 64 both ways', () => {
  const { sim, server } = node('10.244.1.10:80');
  const rec = recordTrace(sim.tracer, { bytes: true });
  const ex = udpRequest(server.ns, ip(VIP), 80, new Uint8Array([1]), { sport: 40003 });
  sim.clock.run(1e9);
  assert.deepEqual([ex.reply?.from, ex.reply?.sport, ex.reply?.ttl], [ip(VIP), 80, 64]);
  const request = at(rec.events, 'default/web').filter((e) => e.kind === 'rx' && e.pkt === ex.sentPkt).map(frame);
  assert.equal(request.length, 1);
  assert.deepEqual([request[0]?.src, request[0]?.dst, request[0]?.ttl, request[0]?.srcMac], ['10.244.1.1', '10.244.1.10', 64, formatMac(server.eth.mac)]);
  const s = steps(rec.events, ex.sentPkt);
  assert.ok(s.includes('bridge forward veth-web'), s.join('\n'));
  assert.ok(s.includes('POSTROUTING nat KUBE-POSTROUTING:3 MASQUERADE'), s.join('\n'));
  assert.ok(rec.events.some((e) => e.kind === 'bridge' && e.action === 'forward' && e.detail.endsWith('→ veth-web (hairpin)')));
  // The answer goes to 10.244.1.1 and PREROUTING's un-SNAT turns it back to the pod: bridged again.
  const replyPkt = at(rec.events, 'default/web').find((e) => e.kind === 'tx' && e.dev === 'eth0' && frame(e).sport === 80)?.pkt as number;
  assert.ok(steps(rec.events, replyPkt).includes('bridge bridged-dnat veth-web'));
  assert.ok(!rec.events.some((e) => e.kind === 'ttl' && e.netns === 'node01'));
});

test('hairpin mode off: the bridged-DNAT frame would leave by its ingress port, so it is not sent at all', () => {
  const { sim, server } = node('10.244.1.10:80', { hairpin: false });
  const rec = recordTrace(sim.tracer, { bytes: true });
  const ex = udpRequest(server.ns, ip(VIP), 80, new Uint8Array([1]), { sport: 40004 });
  sim.clock.run(1e9);
  assert.equal(ex.reply, undefined);
  assert.ok(rec.events.some((e) => e.kind === 'bridge' && e.action === 'no-reflect' && e.pkt === ex.sentPkt));
  assert.ok(!at(rec.events, 'default/web').some((e) => e.kind === 'rx' && e.pkt === ex.sentPkt));
});

test('an endpoint outside the bridge is routed (TTL 63), and DNAT to docker0\'s own address is delivered locally', () => {
  const routed = node('192.168.50.99:80');
  const rec = recordTrace(routed.sim.tracer, { bytes: true });
  const ex = udpRequest(routed.client.ns, ip(VIP), 80, new Uint8Array([1]), { sport: 40005 });
  routed.sim.clock.run(1e9);
  assert.deepEqual([ex.reply?.from, ex.reply?.ttl], [ip(VIP), 63]);
  assert.deepEqual(at(rec.events, 'outside').filter((e) => e.kind === 'rx' && e.pkt === ex.sentPkt).map((e) => frame(e).ttl), [63]);
  const s = steps(rec.events, ex.sentPkt);
  assert.deepEqual(s.slice(0, 2), ['rx veth-client', 'bridge nf-call veth-client']);
  assert.ok(s.includes('bridge local veth-client') && s.includes('ttl 64→63') && s.includes('tx eth0'), s.join('\n'));
  assert.ok(!s.includes('bridge bridged-dnat veth-client'));

  const local = node('10.244.1.1:80');
  startUdpEcho(local.host, 80);
  const rec2 = recordTrace(local.sim.tracer);
  const ex2 = udpRequest(local.client.ns, ip(VIP), 80, new Uint8Array([1]), { sport: 40006 });
  local.sim.clock.run(1e9);
  assert.deepEqual([ex2.reply?.from, ex2.reply?.ttl], [ip(VIP), 64]);
  assert.ok(rec2.events.some((e) => e.kind === 'deliver' && e.netns === 'node01' && e.pkt === ex2.sentPkt));
  assert.ok(rec2.events.some((e) => e.kind === 'bridge' && e.action === 'local' && e.pkt === ex2.sentPkt));
});

/** The ICMP error a client got, with its quote's addresses. */
function quoted(e: { from: number; quote: Uint8Array; type: number; code: number; mtu: number } | undefined): string {
  if (e === undefined) return 'no error';
  const q = e.quote;
  const hl = ((q[0] as number) & 0x0f) * 4;
  return `${e.type}/${e.code}${e.mtu !== 0 ? ` mtu ${e.mtu}` : ''} from ${formatIpv4(e.from)} quoting ${formatIpv4(readU32(q, 12))}:${readU16(q, hl)} → ${formatIpv4(readU32(q, 16))}:${readU16(q, hl + 2)} ttl ${q[8]}`;
}

test('ICMP time exceeded for a DNATed first packet: from the VIP, quoting the packet as the client sent it', () => {
  const { sim, client } = node('192.168.50.99:80');
  const rec = recordTrace(sim.tracer);
  const ex = udpRequest(client.ns, ip(VIP), 80, new Uint8Array([1]), { sport: 40007, ttl: 1 });
  sim.clock.run(1e9);
  assert.equal(quoted(ex.error), '11/0 from 10.96.0.10 quoting 10.244.1.2:40007 → 10.96.0.10:80 ttl 1');
  const icmp = rec.events.find((e) => e.kind === 'icmp-error' && e.pkt === ex.sentPkt);
  assert.ok(icmp !== undefined && icmp.kind === 'icmp-error');
  const errPkt = Number(/\(packet (\d+)\)$/.exec(icmp.detail)?.[1]);
  const ct = rec.events.filter((e) => e.kind === 'ct' && e.pkt === errPkt).map((e) => (e.kind === 'ct' ? e.detail : ''));
  assert.deepEqual(ct, ['related to udp 10.244.1.2:40007 → 10.96.0.10:80 (unconfirmed) (ICMP error about one of its packets, reply direction)']);
  const nat = rec.events.filter((e) => e.kind === 'nat' && e.pkt === errPkt).map((e) => (e.kind === 'nat' ? e.detail : ''));
  assert.deepEqual(nat, ['ICMP error source un-NAT: 10.244.1.1 → 10.244.1.2 quoting 10.244.1.2:40007 → 192.168.50.99:80 → 10.96.0.10 → 10.244.1.2 quoting 10.244.1.2:40007 → 10.96.0.10:80']);
});

test('ICMP fragmentation needed and a REJECT after DNAT: both from the VIP with the original destination quoted', () => {
  const mtu = node('192.168.50.99:80', { eth0Mtu: 1400 });
  const big = udpRequest(mtu.client.ns, ip(VIP), 80, new Uint8Array(1450), { sport: 40008 });
  mtu.sim.clock.run(1e9);
  assert.equal(quoted(big.error), '3/4 mtu 1400 from 10.96.0.10 quoting 10.244.1.2:40008 → 10.96.0.10:80 ttl 64');

  const rej = node('10.244.1.10:80', { filter: ['-A FORWARD -d 10.244.1.10/32 -p udp -j REJECT --reject-with icmp-port-unreachable'] });
  const ex = udpRequest(rej.client.ns, ip(VIP), 80, new Uint8Array([1]), { sport: 40009 });
  rej.sim.clock.run(1e9);
  assert.equal(quoted(ex.error), '3/3 from 10.96.0.10 quoting 10.244.1.2:40009 → 10.96.0.10:80 ttl 64');
  assert.equal(rej.nf.conntrack.list(), '', 'the rejected first packet took its unconfirmed entry with it');
});

test('MASQUERADE out lo takes the first global address in device order, not 127.0.0.1', () => {
  // docker0 is created before eth0 here, so its address is the first global one.
  const { sim, host, nf } = node('192.168.50.11:5353', { nat: [`-A OUTPUT -d ${VIP}/32 -p udp -m udp --dport 80 -j KUBE-SVC-WEB`, '-I KUBE-POSTROUTING 1 -o lo -j MASQUERADE'] });
  const srv = host.udp.bind(5353, ip('192.168.50.11'));
  const seen: string[] = [];
  srv.onMessage = (m) => {
    seen.push(`${formatIpv4(m.src)} → ${formatIpv4(m.dst)}`);
    srv.send(m.src, m.sport, m.data);
  };
  const ex = udpRequest(host, ip(VIP), 80, new Uint8Array([1]), { sport: 40010 });
  sim.clock.run(1e9);
  assert.deepEqual(seen, ['10.244.1.1 → 192.168.50.11']);
  assert.deepEqual([ex.reply?.from, ex.reply?.sport], [ip(VIP), 80]);
  assert.match(nf.conntrack.list(), /^udp {6}17 \d+ src=192\.168\.50\.11 dst=10\.96\.0\.10 sport=40010 dport=80 src=192\.168\.50\.11 dst=10\.244\.1\.1 sport=5353 dport=\d+ mark=0 use=1$/m);
});

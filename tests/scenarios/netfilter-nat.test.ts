/**
 * iptables + conntrack + NAT in the packet core, with kube-proxy-shaped rules
 * written by hand: DNAT to backends and un-NAT of replies (also across the bridge
 * with bridge-nf-call-iptables), statistic distribution, REJECT for a service
 * without endpoints, hairpin, masquerade of pod egress with port allocation,
 * `recent` affinity, and deletion of stale UDP entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod, attachNic } from '../../netsim/topology.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { startHttpServer, httpGet } from '../../netsim/apps/http.ts';
import { startUdpEcho, udpRequest } from '../../netsim/apps/echo.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { ip } from '../support/net.ts';

const SVC = '10.96.0.10';

function kubeRules(endpoints: string[], opts: { affinity?: boolean; proto?: 'tcp' | 'udp'; port?: number } = {}): string {
  const proto = opts.proto ?? 'tcp';
  const port = opts.port ?? 80;
  const lines = ['*filter', ':KUBE-SERVICES - [0:0]', '-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES', '-A OUTPUT -m conntrack --ctstate NEW -j KUBE-SERVICES'];
  if (endpoints.length === 0) lines.push(`-A KUBE-SERVICES -d ${SVC}/32 -p ${proto} -m comment --comment "default/web has no endpoints" -m ${proto} --dport ${port} -j REJECT --reject-with icmp-port-unreachable`);
  lines.push('COMMIT', '*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-SVC-WEB - [0:0]');
  endpoints.forEach((_, i) => lines.push(`:KUBE-SEP-${i} - [0:0]`));
  lines.push('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000', '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN', '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A POSTROUTING -s 10.244.1.0/24 ! -o docker0 -j MASQUERADE');
  if (endpoints.length > 0) {
    lines.push(`-A KUBE-SERVICES -d ${SVC}/32 -p ${proto} -m comment --comment "default/web cluster IP" -m ${proto} --dport ${port} -j KUBE-SVC-WEB`);
    lines.push(`-A KUBE-SVC-WEB ! -s 10.244.0.0/16 -d ${SVC}/32 -p ${proto} -m ${proto} --dport ${port} -j KUBE-MARK-MASQ`);
    if (opts.affinity === true) endpoints.forEach((_, i) => lines.push(`-A KUBE-SVC-WEB -m recent --name KUBE-SEP-${i} --rcheck --seconds 10800 --reap -j KUBE-SEP-${i}`));
    endpoints.forEach((_, i) => {
      const n = endpoints.length;
      lines.push(i < n - 1 ? `-A KUBE-SVC-WEB -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)} -j KUBE-SEP-${i}` : `-A KUBE-SVC-WEB -j KUBE-SEP-${i}`);
    });
    endpoints.forEach((ep, i) => {
      lines.push(`-A KUBE-SEP-${i} -s ${ep}/32 -j KUBE-MARK-MASQ`);
      lines.push(`-A KUBE-SEP-${i} -p ${proto}${opts.affinity === true ? ` -m recent --name KUBE-SEP-${i} --set` : ''} -m ${proto} -j DNAT --to-destination ${ep}:${port}`);
    });
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

function node(endpointCount: number, opts: { affinity?: boolean; proto?: 'tcp' | 'udp'; bridgeNf?: boolean; hairpin?: boolean } = {}, seed = 1) {
  const sim = new Sim({ seed });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true, bridgeNfCallIptables: opts.bridgeNf ?? true });
  const br = createBridge(host, 'docker0', '10.244.1.1/24');
  // The node's uplink with a default route: ClusterIPs are routed through it until NAT steps in.
  const wire = new Segment(sim, 'underlay');
  attachNic(host, wire, 'eth0', '192.168.50.11/24');
  host.addRoute({ dst: 'default', via: '192.168.50.1' });
  const nf = NetfilterStack.install(host);
  const client = attachPod(host, br, { name: 'default/client', cidr: '10.244.1.2/24', gateway: '10.244.1.1', hostVeth: 'veth-client' });
  const backends = Array.from({ length: endpointCount }, (_, i) => attachPod(host, br, { name: `default/web-${i}`, cidr: `10.244.1.${10 + i}/24`, gateway: '10.244.1.1', hostVeth: `veth-web${i}`, hairpin: opts.hairpin ?? true }));
  for (const [i, b] of backends.entries()) {
    if (opts.proto === 'udp') startUdpEcho(b.ns, 80);
    else startHttpServer(b.ns, { podName: `web-${i}` });
  }
  nf.iptables.restore(kubeRules(backends.map((b) => formatIpv4(b.ip)), opts));
  return { sim, host, br, nf, client, backends, wire };
}

test('pod → ClusterIP: DNAT to a backend, the reply un-NATed by conntrack on the bridged path', () => {
  const { sim, nf, client } = node(2);
  const rec = recordTrace(sim.tracer);
  const s = httpGet(client.ns, ip(SVC), 80);
  sim.clock.run(2e9);
  assert.equal(s.error, undefined, s.errorDetail);
  assert.equal(s.results[0]?.status, 200);
  assert.match(s.results[0]?.body ?? '', /^Hello World, Kubernetes! from web-[01]\n$/);
  assert.equal(s.conn.remoteAddr, ip(SVC), 'the client only ever talks to the VIP');
  const nat = rec.events.filter((e) => e.kind === 'nat').map((e) => (e.kind === 'nat' ? e.detail : ''));
  assert.ok(nat.some((d) => /^DNAT: tcp 10\.244\.1\.2:\d+ → 10\.96\.0\.10:80 → destination 10\.244\.1\.1[01]:80$/.test(d)), nat.join('\n'));
  assert.ok(nat.some((d) => /^source un-NAT: 10\.244\.1\.1[01]:80 → 10\.244\.1\.2:\d+ → 10\.96\.0\.10:80 → 10\.244\.1\.2:\d+$/.test(d)), 'the reply is rewritten back to the VIP');
  const hits = rec.events.filter((e) => e.kind === 'nf' && e.table === 'nat').map((e) => (e.kind === 'nf' ? `${e.chain}:${e.rule}` : ''));
  assert.ok(hits.includes('PREROUTING:1') && hits.includes('KUBE-SERVICES:1'), hits.join(','));
  const ct = nf.conntrack.list();
  assert.match(ct, /^tcp {6}6 \d+ TIME_WAIT src=10\.244\.1\.2 dst=10\.96\.0\.10 sport=\d+ dport=80 src=10\.244\.1\.1[01] dst=10\.244\.1\.2 sport=80 dport=\d+ \[ASSURED\] mark=0 use=1$/m);
});

test('without bridge-nf-call-iptables the reply bypasses conntrack and the client never connects', () => {
  const { sim, client } = node(1, { bridgeNf: false });
  const rec = recordTrace(sim.tracer);
  const s = httpGet(client.ns, ip(SVC), 80);
  sim.clock.run(200e9);
  assert.equal(s.results.length, 0);
  assert.equal(s.error, 'timeout', 'the SYN-ACK arrives from the pod IP, not the VIP; the client resets it and its SYNs time out');
  assert.ok(rec.events.some((e) => e.kind === 'tx' && e.netns === 'default/client' && /10\.244\.1\.2\.\d+ > 10\.244\.1\.10\.80: Flags \[R\]/.test(e.summary)), 'client answers the unexpected SYN-ACK with RST');
});

test('statistic --mode random spreads new connections evenly (chi-square p > 0.01 for a fixed seed)', () => {
  const { sim, nf, client, backends } = node(3, { proto: 'udp' }, 42);
  let answered = 0;
  for (let i = 0; i < 900; i++) {
    const u = udpRequest(client.ns, ip(SVC), 80, new Uint8Array([i & 255]));
    sim.clock.run(sim.clock.now() + 1e6);
    if (u.reply !== undefined && u.reply.from === ip(SVC)) answered++;
  }
  assert.equal(answered, 900, 'every reply comes back from the VIP');
  const per = backends.map((b) => nf.conntrack.entries().filter((e) => e.reply.src === b.ip).length);
  assert.equal(per.reduce((a, b) => a + b, 0), 900);
  const chi = per.reduce((acc, n) => acc + (n - 300) ** 2 / 300, 0);
  assert.ok(chi < 9.21, `chi-square ${chi.toFixed(2)} for ${per.join('/')} (df 2, p > 0.01)`);
});

test('a service without endpoints is REJECTed: ICMP port unreachable, the TCP connect is refused', () => {
  const { sim, client } = node(0);
  const rec = recordTrace(sim.tracer);
  const s = httpGet(client.ns, ip(SVC), 80);
  sim.clock.run(5e9);
  assert.equal(s.error, 'refused');
  const drop = rec.events.find((e) => e.kind === 'drop' && e.reason === 'nf-reject');
  assert.ok(drop !== undefined && drop.kind === 'drop');
  assert.match(drop.detail, /^filter KUBE-SERVICES:1 REJECT --reject-with icmp-port-unreachable$/);
});

test('hairpin: a pod reaching itself through the VIP is masqueraded to the bridge address', () => {
  const { sim, backends } = node(1);
  const self = backends[0]!;
  const rec = recordTrace(sim.tracer);
  const s = httpGet(self.ns, ip(SVC), 80);
  sim.clock.run(2e9);
  assert.equal(s.results[0]?.status, 200, s.errorDetail);
  assert.ok(rec.events.some((e) => e.kind === 'nat' && /^MASQUERADE --random-fully: tcp 10\.244\.1\.10:\d+ → 10\.96\.0\.10:80 → source 10\.244\.1\.1:\d+$/.test(e.detail)));
  assert.ok(rec.events.some((e) => e.kind === 'rx' && e.netns === 'default/web-0' && /^10\.244\.1\.1\.\d+ > 10\.244\.1\.10\.80/.test(e.summary)), 'the server sees the node\'s bridge address as the client');
});

test('pod egress is masqueraded to the node address; two pods with the same source port get distinct ports', () => {
  const { sim, client, backends, wire } = node(1);
  const outside = new NetNamespace(sim, 'outside');
  attachNic(outside, wire, 'eth0', '192.168.50.99/24');
  const seen: string[] = [];
  const srv = outside.udp.bind(53);
  srv.onMessage = (m) => {
    seen.push(`${formatIpv4(m.src)}:${m.sport}`);
    srv.send(m.src, m.sport, m.data);
  };
  const a = udpRequest(client.ns, ip('192.168.50.99'), 53, new Uint8Array([1]), { sport: 40000 });
  const b = udpRequest(backends[0]!.ns, ip('192.168.50.99'), 53, new Uint8Array([2]), { sport: 40000 });
  sim.clock.run(2e9);
  assert.equal(seen.length, 2);
  assert.equal(seen[0], '192.168.50.11:40000', 'the first flow keeps its port');
  assert.match(seen[1] ?? '', /^192\.168\.50\.11:(\d+)$/);
  assert.notEqual(seen[1], '192.168.50.11:40000', 'the second flow gets another port');
  assert.deepEqual([a.reply?.from, b.reply?.from], [ip('192.168.50.99'), ip('192.168.50.99')], 'both replies are un-NATed back to the right pod');
});

test('recent-based affinity: a client sticks to the backend it first reached', () => {
  const { sim, nf, client, backends } = node(3, { affinity: true, proto: 'udp' }, 7);
  for (let i = 0; i < 30; i++) {
    udpRequest(client.ns, ip(SVC), 80, new Uint8Array([i]));
    sim.clock.run(sim.clock.now() + 1e6);
  }
  const per = backends.map((b) => nf.conntrack.entries().filter((e) => e.reply.src === b.ip).length);
  assert.deepEqual([...per].sort((x, y) => y - x), [30, 0, 0], `all 30 flows on one backend (${per.join('/')})`);
});

test('a stale UDP entry black-holes a flow after its endpoint goes; deleting it by filter recovers', () => {
  const { sim, host, br, nf, client, backends } = node(1, { proto: 'udp' });
  const s = client.ns.udp.bind(5555);
  const replies: number[] = [];
  s.onMessage = (m) => replies.push(m.data[0] ?? -1);
  const send = (v: number): void => {
    s.send(ip(SVC), 80, new Uint8Array([v]));
    sim.clock.run(sim.clock.now() + 4e9);
  };
  send(1);
  assert.deepEqual(replies, [1]);
  // The endpoint goes away; the rules now point at a new backend.
  backends[0]!.ns.setUp('eth0', false);
  const fresh = attachPod(host, br, { name: 'default/web-new', cidr: '10.244.1.20/24', gateway: '10.244.1.1', hostVeth: 'veth-new' });
  startUdpEcho(fresh.ns, 80);
  nf.iptables.restore(kubeRules(['10.244.1.20'], { proto: 'udp' }));
  send(2);
  assert.deepEqual(replies, [1], 'the existing conntrack entry still DNATs to the removed endpoint: black hole');
  assert.equal(nf.conntrack.deleteByFilter({ proto: 17, origDst: ip(SVC), origDport: 80, replySrc: backends[0]!.ip }), 1);
  send(3);
  assert.deepEqual(replies, [1, 3], 'a new entry reaches the new endpoint');
  assert.match(nf.conntrack.list(), /src=10\.244\.1\.20 dst=10\.244\.1\.2 sport=80 dport=5555/);
});

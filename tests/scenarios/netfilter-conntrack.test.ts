/**
 * Conntrack-driven behaviour in the packet core: ICMP errors about a DNATed flow
 * are RELATED and reach the client from the VIP with the quoted header un-NATed;
 * masqueraded pings with the same identifier get distinct identifiers; REJECT with
 * tcp-reset refuses a connect; invalid packets escape NAT unless dropped (the
 * reason kube-proxy drops `--ctstate INVALID`); `conntrack -L` after real traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod, attachNic } from '../../netsim/topology.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { udpRequest } from '../../netsim/apps/echo.ts';
import { httpGet, startHttpServer } from '../../netsim/apps/http.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import { IPPROTO_ICMP } from '../../netsim/netfilter/conntrack/tuple.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { buildIpv4Tcp } from '../../netsim/wire/build.ts';
import { ip } from '../support/net.ts';

const VIP = '10.96.0.10';

function node(extraNat: string[] = [], extraFilter: string[] = []) {
  const sim = new Sim({ seed: 11 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true, bridgeNfCallIptables: true });
  const br = createBridge(host, 'cni0', '10.244.1.1/24');
  const wire = new Segment(sim, 'underlay');
  attachNic(host, wire, 'eth0', '192.168.50.11/24');
  host.addRoute({ dst: 'default', via: '192.168.50.1' });
  const nf = NetfilterStack.install(host);
  const pods = [0, 1, 2].map((i) => attachPod(host, br, { name: `default/pod-${i}`, cidr: `10.244.1.${2 + i}/24`, gateway: '10.244.1.1', hostVeth: `veth${i}` }));
  const outside = new NetNamespace(sim, 'outside');
  attachNic(outside, wire, 'eth0', '192.168.50.1/24');
  outside.addRoute({ dst: '10.244.0.0/16', via: '192.168.50.11' });
  nf.iptables.restore([
    '*filter', ...extraFilter, 'COMMIT',
    '*nat', ':KUBE-SERVICES - [0:0]',
    '-A PREROUTING -j KUBE-SERVICES', '-A OUTPUT -j KUBE-SERVICES',
    `-A KUBE-SERVICES -d ${VIP}/32 -p udp -m udp --dport 80 -j DNAT --to-destination 10.244.1.4:8080`,
    `-A KUBE-SERVICES -d ${VIP}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.4:8080`,
    '-A POSTROUTING -s 10.244.1.0/24 ! -o cni0 -j MASQUERADE --random-fully',
    ...extraNat, 'COMMIT', '',
  ].join('\n'));
  return { sim, host, nf, pods, outside };
}

test('ICMP port unreachable from a DNATed backend reaches the client from the VIP, quoting what the client sent', () => {
  const { sim, nf, pods } = node();
  const rec = recordTrace(sim.tracer);
  const u = udpRequest(pods[0]!.ns, ip(VIP), 80, new Uint8Array([1, 2, 3]), { sport: 40000 });
  sim.clock.run(1e9);
  assert.equal(u.reply, undefined);
  assert.ok(u.error !== undefined, 'the socket saw the error');
  assert.equal(u.error.type, 3);
  assert.equal(u.error.code, 3);
  assert.equal(formatIpv4(u.error.from), VIP, 'the error comes from the address the client talked to');
  const q = u.error.quote;
  assert.equal(formatIpv4((q[16]! << 24 | q[17]! << 16 | q[18]! << 8 | q[19]!) >>> 0), VIP, 'quoted destination un-DNATed');
  assert.equal((q[22]! << 8) | q[23]!, 80, 'quoted destination port un-DNATed');
  assert.ok(rec.events.some((e) => e.kind === 'ct' && /^related to udp 10\.244\.1\.2:40000 → 10\.96\.0\.10:80/.test(e.detail)));
  assert.ok(rec.events.some((e) => e.kind === 'nat' && e.detail === 'ICMP error source un-NAT: 10.244.1.4 → 10.244.1.2 quoting 10.244.1.2:40000 → 10.244.1.4:8080 → 10.96.0.10 → 10.244.1.2 quoting 10.244.1.2:40000 → 10.96.0.10:80'));
  assert.match(nf.conntrack.list(), /^udp {6}17 29 src=10\.244\.1\.2 dst=10\.96\.0\.10 sport=40000 dport=80 \[UNREPLIED\] src=10\.244\.1\.4 dst=10\.244\.1\.2 sport=8080 dport=40000 mark=0 use=1$/m);
});

test('two pods ping an outside host with the same identifier: MASQUERADE --random-fully gives each its own', () => {
  const { sim, nf, pods } = node();
  const a = ping(pods[0]!.ns, ip('192.168.50.1'), { count: 2 });
  const b = ping(pods[1]!.ns, ip('192.168.50.1'), { count: 2 });
  assert.equal(a.ident, b.ident, 'both stacks picked identifier 1');
  sim.clock.run(3e9);
  assert.equal(a.replies.length, 2);
  assert.equal(b.replies.length, 2);
  const icmp = nf.conntrack.entries({ proto: IPPROTO_ICMP });
  assert.equal(icmp.length, 2);
  const ids = icmp.map((e) => e.reply.sport);
  assert.notEqual(ids[0], ids[1], 'the identifiers seen outside differ (--random-fully draws them)');
  assert.deepEqual(icmp.map((e) => e.orig.sport), [1, 1], 'inside, both pods use identifier 1');
  assert.match(nf.conntrack.list(), /^icmp {5}1 \d+ src=10\.244\.1\.3 dst=192\.168\.50\.1 type=8 code=0 id=1 src=192\.168\.50\.1 dst=192\.168\.50\.11 type=0 code=0 id=\d+ mark=0 use=1$/m);
});

test('REJECT --reject-with tcp-reset refuses the connect with a RST', () => {
  const { sim, pods } = node([], [`-A FORWARD -d 192.168.50.1/32 -p tcp -m tcp --dport 443 -j REJECT --reject-with tcp-reset`]);
  const rec = recordTrace(sim.tracer);
  const c = pods[0]!.ns.tcp.connect(ip('192.168.50.1'), 443);
  let closed = '';
  c.onClose = (reason) => {
    closed = reason;
  };
  sim.clock.run(2e9);
  assert.equal(closed, 'refused');
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'nf-reject' && /REJECT --reject-with tcp-reset$/.test(e.detail)));
});

test('a packet conntrack finds invalid gets no NAT; kube-proxy-style --ctstate INVALID DROP stops it', () => {
  // A lone FIN to the VIP opens no entry: it is INVALID, escapes the DNAT rule and would be
  // routed out untranslated — unless the filter table drops INVALID packets.
  const send = (extra: string[]) => {
    const { sim, pods } = node([], extra);
    const rec = recordTrace(sim.tracer);
    const pod = pods[0]!.ns;
    const bytes = buildIpv4Tcp({ src: ip('10.244.1.2'), dst: ip(VIP) }, { srcPort: 45000, dstPort: 80, seq: 1, ack: 1, flags: 0x01, window: 100 }, new Uint8Array(0));
    pod.sendIp(pod.newPacket(bytes));
    sim.clock.run(5e8);
    return rec.events;
  };
  const free = send([]);
  assert.ok(free.some((e) => e.kind === 'ct' && /^invalid: tcp 10\.244\.1\.2:45000 → 10\.96\.0\.10:80/.test(e.detail)));
  assert.ok(!free.some((e) => e.kind === 'nat'), 'no DNAT for an invalid packet');
  assert.ok(free.some((e) => e.kind === 'tx' && e.netns === 'node01' && e.dev === 'eth0' && /10\.244\.1\.2\.45000 > 10\.96\.0\.10\.80/.test(e.summary)), 'it leaves towards the default route, untranslated');
  const dropped = send(['-A FORWARD -m conntrack --ctstate INVALID -j DROP']);
  assert.ok(dropped.some((e) => e.kind === 'drop' && e.reason === 'nf-drop' && e.detail === 'filter FORWARD:1 DROP'));
  assert.ok(!dropped.some((e) => e.kind === 'tx' && e.netns === 'node01' && e.dev === 'eth0'));
});

test('conntrack -L after HTTP through a DNAT rule: TIME_WAIT, ASSURED, summary on stderr', () => {
  const { sim, nf, pods } = node();
  startHttpServer(pods[2]!.ns, { podName: 'web', port: 8080 });
  const s = httpGet(pods[0]!.ns, ip(VIP), 80);
  sim.clock.run(2e9);
  assert.equal(s.results[0]?.status, 200, s.errorDetail);
  const out = nf.conntrack.listCommand({ proto: 6 });
  assert.match(out.stdout, /^tcp {6}6 11[89] TIME_WAIT src=10\.244\.1\.2 dst=10\.96\.0\.10 sport=\d+ dport=80 src=10\.244\.1\.4 dst=10\.244\.1\.2 sport=8080 dport=\d+ \[ASSURED\] mark=0 use=1\n$/);
  assert.equal(out.stderr, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n');
});

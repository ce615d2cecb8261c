/**
 * IPVS in the packet core: a VIP on kube-ipvs0, virtual services with rr, wrr, sh
 * and persistence, weight-0 quiescing, replies un-DNATed on the bridged path, and
 * `ipvsadm -Ln` output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod } from '../../netsim/topology.ts';
import { DummyDevice } from '../../netsim/link/dummy.ts';
import { startUdpEcho, udpRequest } from '../../netsim/apps/echo.ts';
import { startHttpServer, httpGet } from '../../netsim/apps/http.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import { Ipvs } from '../../netsim/ipvs/ipvs.ts';
import { Ipsets } from '../../netsim/ipset/ipset.ts';
import type { IpvsScheduler } from '../../netsim/ipvs/ipvs.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { ip } from '../support/net.ts';

const VIP = '10.96.0.10';

function ipvsNode(n: number, sched: IpvsScheduler, opts: { weights?: number[]; persistent?: number; proto?: 'UDP' | 'TCP' } = {}) {
  const sim = new Sim({ seed: 3 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true, bridgeNfCallIptables: true, arpIgnore: 1 });
  const br = createBridge(host, 'docker0', '10.244.1.1/24');
  const dummy = new DummyDevice(sim, 'kube-ipvs0', 0x0aaabbccdd01);
  host.addDevice(dummy);
  host.addAddress('kube-ipvs0', `${VIP}/32`);
  const nf = NetfilterStack.install(host);
  const ipvs = new Ipvs(() => sim.clock.now());
  nf.ipvs = ipvs;
  const clients = Array.from({ length: 4 }, (_, i) => attachPod(host, br, { name: `default/client-${i}`, cidr: `10.244.1.${2 + i}/24`, gateway: '10.244.1.1' }));
  const backends = Array.from({ length: n }, (_, i) => attachPod(host, br, { name: `default/web-${i}`, cidr: `10.244.1.${10 + i}/24`, gateway: '10.244.1.1' }));
  const vs = ipvs.addService(opts.proto ?? 'UDP', ip(VIP), 80, sched, opts.persistent);
  backends.forEach((b, i) => {
    if (opts.proto === 'TCP') startHttpServer(b.ns, { podName: `web-${i}` });
    else startUdpEcho(b.ns, 80);
    ipvs.addReal(vs, b.ip, 80, opts.weights?.[i] ?? 1);
  });
  // Counters per backend in the order they were added (IPVS keeps its list newest first, as list_add_rcu does).
  const connsPerBackend = (): number[] => backends.map((b) => vs.reals.find((r) => r.addr === b.ip)?.conns ?? -1);
  return { sim, host, ipvs, vs, clients, backends, connsPerBackend };
}

function spread(sched: IpvsScheduler, count: number, opts: Parameters<typeof ipvsNode>[2] = {}, clientOf: (i: number) => number = () => 0): { per: number[]; replies: number } {
  const { sim, ipvs, clients, connsPerBackend } = ipvsNode(3, sched, opts);
  let replies = 0;
  for (let i = 0; i < count; i++) {
    const u = udpRequest(clients[clientOf(i)]!.ns, ip(VIP), 80, new Uint8Array([i]));
    sim.clock.run(sim.clock.now() + 1e6);
    if (u.reply?.from === ip(VIP)) replies++;
  }
  void ipvs;
  return { per: connsPerBackend(), replies };
}

test('rr: exactly even; replies come back from the VIP', () => {
  const r = spread('rr', 30);
  assert.deepEqual(r.per, [10, 10, 10]);
  assert.equal(r.replies, 30);
});

test('wrr: proportional to weights 1:2:3', () => {
  assert.deepEqual(spread('wrr', 60, { weights: [1, 2, 3] }).per, [10, 20, 30]);
});

test('sh: each client pinned to one real server; persistence pins a client under rr', () => {
  const sh = spread('sh', 40, {}, (i) => i % 4);
  assert.equal(sh.per.reduce((a, b) => a + b, 0), 40);
  assert.ok(sh.per.every((n) => n % 10 === 0), `4 clients × 10 requests land in whole blocks: ${sh.per.join('/')}`);
  const p = spread('rr', 20, { persistent: 300 });
  assert.deepEqual([...p.per].sort((a, b) => b - a), [20, 0, 0], 'one client, persistent: all on one server');
});

test('weight 0 quiesces a real server: no new connections go to it', () => {
  const { sim, ipvs, vs, clients, backends, connsPerBackend } = ipvsNode(3, 'rr');
  ipvs.setWeight(vs, backends[0]!.ip, 80, 0);
  for (let i = 0; i < 12; i++) {
    udpRequest(clients[0]!.ns, ip(VIP), 80, new Uint8Array([i]));
    sim.clock.run(sim.clock.now() + 1e6);
  }
  assert.deepEqual(connsPerBackend(), [0, 6, 6]);
});

test('TCP through IPVS: HTTP works, connections counted, ipvsadm -Ln output', () => {
  const { sim, ipvs, clients } = ipvsNode(2, 'rr', { proto: 'TCP' });
  const rec = recordTrace(sim.tracer);
  const a = httpGet(clients[0]!.ns, ip(VIP), 80);
  const b = httpGet(clients[1]!.ns, ip(VIP), 80);
  sim.clock.run(sim.clock.now() + 1e9);
  assert.equal(a.results[0]?.status, 200, a.errorDetail);
  assert.equal(b.results[0]?.status, 200, b.errorDetail);
  assert.notEqual(a.results[0]?.body, b.results[0]?.body, 'rr sent the two connections to different pods');
  assert.ok(rec.events.some((e) => e.kind === 'nat' && /^IPVS TCP 10\.96\.0\.10:80 rr \(new connection\) → real server 10\.244\.1\.1[01]:80/.test(e.detail)));
  assert.ok(rec.events.some((e) => e.kind === 'nat' && e.detail.startsWith('IPVS reply un-DNAT')));
  const list = ipvs.list();
  assert.equal(list.split('\n').slice(0, 4).join('\n'), [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  10.96.0.10:80 rr',
  ].join('\n'));
  assert.match(list, /^ {2}-> 10\.244\.1\.10:80 {15}Masq {4}1 {6}0 {10}1 {9}$/m, 'ipvsadm pads the last column too (%-10u)');
  assert.match(ipvs.listConnections(), /^TCP \d\d:\d\d {2}TIME_WAIT {3}10\.244\.1\.2:\d+ +10\.96\.0\.10:80 +10\.244\.1\.1[01]:80$/m);
});

test('mh (Maglev): a quiesced server keeps its slots (its clients get no destination); deleting it moves only the flows it served', () => {
  const sim = new Sim({ seed: 1 });
  const ipvs = new Ipvs(() => sim.clock.now());
  const vs = ipvs.addService('TCP', ip(VIP), 80, 'mh');
  for (let i = 0; i < 10; i++) ipvs.addReal(vs, ip(`10.244.2.${i + 1}`), 80);
  const clients = Array.from({ length: 2000 }, (_, i) => ip(`172.16.${i >> 8}.${i & 255}`));
  const before = clients.map((c) => ipvs.schedule(vs, c)?.addr);
  ipvs.setWeight(vs, ip('10.244.2.5'), 80, 0);
  const after = clients.map((c) => ipvs.schedule(vs, c)?.addr);
  const gone = ip('10.244.2.5');
  // Weight 0 (kube-proxy's graceful termination): ip_vs_mh builds from last_weight, so nobody moves yet.
  assert.ok(clients.every((_, i) => (before[i] === gone ? after[i] === undefined : after[i] === before[i])), 'quiesced: its clients get no destination, the rest stay');
  ipvs.deleteReal(vs, gone, 80);
  const deleted = clients.map((c) => ipvs.schedule(vs, c)?.addr);
  assert.ok(deleted.every((a) => a !== undefined && a !== gone));
  const moved = clients.filter((_, i) => before[i] !== deleted[i] && before[i] !== gone).length;
  assert.ok(moved / clients.length < 0.05, `flows of surviving servers that moved: ${moved}`);
  const counts = new Map<number, number>();
  for (const a of before) counts.set(a as number, (counts.get(a as number) ?? 0) + 1);
  assert.ok(Math.max(...counts.values()) / Math.min(...counts.values()) < 1.5, 'Maglev spreads evenly');
});

test('lc: long-lived TCP connections spread to the least-connected server; closing one frees it for the next', () => {
  const { sim, ipvs, vs, clients, backends } = ipvsNode(3, 'lc', { proto: 'TCP' });
  const open = (i: number) => {
    const c = clients[i % clients.length]!.ns.tcp.connect(ip(VIP), 80);
    sim.clock.run(sim.clock.now() + 1e8);
    return c;
  };
  const conns = [open(0), open(1), open(2)];
  assert.ok(conns.every((c) => c.state === 'ESTABLISHED'));
  assert.deepEqual(vs.reals.map((r) => r.activeConns), [1, 1, 1], 'one established connection each');
  conns[1]!.end();
  sim.clock.run(sim.clock.now() + 1e8);
  assert.deepEqual(vs.reals.map((r) => r.activeConns), [1, 0, 1]);
  open(3);
  assert.deepEqual(vs.reals.map((r) => r.activeConns), [1, 1, 1], 'the next connection goes where the closed one was');
  assert.equal(vs.reals[1]!.inactConns, 1, 'the closed connection lingers as inactive');
  assert.match(ipvs.list(), new RegExp(`^ {2}-> ${formatIpv4(backends[1]!.ip).replaceAll('.', '\\.')}:80 +Masq {4}1 {6}1 {10}1 {9}$`, 'm'));
});

test('IPVS hairpin: KUBE-LOOP-BACK masquerades a pod reaching itself through the VIP (conntrack on IPVS traffic)', () => {
  const run = (withMasq: boolean) => {
    const sim = new Sim({ seed: 5 });
    const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true, bridgeNfCallIptables: true, arpIgnore: 1 });
    const br = createBridge(host, 'docker0', '10.244.1.1/24');
    host.addDevice(new DummyDevice(sim, 'kube-ipvs0', 0x0aaabbccdd01));
    host.addAddress('kube-ipvs0', `${VIP}/32`);
    const ipsets = new Ipsets();
    ipsets.restore('create KUBE-LOOP-BACK hash:ip,port,ip\nadd KUBE-LOOP-BACK 10.244.1.10,udp:80,10.244.1.10\n');
    const ipvs = new Ipvs(() => sim.clock.now());
    const nf = NetfilterStack.install(host, { ipsets, ipvs });
    nf.iptables.restore(['*nat', ':KUBE-POSTROUTING - [0:0]', '-A POSTROUTING -j KUBE-POSTROUTING',
      ...(withMasq ? ['-A KUBE-POSTROUTING -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE'] : []), 'COMMIT', ''].join('\n'));
    const pod = attachPod(host, br, { name: 'default/web-0', cidr: '10.244.1.10/24', gateway: '10.244.1.1', hairpin: true });
    startUdpEcho(pod.ns, 80);
    ipvs.addReal(ipvs.addService('UDP', ip(VIP), 80, 'rr'), pod.ip, 80);
    const rec = recordTrace(sim.tracer);
    const u = udpRequest(pod.ns, ip(VIP), 80, new Uint8Array([7]));
    sim.clock.run(1e9);
    return { u, rec, nf };
  };
  const ok = run(true);
  assert.equal(ok.u.reply?.from, ip(VIP), 'the pod hears back from the VIP');
  assert.ok(ok.rec.events.some((e) => e.kind === 'nat' && /^MASQUERADE: udp 10\.244\.1\.10:\d+ → 10\.96\.0\.10:80 → source 10\.244\.1\.1:\d+$/.test(e.detail)));
  assert.match(ok.nf.conntrack.list(), /^udp {6}17 \d+ src=10\.244\.1\.10 dst=10\.96\.0\.10 sport=\d+ dport=80 src=10\.244\.1\.10 dst=10\.244\.1\.1 sport=80 dport=\d+ mark=0 use=1$/m);
  const broken = run(false);
  // Without masquerade the request comes back into the pod from the pod's own address: a martian
  // source there (fib_validate_source), dropped before the echo sees it — why kube-proxy masquerades hairpin traffic.
  assert.equal(broken.u.reply, undefined, 'without masquerade nothing answers');
  assert.ok(broken.rec.events.some((e) => e.kind === 'drop' && e.reason === 'martian' && e.netns !== 'node01'), 'the hairpinned request is a martian source in the pod');
});

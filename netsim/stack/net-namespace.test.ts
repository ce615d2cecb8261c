import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sim } from '../sim.ts';
import { NetNamespace } from './net-namespace.ts';
import { NetsimError } from '../errors.ts';
import { DummyDevice } from '../link/dummy.ts';
import { TunDevice } from '../link/tun.ts';
import { Segment } from '../link/segment.ts';
import { createBridge, attachPod, attachNic } from '../topology.ts';
import { ipAddr, ipRoute, ipNeigh, ipRouteGet, ipBriefAddr } from '../tools/ip.ts';
import { ping } from '../apps/ping.ts';
import { recordTrace } from '../trace/tracer.ts';
import { packetFromBytes } from '../packet/packet.ts';
import { parseIpv4, parseMac } from '../wire/addr.ts';
import { buildIpv4Udp, buildIpv4Icmp } from '../wire/build.ts';
import { SECOND } from '../time/scheduler.ts';

const ip = parseIpv4;

function node() {
  const sim = new Sim({ seed: 5 });
  const ns = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const seg = new Segment(sim, 'underlay');
  attachNic(ns, seg, 'eth0', '192.168.50.11/24', parseMac('52:54:00:12:34:56'));
  ns.addRoute({ dst: 'default', via: '192.168.50.1' });
  const br = createBridge(ns, 'docker0', '10.244.1.1/24');
  return { sim, ns, seg, br };
}

test('ip addr, ip -br addr, ip route and ip route show table local print like iproute2', () => {
  const { ns } = node();
  assert.equal(ipRoute(ns), [
    'default via 192.168.50.1 dev eth0 ',
    '10.244.1.0/24 dev docker0 proto kernel scope link src 10.244.1.1 ',
    '192.168.50.0/24 dev eth0 proto kernel scope link src 192.168.50.11 ',
    '',
  ].join('\n'));
  assert.equal(ipRoute(ns, 'local'), [
    'local 10.244.1.1 dev docker0 proto kernel scope host src 10.244.1.1 ',
    'broadcast 10.244.1.255 dev docker0 proto kernel scope link src 10.244.1.1 ',
    'local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 ',
    'local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 ',
    'broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 ',
    'local 192.168.50.11 dev eth0 proto kernel scope host src 192.168.50.11 ',
    'broadcast 192.168.50.255 dev eth0 proto kernel scope link src 192.168.50.11 ',
    '',
  ].join('\n'));
  assert.equal(ipAddr(ns, 'eth0'), [
    '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000',
    '    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff',
    '    inet 192.168.50.11/24 brd 192.168.50.255 scope global eth0',
    '       valid_lft forever preferred_lft forever',
    '',
  ].join('\n'));
  assert.match(ipAddr(ns, 'lo'), /^1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n {4}link\/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n {4}inet 127\.0\.0\.1\/8 scope host lo\n/);
  assert.match(ipBriefAddr(ns), /^docker0\s+UP\s+10\.244\.1\.1\/24$/m);
});

test('ip route get: via gateway, local, onlink and unreachable', () => {
  const { ns } = node();
  assert.equal(ipRouteGet(ns, ip('8.8.8.8')), '8.8.8.8 via 192.168.50.1 dev eth0 src 192.168.50.11 uid 0 \n    cache \n');
  assert.equal(ipRouteGet(ns, ip('10.244.1.1')), 'local 10.244.1.1 dev lo src 10.244.1.1 uid 0 \n    cache <local> \n');
  ns.addRoute({ dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'docker0', onlink: true });
  assert.equal(ipRouteGet(ns, ip('10.244.2.9')), '10.244.2.9 via 10.244.2.0 dev docker0 src 10.244.1.1 uid 0 \n    cache \n');
  ns.delRoute('default');
  assert.equal(ipRouteGet(ns, ip('8.8.8.8')), 'RTNETLINK answers: Network is unreachable\n');
});

test('configuration errors carry stable codes', () => {
  const { ns, sim } = node();
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof NetsimError);
      return e.code;
    }
    return 'none';
  };
  assert.equal(code(() => ns.addDevice(new DummyDevice(sim, 'eth0', 1))), 'NETSIM_ERR_DUPLICATE_DEVICE');
  assert.equal(code(() => ns.addAddress('nope0', '1.2.3.4/24')), 'NETSIM_ERR_NO_DEVICE');
  assert.equal(code(() => ns.addAddress('eth0', '192.168.50.11/24')), 'NETSIM_ERR_ADDR_EXISTS');
  assert.equal(code(() => ns.addRoute({ dst: '10.9.0.0/16', via: '172.16.0.1' })), 'NETSIM_ERR_BAD_GATEWAY');
  assert.equal(code(() => ns.addRoute({ dst: 'default', via: '192.168.50.1' })), 'NETSIM_ERR_ROUTE_EXISTS');
  assert.equal(code(() => ns.delRoute('10.99.0.0/16')), 'NETSIM_ERR_NO_ROUTE');
  assert.equal(code(() => ns.setMtu('eth0', 20)), 'NETSIM_ERR_BAD_ARGUMENT');
  assert.equal(code(() => ns.udp.bind(53).localPort + ns.udp.bind(53).localPort), 'NETSIM_ERR_ADDR_IN_USE');
});

test('bringing a device down removes its routes; up restores the kernel prefix route', () => {
  const { ns } = node();
  ns.setUp('docker0', false);
  assert.doesNotMatch(ipRoute(ns), /docker0/);
  ns.setUp('docker0', true);
  assert.match(ipRoute(ns), /^10\.244\.1\.0\/24 dev docker0 proto kernel scope link src 10\.244\.1\.1 $/m);
});

test('ARP failure: INCOMPLETE, three requests one second apart, FAILED, ICMP host unreachable to the forwarded packet\'s source', () => {
  const { sim, ns, br } = node();
  const a = attachPod(ns, br, { name: 'pod-a', cidr: '10.244.1.2/24', gateway: '10.244.1.1' });
  const rec = recordTrace(sim.tracer);
  const p = ping(a.ns, ip('192.168.50.77'));
  sim.clock.runFor(SECOND / 2);
  assert.match(ipNeigh(ns, 'eth0'), /^192\.168\.50\.77 INCOMPLETE$/m);
  sim.clock.run();
  const requests = rec.events.filter((e) => e.kind === 'tx' && e.dev === 'eth0' && e.summary.startsWith('ARP, Request who-has 192.168.50.77'));
  assert.deepEqual(requests.map((e) => e.t), [0, SECOND, 2 * SECOND]);
  assert.match(ipNeigh(ns, 'eth0'), /^192\.168\.50\.77 FAILED$/m);
  assert.deepEqual(p.errors.map((e) => [e.type, e.code, e.from]), [[3, 1, ip('10.244.1.1')]]);
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'neigh-failed'));
});

test('a dummy device (kube-ipvs0) makes its addresses local; arp_ignore=1 stops answering ARP for them on eth0', () => {
  const { sim, ns, seg } = node();
  const dummy = new DummyDevice(sim, 'kube-ipvs0', parseMac('aa:bb:cc:00:00:01'));
  ns.addDevice(dummy);
  ns.addAddress('kube-ipvs0', '10.96.0.10/32');
  assert.ok(ns.isLocalAddress(ip('10.96.0.10')));
  assert.match(ipRouteGet(ns, ip('10.96.0.10')), /^local 10\.96\.0\.10 dev lo src 10\.96\.0\.10/);
  const peer = new NetNamespace(sim, 'node02');
  attachNic(peer, seg, 'eth0', '192.168.50.12/24');
  peer.addRoute({ dst: '10.96.0.0/12', via: '192.168.50.11' });
  const answered = ping(peer, ip('10.96.0.10'));
  sim.clock.run();
  assert.equal(answered.replies.length, 1, 'routed to node01, which owns the VIP');
  // An ARP request for the VIP itself on eth0: answered with arp_ignore=0, not with 1.
  const asks = (arpIgnore: 0 | 1): number => {
    ns.sysctl.arpIgnore = arpIgnore;
    peer.neigh.flushDev('eth0');
    peer.delRoute('10.96.0.0/12');
    peer.addRoute({ dst: '10.96.0.10/32', dev: 'eth0' });
    const p = ping(peer, ip('10.96.0.10'));
    sim.clock.run();
    peer.delRoute('10.96.0.10/32');
    peer.addRoute({ dst: '10.96.0.0/12', via: '192.168.50.11' });
    return p.replies.length;
  };
  assert.equal(asks(0), 1, 'arp_ignore=0 answers for any local address');
  assert.equal(asks(1), 0, 'arp_ignore=1 answers only for addresses on the receiving device (kube-proxy IPVS sets this)');
});

test('TUN: packets routed into it reach the reader; written packets are received by the stack', () => {
  const { sim, ns } = node();
  const tun = new TunDevice(sim, 'flannel0', 1472);
  ns.addDevice(tun);
  ns.addAddress('flannel0', '10.244.1.0/16', { noPrefixRoute: false });
  ns.setUp('flannel0', true);
  assert.match(ipRoute(ns), /^10\.244\.0\.0\/16 dev flannel0 proto kernel scope link src 10\.244\.1\.0 linkdown $/m, 'no reader: linkdown');
  const read: Uint8Array[] = [];
  tun.attachReader((p) => read.push(p.bytes().slice()));
  assert.doesNotMatch(ipRoute(ns), /linkdown/);
  const sock = ns.udp.bind(5000);
  sock.send(ip('10.244.2.3'), 80, new Uint8Array([1, 2, 3]));
  sim.clock.run();
  assert.equal(read.length, 1);
  assert.equal(read[0]?.[0], 0x45, 'raw IPv4, no link-layer header');
  const got: number[] = [];
  sock.onMessage = (m) => got.push(...m.data);
  tun.write(packetFromBytes(sim.nextPacketId(), buildIpv4Udp({ src: ip('10.244.2.3'), dst: ip('10.244.1.0'), ttl: 60 }, { srcPort: 80, dstPort: 5000 }, new Uint8Array([9]))));
  sim.clock.run();
  assert.deepEqual(got, [9]);
});

test('property: random bytes arriving on any device never throw; they are dropped with a reason or handled', () => {
  const { sim, ns, br } = node();
  const a = attachPod(ns, br, { name: 'pod-a', cidr: '10.244.1.2/24', gateway: '10.244.1.1' });
  const tun = new TunDevice(sim, 'flannel0');
  ns.addDevice(tun);
  ns.setUp('flannel0', true);
  const drops: string[] = [];
  sim.tracer.subscribe((e) => { if (e.kind === 'drop') drops.push(e.reason); });
  const validIcmp = buildIpv4Icmp({ src: ip('10.244.1.2'), dst: ip('10.244.1.1') }, { type: 'echo-request', ident: 1, seq: 1, data: new Uint8Array(8) });
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    // Valid Ethernet+IPv4 prefix with random corruption, to get past the first checks.
    fc.tuple(fc.nat({ max: 60 }), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
      const f = new Uint8Array(14 + validIcmp.length);
      f.set([0, 0, 0, 0, 0, 0, 0x02, 0x42, 0x0a, 0xf4, 1, 2, 0x08, 0x00]);
      f.set([Math.floor(br.mac / 2 ** 40), Math.floor(br.mac / 2 ** 32) & 255, (br.mac >>> 24) & 255, (br.mac >>> 16) & 255, (br.mac >>> 8) & 255, br.mac & 255], 0);
      f.set(validIcmp, 14);
      f[14 + (i % validIcmp.length)] = v;
      return f;
    }),
  );
  fc.assert(fc.property(arb, fc.boolean(), (bytes, viaTun) => {
    const p = packetFromBytes(sim.nextPacketId(), bytes);
    if (viaTun) tun.write(p);
    else a.hostVeth.receive(p);
    sim.clock.run();
  }), { numRuns: 400 });
  assert.ok(drops.length > 0);
  const known = new Set(['malformed', 'bad-checksum', 'not-for-us', 'unsupported-protocol', 'martian', 'no-socket', 'app-drop', 'no-route', 'tcp-invalid', 'not-forwarding', 'neigh-failed', 'ttl-exceeded']);
  for (const r of drops) assert.ok(known.has(r), `unexpected drop reason ${r}`);
});

test('route lookups through the two remembered results agree with a fresh resolution under any mix of route changes (property)', () => {
  const dsts = ['10.244.1.7', '10.244.2.9', '192.168.50.20', '8.8.8.8', '10.244.1.1'].map(ip);
  const op = fc.oneof(
    fc.record({ k: fc.constant('lookup' as const), i: fc.nat(dsts.length - 1) }),
    fc.record({ k: fc.constant('add' as const), i: fc.nat(3) }),
    fc.record({ k: fc.constant('del' as const), i: fc.nat(3) }),
  );
  const routes = [
    { dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'docker0', onlink: true },
    { dst: '8.8.8.0/24', via: '192.168.50.2' },
    { dst: '10.244.1.7/32', dev: 'eth0' },
    { dst: '192.168.50.16/28', via: '192.168.50.3' },
  ];
  type Resolver = { resolveRoute(dst: number): { type: string; dev?: { name: string }; gateway?: number; prefsrc?: number } | undefined };
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    const { ns } = node();
    const present = new Set<number>();
    for (const o of ops) {
      if (o.k === 'add' && !present.has(o.i)) {
        ns.addRoute(routes[o.i] as (typeof routes)[number]);
        present.add(o.i);
      } else if (o.k === 'del' && present.has(o.i)) {
        ns.delRoute((routes[o.i] as (typeof routes)[number]).dst);
        present.delete(o.i);
      }
      const d = dsts[o.i % dsts.length] as number;
      const got = ns.lookupRoute(d);
      const want = (ns as unknown as Resolver).resolveRoute(d);
      assert.deepEqual(got === undefined ? undefined : [got.type, got.dev?.name, got.gateway, got.prefsrc], want === undefined ? undefined : [want.type, want.dev?.name, want.gateway, want.prefsrc]);
    }
  }));
});

test('the local-address filter answers as the address map under any adds and removals, low bits shared or not (property)', () => {
  // Addresses 1024 apart share their low ten bits (the filter's index); two devices may hold the same address.
  const pool = ['10.0.0.5', '10.0.4.5', '10.0.8.5', '192.168.1.5', '10.0.0.6', '172.16.0.1'].map(ip);
  const op = fc.record({ add: fc.boolean(), i: fc.nat(pool.length - 1), dev: fc.constantFrom('eth0', 'dum0') });
  type Assigned = { isAssigned(a: number): boolean; local: Map<number, unknown> };
  fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
    const sim = new Sim({ seed: 1 });
    const ns = new NetNamespace(sim, 'n');
    ns.addDevice(new DummyDevice(sim, 'dum0', 1));
    ns.addDevice(new DummyDevice(sim, 'eth0', 2));
    const held = new Set<string>();
    for (const o of ops) {
      const a = pool[o.i] as number;
      const key = `${o.dev} ${a}`;
      const cidr = `${[a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.')}/32`;
      if (o.add && !held.has(key)) {
        ns.addAddress(o.dev, cidr);
        held.add(key);
      } else if (!o.add && held.has(key)) {
        ns.delAddress(o.dev, cidr);
        held.delete(key);
      }
      const x = ns as unknown as Assigned;
      for (const p of pool) assert.equal(x.isAssigned(p), x.local.has(p | 0), `${p} after ${JSON.stringify(o)}`);
    }
  }));
});

/**
 * Two nodes joined by a VXLAN device programmed the way flannel's vxlan backend
 * does it: flannel.1 (VNI 1, port 8472, MTU 1450), an onlink route per remote
 * subnet, a permanent neighbour for the remote VTEP address, an FDB entry to the
 * remote node's public IP. The outer source port's flow hash is compared with the real
 * kernel's VXLAN device when root.
 */
import { test, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod, attachNic, macFromIp } from '../../netsim/topology.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { VxlanDevice } from '../../netsim/overlay/vxlan-device.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { bridgeFdb, ipNeigh, ipRoute } from '../../netsim/tools/ip.ts';
import { parseVxlan } from '../../netsim/wire/vxlan.ts';
import { parseUdp } from '../../netsim/wire/udp.ts';
import { parseEthernet } from '../../netsim/wire/ethernet.ts';
import { ip, rxtx, ipBytes, assertValidChecksums } from '../support/net.ts';
import { Netns, realToolSkipReason } from '../../netsim/netfilter/iptables/test-support.ts';

function vxlanCluster() {
  const sim = new Sim({ seed: 9 });
  const underlay = new Segment(sim, 'underlay');
  const mk = (name: string, pub: string, subnet: number) => {
    const ns = new NetNamespace(sim, name, name, { ipForward: true });
    attachNic(ns, underlay, 'eth0', `${pub}/24`);
    const br = createBridge(ns, 'cni0', `10.244.${subnet}.1/24`, 1450);
    const vtepMac = macFromIp(ip(`10.244.${subnet}.0`), 0x0ab0);
    const vx = new VxlanDevice(sim, 'flannel.1', { vni: 1, local: ip(pub), mac: vtepMac }).attachTo(ns);
    ns.addAddress('flannel.1', `10.244.${subnet}.0/32`);
    ns.setUp('flannel.1', true);
    return { ns, br, vx, pub, subnet, vtepMac };
  };
  const n1 = mk('node01', '192.168.50.11', 1);
  const n2 = mk('node02', '192.168.50.12', 2);
  for (const [a, b] of [[n1, n2], [n2, n1]] as const) {
    a.ns.addRoute({ dst: `10.244.${b.subnet}.0/24`, via: `10.244.${b.subnet}.0`, dev: 'flannel.1', onlink: true });
    a.ns.setNeighbour('flannel.1', ip(`10.244.${b.subnet}.0`), b.vtepMac);
    a.vx.fdbAdd(b.vtepMac, ip(b.pub));
  }
  const pa = attachPod(n1.ns, n1.br, { name: 'default/webapp01', cidr: '10.244.1.2/24', gateway: '10.244.1.1' });
  const pb = attachPod(n2.ns, n2.br, { name: 'default/backend', cidr: '10.244.2.2/24', gateway: '10.244.2.1' });
  return { sim, n1, n2, pa, pb };
}

test('flannel-style VXLAN: routes, permanent neighbours and FDB entries print like iproute2', () => {
  const { n1 } = vxlanCluster();
  assert.match(ipRoute(n1.ns), /^10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1 onlink $/m);
  assert.equal(ipNeigh(n1.ns, 'flannel.1'), '10.244.2.0 lladdr 0a:b0:0a:f4:02:00 PERMANENT\n');
  assert.equal(bridgeFdb(n1.ns, { dev: 'flannel.1' }), '0a:b0:0a:f4:02:00 dev flannel.1 dst 192.168.50.12 self permanent\n');
  assert.equal(n1.vx.mtu, 1450);
});

test('pod to pod across VXLAN: UDP 8472 with VNI 1 carrying the inner frame, TTL 62 at the far pod', () => {
  const { sim, pa, pb } = vxlanCluster();
  const rec = recordTrace(sim.tracer, { bytes: true });
  const p = ping(pa.ns, pb.ip);
  sim.clock.run();
  assert.equal(p.replies.length, 1);
  assert.equal(p.replies[0]?.ttl, 62, 'each node routes once');
  const onWire = rxtx(rec.events).filter((e) => e.kind === 'tx' && e.netns === 'node01' && e.dev === 'eth0' && e.data !== undefined && e.summary.includes('UDP'));
  assert.ok(onWire.length >= 1, 'the encapsulated echo request leaves node01 eth0');
  const outer = ipBytes(onWire[0]!);
  const h = assertValidChecksums(outer);
  assert.equal(h.src, ip('192.168.50.11'));
  assert.equal(h.dst, ip('192.168.50.12'));
  const udp = parseUdp(outer.subarray(20), { src: h.src, dst: h.dst });
  assert.equal(udp.dstPort, 8472);
  const l4 = outer.subarray(28);
  assert.equal(parseVxlan(l4).vni, 1);
  const inner = l4.subarray(8);
  const eth = parseEthernet(inner);
  assert.equal(eth.etherType, 0x0800);
  const innerIp = assertValidChecksums(inner.subarray(14));
  assert.equal(innerIp.src, pa.ip);
  assert.equal(innerIp.dst, pb.ip);
  assert.equal(innerIp.ttl, 63, 'inner TTL already decremented by node01');
  const encap = rec.events.find((e) => e.kind === 'encap');
  const decap = rec.events.find((e) => e.kind === 'decap');
  assert.ok(encap !== undefined && decap !== undefined);
  assert.equal(encap.pkt, decap.pkt, 'the packet keeps its trace id through encapsulation');
});

test('VXLAN: a frame with no FDB entry is dropped with vxlan-no-fdb; the wrong VNI with vxlan-bad-vni', () => {
  const { sim, n1, n2, pa, pb } = vxlanCluster();
  n1.vx.fdbDel(n2.vtepMac);
  const rec = recordTrace(sim.tracer);
  ping(pa.ns, pb.ip);
  sim.clock.run();
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'vxlan-no-fdb'));
  // Re-add the entry, but let node02 serve VNI 2 only: node01's VNI-1 datagrams are refused there.
  n1.vx.fdbAdd(n2.vtepMac, ip(n2.pub));
  n2.ns.removeDevice('flannel.1');
  new VxlanDevice(sim, 'flannel.1', { vni: 2, local: ip(n2.pub), mac: n2.vtepMac }).attachTo(n2.ns);
  n2.ns.setUp('flannel.1', true);
  const rec2 = recordTrace(sim.tracer);
  const p = ping(pa.ns, pb.ip);
  sim.clock.run();
  assert.equal(p.replies.length, 0);
  const bad = rec2.events.find((e) => e.kind === 'drop' && e.reason === 'vxlan-bad-vni');
  assert.ok(bad !== undefined && bad.kind === 'drop');
  assert.equal(bad.netns, 'node02');
  assert.match(bad.detail, /VNI 1 arrived; flannel\.1 serves VNI 2/);
});

test('the outer UDP source port is a hash of the inner flow, the same for both directions (flow dissector order)', () => {
  const { sim, pa, pb } = vxlanCluster();
  const rec = recordTrace(sim.tracer, { bytes: true });
  const echo = pb.ns.udp.bind(7);
  echo.onMessage = (m) => void echo.send(m.src, m.sport, m.data);
  for (const sport of [41000, 41001, 41002]) {
    pa.ns.udp.bind(sport).send(pb.ip, 7, new Uint8Array([1, 2, 3]));
    sim.clock.runFor(1_000_000_000);
  }
  rec.stop();
  // Outer datagrams leaving either node's eth0: Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8, then the inner frame.
  const byFlow = new Map<number, Set<number>>();
  for (const e of rxtx(rec.events)) {
    if (e.kind !== 'tx' || e.dev !== 'eth0' || e.data === undefined) continue;
    const d = e.data;
    const u16 = (o: number): number => ((d[o] ?? 0) << 8) | (d[o + 1] ?? 0);
    if (u16(12) !== 0x0800 || d[23] !== 17 || u16(36) !== 8472) continue;
    if (u16(62) !== 0x0800 || d[50 + 14 + 9] !== 17) continue; // an inner UDP datagram (not ARP)
    const inner = 50 + 14 + 20;
    const client = u16(inner) === 7 ? u16(inner + 2) : u16(inner);
    byFlow.set(client, new Set([...(byFlow.get(client) ?? []), u16(34)]));
  }
  assert.deepEqual([...byFlow.keys()].sort(), [41000, 41001, 41002], 'requests and replies of three flows crossed the underlay');
  for (const [client, ports] of byFlow) assert.equal(ports.size, 1, `flow ${client}: request and reply leave with one outer port, got ${[...ports].join(', ')}`);
  assert.ok(new Set([...byFlow.values()].map((p) => [...p][0])).size > 1, 'other flows hash to other ports');
});

const skip = realToolSkipReason();
const netns = new Netns('fidvx');
after(() => netns.cleanup());

test('the real kernel: a VXLAN device\'s outer source port is one per inner flow, the same for request and reply (udp_flow_src_port of the symmetric flow hash), and differs between flows', { skip: skip ?? false }, () => {
  // Two nodes on a veth underlay, each with a VXLAN device as flannel programs it and a pod behind a routed veth.
  const [a, b, pa, pb] = [netns.fresh(), netns.fresh(), netns.fresh(), netns.fresh()];
  const r = (n: string, args: string[]): void => { const x = spawnSync('ip', ['-n', n, ...args], { encoding: 'utf8' }); assert.equal(x.status, 0, `${n}: ip ${args.join(' ')}: ${x.stderr}`); };
  assert.equal(spawnSync('ip', ['link', 'add', 'u0', 'netns', a, 'type', 'veth', 'peer', 'name', 'u0', 'netns', b]).status, 0);
  for (const [n, pod, i, o] of [[a, pa, 1, 2], [b, pb, 2, 1]] as const) {
    for (const x of [n, pod]) r(x, ['link', 'set', 'lo', 'up']);
    r(n, ['addr', 'add', `192.168.77.${i}/24`, 'dev', 'u0']);
    r(n, ['link', 'set', 'u0', 'up']);
    // The address is given at creation: changing it later flushes the device's neighbours (neigh_changeaddr).
    r(n, ['link', 'add', 'vx', 'address', `02:00:00:00:00:0${i}`, 'type', 'vxlan', 'id', '1', 'local', `192.168.77.${i}`, 'dstport', '8472', 'nolearning']);
    r(n, ['addr', 'add', `10.99.${i}.0/32`, 'dev', 'vx']);
    r(n, ['link', 'set', 'vx', 'up']);
    r(n, ['route', 'add', `10.99.${o}.0/24`, 'via', `10.99.${o}.0`, 'dev', 'vx', 'onlink']);
    r(n, ['neigh', 'add', `10.99.${o}.0`, 'lladdr', `02:00:00:00:00:0${o}`, 'dev', 'vx']);
    assert.equal(spawnSync('bridge', ['-n', n, 'fdb', 'append', `02:00:00:00:00:0${o}`, 'dev', 'vx', 'dst', `192.168.77.${o}`]).status, 0);
    assert.equal(spawnSync('ip', ['link', 'add', 'p0', 'netns', n, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]).status, 0);
    r(n, ['addr', 'add', `10.99.${i}.1/24`, 'dev', 'p0']);
    r(n, ['link', 'set', 'p0', 'up']);
    r(pod, ['addr', 'add', `10.99.${i}.2/24`, 'dev', 'eth0']);
    r(pod, ['link', 'set', 'eth0', 'up']);
    r(pod, ['route', 'add', 'default', 'via', `10.99.${i}.1`]);
    assert.equal(netns.run(n, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']).status, 0);
  }
  // node01's underlay is read with a packet socket while pod b echoes and pod a sends from three ports.
  const sniff = [
    'import socket, struct, time',
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind(("u0", 0)); s.settimeout(0.5)',
    'end = time.time() + 4',
    'while time.time() < end:',
    '  try: f = s.recv(2000)',
    '  except OSError: continue',
    '  if f[12:14] != b"\\x08\\x00" or f[23] != 17: continue',
    '  osport, odport = struct.unpack("!HH", f[34:38])',
    '  if odport != 8472 or f[62:64] != b"\\x08\\x00" or f[73] != 17: continue',
    '  isport, idport = struct.unpack("!HH", f[84:88])',
    '  print(isport if idport == 7 else idport, osport, flush=True)',
  ].join('\n');
  const echo = 'import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 7)); s.settimeout(3)\ntry:\n  while True:\n    d, a = s.recvfrom(100); s.sendto(d, a)\nexcept OSError: pass';
  const send = 'import socket\nfor p in (41000, 41001, 41002):\n  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", p)); s.settimeout(1)\n  s.sendto(b"abc", ("10.99.2.2", 7)); s.recvfrom(100)';
  const q = (x: string): string => `'${x.replace(/'/g, `'\\''`)}'`;
  const script = [
    `ip netns exec ${a} python3 -c ${q(sniff)} & S=$!`,
    `ip netns exec ${pb} python3 -c ${q(echo)} & E=$!`,
    'sleep 0.5',
    `ip netns exec ${pa} python3 -c ${q(send)} || echo SEND-FAILED`,
    'wait $S; kill $E 2>/dev/null; wait $E 2>/dev/null; true',
  ].join('\n');
  const out = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 20_000 });
  assert.doesNotMatch(out.stdout, /SEND-FAILED/, out.stderr);
  const byFlow = new Map<number, Set<number>>();
  const seen = new Map<number, number>();
  for (const line of out.stdout.split('\n').filter((l) => l !== '')) {
    const [client, outer] = line.split(' ').map(Number) as [number, number];
    byFlow.set(client, (byFlow.get(client) ?? new Set()).add(outer));
    seen.set(client, (seen.get(client) ?? 0) + 1);
  }
  assert.deepEqual([...byFlow.keys()].sort(), [41000, 41001, 41002], out.stdout + out.stderr);
  for (const [client, ports] of byFlow) {
    assert.equal(seen.get(client), 2, `flow ${client}: a request and a reply on the underlay`);
    assert.equal(ports.size, 1, `flow ${client}: request and reply leave with one outer port, got ${[...ports].join(', ')}`);
  }
  assert.ok(new Set([...byFlow.values()].map((p) => [...p][0])).size > 1, 'other flows hash to other ports');
});

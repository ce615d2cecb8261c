/**
 * Leases drive the data path: a peer's routes, neighbours and FDB entries appear
 * when its lease appears and go when it expires (24 h on the virtual clock without
 * renewal); subnet.env and the etcd-style keys and values are exactly flannel's;
 * flanneld's UDP proxy answers a destination without a lease with ICMP net
 * unreachable (never for ICMP itself) and drops what its TTL decrement kills.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTwoNodeCluster } from '../../cni/testing/two-nodes.ts';
import { LEASE_TTL } from '../../cni/flannel/lease.ts';
import { SUBNET_FILE } from '../../cni/flannel/subnet-env.ts';
import type { UdpBackend } from '../../cni/flannel/udp.ts';
import type { VxlanBackend } from '../../cni/flannel/vxlan.ts';
import { bridgeFdb, ipNeigh, ipRoute } from '../../netsim/tools/ip.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { udpRequest, startUdpEcho } from '../../netsim/apps/echo.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { formatMac } from '../../netsim/wire/addr.ts';
import { L4 } from '../../netsim/wire/ipv4.ts';
import { rxtx, ipBytes, assertValidChecksums } from '../support/net.ts';

const HOUR = 3600e9;

function third(subnet: string): string {
  return subnet.split('.')[2] as string;
}

test('subnet.env and the lease keys/values are flannel\'s, for udp and vxlan', () => {
  const udp = buildTwoNodeCluster({ backend: 'udp', runtime: 'docker' });
  const [n1, n2] = udp.nodes;
  const s1 = n1.flanneld.lease?.subnet.toString() as string;
  assert.equal(n1.fs.read(SUBNET_FILE), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.${third(s1)}.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n`);
  const kv = udp.subnets.keyValues();
  assert.deepEqual(kv.map((e) => e.key).sort(), [n1, n2].map((n) => `/coreos.com/network/subnets/${(n.flanneld.lease?.subnet.toString() as string).replace('/', '-')}`).sort());
  assert.equal(kv.find((e) => e.key.endsWith(s1.replace('/', '-')))?.value, '{"PublicIP":"192.168.50.11","BackendType":"udp","BackendData":null}');
  assert.equal(udp.subnets.kv.get('/coreos.com/network/config'), '{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"udp","Port":8285}}');
  // docker0 got --bip=FLANNEL_SUBNET --mtu=FLANNEL_MTU
  assert.match(ipRoute(n1.ns), new RegExp(`^10\\.244\\.${third(s1)}\\.0/24 dev docker0 proto kernel scope link src 10\\.244\\.${third(s1)}\\.1 $`, 'm'));

  const vx = buildTwoNodeCluster({ backend: 'vxlan', runtime: 'cni' });
  const v1 = vx.nodes[0];
  const mac = formatMac((v1.flanneld.backend as VxlanBackend).device.mac);
  const vs = v1.flanneld.lease?.subnet.toString() as string;
  assert.equal(vx.subnets.kv.get(`/coreos.com/network/subnets/${vs.replace('/', '-')}`), `{"PublicIP":"192.168.50.11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`);
  assert.equal(v1.fs.read(SUBNET_FILE), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.${third(vs)}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n`);
  assert.match(ipRoute(v1.ns), /^10\.244\.\d+\.0\/24 via 10\.244\.\d+\.0 dev flannel\.1 onlink $/m);
});

test('vxlan: a peer\'s route, permanent neighbour and FDB entry appear with its lease and go when it expires', () => {
  const c = buildTwoNodeCluster({ backend: 'vxlan', runtime: 'docker' });
  const [n1, n2] = c.nodes;
  const n3 = c.addNode('node03', '192.168.50.13');
  const l3 = n3.flanneld.lease?.subnet.toString() as string;
  const gw3 = l3.split('/')[0] as string;
  const mac3 = formatMac((n3.flanneld.backend as VxlanBackend).device.mac);
  const route3 = `${l3} via ${gw3} dev flannel.1 onlink `;
  assert.ok(ipRoute(n1.ns).includes(route3));
  assert.ok(ipNeigh(n1.ns, 'flannel.1').includes(`${gw3} lladdr ${mac3} PERMANENT`));
  assert.ok(bridgeFdb(n1.ns, { dev: 'flannel.1' }).includes(`${mac3} dev flannel.1 dst 192.168.50.13 self permanent`));
  // node02's entries survive: it keeps renewing; node03's flanneld stops and its lease runs out.
  n3.flanneld.stop();
  c.sim.clock.run(c.sim.clock.now() + LEASE_TTL - HOUR / 2);
  assert.ok(ipRoute(n1.ns).includes(route3), 'still there before 24 h');
  c.sim.clock.run(c.sim.clock.now() + HOUR);
  assert.ok(!ipRoute(n1.ns).includes(route3));
  assert.ok(!ipNeigh(n1.ns, 'flannel.1').includes(gw3));
  assert.ok(!bridgeFdb(n1.ns, { dev: 'flannel.1' }).includes(mac3));
  const l2 = n2.flanneld.lease?.subnet.toString() as string;
  assert.ok(ipRoute(n1.ns).includes(`${l2} via ${l2.split('/')[0]} dev flannel.1 onlink `), 'node02 renewed an hour before expiry');
  assert.equal(c.subnets.keyValues().length, 2);
  // Pods still talk after two days.
  c.sim.clock.run(c.sim.clock.now() + LEASE_TTL);
  const a = n1.runPod('default/a');
  const b = n2.runPod('default/b');
  const p = ping(a.ns, b.ip);
  c.sim.clock.run(c.sim.clock.now() + 1e9);
  assert.equal(p.replies.length, 1);
});

test('host-gw: one route per peer lease via its PublicIP, removed on expiry', () => {
  const c = buildTwoNodeCluster({ backend: 'host-gw', runtime: 'cni' });
  const [n1] = c.nodes;
  const n3 = c.addNode('node03', '192.168.50.13');
  const l3 = n3.flanneld.lease?.subnet.toString() as string;
  assert.ok(ipRoute(n1.ns).includes(`${l3} via 192.168.50.13 dev eth0 `));
  n3.flanneld.stop();
  c.sim.clock.run(c.sim.clock.now() + LEASE_TTL + 1e9);
  assert.ok(!ipRoute(n1.ns).includes(l3));
});

test('udp: the proxy route follows the lease; a destination without a lease gets an ICMP net unreachable written into flannel0 from its own address, which the node drops as a martian source (as Linux does: fib_validate_source, accept_local off)', () => {
  const c = buildTwoNodeCluster({ backend: 'udp', runtime: 'docker' });
  const [n1] = c.nodes;
  const n3 = c.addNode('node03', '192.168.50.13');
  const l3 = n3.flanneld.lease?.subnet as NonNullable<typeof n3.flanneld.lease>['subnet'];
  const udp1 = n1.flanneld.backend as UdpBackend;
  assert.ok(udp1.proxyRoutes().includes(`${l3.toString()} → 192.168.50.13:8285`));
  n3.flanneld.stop();
  c.sim.clock.run(c.sim.clock.now() + LEASE_TTL + 1e9);
  assert.ok(!udp1.proxyRoutes().some((r) => r.startsWith(l3.toString())));
  const a = n1.runPod('default/a');
  const rec = recordTrace(c.sim.tracer, { bytes: true });
  const dst = l3.network + 2;
  const ex = udpRequest(a.ns, dst, 53, new Uint8Array([1, 2, 3]));
  c.sim.clock.run(c.sim.clock.now() + 1e9);
  assert.equal(ex.error, undefined, 'the error never reaches the sender');
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'flannel-no-lease' && e.netns === 'node01'));
  const icmp = rxtx(rec.events).find((e) => e.kind === 'rx' && e.netns === 'node01' && e.dev === 'flannel0');
  assert.ok(icmp !== undefined, 'the error comes out of flannel0');
  const h = assertValidChecksums(ipBytes(icmp));
  assert.equal(h.src, n1.flanneld.lease?.subnet.network, 'from the TUN address');
  assert.equal(h.dst, a.ip);
  assert.equal(h.ttl, 8, 'proxy_amd64.c sends it with TTL 8');
  assert.equal(L4.icmpType(ipBytes(icmp), 20), 3);
  assert.equal(L4.icmpCode(ipBytes(icmp), 20), 0, 'net unreachable');
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'martian' && e.netns === 'node01' && e.dev === 'flannel0'), 'dropped as a martian source');
  // Never about ICMP: a ping to the same place just disappears.
  const rec2 = recordTrace(c.sim.tracer);
  const p = ping(a.ns, dst);
  c.sim.clock.run(c.sim.clock.now() + 1e9);
  assert.equal(p.replies.length + p.errors.length, 0);
  assert.ok(rec2.events.some((e) => e.kind === 'drop' && e.reason === 'flannel-no-lease'));
});

test('udp: flanneld\'s own TTL decrement drops a packet silently when it reaches 0', () => {
  const c = buildTwoNodeCluster({ backend: 'udp', runtime: 'cni' });
  const [n1, n2] = c.nodes;
  const a = n1.runPod('default/a');
  const b = n2.runPod('default/b');
  startUdpEcho(b.ns, 7);
  const rec = recordTrace(c.sim.tracer);
  // TTL 2: node01's forwarding leaves 1, flanneld's decrement reaches 0.
  const ex = udpRequest(a.ns, b.ip, 7, new Uint8Array([9]), { ttl: 2 });
  c.sim.clock.run(c.sim.clock.now() + 1e9);
  assert.equal(ex.reply, undefined);
  assert.equal(ex.error, undefined, 'flanneld sends no time exceeded');
  const drop = rec.events.find((e) => e.kind === 'drop' && e.reason === 'flannel-ttl');
  assert.ok(drop !== undefined && drop.netns === 'node01');
  // TTL 5: 4 after node01, 3 after flanneld out, 2 after flanneld in, 1 after node02: delivered.
  const ex2 = udpRequest(a.ns, b.ip, 7, new Uint8Array([9]), { ttl: 5 });
  c.sim.clock.run(c.sim.clock.now() + 1e9);
  assert.deepEqual(ex2.reply?.data, new Uint8Array([9]), 'TTL 5 reaches the pod with 1 left');
  assert.equal(ex2.reply?.from, b.ip);
});

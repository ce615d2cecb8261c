import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetworkConfig, FlannelConfigError } from './network-config.ts';
import { renderSubnetEnv, flannelRules } from './flanneld.ts';
import { leaseKey, leaseValue, LEASE_TTL } from './lease.ts';
import { buildDemoTopology } from '../../cluster/packet-demo.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { Ipv4Cidr, parseIpv4 } from '../../netsim/wire/addr.ts';

test('network config defaults: SubnetLen 24, SubnetMin the second subnet, SubnetMax the last; bad configs rejected', () => {
  const c = parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}');
  assert.equal(c.subnetLen, 24);
  assert.equal(c.subnetMin.toString(), '10.244.1.0/24');
  assert.equal(c.subnetMax.toString(), '10.244.255.0/24');
  assert.equal(c.backend.port, 8285);
  assert.equal(parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}').backend.port, 8472);
  for (const bad of ['{', '[]', '{"Network":"x"}', '{"Network":"10.0.0.0/16","SubnetLen":8}', '{"Network":"10.0.0.0/16","Backend":{"Type":"gre"}}']) {
    assert.throws(() => parseNetworkConfig(bad), FlannelConfigError, bad);
  }
});

test('lease keys and values, subnet.env and masquerade rules as REFERENCE.md gives them', () => {
  const l = { subnet: Ipv4Cidr.parse('10.244.1.0/24'), publicIp: parseIpv4('192.168.50.11'), backendType: 'udp' as const, backendData: null, expiration: 0 };
  assert.equal(leaseKey(l.subnet), '/coreos.com/network/subnets/10.244.1.0-24');
  assert.equal(leaseValue(l), '{"PublicIP":"192.168.50.11","BackendType":"udp","BackendData":null}');
  assert.equal(renderSubnetEnv({ FLANNEL_NETWORK: '10.244.0.0/16', FLANNEL_SUBNET: '10.244.1.1/24', FLANNEL_MTU: 1472, FLANNEL_IPMASQ: true }), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n');
  const ipt = new Iptables();
  ipt.restore(flannelRules('10.244.0.0/16', '10.244.1.0/24', true));
  const saved = ipt.save({ table: 'nat' });
  assert.match(saved, /-A FLANNEL-POSTRTG -m mark --mark 0x4000\/0x4000 -m comment --comment "flanneld masq" -j RETURN\n-A FLANNEL-POSTRTG -s 10\.244\.1\.0\/24 -d 10\.244\.0\.0\/16 -m comment --comment "flanneld masq" -j RETURN\n-A FLANNEL-POSTRTG -s 10\.244\.0\.0\/16 -d 10\.244\.1\.0\/24 -m comment --comment "flanneld masq" -j RETURN\n-A FLANNEL-POSTRTG ! -s 10\.244\.0\.0\/16 -d 10\.244\.1\.0\/24 -m comment --comment "flanneld masq" -j RETURN\n-A FLANNEL-POSTRTG -s 10\.244\.0\.0\/16 ! -d 224\.0\.0\.0\/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully\n-A FLANNEL-POSTRTG ! -s 10\.244\.0\.0\/16 -d 10\.244\.0\.0\/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully\n/);
});

test('udp backend on a node: flannel0 MTU 1472, subnet.env, leases stored as flannel keys', () => {
  const d = buildDemoTopology(1);
  const env = d.flanneld.node01.subnetEnv!;
  assert.equal(env.FLANNEL_MTU, 1472);
  assert.equal(d.nodes.node01.device('flannel0').mtu, 1472);
  assert.equal(d.nodes.node01.device('docker0').mtu, 1472, 'docker0 configured with --mtu=FLANNEL_MTU');
  assert.match(env.FLANNEL_SUBNET, /^10\.244\.\d+\.1\/24$/);
  const kv = d.subnets.keyValues();
  assert.equal(kv.length, 2);
  for (const { key, value } of kv) {
    assert.match(key, /^\/coreos\.com\/network\/subnets\/10\.244\.\d+\.0-24$/);
    assert.match(value, /^\{"PublicIP":"192\.168\.50\.1[12]","BackendType":"udp","BackendData":null\}$/);
  }
});

test('no lease for the destination subnet: flanneld writes ICMP net unreachable back into flannel0', () => {
  const d = buildDemoTopology(1);
  const rec = recordTrace(d.sim.tracer);
  const p = ping(d.pods.webapp01.ns, parseIpv4('10.244.200.9'));
  d.sim.clock.run(d.sim.clock.now() + 3e9);
  assert.equal(p.replies.length, 0);
  assert.equal(p.errors[0]?.type, 3);
  assert.equal(p.errors[0]?.code, 0, 'net unreachable');
  assert.ok(rec.events.some((e) => e.kind === 'drop' && e.reason === 'flannel-no-lease' && e.netns === 'node01'));
});

test('leases are renewed an hour before expiry; a stopped flanneld\'s lease expires and its subnet becomes unreachable', () => {
  const d = buildDemoTopology(1);
  const t0 = d.sim.clock.now();
  d.sim.clock.run(t0 + LEASE_TTL - 1800e9);
  assert.ok(d.subnets.leases().every((l) => l.expiration > t0 + LEASE_TTL), 'both renewed at 23 h');
  const before = ping(d.pods.webapp01.ns, d.pods.backend.ip);
  d.sim.clock.run(d.sim.clock.now() + 5e9);
  assert.equal(before.replies.length, 1);
  d.flanneld.node02.stop();
  d.sim.clock.run(t0 + 2 * LEASE_TTL + 60e9);
  assert.equal(d.subnets.leases().length, 1, 'node02 lease expired; node01 keeps renewing its own');
  const after = ping(d.pods.webapp01.ns, d.pods.backend.ip);
  d.sim.clock.run(d.sim.clock.now() + 5e9);
  assert.equal(after.replies.length, 0);
  assert.equal(after.errors[0]?.code, 0, 'net unreachable from flanneld');
});

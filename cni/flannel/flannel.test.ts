import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetworkConfig, FlannelConfigError, renderNetworkConfig } from './network-config.ts';
import { flannelRules } from './flanneld.ts';
import { renderSubnetEnv, parseSubnetEnv } from './subnet-env.ts';
import { leaseKey, leaseValue, parseLeaseKey, parseLeaseValue, LEASE_TTL } from './lease.ts';
import { MemorySubnetManager } from './subnet-manager.ts';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { Scheduler } from '../../netsim/time/scheduler.ts';
import { Rng } from '../../netsim/time/rng.ts';
import { Ipv4Cidr, parseIpv4 } from '../../netsim/wire/addr.ts';

test('network config defaults: SubnetLen 24, SubnetMin the second subnet, SubnetMax the last; bad configs rejected', () => {
  const c = parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}');
  assert.equal(c.subnetLen, 24);
  assert.equal(c.subnetMin.toString(), '10.244.1.0/24');
  assert.equal(c.subnetMax.toString(), '10.244.255.0/24');
  assert.equal(c.backend.port, 8285);
  const vx = parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
  assert.equal(vx.backend.port, 8472);
  assert.equal(vx.backend.vni, 1);
  assert.equal(parseNetworkConfig('{"Network":"10.0.0.0/24"}').subnetLen, 26, 'prefix + 2 for networks smaller than /22');
  assert.equal(parseNetworkConfig('{"Network":"10.244.0.0/16"}').backend.type, 'udp', 'flannel code default');
  assert.deepEqual(parseNetworkConfig(renderNetworkConfig(vx)), vx);
  for (const bad of ['{', '[]', '{"Network":"x"}', '{"Network":"10.0.0.0/16","SubnetLen":8}', '{"Network":"10.0.0.0/16","SubnetLen":31}', '{"Network":"10.0.0.0/16","Backend":{"Type":"gre"}}', '{"Network":"10.0.0.0/16","SubnetMin":"10.1.0.0"}']) {
    assert.throws(() => parseNetworkConfig(bad), FlannelConfigError, bad);
  }
});

test('lease keys and values, subnet.env and masquerade rules as REFERENCE.md gives them', () => {
  const subnet = Ipv4Cidr.parse('10.244.1.0/24');
  const attrs = { publicIp: parseIpv4('192.168.50.11'), backendType: 'udp' as const, backendData: null };
  assert.equal(leaseKey(subnet), '/coreos.com/network/subnets/10.244.1.0-24');
  assert.equal(parseLeaseKey('/coreos.com/network/subnets/10.244.1.0-24')?.toString(), '10.244.1.0/24');
  assert.equal(parseLeaseKey('/coreos.com/network/config'), undefined);
  assert.equal(leaseValue(attrs), '{"PublicIP":"192.168.50.11","BackendType":"udp","BackendData":null}');
  assert.deepEqual(parseLeaseValue(leaseValue(attrs)), attrs);
  assert.equal(leaseValue({ publicIp: attrs.publicIp, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: 'aa:bb:cc:dd:ee:ff' } }), '{"PublicIP":"192.168.50.11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}');
  const env = { FLANNEL_NETWORK: '10.244.0.0/16', FLANNEL_SUBNET: '10.244.1.1/24', FLANNEL_MTU: 1472, FLANNEL_IPMASQ: true };
  const text = renderSubnetEnv(env);
  assert.equal(text, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n');
  const back = parseSubnetEnv(text);
  assert.deepEqual({ FLANNEL_NETWORK: back.FLANNEL_NETWORK, FLANNEL_SUBNET: back.FLANNEL_SUBNET, FLANNEL_MTU: back.FLANNEL_MTU, FLANNEL_IPMASQ: back.FLANNEL_IPMASQ }, env);
  const ipt = new Iptables();
  ipt.restore(flannelRules('10.244.0.0/16', '10.244.1.0/24', true));
  const saved = ipt.save({ table: 'nat' });
  assert.match(saved, /-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n/);
  assert.match(saved, /-A FLANNEL-POSTRTG -m mark --mark 0x4000\/0x4000 -m comment --comment "flanneld masq" -j RETURN\n-A FLANNEL-POSTRTG -s 10\.244\.1\.0\/24 -d 10\.244\.0\.0\/16 -m comment --comment "flanneld masq" -j RETURN\n-A FLANNEL-POSTRTG -s 10\.244\.0\.0\/16 -d 10\.244\.1\.0\/24 -m comment --comment "flanneld masq" -j RETURN\n-A FLANNEL-POSTRTG ! -s 10\.244\.0\.0\/16 -d 10\.244\.1\.0\/24 -m comment --comment "flanneld masq" -j RETURN\n-A FLANNEL-POSTRTG -s 10\.244\.0\.0\/16 ! -d 224\.0\.0\.0\/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully\n-A FLANNEL-POSTRTG ! -s 10\.244\.0\.0\/16 -d 10\.244\.0\.0\/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully\n/);
  assert.match(ipt.save({ table: 'filter' }), /-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD\n/);
});

test('subnet manager: random free subnet between SubnetMin and SubnetMax, reuse by PublicIP, TTL and expiry on the virtual clock', () => {
  const clock = new Scheduler();
  const sm = new MemorySubnetManager('{"Network":"10.244.0.0/16","SubnetMin":"10.244.10.0","SubnetMax":"10.244.12.0"}', clock, new Rng(5));
  const ev: string[] = [];
  sm.watchLeases((e) => ev.push(`${e.type} ${e.lease.subnet.toString()}`));
  const a = sm.acquireLease({ publicIp: parseIpv4('192.168.50.11'), backendType: 'udp', backendData: null });
  const b = sm.acquireLease({ publicIp: parseIpv4('192.168.50.12'), backendType: 'udp', backendData: null });
  const c = sm.acquireLease({ publicIp: parseIpv4('192.168.50.13'), backendType: 'udp', backendData: null });
  const got = [a, b, c].map((l) => l.subnet.toString()).sort();
  assert.deepEqual(got, ['10.244.10.0/24', '10.244.11.0/24', '10.244.12.0/24']);
  assert.throws(() => sm.acquireLease({ publicIp: parseIpv4('192.168.50.14'), backendType: 'udp', backendData: null }), /out of subnets/);
  const again = sm.acquireLease({ publicIp: parseIpv4('192.168.50.11'), backendType: 'udp', backendData: null });
  assert.equal(again.subnet.toString(), a.subnet.toString(), 'reused by PublicIP');
  assert.equal(a.expiration, LEASE_TTL);
  clock.run(LEASE_TTL - 1);
  sm.renewLease(b);
  clock.run(LEASE_TTL + 1);
  assert.deepEqual(sm.leases().map((l) => l.subnet.toString()).sort(), [b.subnet.toString()].sort().concat(again.subnet.toString()).sort().filter((s) => s === b.subnet.toString()));
  assert.ok(ev.includes(`removed ${c.subnet.toString()}`));
  assert.deepEqual(sm.keyValues().map((kv) => kv.key), [`/coreos.com/network/subnets/${b.subnet.toString().replace('/', '-')}`]);
});

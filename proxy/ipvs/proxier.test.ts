import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Ipvs } from '../../netsim/ipvs/ipvs.ts';
import { Ipsets } from '../../netsim/ipset/ipset.ts';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { DummyDevice } from '../../netsim/link/dummy.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { IpvsProxier, DUMMY_DEVICE } from './proxier.ts';
import { ipvsFixtureNode } from './fixture-node.ts';
import { netsimIpsets, netsimIpvs, netsimNetlink } from './netsim-adapters.ts';
import { netsimIptablesBackend } from '../iptables/netsim-backend.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../service-port.ts';
import { services, slices, slice, NODE, NODE_IP, CLUSTER_CIDR } from '../fixtures.ts';

function node() {
  const { sim, ns, ipvs, sets, ipt, p } = ipvsFixtureNode();
  for (const s of services) p.onServiceUpdate(undefined, serviceInfoFromApi(s));
  for (const s of slices) p.onEndpointSliceUpdate(endpointSliceInfoFromApi(s)!, false);
  return { sim, ns, ipvs, sets, ipt, p };
}

test('IPVS mode: kube-ipvs0 addresses, virtual servers, ipsets and the constant iptables rules', () => {
  const { ns, ipvs, sets, ipt, p } = node();
  p.sync();
  const bound = ns.addressesOf(DUMMY_DEVICE).map((a) => a.addr);
  for (const vip of ['10.96.10.1', '10.96.0.10', '192.168.99.4', '198.51.100.4', '10.96.10.6']) assert.ok(bound.includes(parseIpv4(vip)), `${vip} on kube-ipvs0`);
  const list = ipvs.list();
  assert.match(list, /^IP Virtual Server version 1\.2\.1 \(size=4096\)\nProt LocalAddress:Port Scheduler Flags\n/);
  assert.match(list, /\nTCP {2}10\.96\.10\.5:80 rr persistent 10800\n/);
  assert.match(list, /\nUDP {2}10\.96\.0\.10:53 rr\n {2}-> 10\.244\.1\.81:53 +Masq +1 +0 +0 *\n/);
  assert.match(list, /\nTCP {2}192\.168\.50\.11:30000 rr\n/, 'NodePort virtual server on the node IP');
  // externalTrafficPolicy Local: the NodePort VS has only the local endpoint.
  const local = ipvs.lookupService('TCP', parseIpv4(NODE_IP), 30003);
  assert.deepEqual(local?.reals.map((r) => r.port), [80]);
  assert.equal(local?.reals.length, 1);
  const save = sets.save();
  for (const e of ['add KUBE-CLUSTER-IP 10.96.10.1,tcp:80', 'add KUBE-LOOP-BACK 10.244.1.81,udp:53,10.244.1.81', 'add KUBE-NODE-PORT-TCP 30000', 'add KUBE-NODE-PORT-LOCAL-TCP 30003',
    'add KUBE-EXTERNAL-IP 192.168.99.4,tcp:80', 'add KUBE-EXTERNAL-IP-LOCAL 192.168.99.8,tcp:80', 'add KUBE-LOAD-BALANCER-FW 198.51.100.4,tcp:80', 'add KUBE-LOAD-BALANCER-SOURCE-CIDR 198.51.100.4,tcp:80,203.0.113.0/25',
    'add KUBE-LOAD-BALANCER-SOURCE-IP 198.51.100.4,tcp:80,198.51.100.4', 'add KUBE-LOAD-BALANCER-LOCAL 198.51.100.8,tcp:80', 'add KUBE-HEALTH-CHECK-NODE-PORT 32008']) {
    assert.ok(save.includes(e), `ipset save has "${e}"`);
  }
  const golden = new URL('../../tests/golden/kube-proxy/ipvs.iptables', import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, p.lastText);
  assert.equal(p.lastText, readFileSync(golden, 'utf8'));
  assert.match(ipt.save(), /-A KUBE-SERVICES ! -s 10\.244\.0\.0\/16 -m comment --comment "Kubernetes service cluster ip \+ port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ/);
  assert.match(ipt.save(), /-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING/);
});

test('IPVS mode: removed endpoints with connections drain at weight 0 and go once idle; idle and UDP ones go at once; services and VIPs are cleaned up', () => {
  const { ns, ipvs, p } = node();
  p.sync();
  const web = () => ipvs.lookupService('TCP', parseIpv4('10.96.10.1'), 80)!;
  const rs = web().reals.find((r) => r.port === 8080 && r.addr === parseIpv4('10.244.2.13'))!;
  rs.activeConns = 1;
  p.onEndpointSliceUpdate(endpointSliceInfoFromApi(slice('shop', 'web', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.11', node: NODE }, { ip: '10.244.2.12', node: 'node02' }]))!, false);
  p.sync();
  assert.equal(web().reals.find((r) => r.addr === parseIpv4('10.244.2.13'))?.weight, 0, 'quiesced');
  p.housekeeping();
  assert.ok(web().reals.some((r) => r.addr === parseIpv4('10.244.2.13')), 'kept while it has connections');
  rs.activeConns = 0;
  p.housekeeping();
  assert.ok(!web().reals.some((r) => r.addr === parseIpv4('10.244.2.13')), 'deleted once idle');
  p.onEndpointSliceUpdate(endpointSliceInfoFromApi(slice('kube-system', 'dns', [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }], []))!, false);
  p.sync();
  assert.equal(ipvs.lookupService('UDP', parseIpv4('10.96.0.10'), 53)?.reals.length, 0, 'UDP real server deleted at once');
  assert.equal(ipvs.lookupService('TCP', parseIpv4('10.96.0.10'), 53)?.reals.length, 0, 'a TCP one without connections goes at once too (GracefulDeleteRS tries the deletion first)');
  p.onServiceUpdate(serviceInfoFromApi(services.find((s) => s.metadata.name === 'web')!), undefined);
  p.sync();
  assert.equal(ipvs.lookupService('TCP', parseIpv4('10.96.10.1'), 80), undefined);
  assert.ok(!ns.addressesOf(DUMMY_DEVICE).some((a) => a.addr === parseIpv4('10.96.10.1')), 'VIP unbound');
});

test('IPVS mode: SCTP services get virtual servers and the per-node-IP SCTP NodePort sets; excludeCIDRs keep foreign virtual servers; KUBE-IPVS-IPS holds kube-ipvs0\'s addresses', () => {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, NODE, NODE);
  ns.addDevice(new DummyDevice(sim, 'eth0', 0x0a0000000001));
  ns.addAddress('eth0', `${NODE_IP}/24`);
  const ipvs = new Ipvs(() => sim.clock.now());
  const sets = new Ipsets();
  const ipt = new Iptables();
  ipt.setExists = (n) => sets.has(n);
  // Virtual servers someone else made: one inside --ipvs-exclude-cidrs, one not.
  ipvs.addService('TCP', parseIpv4('10.200.0.1'), 80);
  ipvs.addService('TCP', parseIpv4('10.96.99.99'), 80);
  const p = new IpvsProxier({ ipvs: netsimIpvs(ipvs), ipset: netsimIpsets(sets), netlink: netsimNetlink(ns), iptables: netsimIptablesBackend(ipt) }, { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR, excludeCIDRs: ['10.200.0.0/16'] });
  p.onServiceUpdate(undefined, serviceInfoFromApi({ metadata: { name: 'sig', namespace: 'tel' }, spec: { type: 'NodePort', clusterIP: '10.96.30.1', externalTrafficPolicy: 'Local', ports: [{ name: 'sig', port: 3868, protocol: 'SCTP', nodePort: 30868 }] } }));
  p.onEndpointSliceUpdate(endpointSliceInfoFromApi(slice('tel', 'sig', [{ name: 'sig', port: 3868, protocol: 'SCTP' }], [{ ip: '10.244.1.40', node: NODE }]))!, false);
  p.sync();
  assert.match(ipvs.list(), /\nSCTP {2}10\.96\.30\.1:3868 rr\n {2}-> 10\.244\.1\.40:3868 +Masq +1 /);
  assert.match(ipvs.list(), /\nSCTP {2}192\.168\.50\.11:30868 rr\n/);
  assert.match(ipvs.save(), /^-A --sctp-service 10\.96\.30\.1:3868 -s rr$/m);
  const save = sets.save();
  for (const e of ['add KUBE-NODE-PORT-SCTP-HASH 192.168.50.11,sctp:30868', 'add KUBE-NODE-PORT-LOCAL-SCTP-HASH 192.168.50.11,sctp:30868', 'add KUBE-CLUSTER-IP 10.96.30.1,sctp:3868', 'add KUBE-IPVS-IPS 10.96.30.1']) assert.ok(save.includes(e), `ipset save has "${e}"`);
  assert.ok(!/KUBE-NODE-PORT-TCP \d/.test(save), 'no bitmap:port entry for an SCTP NodePort');
  assert.match(p.lastText, /\n-A KUBE-NODE-PORT -p sctp -m comment --comment "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ\n/);
  assert.match(p.lastText, /^\*nat\n(?::\S+ - \[0:0\]\n)+-A KUBE-SERVICES -s 127\.0\.0\.0\/8 -j RETURN\n/, 'localhost is dismissed before anything else');
  assert.match(ipt.save(), /\n-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER\n/);
  assert.match(ipt.save(), /\n-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER\n/);
  assert.ok(ipvs.lookupService('TCP', parseIpv4('10.200.0.1'), 80) !== undefined, 'inside excludeCIDRs: left alone');
  assert.equal(ipvs.lookupService('TCP', parseIpv4('10.96.99.99'), 80), undefined, 'outside: a stale service, deleted');
});

test('IPVS mode: --nodeport-addresses puts NodePort virtual servers only on the node addresses inside them', () => {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, NODE, NODE);
  ns.addDevice(new DummyDevice(sim, 'eth0', 0x0a0000000001));
  ns.addAddress('eth0', `${NODE_IP}/24`);
  ns.addAddress('eth0', '172.16.0.9/16');
  const ipvs = new Ipvs(() => sim.clock.now());
  const sets = new Ipsets();
  const ipt = new Iptables();
  ipt.setExists = (n) => sets.has(n);
  const make = (nodePortAddresses?: string[]) => new IpvsProxier({ ipvs: netsimIpvs(ipvs), ipset: netsimIpsets(sets), netlink: netsimNetlink(ns), iptables: netsimIptablesBackend(ipt) }, { nodeName: NODE, ...(nodePortAddresses !== undefined ? { nodePortAddresses } : {}) });
  const svc = serviceInfoFromApi({ metadata: { name: 'np', namespace: 'x' }, spec: { type: 'NodePort', clusterIP: '10.96.40.1', ports: [{ port: 80, nodePort: 30080 }] } });
  const nodePortVS = () => ipvs.listServices().filter((s) => s.port === 30080).map((s) => s.addr).sort();
  const all = make();
  all.onServiceUpdate(undefined, svc);
  all.sync();
  assert.deepEqual(nodePortVS(), [parseIpv4('172.16.0.9'), parseIpv4(NODE_IP)].sort(), 'default: every node address');
  const narrow = make(['172.16.0.0/12']);
  narrow.onServiceUpdate(undefined, svc);
  narrow.sync();
  assert.deepEqual(nodePortVS(), [parseIpv4('172.16.0.9')], 'only the address inside --nodeport-addresses; the other one is removed as stale');
});

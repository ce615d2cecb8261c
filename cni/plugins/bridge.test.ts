import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { ipRoute, ipAddr } from '../../netsim/tools/ip.ts';
import type { Bridge } from '../../netsim/link/bridge.ts';
import { RecordingRestorer, MemoryFs } from '../host.ts';
import { createCniHost, createSandbox } from '../node-host.ts';
import { CniRuntime } from '../runtime.ts';
import { parseConfList } from '../spec/config.ts';
import { bridge } from './bridge.ts';
import { hostLocal } from './host-local.ts';

function setup() {
  const sim = new Sim({ seed: 3 });
  const node = new NetNamespace(sim, 'node01');
  const ipt = new RecordingRestorer();
  const fs = new MemoryFs();
  const host = createCniHost(node, { iptables: ipt, fs });
  return { sim, node, ipt, fs, host };
}

const CONF = {
  cniVersion: '1.0.0', name: 'cbr0', type: 'bridge', bridge: 'cni0', isGateway: true, isDefaultGateway: true, ipMasq: true, hairpinMode: true, mtu: 1472,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] },
};

function env(cmd: string, netns: string, id = '0123456789abcdef') {
  return { CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
}

test('bridge + host-local ADD: result shape, devices, routes and the CNI-<hash> masquerade chain', () => {
  const { node, ipt, fs, host } = setup();
  const sb = createSandbox(host, 'pod1');
  const out = bridge({ env: env('ADD', sb.path), stdin: JSON.stringify(CONF), host });
  assert.equal(out.code, 0, out.stdout);
  const r = JSON.parse(out.stdout);
  assert.deepEqual(Object.keys(r), ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
  assert.equal(r.interfaces.length, 3);
  assert.equal(r.interfaces[0].name, 'cni0');
  assert.match(r.interfaces[1].name, /^veth[0-9a-f]{8}$/);
  assert.deepEqual(Object.keys(r.interfaces[2]), ['name', 'mac', 'sandbox']);
  assert.equal(r.interfaces[2].sandbox, sb.path);
  assert.deepEqual(r.ips, [{ interface: 2, address: '10.244.1.2/24', gateway: '10.244.1.1' }]);
  assert.deepEqual(r.routes, [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }]);
  assert.deepEqual(r.dns, {});
  assert.equal(ipRoute(sb.ns), 'default via 10.244.1.1 dev eth0 \n10.244.0.0/16 via 10.244.1.1 dev eth0 \n10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.2 \n');
  assert.match(ipAddr(node, 'cni0'), /inet 10\.244\.1\.1\/24 brd 10\.244\.1\.255 scope global cni0/);
  const br = node.device('cni0') as Bridge;
  assert.equal(br.mtu, 1472);
  const hv = node.device(r.interfaces[1].name);
  assert.equal(br.config(hv)?.hairpin, true);
  assert.equal(sb.ns.device('eth0').mtu, 1472);
  assert.equal(node.sysctl.ipForward, true);
  assert.equal(fs.read('/var/lib/cni/networks/cbr0/10.244.1.2'), '0123456789abcdef\r\neth0');
  assert.equal(fs.read('/var/lib/cni/networks/cbr0/last_reserved_ip.0'), '10.244.1.2');
  // The rule lines of the real plugin (captured with containernetworking-plugins 1.1.1).
  const nat = ipt.save({ table: 'nat' });
  assert.match(nat, /^:CNI-8cbe06c6d4b297670ecbfdbd - \[0:0\]$/m);
  assert.match(nat, /^-A POSTROUTING -s 10\.244\.1\.2\/32 -m comment --comment "name: \\"cbr0\\" id: \\"0123456789abcdef\\"" -j CNI-8cbe06c6d4b297670ecbfdbd$/m);
  assert.match(nat, /^-A CNI-8cbe06c6d4b297670ecbfdbd -d 10\.244\.1\.0\/24 -m comment --comment "name: \\"cbr0\\" id: \\"0123456789abcdef\\"" -j ACCEPT$/m);
  assert.match(nat, /^-A CNI-8cbe06c6d4b297670ecbfdbd ! -d 224\.0\.0\.0\/4 -m comment --comment "name: \\"cbr0\\" id: \\"0123456789abcdef\\"" -j MASQUERADE$/m);
});

test('bridge: a second ADD for the same container interface fails like the real plugin; DEL is idempotent and releases', () => {
  const { node, ipt, fs, host } = setup();
  const sb = createSandbox(host, 'pod1');
  assert.equal(bridge({ env: env('ADD', sb.path), stdin: JSON.stringify(CONF), host }).code, 0);
  const again = bridge({ env: env('ADD', sb.path), stdin: JSON.stringify(CONF), host });
  assert.equal(again.code, 1);
  assert.deepEqual(JSON.parse(again.stdout), { cniVersion: '1.0.0', code: 999, msg: 'container veth name provided (eth0) already exists' });
  for (let i = 0; i < 2; i++) assert.equal(bridge({ env: env('DEL', sb.path), stdin: JSON.stringify(CONF), host }).code, 0);
  assert.equal(sb.ns.devices.has('eth0'), false);
  assert.deepEqual([...node.devices.keys()], ['lo', 'cni0']);
  assert.equal(fs.read('/var/lib/cni/networks/cbr0/10.244.1.2'), undefined);
  assert.doesNotMatch(ipt.save({ table: 'nat' }), /CNI-8cbe/);
  // Round robin: the next ADD gets .3 although .2 is free again.
  const sb2 = createSandbox(host, 'pod2');
  const r = JSON.parse(bridge({ env: env('ADD', sb2.path, 'c2'), stdin: JSON.stringify(CONF), host }).stdout);
  assert.equal(r.ips[0].address, '10.244.1.3/24');
});

test('host-local: exhaustion, /31 rejected, rangeStart/rangeEnd/gateway, duplicate allocation', () => {
  const { host } = setup();
  const conf = (ipam: object) => JSON.stringify({ cniVersion: '1.0.0', name: 'x', type: 'bridge', ipam: { type: 'host-local', ...ipam } });
  const e = (id: string) => env('ADD', '/var/run/netns/none', id);
  const small = conf({ ranges: [[{ subnet: '10.9.0.0/30' }]] });
  assert.equal(JSON.parse(hostLocal({ env: e('a'), stdin: small, host }).stdout).ips[0].address, '10.9.0.2/30');
  const ex = JSON.parse(hostLocal({ env: e('b'), stdin: small, host }).stdout);
  assert.equal(ex.code, 999);
  assert.equal(ex.msg, 'failed to allocate for range 0: no IP addresses available in range set: 10.9.0.1-10.9.0.2');
  const dup = JSON.parse(hostLocal({ env: e('a'), stdin: small, host }).stdout);
  assert.equal(dup.msg, 'failed to allocate for range 0: 10.9.0.2 has been allocated to a, duplicate allocation is not allowed');
  const tiny = JSON.parse(hostLocal({ env: e('c'), stdin: conf({ ranges: [[{ subnet: '10.9.0.0/31' }]] }), host }).stdout);
  assert.equal(tiny.code, 7);
  assert.equal(tiny.details, 'invalid range set 0: Network 10.9.0.0/31 too small to allocate from');
  const ranged = conf({ ranges: [[{ subnet: '10.9.1.0/24', rangeStart: '10.9.1.10', rangeEnd: '10.9.1.11', gateway: '10.9.1.254' }]], routes: [{ dst: '0.0.0.0/0' }] });
  const got = ['a', 'b', 'c'].map((id) => JSON.parse(hostLocal({ env: e(id), stdin: ranged, host }).stdout));
  assert.deepEqual(got[0], { cniVersion: '1.0.0', ips: [{ address: '10.9.1.10/24', gateway: '10.9.1.254' }], routes: [{ dst: '0.0.0.0/0' }], dns: {} });
  assert.equal(got[1].ips[0].address, '10.9.1.11/24');
  assert.equal(got[2].msg, 'failed to allocate for range 0: no IP addresses available in range set: 10.9.1.10-10.9.1.11');
});

test('runtime: kube-flannel-like conflist (bridge + portmap): chaining, cache, CHECK, DEL in reverse, GC', () => {
  const { ipt, fs, host } = setup();
  const list = parseConfList(JSON.stringify({
    cniVersion: '1.1.0', name: 'cbr0',
    plugins: [{ ...CONF, cniVersion: undefined, name: undefined }, { type: 'portmap', capabilities: { portMappings: true } }],
  }));
  const rt = new CniRuntime(host);
  const sb = createSandbox(host, 'pod1');
  const att = { containerId: '0123456789abcdef', netns: sb.path, ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } };
  const r = rt.addNetworkList(list, att);
  assert.equal(r.ips?.[0]?.address, '10.244.1.2/24');
  assert.ok(fs.read('/var/lib/cni/results/cbr0-0123456789abcdef-eth0') !== undefined);
  const pmIn = JSON.parse(rt.invocations.find((i) => i.type === 'portmap')?.stdin ?? '{}');
  assert.deepEqual(pmIn.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  assert.equal(pmIn.prevResult.ips[0].address, '10.244.1.2/24');
  const nat = ipt.save({ table: 'nat' });
  assert.match(nat, /^-A CNI-DN-8cbe06c6d4b297670ecbf -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10\.244\.1\.2:80$/m);
  assert.match(nat, /^-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"cbr0\\" id: \\"0123456789abcdef\\"" -m multiport --dports 8080 -j CNI-DN-8cbe06c6d4b297670ecbf$/m);
  rt.checkNetworkList(list, att);
  rt.gcNetworkList(list, [{ containerID: '0123456789abcdef', ifname: 'eth0' }]);
  assert.ok(fs.read('/var/lib/cni/networks/cbr0/10.244.1.2') !== undefined, 'GC keeps valid attachments');
  rt.delNetworkList(list, att);
  const types = rt.invocations.filter((i) => i.env['CNI_COMMAND'] === 'DEL').map((i) => i.type);
  assert.deepEqual(types.filter((t) => t !== 'host-local'), ['portmap', 'bridge']);
  rt.delNetworkList(list, att);
  assert.doesNotMatch(ipt.save({ table: 'nat' }), /CNI-DN-|CNI-8cbe/);
  assert.throws(() => rt.checkNetworkList(list, att), (e: Error & { code?: number }) => e.code === 3);
});

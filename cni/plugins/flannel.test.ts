import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { MemoryFs, RecordingRestorer } from '../host.ts';
import { createCniHost, createSandbox } from '../node-host.ts';
import { flannel, flannelDelegateConf } from './flannel.ts';
import { parseSubnetEnv } from '../flannel/subnet-env.ts';

const ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';

test('flannel delegate: bridge with mtu=FLANNEL_MTU, ipMasq=!FLANNEL_IPMASQ, isGateway, host-local over FLANNEL_SUBNET with a route to FLANNEL_NETWORK', () => {
  const d = flannelDelegateConf({ cniVersion: '0.3.1', name: 'cbr0', type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } }, parseSubnetEnv(ENV));
  assert.deepEqual(d, {
    hairpinMode: true, isDefaultGateway: true, name: 'cbr0', type: 'bridge', ipMasq: false, mtu: 1472, isGateway: true, cniVersion: '0.3.1',
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] },
  });
});

test('flannel plugin: ADD through bridge (0.3.1 result with version "4"), a second ADD fails like bridge, DEL replays the saved delegate and is idempotent', () => {
  const sim = new Sim({ seed: 1 });
  const fs = new MemoryFs();
  fs.write('/run/flannel/subnet.env', ENV);
  const host = createCniHost(new NetNamespace(sim, 'node01'), { iptables: new RecordingRestorer(), fs });
  const sb = createSandbox(host, 'p1');
  const stdin = JSON.stringify({ cniVersion: '0.3.1', name: 'cbr0', type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } });
  const env = (c: string) => ({ CNI_COMMAND: c, CNI_CONTAINERID: 'c1', CNI_NETNS: sb.path, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' });
  const out = flannel({ env: env('ADD'), stdin, host });
  assert.equal(out.code, 0, out.stdout);
  const r = JSON.parse(out.stdout);
  assert.equal(r.cniVersion, '0.3.1');
  assert.deepEqual(r.ips, [{ version: '4', interface: 2, address: '10.244.1.2/24', gateway: '10.244.1.1' }]);
  assert.deepEqual(r.routes, [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }]);
  assert.ok(fs.read('/var/lib/cni/flannel/c1') !== undefined);
  const again = JSON.parse(flannel({ env: env('ADD'), stdin, host }).stdout);
  assert.deepEqual([again.code, again.msg], [999, 'container veth name provided (eth0) already exists']);
  assert.equal(flannel({ env: env('DEL'), stdin, host }).code, 0);
  assert.equal(fs.read('/var/lib/cni/flannel/c1'), undefined);
  assert.equal(fs.read('/var/lib/cni/networks/cbr0/10.244.1.2'), undefined);
  assert.equal(sb.ns.devices.has('eth0'), false);
  assert.equal(flannel({ env: env('DEL'), stdin, host }).code, 0);
});

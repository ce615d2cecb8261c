/**
 * The rule text the plugins, flanneld and the Docker runtime generate is accepted
 * by the emulator's iptables-restore and reads back as iptables-save prints it;
 * portmap's DNAT carries traffic for a hostPort to the pod; the Docker runtime's
 * pods are pause-container namespaces shared by their containers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { formatMac, formatIpv4 } from '../../netsim/wire/addr.ts';
import { udpRequest, startUdpEcho } from '../../netsim/apps/echo.ts';
import { ipRoute } from '../../netsim/tools/ip.ts';
import { MemoryFs } from '../../cni/host.ts';
import { createCniHost, createSandbox } from '../../cni/node-host.ts';
import { CniRuntime } from '../../cni/runtime.ts';
import { parseConfList } from '../../cni/spec/config.ts';
import { flannelRules } from '../../cni/flannel/flanneld.ts';
import { DockerRuntime, dockerRules } from '../../cni/docker/docker-runtime.ts';
import { buildTwoNodeCluster, KUBE_FLANNEL_CONFLIST } from '../../cni/testing/two-nodes.ts';

const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';

test('Docker + flanneld + CNI bridge(ipMasq) + portmap rules through the real iptables-restore match the golden iptables-save', () => {
  const sim = new Sim({ seed: 4 });
  const node = new NetNamespace(sim, 'node01');
  const ipt = new Iptables();
  ipt.restore(dockerRules('172.17.0.0/16').replace(/^.*(DOCKER-USER|DOCKER-ISOLATION).*$\n/gm, ''), { noflush: true });
  ipt.restore(flannelRules('10.244.0.0/16', '10.244.1.0/24', true), { noflush: true });
  const fs = new MemoryFs();
  fs.write('/run/flannel/subnet.env', SUBNET_ENV.replace('FLANNEL_IPMASQ=true', 'FLANNEL_IPMASQ=false'));
  const host = createCniHost(node, { iptables: ipt, fs });
  const rt = new CniRuntime(host);
  const sb = createSandbox(host, 'pod1');
  const r = rt.addNetworkList(parseConfList(KUBE_FLANNEL_CONFLIST), {
    containerId: '0123456789abcdef', netns: sb.path, ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
  });
  assert.equal(r.ips?.[0]?.address, '10.244.1.2/24');
  // The golden was produced by the real iptables-save; CNI-<hash> there stands for sha512("cbr0" + id).
  const golden = readFileSync(new URL('../golden/iptables/cni-flannel-docker.saved', import.meta.url), 'utf8')
    .replace(/CNI-5f6b8a1c2d3e4f5a6b7c8d9e/g, 'CNI-8cbe06c6d4b297670ecbfdbd').replace(/CNI-DN-5f6b8a1c2d3e4f5a6b7c8/g, 'CNI-DN-8cbe06c6d4b297670ecbf');
  const lines = (s: string) => s.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':')).sort();
  assert.deepEqual(lines(ipt.save({ table: 'nat' }) + ipt.save({ table: 'filter' })), lines(golden));
  // DEL takes the container's chains away again and leaves the shared ones.
  rt.delNetworkList(parseConfList(KUBE_FLANNEL_CONFLIST), { containerId: '0123456789abcdef', netns: sb.path, ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } });
  const nat = ipt.save({ table: 'nat' });
  assert.doesNotMatch(nat, /CNI-8cbe|CNI-DN-/);
  assert.match(nat, /^-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000\/0x2000 -j MASQUERADE$/m);
});

test('portmap: a hostPort on node01 reaches the pod through DNAT (CNI runtime, flannel vxlan, netfilter on)', () => {
  const c = buildTwoNodeCluster({ backend: 'vxlan', runtime: 'cni' });
  const [n1, n2] = c.nodes;
  const pod = n1.runPod('default/web', { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'udp' }] });
  startUdpEcho(pod.ns, 80);
  const client = n2.runPod('default/client');
  const ex = udpRequest(client.ns, n1.ns.primaryAddress('eth0') as number, 8080, new Uint8Array([1, 2, 3]));
  c.sim.clock.run(c.sim.clock.now() + 1e9);
  assert.deepEqual(ex.reply?.data, new Uint8Array([1, 2, 3]), `no reply; error ${JSON.stringify(ex.error)}`);
  assert.equal(formatIpv4(ex.reply?.from ?? 0), '192.168.50.11', 'the reply is un-DNATed');
});

test('docker runtime: pause namespace shared by the pod\'s containers, 02:42 MAC, vethXXXXXXX, lowest free address; defaults without flannel', () => {
  const sim = new Sim({ seed: 2 });
  const node = new NetNamespace(sim, 'node01');
  const ipt = new Iptables();
  const d = DockerRuntime.fromSubnetEnv(node, SUBNET_ENV, { iptables: ipt });
  assert.equal(d.bridge.mtu, 1472);
  assert.doesNotMatch(ipt.save({ table: 'nat' }), /MASQUERADE/, '--ip-masq=false when flanneld masquerades');
  assert.match(ipt.save({ table: 'filter' }), /^:FORWARD DROP/m);
  const a = d.runPod('default/webapp01');
  const b = d.runPod('default/webapp02');
  assert.equal(formatIpv4(a.ip), '10.244.1.2');
  assert.equal(formatIpv4(b.ip), '10.244.1.3');
  assert.equal(formatMac(a.eth.mac), '02:42:0a:f4:01:02');
  assert.match(a.hostVeth.name, /^veth[0-9a-f]{7}$/);
  assert.equal(a.eth.mtu, 1472);
  assert.equal(d.addContainer('default/webapp01', 'nginx'), a.ns, 'containers join the pause container\'s namespace');
  assert.equal(d.netns.get(a.netnsPath), a.ns);
  assert.equal(ipRoute(a.ns), 'default via 10.244.1.1 dev eth0 \n10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.2 \n');
  d.removePod('default/webapp01');
  assert.equal(node.devices.has(a.hostVeth.name), false);
  assert.equal(formatIpv4(d.runPod('default/webapp03').ip), '10.244.1.2', 'the freed address is reused');
  const plain = new DockerRuntime(new NetNamespace(sim, 'node02'), { iptables: new Iptables() });
  assert.equal(plain.gateway.toString(), '172.17.0.1/16');
  assert.equal(formatIpv4(plain.runPod('x').ip), '172.17.0.2');
});

/**
 * route_localnet, per device as the kernel has it (__mkroute_output: a 127/8 source
 * may not leave through a non-loopback device unless conf.all or conf.<dev> allows
 * it; ip_route_input_slow: nor arrive on one): a node's connection to
 * 127.0.0.1:PORT that nat OUTPUT DNATs to a pod fails with EINVAL unless the sysctl is
 * on for the bridge (the CNI portmap plugin's way) or for all (kube-proxy's, in
 * iptables mode with localhost NodePorts). Compared with the real kernel when root.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod } from '../../netsim/topology.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import { ip } from '../support/net.ts';
import { Netns, realToolSkipReason } from '../../netsim/netfilter/iptables/test-support.ts';
import { KubeProxy } from '../../proxy/kube-proxy.ts';
import { netsimKubeProxyNode } from '../../proxy/netsim-node.ts';

const RULES = '*nat\n-A OUTPUT -d 127.0.0.1/32 -p udp -m udp --dport 30000 -j DNAT --to-destination 10.9.0.2:80\n-A POSTROUTING -s 127.0.0.0/8 -j MASQUERADE\nCOMMIT\n';
type Setting = 'off' | 'bridge' | 'all';
const SETTINGS: Setting[] = ['off', 'bridge', 'all'];

function emulated(setting: Setting): { result: string; received: number } {
  const sim = new Sim({ seed: 1 });
  const node = new NetNamespace(sim, 'node', 'node');
  const br = createBridge(node, 'br0', '10.9.0.1/24');
  const pod = attachPod(node, br, { name: 'pod', cidr: '10.9.0.2/24', gateway: '10.9.0.1', hostVeth: 'vh' });
  NetfilterStack.install(node).iptables.restore(RULES);
  if (setting === 'bridge') node.devRouteLocalnet.add('br0');
  if (setting === 'all') node.sysctl.routeLocalnet = true;
  let received = 0;
  pod.ns.udp.bind(80).onMessage = () => received++;
  const r = node.udp.bind(40000).send(ip('127.0.0.1'), 30000, new Uint8Array([1]));
  sim.clock.run();
  return { result: r.result, received };
}

test('emulated: 127.0.0.1 DNATed to a pod is refused (martian, EINVAL) unless route_localnet is on for the bridge or for all', () => {
  assert.deepEqual(emulated('off'), { result: 'martian', received: 0 });
  assert.deepEqual(emulated('bridge'), { result: 'sent', received: 1 });
  assert.deepEqual(emulated('all'), { result: 'sent', received: 1 });
});

test('kube-proxy (iptables mode, localhost NodePorts) sets net.ipv4.conf.all.route_localnet=1; with --nodeport-addresses that exclude loopback it does not', () => {
  for (const [nodePortAddresses, want] of [[undefined, true], [['192.168.0.0/16'], false], [['192.168.0.0/16', '127.0.0.0/8'], true]] as const) {
    const sim = new Sim({ seed: 1 });
    const ns = new NetNamespace(sim, 'node', 'node');
    const nf = NetfilterStack.install(ns);
    new KubeProxy(sim.clock, netsimKubeProxyNode(ns, nf), { mode: 'iptables', nodeName: 'node', ...(nodePortAddresses !== undefined ? { nodePortAddresses } : {}) });
    assert.equal(ns.sysctl.routeLocalnet, want, JSON.stringify(nodePortAddresses));
  }
});

const skip = realToolSkipReason();
const netns = new Netns('fidrl');
after(() => netns.cleanup());
test('the real kernel: the same topology, rules and sysctls give the same outcomes', { skip: skip ?? false }, () => {
  for (const setting of SETTINGS) {
    const n = netns.fresh();
    const p = netns.fresh();
    const sh = (ns: string, args: string[]): void => {
      const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    sh(n, ['link', 'add', 'br0', 'type', 'bridge']);
    sh(n, ['addr', 'add', '10.9.0.1/24', 'dev', 'br0']);
    sh(n, ['link', 'set', 'br0', 'up']);
    sh(n, ['link', 'set', 'lo', 'up']);
    sh(n, ['link', 'add', 'vh', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p]);
    sh(n, ['link', 'set', 'vh', 'master', 'br0', 'up']);
    sh(p, ['addr', 'add', '10.9.0.2/24', 'dev', 'eth0']);
    sh(p, ['link', 'set', 'eth0', 'up']);
    assert.equal(netns.run(n, ['iptables-restore'], RULES).status, 0);
    netns.run(n, ['sysctl', '-qw', `net.ipv4.conf.all.route_localnet=${setting === 'all' ? 1 : 0}`, `net.ipv4.conf.br0.route_localnet=${setting === 'bridge' ? 1 : 0}`]);
    const py = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ntry:\n  s.sendto(b'x',('127.0.0.1',30000)); print('sent')\nexcept OSError as e: print('errno', e.errno)";
    const out = netns.run(n, ['python3', '-c', py]).stdout.trim();
    const want = emulated(setting).result === 'martian' ? 'errno 22' : 'sent';
    assert.equal(out, want, `route_localnet ${setting}`);
  }
});

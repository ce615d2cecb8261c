/**
 * `bridge fdb show` prints what the real one prints for the same bridge: device by
 * device; per port the learned entry (newest first), the port's own permanent
 * address, then its `self permanent` multicast addresses; the bridge's own `self`
 * lines first. The real side uses the same MACs (set by hand) so the texts compare whole.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { Bridge } from '../link/bridge.ts';
import { createVethPair } from '../link/veth.ts';
import { parseIpv4, parseMac } from '../wire/addr.ts';
import { SECOND } from '../time/scheduler.ts';
import { bridgeFdb } from './ip.ts';
import { Netns, realToolSkipReason } from '../netfilter/iptables/test-support.ts';

const BR_MAC = '02:aa:00:00:00:01';
const PORT_MAC = '02:aa:00:00:00:02';
const POD_MAC = '02:aa:00:00:00:03';

function emulated(): string {
  const sim = new Sim({ seed: 1 });
  const node = new NetNamespace(sim, 'node', 'node');
  const br = new Bridge(sim, 'br0', parseMac(BR_MAC));
  node.addDevice(br);
  node.addAddress('br0', '10.8.0.1/24');
  node.setUp('br0', true);
  const pod = new NetNamespace(sim, 'pod', 'node');
  const [eth, va] = createVethPair(sim, { name: 'eth0', mac: parseMac(POD_MAC) }, { name: 'va', mac: parseMac(PORT_MAC) });
  pod.addDevice(eth);
  node.addDevice(va);
  br.addPort(va);
  node.setUp('va', true);
  pod.addAddress('eth0', '10.8.0.2/24');
  pod.setUp('eth0', true);
  // A datagram from the pod teaches the bridge the pod's address.
  pod.udp.bind(4000).send(parseIpv4('10.8.0.1'), 9, new Uint8Array([1]));
  sim.clock.runFor(SECOND);
  return bridgeFdb(node);
}

test('emulated: bridge port entries newest first, then permanent, then self multicast; the bridge\'s self lines first', () => {
  const out = emulated();
  assert.match(out, new RegExp(`^33:33:00:00:00:01 dev br0 self permanent\\n01:00:5e:00:00:6a dev br0 self permanent\\n33:33:00:00:00:6a dev br0 self permanent\\n01:00:5e:00:00:01 dev br0 self permanent\\n33:33:ff:00:00:01 dev br0 self permanent\\n${BR_MAC} dev br0 master br0 permanent\\n`));
  assert.match(out, new RegExp(`\\n${POD_MAC} dev va master br0 \\n${PORT_MAC} dev va master br0 permanent\\n33:33:00:00:00:01 dev va self permanent\\n01:00:5e:00:00:01 dev va self permanent\\n33:33:ff:00:00:02 dev va self permanent\\n$`));
});

const skip = realToolSkipReason();
const netns = new Netns('fidfdb');
after(() => netns.cleanup());
test('the real kernel prints the same text for the same bridge', { skip: skip ?? false }, () => {
  const n = netns.fresh();
  const p = netns.fresh();
  const ip = (ns: string, args: string): void => assert.equal(spawnSync('ip', ['-n', ns, ...args.split(' ')]).status, 0, args);
  ip(n, `link add br0 address ${BR_MAC} type bridge`);
  ip(n, 'addr add 10.8.0.1/24 dev br0');
  ip(n, 'link set br0 up');
  ip(n, `link add va address ${PORT_MAC} type veth peer name eth0 netns ${p}`);
  ip(n, 'link set va master br0 up');
  ip(p, `link set eth0 address ${POD_MAC}`);
  ip(p, 'addr add 10.8.0.2/24 dev eth0');
  ip(p, 'link set eth0 up');
  netns.run(p, ['python3', '-c', "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('10.8.0.1', 9))"]);
  spawnSync('sleep', ['0.3']);
  assert.equal(netns.run(n, ['bridge', 'fdb', 'show']).stdout, emulated());
});

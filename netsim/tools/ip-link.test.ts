/**
 * `ip link` as iproute2 6.1 prints it: `@ifN` and `link-netnsid` for a veth whose peer
 * is in another namespace, `mode DEFAULT`, and no `qlen` for txqueuelen 0 (CNI's veths)
 * — the line then ends in the space after `group default`. Compared with the real
 * kernel's text for the same bridge and pods when root.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { attachPod, createBridge } from '../topology.ts';
import { ipAddr, ipLink } from './ip.ts';
import { Netns, realToolSkipReason } from '../netfilter/iptables/test-support.ts';

function emulated(): { node: NetNamespace; a: NetNamespace } {
  const sim = new Sim({ seed: 1 });
  const node = new NetNamespace(sim, 'node01', 'node01');
  const br = createBridge(node, 'cni0', '10.244.1.1/24');
  const a = attachPod(node, br, { name: 'a', cidr: '10.244.1.2/24', gateway: '10.244.1.1', hostVeth: 'veth-a' });
  const b = attachPod(node, br, { name: 'b', cidr: '10.244.1.3/24', gateway: '10.244.1.1', hostVeth: 'veth-b' });
  b.hostVeth.txQueueLen = 0;
  return { node, a: a.ns };
}

test('ip link: each foreign namespace a link points into gets its own link-netnsid (0, 1, … in order); txqueuelen 0 prints no qlen', () => {
  const { node, a } = emulated();
  const out = ipLink(node);
  assert.match(out, /: veth-a@if\d+: [^\n]* mode DEFAULT group default qlen 1000\n {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netnsid 0\n/);
  assert.match(out, /: veth-b@if\d+: [^\n]* mode DEFAULT group default \n {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netnsid 1\n/);
  // In the pod, the node's namespace is the first (and only) foreign one.
  assert.match(ipLink(a), /: eth0@if\d+: [^\n]*\n {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netnsid 0\n/);
  assert.equal(ipLink(node), out, 'ids stay once given');
  // `ip addr` prints no link mode.
  assert.doesNotMatch(ipAddr(node), /mode DEFAULT/);
  assert.match(ipAddr(node), /: veth-b@if\d+: [^\n]* state UP group default \n/);
});

const skip = realToolSkipReason();
const netns = new Netns('fidlink');
after(() => netns.cleanup());

test('the real kernel prints the same `ip link` and `ip addr` headers for the same bridge and pods (MACs and the peer namespace\'s name aside)', { skip: skip ?? false }, () => {
  const n = netns.fresh();
  const ip = (ns: string, args: string): void => assert.equal(spawnSync('ip', ['-n', ns, ...args.split(' ')]).status, 0, `${ns}: ${args}`);
  ip(n, 'link set lo up');
  ip(n, 'link add cni0 type bridge');
  ip(n, 'addr add 10.244.1.1/24 dev cni0');
  ip(n, 'link set cni0 up');
  for (const [name, addr] of [['a', '10.244.1.2'], ['b', '10.244.1.3']] as const) {
    const p = netns.fresh();
    ip(n, `link add veth-${name} type veth peer name eth0 netns ${p}`);
    ip(n, `link set veth-${name} master cni0 up`);
    ip(p, `addr add ${addr}/24 dev eth0`);
    ip(p, 'link set eth0 up');
  }
  ip(n, 'link set veth-b txqueuelen 0');
  // iproute2 names a peer namespace that has a name (`link-netns NAME`); the emulator's pods have none here.
  const norm = (s: string): string => s.replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC').replace(/ link-netns \S+| link-netnsid \d+/g, ' link-netns*');
  const headers = (s: string): string => s.split('\n').filter((l) => !/^\s+(inet6?|valid_lft) /.test(l)).join('\n');
  const { node } = emulated();
  assert.equal(norm(ipLink(node)), norm(netns.run(n, ['ip', 'link', 'show']).stdout));
  assert.equal(norm(headers(ipAddr(node))), norm(headers(netns.run(n, ['ip', 'addr', 'show']).stdout)));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { attachPod, createBridge } from '../topology.ts';
import { ipLink } from './ip.ts';

test('ip link: each foreign namespace a link points into gets its own link-netnsid (0, 1, … in order); txqueuelen 0 prints no qlen', () => {
  const sim = new Sim({ seed: 1 });
  const node = new NetNamespace(sim, 'node01', 'node01');
  const br = createBridge(node, 'cni0', '10.244.1.1/24');
  const a = attachPod(node, br, { name: 'a', cidr: '10.244.1.2/24', gateway: '10.244.1.1', hostVeth: 'veth-a' });
  const b = attachPod(node, br, { name: 'b', cidr: '10.244.1.3/24', gateway: '10.244.1.1', hostVeth: 'veth-b' });
  b.hostVeth.txQueueLen = 0;
  const out = ipLink(node);
  assert.match(out, /: veth-a@if\d+: [^\n]* qlen 1000\n {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netnsid 0\n/);
  assert.match(out, /: veth-b@if\d+: [^\n]*group default\n {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netnsid 1\n/);
  // In the pod, the node's namespace is the first (and only) foreign one.
  assert.match(ipLink(a.ns), /: eth0@if\d+: [^\n]*\n {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netnsid 0\n/);
  assert.equal(ipLink(node), out, 'ids stay once given');
});

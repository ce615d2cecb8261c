/**
 * ARP failure reported to a local sender: the kernel answers every packet queued on
 * a neighbour that never resolves with ICMP host unreachable to its source, whether
 * the packet was forwarded or generated on the host itself (arp_error_report), ~3 s
 * after the first request (3 broadcast probes, 1 s apart). Compared with the real
 * kernel when root.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge } from '../../netsim/topology.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { ip } from '../support/net.ts';
import { Netns, realToolSkipReason } from '../../netsim/netfilter/iptables/test-support.ts';

test('emulated: a ping to an on-link address nobody answers gets "Destination Host Unreachable" from the host itself after ~3 s', () => {
  const sim = new Sim({ seed: 1 });
  const host = new NetNamespace(sim, 'host', 'host');
  createBridge(host, 'br0', '10.9.9.1/24');
  const p = ping(host, ip('10.9.9.2'), { count: 1 });
  sim.clock.runFor(2 * SECOND);
  assert.equal(p.errors.length, 0, 'still resolving after 2 s');
  sim.clock.runFor(2 * SECOND);
  assert.deepEqual(p.errors.map((e) => `${formatIpv4(e.from)} ${e.type}/${e.code}`), ['10.9.9.1 3/1']);
  assert.equal(p.replies.length, 0);
});

const skip = realToolSkipReason();
const netns = new Netns('fidarp');
after(() => netns.cleanup());
test('the real kernel: the same error, from the same address, after the same ~3 s', { skip: skip ?? false }, () => {
  const n = netns.fresh();
  const r = (args: string[]): void => assert.equal(spawnSync('ip', ['-n', n, ...args]).status, 0, args.join(' '));
  r(['link', 'set', 'lo', 'up']);
  r(['link', 'add', 'br0', 'type', 'bridge']);
  r(['addr', 'add', '10.9.9.1/24', 'dev', 'br0']);
  // A bridge needs a port with carrier to be up: a veth whose peer answers nothing.
  r(['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  r(['link', 'set', 'v0', 'master', 'br0', 'up']);
  r(['link', 'set', 'v1', 'up']);
  r(['link', 'set', 'br0', 'up']);
  // No ping here: a raw ICMP socket sees what ping would print ("From 10.9.9.1 … Destination Host Unreachable").
  const py = [
    'import socket, time',
    'r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(8)',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("10.9.9.2", 9)); t = time.time()',
    'd, a = r.recvfrom(2000)',
    'print(socket.inet_ntoa(d[12:16]), "%d/%d" % (d[20], d[21]), round(time.time() - t))',
  ].join('\n');
  const out = netns.run(n, ['python3', '-c', py]);
  assert.equal(out.stdout.trim(), '10.9.9.1 3/1 3', out.stderr);
});

/**
 * The real kernel and iproute2 as the oracle for the packet core's routing views:
 * build the same node (veth eth0, a docker0 bridge, addresses, a default route, an
 * onlink route, a blackhole) in a real network namespace and in the emulator, and
 * compare `ip route`, `ip route show table local` and `ip route get` byte for byte.
 * Needs root and `ip netns`; skips with a printed reason otherwise. Every namespace
 * it creates is deleted afterwards.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createVethPair } from '../../netsim/link/veth.ts';
import { createBridge } from '../../netsim/topology.ts';
import { parseMac } from '../../netsim/wire/addr.ts';
import { ipAddr } from '../../netsim/tools/ip.ts';
import { ipRoute, ipRouteGet } from '../../netsim/tools/ip.ts';
import { ip } from '../support/net.ts';

const nsName = `nsorc${process.pid}`;
function sh(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const canNetns = ((): string | false => {
  if (process.getuid?.() !== 0) return 'needs root for ip netns';
  const r = sh(['ip', 'netns', 'add', nsName]);
  if (r.code !== 0) return `ip netns add failed: ${r.err.trim()}`;
  return false;
})();
after(() => {
  if (canNetns === false) sh(['ip', 'netns', 'del', nsName]);
});

const setup = [
  'ip link set lo up',
  'ip link add eth0 type veth peer name peer0',
  'ip link set eth0 address 02:42:c0:a8:32:0b',
  'ip link set peer0 address 02:42:c0:a8:32:fe',
  'ip link set eth0 up',
  'ip link set peer0 up',
  'ip addr add 192.168.50.11/24 brd + dev eth0',
  'ip route add default via 192.168.50.1',
  'ip link add docker0 type bridge',
  'ip addr add 10.244.1.1/24 brd + dev docker0',
  'ip link set docker0 up',
  'ip route add 10.244.2.0/24 via 10.244.2.0 dev eth0 onlink',
  'ip route add 10.244.3.0/24 via 192.168.50.12',
  'ip route add blackhole 10.99.0.0/16',
];

test('ip route, ip route show table local and ip route get match the real kernel', { skip: canNetns }, () => {
  for (const c of setup) {
    const r = sh(['ip', '-n', nsName, ...c.split(' ').slice(1)]);
    assert.equal(r.code, 0, `${c}: ${r.err}`);
  }
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, 'node01');
  const [eth0, peer0] = createVethPair(sim, { name: 'eth0', mac: parseMac('02:42:c0:a8:32:0b') }, { name: 'peer0', mac: parseMac('02:42:c0:a8:32:fe') });
  ns.addDevice(peer0);
  ns.addDevice(eth0);
  ns.setUp('eth0', true);
  ns.setUp('peer0', true);
  ns.addAddress('eth0', '192.168.50.11/24');
  ns.addRoute({ dst: 'default', via: '192.168.50.1' });
  createBridge(ns, 'docker0', '10.244.1.1/24');
  ns.addRoute({ dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'eth0', onlink: true });
  ns.addRoute({ dst: '10.244.3.0/24', via: '192.168.50.12' });
  ns.addRoute({ dst: '10.99.0.0/16', type: 'blackhole' });

  const real = (args: string[]): string => sh(['ip', '-n', nsName, ...args]).out;
  assert.equal(ipRoute(ns), real(['route']));
  assert.equal(ipRoute(ns, 'local'), real(['route', 'show', 'table', 'local']));
  // ip addr of the veth and of lo, without the IPv6 lines the emulator does not model.
  const v4only = (text: string): string => text.split('\n').filter((l, i, a) => !l.startsWith('    inet6') && !(l.startsWith('       valid_lft') && a[i - 1]?.startsWith('    inet6'))).join('\n');
  assert.equal(ipAddr(ns, 'eth0'), v4only(real(['addr', 'show', 'dev', 'eth0'])));
  assert.equal(ipAddr(ns, 'lo'), v4only(real(['addr', 'show', 'dev', 'lo'])));
  for (const dst of ['10.244.1.7', '10.244.2.5', '10.244.3.9', '8.8.8.8', '192.168.50.12', '10.244.1.1', '192.168.50.11', '127.0.0.1']) {
    assert.equal(ipRouteGet(ns, ip(dst)), real(['route', 'get', dst]), `ip route get ${dst}`);
  }
});

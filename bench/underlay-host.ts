/**
 * One host of the underlay-link benchmark: a Sim with one bare node namespace on an
 * underlay segment and (for the two-process run) the segment's remote port over a real
 * UDP link. Run as a program it is the far side: node B with a UDP echo on port 7,
 * driven in real time (every frame that comes in is injected and the clock drained).
 *
 *   node --import tsx bench/underlay-host.ts LISTEN_PORT PEER_PORT
 */
import { Sim } from '../netsim/sim.ts';
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { Segment } from '../netsim/link/segment.ts';
import { attachNic } from '../netsim/topology.ts';
import { RemotePort } from '../netsim/link/remote-port.ts';
import { startUdpEcho } from '../netsim/apps/echo.ts';
import { UdpUnderlayLink } from '../cluster/underlay-link.ts';

export const A = { name: 'node01', address: '192.168.50.11' };
export const B = { name: 'node02', address: '192.168.50.12' };

/** A Sim and its segment; `hosts` get a namespace each. */
export function buildHosts(hosts: ReadonlyArray<{ name: string; address: string }>): { sim: Sim; segment: Segment; ns: Map<string, NetNamespace> } {
  const sim = new Sim({ seed: 24 });
  const segment = new Segment(sim, 'underlay', { latencyNs: 0, bandwidthBps: 0, loss: 0, queueLimit: 1000 });
  const ns = new Map<string, NetNamespace>();
  for (const h of hosts) {
    const n = new NetNamespace(sim, h.name, h.name, { ipForward: true });
    attachNic(n, segment, 'eth0', `${h.address}/24`);
    ns.set(h.name, n);
  }
  return { sim, segment, ns };
}

/** The segment's uplink over UDP to the other process; frames that come in run at once on the clock. */
export async function uplink(sim: Sim, segment: Segment, index: number, listenPort: number, peerPort: number): Promise<UdpUnderlayLink> {
  const link = await UdpUnderlayLink.open({ index, listen: { host: '127.0.0.1', port: listenPort }, peers: new Map([[1 - index, { host: '127.0.0.1', port: peerPort }]]) });
  const port = new RemotePort(sim, segment, (f) => link.send(f));
  link.onFrame((f) => {
    port.inject(f);
    sim.clock.run(sim.clock.now() + 1);
  });
  return link;
}

if (process.argv[1]?.endsWith('underlay-host.ts') === true) {
  const [listen, peer] = process.argv.slice(2).map(Number) as [number, number];
  const { sim, segment, ns } = buildHosts([B]);
  startUdpEcho(ns.get(B.name) as NetNamespace, 7);
  await uplink(sim, segment, 1, listen, peer);
  process.stdout.write('ready\n');
  process.stdin.on('end', () => process.exit(0)).resume();
}

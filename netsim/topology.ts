/**
 * Convenience builders for hand-made topologies: a host namespace with a bridge,
 * pods attached by veth pairs, hosts on an underlay segment. Tests, benchmarks and
 * the packet-core demo use them; the CNI plugins and the Docker-style runtime in
 * cni/ build the same shapes through their own logic.
 */
import type { Sim } from './sim.ts';
import { NetNamespace } from './stack/net-namespace.ts';
import type { Sysctls } from './stack/net-namespace.ts';
import { Bridge } from './link/bridge.ts';
import { createVethPair } from './link/veth.ts';
import type { VethDevice } from './link/veth.ts';
import { EtherDevice, Segment } from './link/segment.ts';
import { Ipv4Interface } from './wire/addr.ts';
import type { MacAddr, Ipv4Addr } from './wire/addr.ts';

/** Docker's MAC scheme: 02:42 followed by the four bytes of the IPv4 address. */
export function macFromIp(ip: Ipv4Addr, prefix = 0x0242): MacAddr {
  return prefix * 0x100000000 + (ip >>> 0);
}

/** A random locally administered unicast MAC from the run's RNG (what the kernel gives a new veth). */
export function randomMac(sim: Sim): MacAddr {
  const hi = (sim.rng.nextU32() & 0xfeff) | 0x0200;
  return hi * 0x100000000 + sim.rng.nextU32();
}

export function createBridge(ns: NetNamespace, name: string, addr?: string, mtu = 1500): Bridge {
  const br = new Bridge(ns.sim, name, randomMac(ns.sim), mtu);
  ns.addDevice(br);
  if (addr !== undefined) ns.addAddress(name, addr);
  ns.setUp(name, true);
  return br;
}

export interface PodAttachment {
  readonly ns: NetNamespace;
  /** The pod-side device (`eth0`). */
  readonly eth: VethDevice;
  /** The host-side device (`vethXXXX`), a bridge port. */
  readonly hostVeth: VethDevice;
  readonly ip: Ipv4Addr;
}

/**
 * A pod namespace with `eth0` at `cidr` (e.g. `10.244.1.2/24`), its veth peer on
 * `bridge`, and a default route via `gateway` when given.
 */
export function attachPod(host: NetNamespace, bridge: Bridge, opts: { name: string; cidr: string; gateway?: string; hostVeth?: string; mtu?: number; hairpin?: boolean; node?: string; sysctl?: Partial<Sysctls> }): PodAttachment {
  const sim = host.sim;
  const ifc = Ipv4Interface.parse(opts.cidr);
  const pod = new NetNamespace(sim, opts.name, opts.node ?? host.node, opts.sysctl ?? {});
  const mtu = opts.mtu ?? bridge.mtu;
  const hostName = opts.hostVeth ?? `veth${(ifc.addr & 0xffff).toString(16).padStart(4, '0')}`;
  const [inner, outer] = createVethPair(sim, { name: 'eth0', mac: macFromIp(ifc.addr), mtu }, { name: hostName, mac: randomMac(sim), mtu });
  pod.addDevice(inner);
  host.addDevice(outer);
  bridge.addPort(outer, { hairpin: opts.hairpin ?? false });
  host.setUp(hostName, true);
  pod.addAddress('eth0', ifc);
  pod.setUp('eth0', true);
  if (opts.gateway !== undefined) pod.addRoute({ dst: 'default', via: opts.gateway, dev: 'eth0' });
  return { ns: pod, eth: inner, hostVeth: outer, ip: ifc.addr };
}

/** A NIC named `name` in `ns` attached to `segment` with address `cidr`. */
export function attachNic(ns: NetNamespace, segment: Segment, name: string, cidr: string, mac?: MacAddr): EtherDevice {
  const ifc = Ipv4Interface.parse(cidr);
  const nic = new EtherDevice(ns.sim, name, mac ?? macFromIp(ifc.addr, 0x5254));
  ns.addDevice(nic);
  segment.attach(nic);
  ns.addAddress(name, ifc);
  ns.setUp(name, true);
  return nic;
}

/**
 * A router namespace between segments (the "outside" gateway of an underlay): one NIC
 * per segment, ip_forward on. `links` maps a NIC name to its segment and address.
 */
export function createRouter(sim: Sim, name: string, links: ReadonlyArray<{ dev: string; segment: Segment; cidr: string }>): NetNamespace {
  const r = new NetNamespace(sim, name, name, { ipForward: true });
  for (const l of links) attachNic(r, l.segment, l.dev, l.cidr);
  return r;
}

export { Segment };

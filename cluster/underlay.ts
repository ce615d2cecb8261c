/**
 * The physical side of a cluster built from its spec: the underlay segment with
 * every node's eth0, the nodes' root namespaces (ip_forward on, a default route via
 * the outside router when there is one), the router, and the outside hosts.
 *
 * With a {@link Partition}, only its own nodes get a namespace and a NIC here; the
 * others are reached through one uplink port on the segment (netsim/link/remote-port.ts),
 * and the router and outside hosts live in partition 0.
 */
import { Sim } from '../netsim/sim.ts';
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { Segment } from '../netsim/link/segment.ts';
import { attachNic, createRouter } from '../netsim/topology.ts';
import { Ipv4Cidr } from '../netsim/wire/addr.ts';
import type { ClusterSpec } from './spec.ts';
import type { Partition } from './partition.ts';
import { RemotePort } from '../netsim/link/remote-port.ts';

export interface Underlay {
  readonly sim: Sim;
  readonly segment: Segment;
  readonly nodes: ReadonlyMap<string, NetNamespace>;
  readonly router: NetNamespace | undefined;
  readonly outsideSegment: Segment | undefined;
  readonly outsideHosts: ReadonlyMap<string, NetNamespace>;
  /** With a partition that has an uplink: the segment's port to the other partitions. */
  readonly uplinkPort?: RemotePort;
}

export function buildUnderlay(spec: ClusterSpec, sim = new Sim({ seed: spec.seed }), partition?: Partition): Underlay {
  const props = { latencyNs: spec.underlay.latencyNs, bandwidthBps: spec.underlay.bandwidthBps, loss: spec.underlay.loss, queueLimit: 1000 };
  const segment = new Segment(sim, 'underlay', props);
  const prefix = Ipv4Cidr.parse(spec.network.underlayCIDR).prefixLen;
  const nodes = new Map<string, NetNamespace>();
  for (const n of spec.nodes) {
    if (partition !== undefined && !partition.owns(n.name)) continue;
    const ns = new NetNamespace(sim, n.name, n.name, { ipForward: true });
    attachNic(ns, segment, 'eth0', `${n.address}/${prefix}`);
    ns.setMtu('eth0', spec.network.mtu);
    nodes.set(n.name, ns);
  }
  let router: NetNamespace | undefined;
  let outsideSegment: Segment | undefined;
  const outsideHosts = new Map<string, NetNamespace>();
  const uplink = partition?.uplink;
  let uplinkPort: RemotePort | undefined;
  if (uplink !== undefined) {
    uplinkPort = new RemotePort(sim, segment, (frame, traceId) => uplink.send(frame, traceId));
    const port = uplinkPort;
    uplink.onFrame((frame, traceId) => port.inject(frame, traceId));
  }
  if (spec.outside !== undefined) {
    const o = spec.outside;
    for (const ns of nodes.values()) ns.addRoute({ dst: 'default', via: o.router.underlay });
    if (partition === undefined || partition.index === 0) {
      const oprefix = Ipv4Cidr.parse(o.cidr).prefixLen;
      outsideSegment = new Segment(sim, 'outside', { ...props, latencyNs: props.latencyNs * 10 });
      router = createRouter(sim, 'router', [
        { dev: 'eth0', segment, cidr: `${o.router.underlay}/${prefix}` },
        { dev: 'eth1', segment: outsideSegment, cidr: `${o.router.outside}/${oprefix}` },
      ]);
      for (const h of o.hosts) {
        const ns = new NetNamespace(sim, h.name, h.name);
        attachNic(ns, outsideSegment, 'eth0', `${h.address}/${oprefix}`);
        ns.addRoute({ dst: 'default', via: o.router.outside });
        outsideHosts.set(h.name, ns);
      }
    }
  }
  return { sim, segment, nodes, router, outsideSegment, outsideHosts, ...(uplinkPort !== undefined ? { uplinkPort } : {}) };
}

/**
 * The way a flow's packet went, as its addresses imply on the picture: out of the
 * sender's pod through its veth to the node's bridge; to a pod on the same node back
 * out through that pod's veth; to another node through flannel's device and eth0 over
 * the underlay and in the same way; to or from outside through the router. A flow
 * record keeps the verdict, not every hop (`netsim trace` has those), so this is the
 * path the topology gives for those two ends — what the flows table draws when a flow
 * is selected.
 */
import type { FlowEndpoint } from '../../observe/flow.ts';
import type { Topology, TopologyNode } from '../../observe/topology.ts';
import { elementId } from './ids.ts';

/** Element ids from one end to the other, in order (nodes of the graph; the edges between consecutive ones follow). */
export function flowPath(t: Topology, from: FlowEndpoint, to: FlowEndpoint): string[] {
  const a = side(t, from, nodeOf(t, to), to.kind === 'pod');
  const b = side(t, to, nodeOf(t, from), from.kind === 'pod');
  if (a === undefined || b === undefined) return [...(a?.out ?? []), ...[...(b?.out ?? [])].reverse()];
  // Out from the sender to the first place the receiver's way out passes too, then in along that way.
  const meet = a.out.findIndex((x) => b.out.includes(x));
  if (meet < 0) return [...a.out, ...[...b.out].reverse()];
  const inward = b.out.slice(0, b.out.indexOf(a.out[meet] as string)).reverse();
  return [...a.out.slice(0, meet + 1), ...inward];
}

function nodeOf(t: Topology, e: FlowEndpoint): string | undefined {
  if (e.kind === 'node') return e.name;
  if (e.kind === 'pod') return t.pods.find((x) => x.namespace === (e.namespace ?? 'default') && x.name === e.name)?.node;
  return undefined;
}

interface Side {
  readonly node?: string;
  /** From the endpoint outwards to where every path meets (the underlay). */
  readonly out: string[];
}

function nodeExit(n: TopologyNode): string[] {
  const flannel = n.devices.find((d) => d.kind === 'flannel');
  const nic = n.devices.find((d) => d.name === 'eth0') ?? n.devices.find((d) => d.kind === 'nic');
  return [...(flannel !== undefined ? [elementId.device(n.name, flannel.name)] : []), ...(nic !== undefined ? [elementId.device(n.name, nic.name)] : []), elementId.underlay];
}

/**
 * The way out of `e`. `peer` is the node of the other end and `toPod` whether it is a
 * pod: a node reaches its own pods through its bridge and other nodes' pods through
 * flannel's device, other nodes and the outside through eth0 alone.
 */
function side(t: Topology, e: FlowEndpoint, peer: string | undefined, toPod: boolean): Side | undefined {
  if (e.kind === 'pod' && e.name !== undefined) {
    const p = t.pods.find((x) => x.namespace === (e.namespace ?? 'default') && x.name === e.name);
    const n = t.nodes.find((x) => x.name === p?.node);
    if (p === undefined || n === undefined) return undefined;
    const bridge = n.devices.find((d) => d.kind === 'bridge');
    return { node: n.name, out: [elementId.pod(p.key), ...(bridge !== undefined ? [elementId.device(n.name, bridge.name)] : []), ...nodeExit(n)] };
  }
  if (e.kind === 'node' && e.name !== undefined) {
    const n = t.nodes.find((x) => x.name === e.name);
    if (n === undefined) return undefined;
    const bridge = n.devices.find((d) => d.kind === 'bridge');
    if (peer === n.name && bridge !== undefined) return { node: n.name, out: [elementId.device(n.name, bridge.name)] };
    if (toPod) return { node: n.name, out: nodeExit(n) };
    const nic = n.devices.find((d) => d.name === 'eth0');
    return { node: n.name, out: [...(nic !== undefined ? [elementId.device(n.name, nic.name)] : [elementId.node(n.name)]), elementId.underlay] };
  }
  if (e.kind === 'external' && e.name !== undefined) {
    const router = t.outside.find((h) => h.kind === 'router');
    const host = t.outside.find((h) => h.name === e.name);
    if (host === undefined) return undefined;
    if (host.kind === 'router') return { out: [elementId.host(host.name), elementId.underlay] };
    return { out: [elementId.host(host.name), elementId.outside, ...(router !== undefined ? [elementId.host(router.name)] : []), elementId.underlay] };
  }
  return undefined;
}

/**
 * Where on the picture a trace hop happened: the pod whose namespace it ran in, the
 * veth or host device it names on a node, the node itself, or the router or an outside
 * host. The trace view moves its marker along these as it steps through the hops.
 */
import type { Topology } from '../../observe/topology.ts';
import { elementId } from './ids.ts';

export interface HopPlace {
  readonly node: string;
  readonly netns: string;
  readonly device?: string;
}

export class HopLocator {
  private readonly pods = new Set<string>();
  private readonly vethPod = new Map<string, string>();
  private readonly devices = new Set<string>();
  private readonly nodes = new Set<string>();
  private readonly hosts = new Set<string>();

  constructor(t: Topology) {
    for (const p of t.pods) {
      this.pods.add(p.key);
      if (p.hostVeth !== undefined) this.vethPod.set(`${p.node}/${p.hostVeth}`, p.key);
    }
    for (const n of t.nodes) {
      this.nodes.add(n.name);
      for (const d of n.devices) this.devices.add(`${n.name}/${d.name}`);
    }
    for (const h of t.outside) this.hosts.add(h.name);
  }

  /** The element id a hop lights up, or undefined when the picture has no such place (a pod gone since). */
  locate(h: HopPlace): string | undefined {
    if (this.pods.has(h.netns)) return elementId.pod(h.netns);
    if (this.nodes.has(h.netns)) {
      if (h.device !== undefined) {
        const pod = this.vethPod.get(`${h.netns}/${h.device}`);
        if (pod !== undefined) return elementId.veth(pod);
        if (this.devices.has(`${h.netns}/${h.device}`)) return elementId.device(h.netns, h.device);
      }
      return elementId.node(h.netns);
    }
    if (this.hosts.has(h.netns)) return elementId.host(h.netns);
    return this.nodes.has(h.node) ? elementId.node(h.node) : undefined;
  }
}

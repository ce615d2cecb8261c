/**
 * Node IPAM (kube-controller-manager's range allocator): each node gets a `spec.podCIDR`
 * of `nodeMaskSize` bits (default /24) from the cluster CIDR (default 10.244.0.0/16,
 * flannel's default), lowest free first; allocations are never moved.
 */
import type { Node } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace } from './types.ts';

function ipToInt(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export interface NodeIpamOptions {
  readonly clusterCIDR?: string;
  readonly nodeMaskSize?: number;
}

export class NodeIpam implements Controller {
  readonly name = 'node-ipam';
  private readonly base: number;
  private readonly bits: number;
  private readonly mask: number;
  constructor(private readonly api: ControlApi, opts: NodeIpamOptions = {}) {
    const [ip, len] = (opts.clusterCIDR ?? '10.244.0.0/16').split('/');
    this.bits = Number(len);
    this.base = ipToInt(ip ?? '0.0.0.0');
    this.mask = opts.nodeMaskSize ?? 24;
    if (!(this.mask >= this.bits && this.mask <= 32)) throw new Error(`node mask /${this.mask} does not fit in /${this.bits}`);
  }

  cidrAt(index: number): string {
    return `${intToIp(this.base + index * 2 ** (32 - this.mask))}/${this.mask}`;
  }

  async sync(): Promise<number> {
    const nodes = (await this.api.list<Node>('nodes')).sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const used = new Set(nodes.map((n) => n.spec?.podCIDR).filter((c): c is string => !!c));
    const capacity = 2 ** (this.mask - this.bits);
    let writes = 0;
    let next = 0;
    for (const n of nodes) {
      if (n.spec?.podCIDR) continue;
      while (next < capacity && used.has(this.cidrAt(next))) next++;
      if (next >= capacity) break;
      const cidr = this.cidrAt(next);
      used.add(cidr);
      try {
        await this.api.update('nodes', undefined, n.metadata.name!, { ...n, spec: { ...n.spec, podCIDR: cidr, podCIDRs: [cidr] } });
        writes++;
      } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }
}

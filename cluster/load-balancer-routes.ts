/**
 * How a LoadBalancer Service's address reaches the nodes from the outside network:
 * the way MetalLB's BGP mode does it. Every node that may serve the address
 * announces a /32 for it to the outside router with itself as next hop — all nodes
 * for `externalTrafficPolicy: Cluster`, only the nodes with a ready endpoint of the
 * Service for `Local` — and the router installs the best path. On the node, the
 * packet for the address is then kube-proxy's: KUBE-SERVICES → KUBE-FW-/KUBE-EXT-
 * in iptables mode, the virtual server on kube-ipvs0 in IPVS mode.
 *
 * Why routes and not MetalLB's L2 mode (a leader node answering ARP for the address
 * on the underlay): L2 mode needs a userspace ARP responder on the node's eth0 (the
 * speaker's raw socket; the kernel's proxy-ARP table does not answer for an address
 * routed out of the same device) — a packet-socket facility the emulated kernel does
 * not have — and, in IPVS mode, kube-proxy's strictARP so that the other nodes, which
 * all hold the address on kube-ipvs0, keep quiet. Routes need neither, work for a pool
 * inside or outside the underlay subnet (a /32 beats the connected /24), and show up
 * plainly in the router's `ip route` and in traces (the router's route lookup names
 * the next-hop node).
 *
 * Best path: the router runs without multipath, so of the equal announcements it keeps
 * the one with the lowest router ID — MetalLB's speaker uses the node's address as its
 * router ID — i.e. the announcing node with the lowest address. When no node announces
 * (Local policy, no ready endpoint), the route is withdrawn and the router answers the
 * client with ICMP net unreachable, as a router without the prefix does.
 *
 * Not modelled: BGP sessions, timers and communities, ECMP across nodes, MetalLB's
 * per-pool peer selection, L2 mode.
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import type { EndpointSlice, Service } from '../control/api/service.ts';

export interface AnnouncingNode {
  readonly name: string;
  readonly address: string;
}

export interface LoadBalancerRoute {
  readonly ip: string;
  /** The node the router sends the address to. */
  readonly node: string;
  readonly via: string;
  /** Every node announcing the address (best path first). */
  readonly announcers: readonly string[];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export class LoadBalancerRoutes {
  private readonly installed = new Map<string, LoadBalancerRoute>();
  private readonly nodes: AnnouncingNode[];

  constructor(private readonly router: NetNamespace, nodes: readonly AnnouncingNode[]) {
    // Best path first: lowest router ID (the node's address).
    this.nodes = [...nodes].sort((a, b) => parseIpv4(a.address) - parseIpv4(b.address));
  }

  /** The routes the router holds now, by address. */
  get routes(): ReadonlyMap<string, LoadBalancerRoute> {
    return this.installed;
  }

  /** Recompute the announcements from the Services and EndpointSlices; returns how many routes changed. */
  sync(services: Iterable<Service>, slices: Iterable<EndpointSlice>, down: ReadonlySet<string> = new Set()): number {
    const readyNodes = new Map<string, Set<string>>();
    for (const s of slices) {
      const svc = `${s.metadata.namespace ?? 'default'}/${s.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''}`;
      let set = readyNodes.get(svc);
      if (set === undefined) readyNodes.set(svc, (set = new Set()));
      for (const e of s.endpoints ?? []) if (e.conditions?.ready !== false && e.nodeName !== undefined) set.add(e.nodeName);
    }
    const want = new Map<string, LoadBalancerRoute>();
    for (const svc of services) {
      if (svc.spec.type !== 'LoadBalancer') continue;
      const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name ?? ''}`;
      const local = svc.spec.externalTrafficPolicy === 'Local';
      const announcers = this.nodes.filter((n) => !down.has(n.name) && (!local || (readyNodes.get(key)?.has(n.name) ?? false)));
      const best = announcers[0];
      if (best === undefined) continue;
      for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
        if (ing.ip === undefined || ing.ip === '' || want.has(ing.ip)) continue;
        want.set(ing.ip, { ip: ing.ip, node: best.name, via: best.address, announcers: announcers.map((n) => n.name) });
      }
    }
    let changes = 0;
    for (const [ip, r] of this.installed) {
      if (want.get(ip)?.via === r.via) continue;
      this.router.delRoute(`${ip}/32`);
      this.installed.delete(ip);
      changes++;
    }
    for (const [ip, r] of [...want].sort((a, b) => parseIpv4(a[0]) - parseIpv4(b[0]))) {
      if (this.installed.has(ip)) {
        this.installed.set(ip, r);
        continue;
      }
      this.router.addRoute({ dst: `${ip}/32`, via: r.via, proto: 'static' });
      this.installed.set(ip, r);
      changes++;
    }
    return changes;
  }
}

/**
 * Virtual services shared between network namespaces: the nodes of a cluster whose
 * kube-proxy (IPVS mode) programs the same virtual services with the same real servers
 * hold one copy of each (issue 23; a virtual service per ClusterIP, external IP and
 * NodePort address, tens of thousands per node at scale).
 *
 * A shared virtual service is pristine — no packet has used it: its counters are zero
 * and its scheduler state initial — so it is all configuration (protocol, address,
 * port, scheduler, persistence, the real servers in order with their weights), and is
 * interned by that (`intern`): the service an `ipvsadm -A`, `-E`, `-a`, `-e` or `-d`
 * leaves is the one equal service another namespace holds, if any. What a namespace
 * shows of it (listings, stats, the saved table) is what its own copy would show. The
 * first packet for it (Ipvs.inbound, Ipvs.schedule) copies it and its real servers into
 * the namespace, which from then on changes its own copy in place; a change to a
 * shared one is made on a copy (ipvs.ts). A node's own real servers (its Local
 * endpoints) give it services of its own; the rest stay shared: the overlay is per
 * service.
 *
 * Counted: a service leaves the share when the last namespace holding it lets it go
 * (replaced by a change or its own copy, or deleted), so the share holds what nodes hold
 * and nothing of what they held (no weak references: a WeakRef's target lives until the
 * end of the synchronous job, and a cluster builds in long ones).
 */
import type { VirtualService } from './ipvs.ts';

export class IpvsShare {
  /** Configuration → the pristine service with it, and how many namespaces hold it. */
  private readonly pristine = new Map<string, { readonly vs: VirtualService; refs: number }>();
  private hits = 0;
  private stored = 0;

  /** The shared service equal to the pristine `made`, or `made` itself, shared from now on (a namespace holding it calls `retain`). */
  intern(made: VirtualService): VirtualService {
    let key = `${made.proto} ${made.addr} ${made.port} ${made.scheduler} ${made.persistent ?? ''}`;
    for (const r of made.reals) key += ` ${r.addr}:${r.port}:${r.weight}:${r.lastWeight}`;
    const had = this.pristine.get(key);
    if (had !== undefined) {
      this.hits++;
      return had.vs;
    }
    made.shared = key;
    this.pristine.set(key, { vs: made, refs: 0 });
    this.stored++;
    return made;
  }

  /** A namespace holds `vs` now. */
  retain(vs: VirtualService): void {
    const e = this.pristine.get(vs.shared as string);
    if (e !== undefined && e.vs === vs) e.refs++;
  }

  /** A namespace holds `vs` no more; the last one takes it out of the share. */
  release(vs: VirtualService): void {
    const e = this.pristine.get(vs.shared as string);
    if (e === undefined || e.vs !== vs) return;
    if (--e.refs <= 0) this.pristine.delete(vs.shared as string);
  }

  stats(): { hits: number; stored: number; held: number } {
    return { hits: this.hits, stored: this.stored, held: this.pristine.size };
  }
}

/**
 * Virtual services shared between network namespaces: the nodes of a cluster whose
 * kube-proxy (IPVS mode) programs the same virtual services with the same real servers
 * hold one copy of each (issue 23; a virtual service per ClusterIP, external IP and
 * NodePort address, ten of thousands per node at scale).
 *
 * By provenance (../transitions.ts): `ipvsadm -A` of a service, and `-a`, `-e`, `-d`
 * or `-E` on a shared one, give the object the same operation gave in another
 * namespace. A shared virtual service is pristine — no connection has touched it: its
 * counters are zero and its scheduler state initial — so what a namespace shows of it
 * (listings, stats, the saved table) is what its own copy would show. The first packet
 * for it (Ipvs.inbound, Ipvs.schedule) copies it and its real servers into the
 * namespace, which from then on changes its own copy in place (ipvs.ts: own). A node's
 * own real servers (its Local endpoints) give it services of its own; the rest stay
 * shared: the overlay is per service.
 */
import { Transitions } from '../transitions.ts';
import type { VirtualService } from './ipvs.ts';

export class IpvsShare extends Transitions<VirtualService> {}

/**
 * IP sets shared between network namespaces: the nodes of a cluster whose kube-proxy
 * (IPVS mode) restores the same lines into the same sets hold one copy of each set
 * (issue 23; KUBE-CLUSTER-IP and its kin hold an entry per Service).
 *
 * A set's content after a restore is a function of its content before and of the
 * restore's lines that name it, as long as no line touches several sets (swap, flush
 * or destroy of all). So a set is shared by provenance (../transitions.ts): a
 * namespace that starts from a shared set (or from none) and restores the lines
 * another namespace restored into it takes the set that namespace made
 * (Ipsets.restore). A node's own lines (its local endpoints in KUBE-LOOP-BACK) give it
 * sets of its own; the other sets stay shared: the overlay is per set.
 *
 * Shared sets are never changed: a namespace about to change one copies it first
 * (Ipsets: copy on write), told by the members map, which a swap's renamed set keeps.
 * The index a lookup builds from a set's members is a cache of its content, and may be
 * built on a shared set.
 */
import { Transitions } from '../transitions.ts';

export class IpsetShare extends Transitions<{ readonly members: object }> {
  constructor() {
    super((s) => s.members);
  }
}

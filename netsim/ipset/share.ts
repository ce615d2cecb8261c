/**
 * IP sets shared between network namespaces: the nodes of a cluster whose kube-proxy
 * (IPVS mode) restores the same lines into the same sets hold one copy of each set
 * (issue 23, "shared, copy-on-write state across nodes"; KUBE-CLUSTER-IP and its kin
 * hold an entry per Service).
 *
 * A set's content after a restore is a function of its content before and of the
 * restore's lines that name it, as long as no line touches several sets (swap, flush
 * or destroy of all). So a set is shared by provenance, not compared: the share keeps,
 * for a shared set (or for "no such set"), what the same lines made of it before
 * (`after`), and a namespace that starts from that set and restores those lines takes
 * that result instead of keeping its own equal copy (Ipsets.restore). A node's own
 * lines (its local endpoints in KUBE-LOOP-BACK) give it sets of its own; the other
 * sets stay shared: the overlay is per set.
 *
 * Shared sets are never changed: a namespace about to change one copies it first
 * (Ipsets: copy on write; `shared` tells by the members map, which a swap's renamed
 * set keeps). The index a lookup builds from a set's members is a cache of its
 * content, and may be built on a shared set.
 *
 * Results are held weakly: a set no namespace holds any more is collected with the
 * transitions from it. Whether a transition is still there (garbage collection) only
 * decides whether a namespace shares, never what it holds.
 */

/** What a set is before a restore when it does not exist. */
const ABSENT = {};

export class IpsetShare {
  /** A shared set (or ABSENT) → per restore lines for it (with the global -exist) → the set they made. */
  private readonly transitions = new WeakMap<object, Map<string, WeakRef<object>>>();
  /** The members maps of shared sets: what a namespace must copy before changing. */
  private readonly bodies = new WeakSet<object>();
  private hits = 0;
  private stored = 0;

  /** Whether a set with these members is shared (a namespace must copy it to change it). */
  shared(members: object): boolean {
    return this.bodies.has(members);
  }

  /** Whether `before` may start a transition: shared, or absent. */
  startable(before: { members: object } | undefined): boolean {
    return before === undefined || this.bodies.has(before.members);
  }

  /** The set `lines` made of `before` in another namespace, if it is still held. */
  after<S extends { members: object }>(before: S | undefined, lines: string): S | undefined {
    const got = this.transitions.get(before ?? ABSENT)?.get(lines)?.deref() as S | undefined;
    if (got !== undefined) this.hits++;
    return got;
  }

  /** `after` is what `lines` made of `before` (shared from now on: nobody changes it in place). */
  store<S extends { members: object }>(before: S | undefined, lines: string, after: S): void {
    const key = before ?? ABSENT;
    let m = this.transitions.get(key);
    if (m === undefined) {
      m = new Map();
      this.transitions.set(key, m);
    }
    // Results nobody holds any more leave their lines behind; drop those when adding.
    if (m.size >= 16) for (const [k, ref] of m) if (ref.deref() === undefined) m.delete(k);
    m.set(lines, new WeakRef(after));
    this.bodies.add(after.members);
    this.stored++;
  }

  stats(): { hits: number; stored: number } {
    return { hits: this.hits, stored: this.stored };
  }
}

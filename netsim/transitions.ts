/**
 * Objects shared between network namespaces by provenance (issue 23, "shared,
 * copy-on-write state across nodes"): what an operation made of a shared object (or
 * of nothing) in one namespace is what it makes of it in the next, so the next takes
 * that result instead of building its own equal copy — no comparison of contents, only
 * of where they came from. Used by ipset/share.ts (a set and the restore lines naming
 * it). A chain of results is only found while its links are held: fit for a state
 * that namespaces hold between steps (a set between restores), not for one a single
 * step's intermediate objects lead to (IPVS interns its services by content instead).
 *
 * A stored result is shared from then on: no namespace changes it in place (each
 * copies before a change; `shared` tells by the object's body). Results are held
 * weakly: an object no namespace holds any more is collected with the transitions from
 * it. Whether a transition is still there (garbage collection) only decides whether a
 * namespace shares, never what it holds.
 */

/** What an object is before an operation that creates it. */
const ABSENT = {};

export class Transitions<T extends object> {
  /** A shared object (or ABSENT) → per operation → the object it made; `prune`: the size at which dead results are next dropped. */
  private readonly next = new WeakMap<object, { readonly ops: Map<string, WeakRef<T>>; prune: number }>();
  /** The bodies of shared objects: what a namespace must copy before changing. */
  private readonly bodies = new WeakSet<object>();
  private hits = 0;
  private stored = 0;

  /** `body`: what marks an object shared (by default the object; a set's members map survives a swap's renamed copy). */
  constructor(private readonly body: (t: T) => object = (t) => t) {}

  /** Whether an object with this body is shared (a namespace must copy it to change it). */
  shared(body: object): boolean {
    return this.bodies.has(body);
  }

  /** Whether `before` may start a transition: shared, or absent. */
  startable(before: T | undefined): boolean {
    return before === undefined || this.bodies.has(this.body(before));
  }

  /** What `op` made of `before` in another namespace, if it is still held. */
  after(before: T | undefined, op: string): T | undefined {
    const got = this.next.get(before ?? ABSENT)?.ops.get(op)?.deref();
    if (got !== undefined) this.hits++;
    return got;
  }

  /** `after` is what `op` made of `before` (shared from now on). */
  store(before: T | undefined, op: string, after: T): void {
    const key = before ?? ABSENT;
    let m = this.next.get(key);
    if (m === undefined) {
      m = { ops: new Map(), prune: 16 };
      this.next.set(key, m);
    }
    // Results nobody holds any more leave their operations behind: drop those when the
    // operations have doubled since the last time (ABSENT's creations are many).
    if (m.ops.size >= m.prune) {
      for (const [k, ref] of m.ops) if (ref.deref() === undefined) m.ops.delete(k);
      m.prune = Math.max(16, 2 * m.ops.size);
    }
    m.ops.set(op, new WeakRef(after));
    this.bodies.add(this.body(after));
    this.stored++;
  }

  stats(): { hits: number; stored: number } {
    return { hits: this.hits, stored: this.stored };
  }
}

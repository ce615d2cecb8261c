/**
 * The bounded ring of recent flows a live cluster keeps (Hubble's ring buffer): a
 * fixed array written round, so memory stays flat however long the cluster runs.
 */
import type { Flow } from './flow.ts';

/** Default capacity: a few hundred thousand flows, as Hubble's default buffer holds. */
export const DEFAULT_FLOW_RING = 262_144;

export class FlowRing {
  private readonly slots: Array<Flow | undefined>;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number = DEFAULT_FLOW_RING) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`flow ring capacity must be a positive integer, got ${capacity}`);
    this.slots = new Array<Flow | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(flow: Flow): void {
    this.slots[this.next] = flow;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** The newest `n` flows that pass `keep`, oldest first. */
  last(n: number, keep: (f: Flow) => boolean = () => true): Flow[] {
    const out: Flow[] = [];
    for (let i = 1; i <= this.count && out.length < n; i++) {
      const f = this.slots[(this.next - i + this.capacity) % this.capacity] as Flow;
      if (keep(f)) out.push(f);
    }
    return out.reverse();
  }
}

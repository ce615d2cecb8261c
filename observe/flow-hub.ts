/**
 * Where flows meet their readers: every flow goes into the ring and to each
 * subscriber whose filter it passes. A subscriber that cannot keep up is told how
 * many flows it lost instead of growing a buffer without bound (Hubble's "events
 * lost" records): the hub never waits for a reader.
 */
import type { Flow } from './flow.ts';
import type { FlowFilter } from './flow-filter.ts';
import { flowMatches } from './flow-filter.ts';
import { FlowRing } from './flow-ring.ts';

export interface FlowSubscriber {
  readonly filter: FlowFilter;
  readonly hops: boolean;
  /** Deliver one flow; return false when the reader is saturated (the flow is counted as lost). */
  readonly send: (flow: Flow) => boolean;
}

export class FlowHub {
  readonly ring: FlowRing;
  private subscribers: FlowSubscriber[] = [];
  /** Flows published since start (verdict records only). */
  published = 0;

  constructor(capacity?: number) {
    this.ring = new FlowRing(capacity);
  }

  get subscriberCount(): number {
    return this.subscribers.length;
  }

  /** True when some subscriber asked for per-hop records. */
  get wantsHops(): boolean {
    return this.subscribers.some((s) => s.hops);
  }

  publish(flow: Flow): void {
    const isHop = flow.hop !== undefined;
    if (!isHop) {
      this.ring.push(flow);
      this.published++;
    }
    for (const s of this.subscribers) {
      if (isHop && !s.hops) continue;
      if (flowMatches(s.filter, flow)) s.send(flow);
    }
  }

  subscribe(s: FlowSubscriber): () => void {
    this.subscribers = [...this.subscribers, s];
    return () => {
      this.subscribers = this.subscribers.filter((x) => x !== s);
    };
  }
}

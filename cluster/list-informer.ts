/**
 * A level-triggered informer for the in-process cluster: each `poll()` lists a
 * resource and turns the difference from the last poll into add/update/delete
 * calls, in a stable order (namespace/name). The driver polls at virtual-time
 * boundaries, so the node components see the same events in the same order on
 * every run with the same seed — which a watch stream delivered by the event loop
 * would not guarantee.
 */
import type { ControlApi } from '../control/controllers/index.ts';

export interface InformerHandler<T> {
  add?(o: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(o: T): void;
}

/** What the informer reads of an object. */
export interface Listed {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly uid?: string; readonly resourceVersion?: string };
}

function keyOf(o: Listed): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

export class ListInformer<T extends Listed> {
  private known = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private synced = false;

  constructor(private readonly api: ControlApi, readonly resource: string) {}

  on(h: InformerHandler<T>): void {
    this.handlers.push(h);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Current objects, by "namespace/name". */
  get items(): ReadonlyMap<string, T> {
    return this.known;
  }

  /** List once and deliver the differences; returns how many events were delivered. */
  async poll(): Promise<number> {
    const list = await this.api.list<T>(this.resource);
    return this.deliver(list);
  }

  /** Deliver the differences between `list` and the last state (for a list fetched once and shared). */
  deliver(list: readonly T[]): number {
    const next = new Map<string, T>();
    // Keys built once per object, not once per comparison.
    const keyed = list.map((o) => [keyOf(o), o] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [k, o] of keyed) next.set(k, o);
    let events = 0;
    for (const [k, o] of this.known) {
      const n = next.get(k);
      if (n === undefined || n.metadata?.uid !== o.metadata?.uid) {
        for (const h of this.handlers) h.delete?.(o);
        events++;
      }
    }
    for (const [k, n] of next) {
      const o = this.known.get(k);
      if (o === undefined || o.metadata?.uid !== n.metadata?.uid) {
        for (const h of this.handlers) h.add?.(n);
        events++;
      } else if (o.metadata?.resourceVersion !== n.metadata?.resourceVersion) {
        for (const h of this.handlers) h.update?.(o, n);
        events++;
      }
    }
    this.known = next;
    this.synced = true;
    return events;
  }
}

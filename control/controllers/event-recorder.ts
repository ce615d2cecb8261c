/**
 * Events as client-go's EventRecorder writes them (tools/record): core/v1 Events
 * named `<object>.<hex nanoseconds>`, with `source.component` (and `host` for a
 * kubelet), `reportingComponent`, and the EventCorrelator's aggregation: the same
 * object, type, reason and message again increments `count` and moves
 * `lastTimestamp` instead of writing a new Event.
 *
 * What the correlator remembers of an Event is what upstream's eventLogger keeps
 * (events_cache.go `eventLog`: name, count, resourceVersion), not the Event itself, in
 * an LRU of `maxLruCacheEntries` (4096) keys per recorder: at 150 000 pods the cluster's
 * scheduler and ReplicaSet controller each record hundreds of thousands of events, and
 * keeping every one decoded was a tenth of the heap. A repeat reads the Event back and
 * writes it only if it is still the revision this recorder wrote (else, as the update
 * it replaces, the repeat is lost); a key evicted from the LRU starts a new Event, as
 * upstream's does.
 *
 * Not modelled: the correlator's spam filter and its similar-message aggregation
 * ("(combined from similar events)"), events.k8s.io/v1 series (kubectl reads both the
 * same way), event expiry (kube-apiserver's 1 h TTL).
 */
import type { Event, ObjectMeta } from '../api/index.ts';

/** What an event is about: any object with its type and metadata. */
export interface EventSubject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
}
import type { ControlApi } from './types.ts';
import { isRace, rfc3339 } from './types.ts';

export type EventType = 'Normal' | 'Warning';

/** client-go tools/record/events_cache.go `maxLruCacheEntries`: the correlator's caches hold this many keys. */
export const MAX_LRU_CACHE_ENTRIES = 4096;

/** What the correlator keeps of the last Event written per key (events_cache.go `eventLog`). */
interface EventLog {
  readonly name: string;
  readonly count: number;
  readonly resourceVersion: string | undefined;
}

interface Pending {
  readonly obj: EventSubject;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
  readonly fieldPath?: string;
}

export class EventRecorder {
  /** The last Event written per correlation key, least recently used first (the correlator's LRU cache). */
  private readonly seen = new Map<string, EventLog>();
  private readonly pending: Pending[] = [];
  private seq = 0;

  constructor(private readonly api: ControlApi, private readonly component: string, private readonly clock: () => Date, private readonly host?: string) {}

  /** Write (or aggregate) one event now; the number of writes made (0 if the object's namespace refused it). */
  async record(obj: EventSubject, type: EventType, reason: string, message: string, fieldPath?: string): Promise<number> {
    const ns = obj.metadata.namespace ?? 'default';
    const io = {
      kind: obj.kind ?? '', namespace: ns, name: obj.metadata.name ?? '',
      ...(obj.metadata.uid !== undefined ? { uid: obj.metadata.uid } : {}),
      ...(obj.apiVersion !== undefined ? { apiVersion: obj.apiVersion } : {}),
      ...(fieldPath !== undefined ? { fieldPath } : {}),
    };
    const key = JSON.stringify([this.component, this.host ?? '', io.kind, ns, io.name, io.uid ?? '', fieldPath ?? '', type, reason, message]);
    const now = this.clock();
    const prior = this.seen.get(key);
    try {
      if (prior !== undefined) {
        const current = await this.api.get<Event>('events', ns, prior.name);
        // Deleted, or written by someone else since: the update this read replaces would have failed (404, 409).
        if (current === undefined || current.metadata.resourceVersion !== prior.resourceVersion) {
          this.seen.delete(key);
          return 0;
        }
        const next: Event = { ...current, count: prior.count + 1, lastTimestamp: rfc3339(now) };
        this.remember(key, await this.api.update<Event>('events', ns, prior.name, next));
        return 1;
      }
      // client-go names an Event `<object>.<UnixNano in hex>`; the low digits count events within one millisecond here.
      const nanos = `${now.getTime().toString(16)}${(this.seq++ % 0x100000).toString(16).padStart(5, '0')}`;
      const ev: Event = {
        apiVersion: 'v1', kind: 'Event',
        metadata: { name: `${io.name}.${nanos}`, namespace: ns },
        involvedObject: io as Event['involvedObject'],
        reason, message, type, count: 1,
        firstTimestamp: rfc3339(now), lastTimestamp: rfc3339(now),
        source: { component: this.component, ...(this.host !== undefined ? { host: this.host } : {}) },
        reportingComponent: this.component, reportingInstance: this.host ?? '',
      } as Event;
      this.remember(key, await this.api.create<Event>('events', ns, ev));
      return 1;
    } catch (e) {
      // A terminating namespace (403), an event deleted meanwhile (404) or a write race: the event is lost, as client-go's are.
      if (isRace(e)) {
        this.seen.delete(key);
        return 0;
      }
      throw e;
    }
  }

  /** Keep the written Event's log as the most recently used key, dropping the least recently used past the cache's size. */
  private remember(key: string, written: Event): void {
    this.seen.delete(key);
    this.seen.set(key, { name: written.metadata.name ?? '', count: written.count ?? 1, resourceVersion: written.metadata.resourceVersion });
    if (this.seen.size > MAX_LRU_CACHE_ENTRIES) this.seen.delete(this.seen.keys().next().value as string);
  }

  /** Remember an event to write at the next {@link flush} (from timers and other synchronous places). */
  queue(obj: EventSubject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    this.pending.push({ obj, type, reason, message, ...(fieldPath !== undefined ? { fieldPath } : {}) });
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Write what was queued, in order; the number of writes. */
  async flush(): Promise<number> {
    let writes = 0;
    for (const p of this.pending.splice(0)) writes += await this.record(p.obj, p.type, p.reason, p.message, p.fieldPath);
    return writes;
  }
}

/**
 * The trace bus. Producers check {@link Tracer.enabled} before building an event,
 * so a run nobody observes pays one boolean test per decision and allocates nothing.
 * Observation is a subscription, never a flag inside the core (ARCHITECTURE.md).
 */
import type { TraceEvent } from './trace-event.ts';

export type TraceListener = (ev: TraceEvent) => void;

export interface SubscribeOptions {
  /** Ask producers to attach copies of packet bytes to rx/tx events (captures need them). */
  readonly bytes?: boolean;
}

export class Tracer {
  /** True when at least one listener is subscribed. */
  enabled = false;
  /** True when at least one listener wants packet bytes on rx/tx events. */
  wantBytes = false;
  private listeners: Array<{ fn: TraceListener; bytes: boolean }> = [];

  subscribe(fn: TraceListener, opts: SubscribeOptions = {}): () => void {
    const entry = { fn, bytes: opts.bytes === true };
    this.listeners = [...this.listeners, entry];
    this.refresh();
    return () => {
      this.listeners = this.listeners.filter((l) => l !== entry);
      this.refresh();
    };
  }

  emit(ev: TraceEvent): void {
    for (const l of this.listeners) l.fn(ev);
  }

  private refresh(): void {
    this.enabled = this.listeners.length > 0;
    this.wantBytes = this.listeners.some((l) => l.bytes);
  }
}

/** Collect every event into an array until the returned stop() is called. */
export function recordTrace(tracer: Tracer, opts: SubscribeOptions = {}): { events: TraceEvent[]; stop: () => void } {
  const events: TraceEvent[] = [];
  const stop = tracer.subscribe((ev) => events.push(ev), opts);
  return { events, stop };
}

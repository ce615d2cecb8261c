/**
 * Trace events as text: one hop line per event in the format `netsim trace` uses
 * (hop-lines.ts), for the demo's flows; and as JSON lines for `-o events`.
 */
import type { TraceEvent } from '../../netsim/trace/trace-event.ts';
import { eventHops } from '../../netsim/trace/report.ts';
import { hopLines } from './hop-lines.ts';
import type { TextStyle } from './hop-lines.ts';

/** Every event of a run as a hop line (the same format as `netsim trace`'s), each with the packet as it was there. */
export function renderTraceText(events: readonly TraceEvent[], style: TextStyle = {}): string {
  const lines = hopLines(eventHops(events), style);
  return lines.join('\n') + (lines.length > 0 ? '\n' : '');
}

/** Events as JSON lines (bytes omitted), for `-o events`. */
export function renderTraceEvents(events: readonly TraceEvent[]): string {
  return events.map((e) => JSON.stringify(e, (k, v: unknown) => (k === 'data' ? undefined : v))).join('\n') + (events.length > 0 ? '\n' : '');
}

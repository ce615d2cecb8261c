/**
 * Human-readable rendering of trace events: one line per decision, grouped by the
 * namespace it happened in, with virtual timestamps. This is the packet-core view;
 * the cluster-level `netsim trace` output builds on it.
 */
import type { TraceEvent } from '../../netsim/trace/trace-event.ts';
import { formatInstant } from '../../netsim/time/scheduler.ts';

function describe(e: TraceEvent): string {
  switch (e.kind) {
    case 'rx': return `rx ${e.dev}: ${e.summary}`;
    case 'tx': return `tx ${e.dev}: ${e.summary}`;
    case 'bridge': return `bridge ${e.bridge} ${e.action}: ${e.detail}`;
    case 'route': return `route ${e.dst} (table ${e.table}): ${e.result}`;
    case 'neigh': return `neigh ${e.action} ${e.ip}${e.mac !== undefined ? ` lladdr ${e.mac}` : ''} dev ${e.dev}`;
    case 'ttl': return `ttl ${e.from} → ${e.to} (${e.by})`;
    case 'encap': return `encap ${e.dev}: ${e.detail}`;
    case 'decap': return `decap ${e.dev}: ${e.detail}`;
    case 'nf': return `nf ${e.hook} ${e.table} ${e.chain}:${e.rule} ${e.verdict} ${e.detail}`;
    case 'nat': return `nat ${e.detail}`;
    case 'ct': return `conntrack ${e.detail}`;
    case 'deliver': return `deliver to ${e.to}`;
    case 'icmp-error': return `icmp-error ${e.detail}`;
    case 'drop': return `DROP (${e.reason})${e.dev !== undefined ? ` on ${e.dev}` : ''}: ${e.detail}`;
    case 'app': return `app ${e.app}: ${e.detail}`;
  }
}

/** One line per event: `t  netns  what`. */
export function renderTraceText(events: readonly TraceEvent[], opts: { pkt?: number } = {}): string {
  const rows = events.filter((e) => opts.pkt === undefined || e.pkt === opts.pkt);
  const width = Math.max(8, ...rows.map((e) => e.netns.length));
  return rows.map((e) => `${formatInstant(e.t)}  ${e.netns.padEnd(width)}  ${describe(e)}`).join('\n') + (rows.length > 0 ? '\n' : '');
}

/** Events as JSON lines (bytes omitted), for `-o events`. */
export function renderTraceEvents(events: readonly TraceEvent[]): string {
  return events.map((e) => JSON.stringify(e, (k, v: unknown) => (k === 'data' ? undefined : v))).join('\n') + (events.length > 0 ? '\n' : '');
}

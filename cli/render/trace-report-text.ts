/**
 * The readable form of a trace report: per leg (request, reply), one line per hop
 * with the virtual time, where (node and namespace), who decided (component), what
 * it did, and the packet as it was at that point.
 */
import type { Hop, TraceLeg, TraceReport } from '../../netsim/trace/report.ts';
import { formatInstant } from '../../netsim/time/scheduler.ts';

function where(h: Hop): string {
  return h.netns === h.node ? h.node : `${h.node}/${h.netns}`;
}

function line(h: Hop, width: number): string {
  const comp = h.device !== undefined && h.component !== 'device' ? `${h.component}(${h.device})` : h.device ?? h.component;
  const what = `${comp} ${h.action}`;
  const rule = h.rule !== undefined ? ` [${h.rule}]` : '';
  return `  ${formatInstant(h.t)}  ${where(h).padEnd(width)}  ${what.padEnd(26)} ${h.detail}${rule}`;
}

export function leg(title: string, l: TraceLeg, indent = ''): string[] {
  const width = Math.max(10, ...l.hops.map((h) => where(h).length));
  const out = [`${indent}${title}: ${l.verdict.toUpperCase()}${l.drop !== undefined ? ` — ${l.drop.reason} at ${l.drop.netns}: ${l.drop.detail}` : ''}`];
  for (const h of l.hops) out.push(indent + line(h, width));
  return out;
}

export function renderTraceReportText(title: string, r: TraceReport): string {
  const lines = [title, ...leg('request', r)];
  if (r.reply !== undefined) lines.push('', ...leg('reply', r.reply));
  else lines.push('', 'reply: none seen');
  return lines.join('\n') + '\n';
}

/**
 * The readable form of a trace report: per leg (request, reply) a verdict line, then
 * one line per hop in the shared hop format (hop-lines.ts) with the packet's walk.
 */
import type { TraceLeg, TraceReport } from '../../netsim/trace/report.ts';
import { hopLines, paint } from './hop-lines.ts';
import type { TextStyle } from './hop-lines.ts';

function verdictLine(title: string, l: TraceLeg, style: TextStyle): string {
  if (l.icmpError !== undefined) return `${title}: ${paint(l.icmpError, 'yellow', style)}`;
  const v = paint(l.verdict.toUpperCase(), l.verdict === 'delivered' ? 'green' : 'red', style);
  return `${title}: ${v}${l.drop !== undefined ? ` — ${l.drop.reason} at ${l.drop.netns}: ${l.drop.detail}` : ''}`;
}

/** One leg: its verdict line and its hops, indented (the DNS lookups of a trace nest theirs under the trace). */
export function leg(title: string, l: TraceLeg, indent = '', style: TextStyle = {}): string[] {
  return [indent + verdictLine(title, l, style), ...hopLines(l.hops, style, `${indent}  `)];
}

export function renderTraceReportText(title: string, r: TraceReport, style: TextStyle = {}, note?: string): string {
  const lines = [title, ...leg('request', r, '', style)];
  if (r.reply !== undefined) lines.push('', ...leg('reply', r.reply, '', style));
  else lines.push('', 'reply: none seen');
  if (note !== undefined) lines.push('', `note: ${note}`);
  return lines.join('\n') + '\n';
}

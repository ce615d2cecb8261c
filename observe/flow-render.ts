/**
 * Flows as text: `compact` is `hubble observe`'s one line per flow (identity first,
 * the verdict coloured on a terminal), `json` one object per line, `table` aligned
 * columns. Shared by `netsim observe` and anything else that prints flows.
 */
import type { Flow, FlowEndpoint } from './flow.ts';

export type FlowFormat = 'compact' | 'json' | 'table';
export const FLOW_FORMATS: readonly FlowFormat[] = ['compact', 'json', 'table'];

const COLOUR: Record<Flow['verdict'], string> = { FORWARDED: '\x1b[32m', DROPPED: '\x1b[31m', REJECTED: '\x1b[33m' };
const RESET = '\x1b[0m';

function endpoint(e: FlowEndpoint): string {
  const port = e.port !== undefined ? `:${e.port}` : '';
  switch (e.kind) {
    case 'pod': return `${e.namespace}/${e.name}${port}`;
    case 'service': return `${e.namespace}/${e.name}${port} (service)`;
    case 'node': return `${e.name}${port} (host ${e.ip})`;
    case 'external': return `${e.name}${port} (outside ${e.ip})`;
    default: return `${e.ip}${port} (world)`;
  }
}

/** `Dec  7 05:51:02.123` like Hubble, or virtual seconds in a batch run. */
function when(f: Flow): string {
  if (f.time === undefined) return `${(f.t / 1e9).toFixed(6)}s`;
  const d = new Date(f.time);
  const mon = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  return `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 23)}`;
}

function what(f: Flow): string {
  if (f.protocol === 'TCP') return `TCP Flags: ${(f.tcpFlags ?? []).join(', ')}`;
  if (f.protocol === 'ICMP') return `ICMPv4 ${f.icmp ?? ''}`.trimEnd();
  return f.protocol;
}

export function renderCompact(f: Flow, colour: boolean): string {
  const verdict = colour ? `${COLOUR[f.verdict]}${f.verdict}${RESET}` : f.verdict;
  const svc = f.service !== undefined ? ` via service ${f.service}` : '';
  const reason = f.dropReason !== undefined ? ` ${f.dropReason}` : '';
  const by = f.decidedBy !== undefined ? ` [${f.decidedBy}]` : '';
  // A drop's explanation (the policy that denied it); allows stay in the JSON form.
  const why = f.verdict !== 'FORWARDED' && f.policy !== undefined ? ` ${f.policy}` : '';
  const hop = f.hop !== undefined ? ` hop ${f.hop.node} ${f.hop.netns} ${f.hop.kind}: ${f.hop.detail}` : '';
  return `${when(f)} [${f.node}]: ${endpoint(f.source)} -> ${endpoint(f.destination)}${svc} ${verdict}${reason} (${what(f)})${by}${why}${hop}`;
}

const TABLE_HEAD = ['TIME', 'NODE', 'SOURCE', 'DESTINATION', 'SERVICE', 'PROTO', 'VERDICT', 'SUMMARY'];

export function renderTable(flows: readonly Flow[]): string {
  const rows = flows.map((f) => [when(f), f.node, endpoint(f.source), endpoint(f.destination), f.service ?? '', f.protocol, f.verdict, `${what(f)}${f.dropReason !== undefined ? ` ${f.dropReason}` : ''}${f.verdict !== 'FORWARDED' && f.policy !== undefined ? `: ${f.policy}` : ''}`]);
  const widths = TABLE_HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('   ').trimEnd();
  return [line(TABLE_HEAD), ...rows.map(line)].join('\n') + '\n';
}

export function renderFlow(f: Flow, format: Exclude<FlowFormat, 'table'>, colour: boolean): string {
  return format === 'json' ? JSON.stringify(f) : renderCompact(f, colour);
}

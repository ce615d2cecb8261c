/**
 * Filters for `netsim trace` in the spirit of `hubble observe`: keep the hops (text,
 * JSON) or events (`-o events`) that match every given filter. The verdict of the
 * trace is computed before filtering, so a filter narrows what is shown, never what
 * happened.
 *
 * --node NAME        where the decision was made (a node, and every pod namespace on it)
 * --pod NS/NAME      decisions inside that pod's namespace (a bare name means `default/`)
 * --ip A.B.C.D       hops whose packet has that source or destination (events: mentioned in the line)
 * --type KIND,...    hop components or event kinds (route, netfilter/nf, conntrack/ct, bridge, …)
 * --verdict V        dropped: only the drop; forwarded: everything but drops
 */
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import type { Hop, TraceLeg, TraceReport } from '../netsim/trace/report.ts';
import { CliError } from './cli-error.ts';
import { closeMatches } from '../cluster/endpoint.ts';

export interface TraceFilter {
  readonly node?: string;
  readonly pod?: string;
  readonly ip?: string;
  readonly type?: readonly string[];
  readonly verdict?: 'dropped' | 'forwarded';
}

/** Hop components and event kinds that name the same thing. */
const SYNONYMS: Record<string, string[]> = { netfilter: ['nf'], nf: ['netfilter'], conntrack: ['ct'], ct: ['conntrack'], device: ['rx', 'tx'] };

export function parseTraceFilter(o: { node?: string; pod?: string; ip?: string; type?: string; verdict?: string }): TraceFilter {
  if (o.ip !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(o.ip)) throw new CliError('NETSIM_ERR_FILTER', `--ip must be an IPv4 address, got "${o.ip}"`);
  if (o.verdict !== undefined && o.verdict !== 'dropped' && o.verdict !== 'forwarded') throw new CliError('NETSIM_ERR_FILTER', `--verdict must be dropped or forwarded, got "${o.verdict}"`);
  return {
    ...(o.node !== undefined ? { node: o.node } : {}),
    ...(o.pod !== undefined ? { pod: o.pod.includes('/') ? o.pod : `default/${o.pod}` } : {}),
    ...(o.ip !== undefined ? { ip: o.ip } : {}),
    ...(o.type !== undefined ? { type: o.type.split(',').map((t) => t.trim()).filter((t) => t !== '').flatMap((t) => [t, ...(SYNONYMS[t] ?? [])]) } : {}),
    ...(o.verdict !== undefined ? { verdict: o.verdict as 'dropped' | 'forwarded' } : {}),
  };
}

/** Hop components, hop actions and event kinds any trace can have (tunnel devices and apps are checked against the run). */
const KNOWN_TYPES = new Set([
  'device', 'rx', 'tx', 'bridge', 'route', 'neigh', 'ttl', 'netfilter', 'nf', 'nat', 'conntrack', 'ct', 'socket', 'deliver',
  'icmp', 'icmp-error', 'drop', 'encap', 'decap', 'app', 'lookup', 'decrement', 'rewrite', 'state', 'error',
  'PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING',
]);

/**
 * Refuse a filter that can never match in this cluster — an unknown node or pod, a
 * --type that is no component, action or event kind — instead of printing an empty
 * trace with exit 0. `seen` holds the components, actions and kinds the run produced.
 */
export function checkFilter(f: TraceFilter, where: { nodes: Iterable<string>; pods: Iterable<string>; seen: ReadonlySet<string> }): void {
  if (f.node !== undefined) {
    const nodes = [...where.nodes];
    if (!nodes.includes(f.node)) throw new CliError('NETSIM_ERR_FILTER', `--node: unknown node "${f.node}"${suggest(f.node, nodes)} (nodes and hosts: ${nodes.join(', ')})`);
  }
  if (f.pod !== undefined) {
    const pods = [...where.pods];
    if (!pods.includes(f.pod)) throw new CliError('NETSIM_ERR_FILTER', `--pod: unknown pod "${f.pod}"${suggest(f.pod, pods)}`);
  }
  for (const t of f.type ?? []) {
    if (!KNOWN_TYPES.has(t) && !where.seen.has(t)) throw new CliError('NETSIM_ERR_FILTER', `--type: unknown kind "${t}"${suggest(t, [...KNOWN_TYPES])} (kinds: ${[...KNOWN_TYPES].filter((k) => k === k.toLowerCase()).join(', ')}, a hook name or a tunnel device)`);
  }
}

function suggest(name: string, all: readonly string[]): string {
  const close = closeMatches(name, all);
  return close.length > 0 ? `; did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : '';
}

export function isEmptyFilter(f: TraceFilter): boolean {
  return Object.keys(f).length === 0;
}

function hopMatches(h: Hop, f: TraceFilter): boolean {
  if (f.node !== undefined && h.node !== f.node) return false;
  if (f.pod !== undefined && h.netns !== f.pod) return false;
  if (f.ip !== undefined && h.packet?.src !== f.ip && h.packet?.dst !== f.ip) return false;
  if (f.type !== undefined && !f.type.includes(h.component) && !f.type.includes(h.action)) return false;
  const drop = h.action === 'drop' || h.component === 'drop';
  if (f.verdict === 'dropped' && !drop) return false;
  if (f.verdict === 'forwarded' && drop) return false;
  return true;
}

function filterLeg<T extends TraceLeg>(l: T, f: TraceFilter): T {
  return { ...l, hops: l.hops.filter((h) => hopMatches(h, f)) };
}

export function filterReport(r: TraceReport, f: TraceFilter): TraceReport {
  const out = filterLeg(r, f);
  return r.reply !== undefined ? { ...out, reply: filterLeg(r.reply, f) } : out;
}

export function filterEvents(events: readonly TraceEvent[], f: TraceFilter): TraceEvent[] {
  const ipRe = f.ip !== undefined ? new RegExp(`(^|[^0-9.])${f.ip.replace(/\./g, '\\.')}([^0-9]|\\.\\d+\\b|$)`) : undefined;
  return events.filter((e) => {
    if (f.node !== undefined && e.node !== f.node) return false;
    if (f.pod !== undefined && e.netns !== f.pod) return false;
    if (f.type !== undefined && !f.type.includes(e.kind)) return false;
    if (f.verdict === 'dropped' && e.kind !== 'drop') return false;
    if (f.verdict === 'forwarded' && e.kind === 'drop') return false;
    if (ipRe !== undefined && !ipRe.test(JSON.stringify(e, (k, v: unknown) => (k === 'data' ? undefined : v)))) return false;
    return true;
  });
}

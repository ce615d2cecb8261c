/**
 * Flow filters, the same for the server (query parameters) and the CLI (options):
 * `hubble observe`'s vocabulary. An unknown field or a bad value is a client error
 * with a stable code, never an empty result that looks like silence.
 */
import type { Flow, FlowEndpoint, FlowVerdict } from './flow.ts';

export interface FlowFilter {
  readonly fromPod?: string;
  readonly toPod?: string;
  readonly pod?: string;
  readonly toService?: string;
  readonly node?: string;
  readonly verdict?: FlowVerdict;
  readonly protocol?: string;
  readonly port?: number;
  readonly labels?: ReadonlyArray<readonly [string, string]>;
  /** Epoch milliseconds: only flows at or after this wall-clock time. */
  readonly sinceMs?: number;
}

export interface FlowQuery {
  readonly filter: FlowFilter;
  readonly follow: boolean;
  /** How many of the ring's most recent matching flows to send first (default 20 without follow, 0 with). */
  readonly last?: number;
  readonly hops: boolean;
}

export class FlowQueryError extends Error {
  constructor(readonly code: 'NETSIM_ERR_FLOW_FILTER', readonly field: string, message: string) {
    super(message);
  }
}

const VERDICTS: readonly FlowVerdict[] = ['FORWARDED', 'DROPPED', 'REJECTED'];
const PROTOCOLS = ['TCP', 'UDP', 'ICMP'];
export const FLOW_QUERY_FIELDS = ['from-pod', 'to-pod', 'pod', 'to-service', 'node', 'verdict', 'protocol', 'port', 'label', 'since', 'last', 'follow', 'hops'] as const;

function bad(field: string, message: string): never {
  throw new FlowQueryError('NETSIM_ERR_FLOW_FILTER', field, `${field}: ${message}`);
}

function nsName(field: string, v: string): string {
  // A bare name means the default namespace, as `hubble observe --pod NAME` does.
  const key = v.includes('/') ? v : `default/${v}`;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(key)) bad(field, `expected NAMESPACE/NAME, got "${v}"`);
  return key;
}

/** `30s`, `5m`, `2h` before now, or an RFC 3339 time. */
export function parseSince(v: string, nowMs: number): number {
  const d = /^(\d+)(ms|s|m|h)$/.exec(v);
  if (d !== null) return nowMs - Number(d[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[d[2] as 'ms' | 's' | 'm' | 'h'];
  const t = /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) bad('since', `expected a duration (30s, 5m, 2h) or an RFC 3339 time, got "${v}"`);
  return t;
}

function boolOf(field: string, v: string): boolean {
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return bad(field, `expected true or false, got "${v}"`);
}

/** Parse query parameters (each value a string, `label` possibly repeated). */
export function parseFlowQuery(params: ReadonlyArray<readonly [string, string]>, nowMs: number): FlowQuery {
  const f: { -readonly [K in keyof FlowFilter]: FlowFilter[K] } = {};
  const labels: Array<readonly [string, string]> = [];
  let follow = false;
  let hops = false;
  let last: number | undefined;
  for (const [k, v] of params) {
    switch (k) {
      case 'from-pod': f.fromPod = nsName(k, v); break;
      case 'to-pod': f.toPod = nsName(k, v); break;
      case 'pod': f.pod = nsName(k, v); break;
      case 'to-service': f.toService = nsName(k, v); break;
      case 'node': if (v === '') bad(k, 'empty node name'); f.node = v; break;
      case 'verdict': {
        const u = v.toUpperCase() as FlowVerdict;
        if (!VERDICTS.includes(u)) bad(k, `expected one of ${VERDICTS.join(', ')}, got "${v}"`);
        f.verdict = u;
        break;
      }
      case 'protocol': {
        const u = v.toUpperCase();
        if (!PROTOCOLS.includes(u)) bad(k, `expected one of ${PROTOCOLS.join(', ')}, got "${v}"`);
        f.protocol = u;
        break;
      }
      case 'port': {
        if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) bad(k, `expected a port 1-65535, got "${v}"`);
        f.port = Number(v);
        break;
      }
      case 'label': {
        const m = /^([A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?)=([-A-Za-z0-9_.]*)$/.exec(v);
        if (m === null) bad(k, `expected KEY=VALUE, got "${v}"`);
        labels.push([m[1] as string, m[3] as string]);
        break;
      }
      case 'since': f.sinceMs = parseSince(v, nowMs); break;
      case 'last': {
        if (!/^\d{1,9}$/.test(v)) bad(k, `expected a count, got "${v}"`);
        last = Number(v);
        break;
      }
      case 'follow': follow = boolOf(k, v); break;
      case 'hops': hops = boolOf(k, v); break;
      default: bad(k, `unknown flow filter field (known: ${FLOW_QUERY_FIELDS.join(', ')})`);
    }
  }
  if (labels.length > 0) f.labels = labels;
  return { filter: f, follow, hops, ...(last !== undefined ? { last } : {}) };
}

const keyOf = (e: FlowEndpoint): string | undefined => (e.kind === 'pod' ? `${e.namespace}/${e.name}` : undefined);

function hasLabels(e: FlowEndpoint, labels: ReadonlyArray<readonly [string, string]>): boolean {
  return e.labels !== undefined && labels.every(([k, v]) => e.labels?.[k] === v);
}

export function flowMatches(f: FlowFilter, flow: Flow): boolean {
  if (f.fromPod !== undefined && keyOf(flow.source) !== f.fromPod) return false;
  if (f.toPod !== undefined && keyOf(flow.destination) !== f.toPod) return false;
  if (f.pod !== undefined && keyOf(flow.source) !== f.pod && keyOf(flow.destination) !== f.pod) return false;
  if (f.toService !== undefined && flow.service !== f.toService) return false;
  if (f.node !== undefined && flow.node !== f.node) return false;
  if (f.verdict !== undefined && flow.verdict !== f.verdict) return false;
  if (f.protocol !== undefined && flow.protocol !== f.protocol) return false;
  if (f.port !== undefined && flow.source.port !== f.port && flow.destination.port !== f.port && flow.originalDestination?.port !== f.port) return false;
  if (f.labels !== undefined && !hasLabels(flow.source, f.labels) && !hasLabels(flow.destination, f.labels)) return false;
  if (f.sinceMs !== undefined && (flow.time === undefined || Date.parse(flow.time) < f.sinceMs)) return false;
  return true;
}

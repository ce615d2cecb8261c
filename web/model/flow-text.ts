/** Flows as the table's cells say them, in `hubble observe`'s words. */
import type { Flow, FlowEndpoint } from '../../observe/flow.ts';

export function endpointText(e: FlowEndpoint): string {
  const port = e.port !== undefined ? `:${e.port}` : '';
  if (e.kind === 'pod' && e.name !== undefined) return `${e.namespace ?? 'default'}/${e.name}${port}`;
  if ((e.kind === 'node' || e.kind === 'external') && e.name !== undefined) return `${e.name} (${e.ip})${port}`;
  if (e.kind === 'service' && e.name !== undefined) return `${e.namespace ?? 'default'}/${e.name}${port}`;
  return `${e.ip}${port}`;
}

export function protocolText(f: Flow): string {
  if (f.tcpFlags !== undefined && f.tcpFlags.length > 0) return `${f.protocol} ${f.tcpFlags.join(', ')}`;
  if (f.icmp !== undefined) return `${f.protocol} ${f.icmp}`;
  return f.protocol;
}

export function timeText(f: Flow): string {
  return f.time !== undefined ? f.time.slice(11, 23) : `${(f.t / 1e9).toFixed(3)} s`;
}

/** The flow's query filter fields (`netsim observe`'s options) the page offers. */
export const FILTER_FIELDS = ['from-pod', 'to-pod', 'pod', 'to-service', 'node', 'verdict', 'protocol', 'port', 'label'] as const;

/**
 * `netsim trace --from X --to Y [--proto icmp|udp|tcp] [--port N] [-o text|json|events]`.
 */
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import type { TraceProto } from '../../cluster/trace-runner.ts';
import { renderTraceReportText } from '../render/trace-report-text.ts';
import { stdoutStyle } from '../render/hop-lines.ts';
import { renderTraceEvents } from '../render/trace-text.ts';
import { checkFilter, filterEvents, filterReport } from '../trace-filter.ts';
import { dnsTraceJson, renderDnsTraceText } from '../render/dns-trace-text.ts';
import type { TraceFilter } from '../trace-filter.ts';

export interface TraceCliOptions {
  from: string;
  to: string;
  proto?: TraceProto;
  port?: number;
  output: 'text' | 'json' | 'events';
  filter?: TraceFilter;
}

export function traceCommand(cluster: EmulatedCluster, o: TraceCliOptions, print: (s: string) => void): number {
  const from = resolveEndpoint(o.from, cluster);
  const to = resolveEndpoint(o.to, cluster);
  const run = runTrace(cluster, from, to, { ...(o.proto !== undefined ? { proto: o.proto } : {}), ...(o.port !== undefined ? { port: o.port } : {}) });
  if (o.filter !== undefined) {
    const hops = [...run.report.hops, ...(run.report.reply?.hops ?? [])];
    const seen = new Set([...hops.flatMap((h) => [h.component, h.action]), ...run.events.map((e) => e.kind)]);
    checkFilter(o.filter, { nodes: [...cluster.nodes.keys(), ...cluster.external.keys()], pods: cluster.pods.keys(), seen });
  }
  const report = o.filter !== undefined ? filterReport(run.report, o.filter) : run.report;
  if (o.output === 'json') {
    print(JSON.stringify({ from: from.label, to: to.label, proto: run.proto, ...(run.port !== undefined ? { port: run.port } : {}), ...(run.dns !== undefined ? { dns: dnsTraceJson(run.dns) } : {}), ...report }, null, 2) + '\n');
  } else if (o.output === 'events') {
    print(renderTraceEvents(o.filter !== undefined ? filterEvents(run.events, o.filter) : run.events));
  } else {
    const title = `trace ${from.label} → ${to.label} ${run.proto}${run.port !== undefined ? `/${run.port}` : ''}`;
    if (run.dns !== undefined) print(renderDnsTraceText(run.dns));
    // An explicit --proto icmp to a Service: say why nobody answers rather than leave "no-route at router" unexplained.
    const note = to.kind === 'service' && run.proto === 'icmp' ? 'a ClusterIP answers only its Service ports: kube-proxy\'s rules match tcp/udp to those ports, and no interface holds the address, so an ICMP echo is routed like any other packet (use --proto tcp or udp)' : undefined;
    print(renderTraceReportText(title, report, stdoutStyle(), note));
  }
  return run.report.verdict === 'delivered' ? 0 : 1;
}

/**
 * `netsim trace --from X --to Y [--proto icmp|udp|tcp] [--port N] [-o text|json|events]`:
 * in a fresh cluster, or in a running `netsim up` with --server (the probe crosses the
 * live datapath; cli/up/live-routes.ts runs it and answers the `-o json` report).
 */
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import type { TraceOptions, TraceProto, TraceRun } from '../../cluster/trace-runner.ts';
import { renderTraceReportText } from '../render/trace-report-text.ts';
import { stdoutStyle } from '../render/hop-lines.ts';
import { renderTraceEvents } from '../render/trace-text.ts';
import { checkFilter, filterEvents, filterReport } from '../trace-filter.ts';
import { dnsTraceJson, renderDnsTraceText } from '../render/dns-trace-text.ts';
import type { TraceFilter } from '../trace-filter.ts';
import type { TraceReport } from '../../netsim/trace/report.ts';
import type { TraceAnswer } from '../../observe/trace-report.ts';
import { CliError } from '../cli-error.ts';
import { remoteFailure, remoteJson, remoteRequest } from '../remote.ts';
import type { KubeconfigEntry } from '../up/kubeconfig.ts';

/** Where a running `netsim up` runs a trace (cli/up/live-routes.ts). */
export const TRACE_PATH = '/netsim/v1/trace';

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
  return printTrace(cluster, runTrace(cluster, from, to, traceOptions(o)), o, print);
}

/** The probe's options from the command's. */
export function traceOptions(o: Pick<TraceCliOptions, 'proto' | 'port'>): TraceOptions {
  return { ...(o.proto !== undefined ? { proto: o.proto } : {}), ...(o.port !== undefined ? { port: o.port } : {}) };
}

/** Print a finished run as `o.output` asks (filters checked against the cluster); the exit code. */
export function printTrace(cluster: EmulatedCluster, run: TraceRun, o: TraceCliOptions, print: (s: string) => void): number {
  const { from, to } = run;
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

/** What `-o json` prints: the endpoints, protocol and port, then the report. */
type TraceJson = TraceReport & TraceAnswer & { dns?: unknown };

/**
 * The trace in a running cluster. Filters travel as the option strings and are checked
 * there (the server knows the nodes and pods). `-o events` needs every raw event, which
 * the server does not send.
 */
export async function traceRemoteCommand(remote: KubeconfigEntry, o: Omit<TraceCliOptions, 'filter'> & { filter?: Record<string, string> }, print: (s: string) => void): Promise<number> {
  if (o.output === 'events') throw new CliError('NETSIM_ERR_USAGE', '-o events works on a fresh cluster only; with --server use -o text or -o json');
  const body = JSON.stringify({ from: o.from, to: o.to, ...(o.proto !== undefined ? { proto: o.proto } : {}), ...(o.port !== undefined ? { port: o.port } : {}), ...(o.filter !== undefined && Object.keys(o.filter).length > 0 ? { filter: o.filter } : {}) });
  const res = await remoteRequest(remote, 'POST', TRACE_PATH, { 'content-type': 'application/json', accept: 'application/json' }, body);
  if (res.status !== 200) throw remoteFailure(remote, res);
  const j = remoteJson<TraceJson>(remote, res);
  if (o.output === 'json') print(res.body);
  else {
    const { from, to, proto, port, dns: _dns, ...report } = j;
    print(renderTraceReportText(`trace ${from} → ${to} ${proto}${port !== undefined ? `/${port}` : ''}`, report, stdoutStyle()));
  }
  return j.verdict === 'delivered' ? 0 : 1;
}

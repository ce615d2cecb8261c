/**
 * Run one traced exchange between two endpoints of an emulated cluster and build
 * its hop-by-hop report: an ICMP echo, a UDP datagram (answered by an echo or an
 * ICMP error), or a TCP SYN (answered by SYN-ACK or RST) — the first packet and
 * its reply, with every decision the emulated kernels made on the way.
 */
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { buildTraceReport } from '../netsim/trace/report.ts';
import type { TraceReport } from '../netsim/trace/report.ts';
import type { EmulatedCluster } from './emulated-cluster.ts';
import type { ResolvedEndpoint } from './endpoint.ts';
import { EndpointError } from './endpoint.ts';
import { ping } from '../netsim/apps/ping.ts';
import { udpRequest } from '../netsim/apps/echo.ts';
import { SECOND } from '../netsim/time/scheduler.ts';

export type TraceProto = 'icmp' | 'udp' | 'tcp';

export interface TraceOptions {
  readonly proto: TraceProto;
  readonly port?: number;
  /** How long to let the exchange run (virtual ns); default 3 s (covers ARP retries). */
  readonly windowNs?: number;
}

export interface TraceRun {
  readonly from: ResolvedEndpoint;
  readonly to: ResolvedEndpoint;
  readonly proto: TraceProto;
  readonly port: number | undefined;
  readonly request: number;
  readonly reply: number | undefined;
  readonly events: TraceEvent[];
  readonly report: TraceReport;
}

export function runTrace(cluster: EmulatedCluster, from: ResolvedEndpoint, to: ResolvedEndpoint, opts: TraceOptions): TraceRun {
  const src = from.ns;
  if (src === undefined) throw new EndpointError('NETSIM_ERR_ENDPOINT_SYNTAX', `${from.label} cannot send; the source must be a pod, node or external host`);
  const proto = opts.proto;
  const port = opts.port ?? to.port ?? (proto === 'icmp' ? undefined : 80);
  const sim = cluster.sim;
  cluster.startApps();
  sim.clock.run(sim.clock.now());
  const events: TraceEvent[] = [];
  const stop = sim.tracer.subscribe((e) => events.push(e), { bytes: true });
  let request = 0;
  let replyOf: () => number | undefined;
  if (proto === 'icmp') {
    const p = ping(src, to.ip);
    request = p.sent[0]?.pkt ?? 0;
    replyOf = () => p.replies[0]?.pkt;
  } else if (proto === 'udp') {
    const u = udpRequest(src, to.ip, port as number, new TextEncoder().encode('netsim trace\n'));
    request = u.sentPkt;
    replyOf = () => u.reply?.pkt;
  } else {
    const c = src.tcp.connect(to.ip, port as number);
    request = c.sentPackets[0] ?? 0;
    // The reply is the first segment the other side sent back on this connection.
    replyOf = () => firstReplyTo(events, request);
    c.onConnect = () => c.abort();
  }
  sim.clock.runFor(opts.windowNs ?? 3 * SECOND);
  stop();
  const reply = replyOf();
  return { from, to, proto, port, request, reply, events, report: buildTraceReport(events, request, reply) };
}

/** The id of the first packet delivered to the request's sender after the request left. */
function firstReplyTo(events: readonly TraceEvent[], request: number): number | undefined {
  const first = events.find((e) => e.pkt === request && e.kind === 'tx');
  if (first === undefined) return undefined;
  for (const e of events) {
    if (e.kind === 'deliver' && e.pkt !== request && e.netns === first.netns && e.t >= first.t) return e.pkt;
  }
  return undefined;
}

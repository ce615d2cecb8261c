/**
 * Run one traced exchange between two endpoints of an emulated cluster and build
 * its hop-by-hop report: an ICMP echo, a UDP datagram (answered by an echo or an
 * ICMP error), or a TCP SYN (answered by SYN-ACK or RST) — the first packet and
 * its reply, with every decision the emulated kernels made on the way. A `name:`
 * destination is first resolved by the source's stub resolver from its own
 * resolv.conf, and every DNS query of that lookup is traced too (the search-path
 * walk, kube-proxy's DNAT to a CoreDNS pod, the answer); a name that does not
 * resolve ends the trace with the resolver's error.
 */
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { buildTraceReport } from '../netsim/trace/report.ts';
import type { TraceReport } from '../netsim/trace/report.ts';
import type { EmulatedCluster } from './emulated-cluster.ts';
import type { ResolvedEndpoint } from './endpoint.ts';
import { EndpointError, resolverFor } from './endpoint.ts';
import { ping } from '../netsim/apps/ping.ts';
import { udpRequest } from '../netsim/apps/echo.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import { formatIpv4, parseIpv4 } from '../netsim/wire/addr.ts';
import { lookup } from '../apps/dns/stub-resolver.ts';
import { UPLINK } from '../netsim/link/remote-port.ts';
import type { LookupResult, QueryLog } from '../apps/dns/stub-resolver.ts';
import type { ResolvConf } from '../apps/dns/resolv-conf.ts';

export type TraceProto = 'icmp' | 'udp' | 'tcp';

export interface TraceOptions {
  /** Default: a Service target's port protocol (ICMP to a ClusterIP is answered by nobody), else icmp. */
  readonly proto?: TraceProto;
  readonly port?: number;
  /** How long to let the exchange run (virtual ns); default {@link TRACE_WINDOW_NS}. */
  readonly windowNs?: number;
  /**
   * TCP only. 'syn' (default): the handshake's first segment and its answer, then an
   * abort (RST). 'request': a request on the connection (an HTTP GET; echoed by an echo
   * server), its response, and a graceful close (FIN both ways) — a real exchange.
   */
  readonly tcp?: 'syn' | 'request';
}

/**
 * What the kernel still sends after the request: a host-unreachable comes back once
 * ARP gave up — mcast_solicit 3 probes × retrans_time 1 s (net.ipv4.neigh.default,
 * neigh_timer_handler → NUD_FAILED) — so the window is 3 s plus room for the error's
 * walk back.
 */
export const TRACE_WINDOW_NS = 4 * SECOND;

/** The protocol a trace uses when none is given: a Service port's own, else ICMP echo. */
export function defaultProto(to: ResolvedEndpoint): TraceProto {
  return to.kind === 'service' && to.protocol !== undefined ? (to.protocol === 'UDP' ? 'udp' : 'tcp') : 'icmp';
}

/** One DNS query of a traced lookup, with its packets' hops. */
export interface TracedQuery extends QueryLog {
  readonly report: TraceReport;
}

export interface TraceDns {
  readonly name: string;
  readonly resolvConf: ResolvConf;
  readonly result: LookupResult;
  readonly queries: readonly TracedQuery[];
}

export interface TraceRun {
  /** For `name:` destinations: the lookup before the exchange. */
  readonly dns?: TraceDns;
  readonly from: ResolvedEndpoint;
  readonly to: ResolvedEndpoint;
  readonly proto: TraceProto;
  readonly port: number | undefined;
  readonly request: number;
  readonly reply: number | undefined;
  readonly events: TraceEvent[];
  readonly report: TraceReport;
}

/** Longest a lookup may take: glibc's worst case with 3 servers, 5 attempts and 30 s timeouts is far less. */
const LOOKUP_LIMIT_NS = 600 * SECOND;

/** A probe under way: the caller lets virtual time pass, then asks for the run. */
export interface StartedTrace {
  /** The probe's packet id (0 when a name did not resolve and nothing was sent). */
  readonly request: number;
  /** The window the exchange gets (virtual ns). */
  readonly windowNs: number;
  /** Whether the answer (or the error that stands for it) has been seen. */
  answered(): boolean;
  /** Stop recording and build the run from what was seen. */
  finish(): TraceRun;
}

/** Start the probe, run its window on the virtual clock at once, and report. */
export function runTrace(cluster: EmulatedCluster, from: ResolvedEndpoint, toIn: ResolvedEndpoint, opts: TraceOptions): TraceRun {
  const t = startTrace(cluster, from, toIn, opts);
  cluster.sim.clock.runFor(t.windowNs);
  return t.finish();
}

/**
 * Send the probe and record what follows, leaving time to the caller: {@link runTrace}
 * runs the window at once; a live cluster (`netsim up`) lets its driver move virtual
 * time with the wall clock, so frames that cross to another partition over real UDP
 * come back within the window (cli/up/live-trace.ts). A `name:` lookup still runs the
 * clock itself, before the probe.
 */
export function startTrace(cluster: EmulatedCluster, from: ResolvedEndpoint, toIn: ResolvedEndpoint, opts: TraceOptions): StartedTrace {
  const src = from.ns;
  if (src === undefined) throw new EndpointError('NETSIM_ERR_ENDPOINT_SYNTAX', `${from.label} cannot send; the source must be a pod, node or external host`);
  const proto = opts.proto ?? defaultProto(toIn);
  const port = opts.port ?? toIn.port ?? (proto === 'icmp' ? undefined : 80);
  const sim = cluster.sim;
  cluster.startApps();
  sim.clock.run(sim.clock.now());
  const events: TraceEvent[] = [];
  const stop = sim.tracer.subscribe((e) => events.push(e), { bytes: true });
  let to = toIn;
  let dns: TraceDns | undefined;
  if (toIn.kind === 'name' && toIn.name !== undefined) {
    const cfg = resolverFor(cluster, from);
    let result: LookupResult | undefined;
    lookup(src, toIn.name, cfg, (r) => { result = r; });
    const deadline = sim.clock.now() + LOOKUP_LIMIT_NS;
    while (result === undefined && sim.clock.now() < deadline && sim.clock.pending() > 0) sim.clock.run(Math.min(deadline, sim.clock.now() + SECOND));
    const res: LookupResult = result ?? { name: toIn.name, ok: false, error: { code: 'EAI_AGAIN', message: 'Temporary failure in name resolution' }, canonical: '', addresses: [], source: 'dns', queries: [], startedAt: sim.clock.now(), doneAt: sim.clock.now() };
    dns = { name: toIn.name, resolvConf: cfg.resolvConf, result: res, queries: res.queries.map((q) => ({ ...q, report: buildTraceReport(events, q.pkt, q.replyPkt) })) };
    const addr = res.addresses[0];
    if (!res.ok || addr === undefined) {
      stop();
      const detail = `getaddrinfo("${toIn.name}"): ${res.error?.message ?? 'no address'}`;
      const report: TraceReport = { verdict: 'dropped', hops: [], drop: { reason: 'dns', node: src.node, netns: src.name, detail } };
      const run: TraceRun = { dns, from, to, proto, port, request: 0, reply: undefined, events, report };
      return { request: 0, windowNs: 0, answered: () => true, finish: () => run };
    }
    to = { ...toIn, ip: parseIpv4(addr) };
  }
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
    request = c.firstPacket;
    // The reply is the first segment the other side sent back on this connection.
    replyOf = () => firstReplyTo(events, request);
    if (opts.tcp === 'request') {
      c.onConnect = () => c.send(`GET / HTTP/1.1\r\nHost: ${formatIpv4(to.ip)}\r\nUser-Agent: netsim\r\nConnection: close\r\n\r\n`);
      // Close when the server has said all it will (its FIN), as curl does after `Connection: close`.
      c.onEnd = () => c.end();
    } else c.onConnect = () => c.abort();
  }
  // No answer from the peer: an ICMP error about the request (port or host unreachable, time exceeded) is its reply.
  const answer = (): number | undefined => replyOf() ?? firstReplyTo(events, request);
  return {
    request,
    windowNs: opts.windowNs ?? TRACE_WINDOW_NS,
    answered: () => answer() !== undefined,
    finish: () => {
      stop();
      const reply = answer();
      nameUplinkSenders(events);
      return { ...(dns !== undefined ? { dns } : {}), from, to, proto, port, request, reply, events, report: buildTraceReport(events, request, reply) };
    },
  };
}

/**
 * A frame that leaves for another partition is delivered to the segment's uplink
 * (netsim/link/remote-port.ts), which belongs to no node: the hop is named for the node
 * that last handled that packet here, the one whose eth0 sent it.
 */
export function nameUplinkSenders(events: TraceEvent[]): void {
  const lastNode = new Map<number, string>();
  events.forEach((e, i) => {
    if (e.kind === 'deliver' && e.to === UPLINK && e.node === '') {
      const node = lastNode.get(e.pkt);
      if (node !== undefined) events[i] = { ...e, node };
    } else if (e.node !== '') lastNode.set(e.pkt, e.node);
  });
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

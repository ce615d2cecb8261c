/**
 * A trace in a running `netsim up`: the probe starts at the current virtual time and the
 * driver keeps moving virtual time with the wall clock while this waits, so a frame that
 * crosses to another partition over real UDP (cluster/underlay-link.ts) and its answer
 * coming back are part of the exchange. Running the window on the virtual clock at once
 * (cluster/trace-runner.ts runTrace) would be over before the first datagram arrived:
 * the peer's ARP reply, for one, would never be seen.
 *
 * The wait ends once the answer is seen and a short settling time has passed (the TCP
 * probe's RST, an ICMP error's walk back), or after the window in wall-clock time.
 *
 * Across partitions, the probe's frames leave with a random trace id; each peer that
 * received one recorded that packet's hops and its answer's (cluster/trace-halves.ts),
 * and answers them at `GET /netsim/v1/trace-half?id=N`. The report is stitched: this
 * side's request hops up to the uplink, then the peer's request hops; the peer's reply
 * hops, then this side's. A peer whose half cannot be fetched leaves a note instead.
 */
import { randomInt } from 'node:crypto';
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { startTrace } from '../../cluster/trace-runner.ts';
import type { TraceRun } from '../../cluster/trace-runner.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import { UPLINK } from '../../netsim/link/remote-port.ts';
import type { RemotePort } from '../../netsim/link/remote-port.ts';
import type { TraceReport } from '../../netsim/trace/report.ts';
import { printTrace, traceOptions } from '../commands/trace.ts';
import type { TraceCliOptions } from '../commands/trace.ts';

/** Where a partition answers the far half of a trace (cluster/trace-halves.ts). */
export const TRACE_HALF_PATH = '/netsim/v1/trace-half';

/** Wall-clock ms the exchange runs on after its answer. */
const SETTLE_MS = 250;
const POLL_MS = 20;

/** A partition's way to the others: its uplink port, and the peers' halves of a trace. */
export interface Crossing {
  readonly port: RemotePort;
  /** Every peer's half of trace `traceId` (a peer that saw none of it answers nothing). */
  halves(traceId: number): Promise<Array<{ partition: number; report?: TraceReport; error?: string }>>;
}

/** Run the trace in the live datapath; resolves to the exit code, output through `print`. */
export async function liveTraceCommand(cluster: EmulatedCluster, o: TraceCliOptions, print: (s: string) => void, crossing?: Crossing): Promise<number> {
  const from = resolveEndpoint(o.from, cluster);
  const to = resolveEndpoint(o.to, cluster);
  const t = startTrace(cluster, from, to, traceOptions(o));
  const traceId = randomInt(0, 2 ** 32);
  crossing?.port.trace(t.request, traceId);
  const started = Date.now();
  let answeredAt: number | undefined;
  while (Date.now() - started < t.windowNs / MS) {
    if (answeredAt === undefined && t.answered()) answeredAt = Date.now();
    if (answeredAt !== undefined && Date.now() - answeredAt >= SETTLE_MS) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  crossing?.port.untrace(t.request);
  let run = t.finish();
  const crossed = run.events.some((e) => e.kind === 'deliver' && e.pkt === run.request && e.to === UPLINK);
  if (crossing !== undefined && crossed) run = stitch(run, await crossing.halves(traceId));
  return printTrace(cluster, run, o, print);
}

/** This side's run with the peers' halves between its request and its reply. */
function stitch(run: TraceRun, halves: Awaited<ReturnType<Crossing['halves']>>): TraceRun {
  const far = halves.find((h) => h.report !== undefined)?.report;
  const local = run.report;
  if (far === undefined) {
    const why = halves.map((h) => `partition ${h.partition}: ${h.error ?? 'saw none of it'}`).join('; ');
    return { ...run, report: { ...local, hops: [...local.hops, { t: local.hops.at(-1)?.t ?? 0, node: '', netns: UPLINK, component: 'partition', action: 'unknown', detail: `the other half is missing (${why})` }] } };
  }
  const reply = local.reply !== undefined ? { ...local.reply, hops: [...(far.reply?.hops ?? []), ...local.reply.hops] } : far.reply;
  // Without an answer here, how the request ended is the far side's to say.
  const end = local.reply === undefined ? { verdict: far.verdict, ...(far.drop !== undefined ? { drop: far.drop } : {}) } : {};
  const { drop: _localDrop, ...rest } = local;
  const report: TraceReport = { ...(local.reply === undefined ? rest : local), ...end, hops: [...local.hops, ...far.hops], ...(reply !== undefined ? { reply } : {}) };
  return { ...run, report };
}

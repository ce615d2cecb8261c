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
 */
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { startTrace } from '../../cluster/trace-runner.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import { printTrace, traceOptions } from '../commands/trace.ts';
import type { TraceCliOptions } from '../commands/trace.ts';

/** Wall-clock ms the exchange runs on after its answer. */
const SETTLE_MS = 250;
const POLL_MS = 20;

/** Run the trace in the live datapath; resolves to the exit code, output through `print`. */
export async function liveTraceCommand(cluster: EmulatedCluster, o: TraceCliOptions, print: (s: string) => void): Promise<number> {
  const from = resolveEndpoint(o.from, cluster);
  const to = resolveEndpoint(o.to, cluster);
  const t = startTrace(cluster, from, to, traceOptions(o));
  const started = Date.now();
  let answeredAt: number | undefined;
  while (Date.now() - started < t.windowNs / MS) {
    if (answeredAt === undefined && t.answered()) answeredAt = Date.now();
    if (answeredAt !== undefined && Date.now() - answeredAt >= SETTLE_MS) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return printTrace(cluster, t.finish(), o, print);
}

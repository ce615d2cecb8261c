/**
 * One reachability probe per cell, sent for real through the emulated datapath from
 * the source pod's network namespace to the destination pod's address — what the
 * upstream suite's agnhost `connect` does from inside the client pod (probe.go):
 *
 * - TCP: a connect; reachable when the handshake completes within the timeout (the
 *   connection is then reset, as a connect-only client leaves it). A RST, an ICMP error
 *   (a REJECT) or silence (a DROP) is unreachable.
 * - UDP: one datagram to the pod's echo app; reachable when the echo comes back within
 *   the timeout.
 * - SCTP: the emulated stack has no SCTP sockets, so SCTP cells are not measured
 *   (undefined: `?` in the table, `null` in JSON) — never guessed.
 *
 * Source ports: each probe takes the next port of the ephemeral range (a counter per
 * cluster), so a probe never meets the conntrack entry an earlier matrix's probe left
 * for the same addresses and port — an ESTABLISHED entry that a stateful enforcer would
 * still let through after the policies changed (the range is walked in ~28 000 probes,
 * minutes of virtual time, beyond UDP's and TIME_WAIT's lifetimes).
 *
 * Every probe of a batch starts at the same virtual instant and the clock then runs for
 * the timeout, synchronously (like a trace), so the batch takes the same wall time
 * whatever the cluster's load and the same seed gives the same answers.
 */
import type { EmulatedCluster } from '../emulated-cluster.ts';
import type { Protocol } from '../../control/api/index.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';

/** How long a probe may take (virtual): upstream's default probe timeout is 1 s; one more covers ARP and a cross-node round trip with room. */
export const PROBE_TIMEOUT_NS = 2 * SECOND;

export interface ProbeJob {
  /** `ns/name` of the source and destination pods (keys of `cluster.pods`). */
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** Protocols the emulated stack can probe. */
export function isMeasurable(protocol: Protocol): boolean {
  return protocol === 'TCP' || protocol === 'UDP';
}

const PAYLOAD = new TextEncoder().encode('netsim-policy-matrix');

/** Linux's default ip_local_port_range. */
const EPHEMERAL_LO = 32768;
const EPHEMERAL_HI = 60999;
const nextPort = new WeakMap<EmulatedCluster, number>();

function sourcePort(cluster: EmulatedCluster): number {
  const p = nextPort.get(cluster) ?? EPHEMERAL_LO;
  nextPort.set(cluster, p >= EPHEMERAL_HI ? EPHEMERAL_LO : p + 1);
  return p;
}

/** Run the probes; each answer is true (reachable), false, or undefined (not measurable). */
export function runProbes(cluster: EmulatedCluster, jobs: readonly ProbeJob[], timeoutNs = PROBE_TIMEOUT_NS): Array<boolean | undefined> {
  const pods = cluster.pods;
  const results: Array<boolean | undefined> = jobs.map(() => undefined);
  const cleanup: Array<() => void> = [];
  for (const [i, job] of jobs.entries()) {
    const src = pods.get(job.from);
    const dst = pods.get(job.to);
    if (src === undefined || dst === undefined || !isMeasurable(job.protocol)) continue;
    results[i] = false;
    if (job.protocol === 'TCP') {
      const c = src.ns.tcp.connect(dst.ip, job.port, { sport: sourcePort(cluster) });
      c.onConnect = () => {
        results[i] = true;
        c.abort();
      };
      c.onClose = () => undefined;
      cleanup.push(() => {
        c.onConnect = undefined;
        c.abort();
      });
    } else {
      const s = src.ns.udp.bind(sourcePort(cluster));
      s.onMessage = (m) => {
        if (m.src === dst.ip && m.sport === job.port) results[i] = true;
      };
      s.send(dst.ip, job.port, PAYLOAD);
      cleanup.push(() => s.close());
    }
  }
  cluster.sim.clock.runFor(timeoutNs);
  for (const c of cleanup) c();
  // Let the resets and closes leave, so the next batch starts from a quiet datapath.
  cluster.sim.clock.runFor(timeoutNs / 20);
  return results;
}

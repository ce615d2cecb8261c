/**
 * `netsim capture --from X --to Y [--proto] [--port] -w FILE.pcapng`: run one traced
 * exchange and write every interface it crossed into a pcapng file.
 */
import { writeFileSync } from 'node:fs';
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import type { TraceProto } from '../../cluster/trace-runner.ts';
import { Capture } from '../../pcaps/capture.ts';

export function captureCommand(cluster: EmulatedCluster, o: { from: string; to: string; proto: TraceProto; port?: number; file: string; names?: Array<{ ip: number; name: string }> }, print: (s: string) => void): number {
  const from = resolveEndpoint(o.from, cluster);
  const to = resolveEndpoint(o.to, cluster);
  const cap = new Capture(cluster.sim.tracer);
  if (o.names !== undefined) cap.addNames(o.names);
  const run = runTrace(cluster, from, to, { proto: o.proto, ...(o.port !== undefined ? { port: o.port } : {}) });
  cap.stop();
  writeFileSync(o.file, cap.bytes());
  print(`${cap.packets} packets on ${cap.interfaceNames().length} interfaces written to ${o.file} (${run.report.verdict})\n`);
  print(`interfaces: ${cap.interfaceNames().join(', ')}\n`);
  return run.report.verdict === 'delivered' ? 0 : 1;
}

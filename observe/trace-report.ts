/**
 * The live trace's answer (`POST /netsim/v1/trace`, the JSON `netsim trace -o json`
 * prints) as types for the front ends, which do not import netsim/ themselves.
 */
export type { Hop, TraceLeg, TraceReport } from '../netsim/trace/report.ts';

/** `-o json`'s envelope: the request as resolved (the report's fields follow); cli/commands/trace.ts prints it. */
export interface TraceAnswer {
  readonly from: string;
  readonly to: string;
  readonly proto: string;
  readonly port?: number;
}

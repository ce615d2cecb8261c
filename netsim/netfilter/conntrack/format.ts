/**
 * `conntrack -L` as conntrack-tools 1.4.7 prints it (the default "plain" output):
 *
 *   udp      17 29 src=10.244.1.2 dst=10.96.0.10 sport=40000 dport=53 [UNREPLIED] src=10.244.2.3 dst=10.244.1.2 sport=53 dport=40000 mark=0 use=1
 *   tcp      6 431999 ESTABLISHED src=… dst=… sport=… dport=… src=… dst=… sport=… dport=… [ASSURED] mark=0 use=1
 *
 * The protocol name is padded to 8 columns, then the protocol number, the seconds
 * left (rounded down), the TCP state, the original tuple, [UNREPLIED] when no reply
 * was seen, the reply tuple, [ASSURED], mark and use. The summary line
 * ("conntrack v1.4.7 (conntrack-tools): N flow entries have been shown.") goes to
 * stderr on the real tool. `-o extended` prefixes `ipv4     2 `.
 */
import { SECOND } from '../../time/scheduler.ts';
import type { ConntrackEntry } from './conntrack.ts';
import { PROTO_NAMES, formatTuple } from './tuple.ts';

export const CONNTRACK_VERSION = 'conntrack v1.4.7 (conntrack-tools)';

export interface FormatOptions {
  /** `-o extended`: prefix the layer-3 protocol. */
  readonly extended?: boolean;
}

/** One entry as a `conntrack -L` line (no newline). */
export function formatEntry(e: ConntrackEntry, now: number, opts: FormatOptions = {}): string {
  const name = PROTO_NAMES[e.orig.proto] ?? 'unknown';
  const secs = Math.max(0, Math.floor((e.expires - now) / SECOND));
  let line = `${opts.extended === true ? 'ipv4     2 ' : ''}${name.padEnd(8)} ${e.orig.proto} ${secs} `;
  if (e.tcpState !== undefined) line += `${e.tcpState} `;
  line += formatTuple(e.orig);
  if (!e.seenReply) line += ' [UNREPLIED]';
  line += ` ${formatTuple(e.reply)}`;
  if (e.assured) line += ' [ASSURED]';
  return `${line} mark=${e.mark} use=1`;
}

/** The summary `conntrack -L` writes to stderr. */
export function listSummary(n: number): string {
  return `${CONNTRACK_VERSION}: ${n} flow entries have been shown.\n`;
}

/** The summary `conntrack -D` writes to stderr. */
export function deleteSummary(n: number): string {
  return `${CONNTRACK_VERSION}: ${n} flow entries have been deleted.\n`;
}

/**
 * The TCP connection-tracking state machine of nf_conntrack_proto_tcp.c, as data:
 * for each direction (original, reply) and each kind of segment (SYN, SYN+ACK,
 * FIN, ACK, RST, none of these), the state a connection moves to from each state.
 * `IV` means the segment is invalid there (the packet is marked INVALID and the
 * state is unchanged); `IG` means it is ignored (passed with no state change and no
 * timeout refresh) — the kernel uses that for segments that may or may not be
 * valid, e.g. a retransmitted SYN+ACK.
 *
 * Not modelled: window tracking (the kernel's td_end/td_maxwin checks; we behave as
 * with nf_conntrack_tcp_be_liberal=1), the retransmission and unacknowledged-data
 * timeouts (RETRANS/UNACK, 300 s), and the in-window check on RSTs.
 */
import { SECOND } from '../../time/scheduler.ts';

export const TCP_NONE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_RECV = 2;
export const TCP_ESTABLISHED = 3;
export const TCP_FIN_WAIT = 4;
export const TCP_CLOSE_WAIT = 5;
export const TCP_LAST_ACK = 6;
export const TCP_TIME_WAIT = 7;
export const TCP_CLOSE = 8;
export const TCP_SYN_SENT2 = 9;
/** Pseudo-states of the transition table. */
export const TCP_INVALID = 10;
export const TCP_IGNORE = 11;

/** Names as `conntrack -L` prints them (tcp_conntrack_names). */
export const TCP_STATE_NAMES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'] as const;
export type TcpCtState = (typeof TCP_STATE_NAMES)[number];

/**
 * Default timeouts per state in seconds (net.netfilter.nf_conntrack_tcp_timeout_*):
 * SYN_SENT 120, SYN_RECV 60, ESTABLISHED 432000 (5 days), FIN_WAIT 120,
 * CLOSE_WAIT 60, LAST_ACK 30, TIME_WAIT 120, CLOSE 10, SYN_SENT2 120.
 */
export const TCP_TIMEOUT_SECONDS: readonly number[] = [10, 120, 60, 432000, 120, 60, 30, 120, 10, 120];

/** Segment kinds, in the kernel's precedence (get_conntrack_index): RST, then SYN(+ACK), FIN, ACK. */
export const SEG_SYN = 0;
export const SEG_SYNACK = 1;
export const SEG_FIN = 2;
export const SEG_ACK = 3;
export const SEG_RST = 4;
export const SEG_NONE = 5;

/** The segment kind of a TCP flags byte. */
export function segmentKind(flags: number): number {
  if ((flags & 0x04) !== 0) return SEG_RST;
  if ((flags & 0x02) !== 0) return (flags & 0x10) !== 0 ? SEG_SYNACK : SEG_SYN;
  if ((flags & 0x01) !== 0) return SEG_FIN;
  if ((flags & 0x10) !== 0) return SEG_ACK;
  return SEG_NONE;
}

// Rows: one per segment kind; columns: from-state NO SS SR ES FW CW LA TW CL S2.
const CODES: Record<string, number> = { NO: 0, SS: 1, SR: 2, ES: 3, FW: 4, CW: 5, LA: 6, TW: 7, CL: 8, S2: 9, IV: 10, IG: 11 };
const ORIGINAL = [
  'SS SS IG IG IG IG IG SS SS S2', // SYN: open, retransmission, reopen from TIME_WAIT/CLOSE
  'IV IV SR IV IV IV IV IV IV SR', // SYN+ACK from the client: only in simultaneous open
  'IV IV FW FW LA LA LA TW CL IV', // FIN
  'ES IV ES ES CW CW TW TW CL IV', // ACK (from NONE: a connection picked up mid-stream)
  'IV CL CL CL CL CL CL CL CL CL', // RST
  'IV IV IV IV IV IV IV IV IV IV', // no flag
];
const REPLY = [
  'IV S2 IV IV IV IV IV SS IV S2',
  'IV SR IG IG IG IG IG IG IG SR',
  'IV IV FW FW LA LA LA TW CL IV',
  'IV IG SR ES CW CW TW TW CL IG',
  'IV CL CL CL CL CL CL CL CL CL',
  'IV IV IV IV IV IV IV IV IV IV',
];

function compile(rows: string[]): Uint8Array {
  const t = new Uint8Array(6 * 10);
  rows.forEach((row, seg) => row.split(' ').forEach((code, from) => {
    t[seg * 10 + from] = CODES[code] as number;
  }));
  return t;
}

const TABLE = [compile(ORIGINAL), compile(REPLY)] as const;

/** The state after a segment of kind `seg` in direction `dir` (0 original, 1 reply) from `state`. */
export function tcpNextState(dir: number, seg: number, state: number): number {
  return (TABLE[dir & 1] as Uint8Array)[seg * 10 + state] as number;
}

/** Default timeout of a state, in virtual nanoseconds. */
export function tcpTimeout(state: number): number {
  return (TCP_TIMEOUT_SECONDS[state] ?? 10) * SECOND;
}

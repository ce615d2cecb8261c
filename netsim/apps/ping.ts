/**
 * `ping` on the virtual clock: echo requests at an interval, replies and ICMP errors
 * recorded with their virtual round-trip times.
 */
import type { NetNamespace } from '../stack/net-namespace.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { SECOND } from '../time/scheduler.ts';

export interface PingReply { readonly seq: number; readonly from: Ipv4Addr; readonly ttl: number; readonly rttNs: number; readonly pkt: number }
export interface PingError { readonly seq: number; readonly from: Ipv4Addr; readonly type: number; readonly code: number; readonly mtu: number }

export interface PingSession {
  readonly ident: number;
  readonly sent: Array<{ seq: number; pkt: number; at: number }>;
  readonly replies: PingReply[];
  readonly errors: PingError[];
  close(): void;
}

export interface PingOptions {
  readonly count?: number;
  readonly intervalNs?: number;
  readonly size?: number;
  readonly ttl?: number;
  readonly dontFrag?: boolean;
  /** Called as each reply or ICMP error arrives (a program printing as it goes). */
  readonly onReply?: (r: PingReply) => void;
  readonly onError?: (e: PingError) => void;
}

export function ping(ns: NetNamespace, dst: Ipv4Addr, opts: PingOptions = {}): PingSession {
  const count = opts.count ?? 1;
  const interval = opts.intervalNs ?? SECOND;
  const clock = ns.sim.clock;
  const sent: PingSession['sent'] = [];
  const replies: PingReply[] = [];
  const errors: PingError[] = [];
  const ident = ns.icmp.openEcho({
    onReply: (r) => {
      const s = sent.find((x) => x.seq === r.seq);
      const reply = { seq: r.seq, from: r.from, ttl: r.ttl, rttNs: s === undefined ? 0 : clock.now() - s.at, pkt: r.pkt };
      replies.push(reply);
      opts.onReply?.(reply);
    },
    onError: (e) => {
      const error = { seq: e.seq, from: e.from, type: e.type, code: e.code, mtu: e.mtu };
      errors.push(error);
      opts.onError?.(error);
    },
  });
  const sendOne = (seq: number): void => {
    const r = ns.icmp.sendEcho(dst, ident, seq, {
      ...(opts.size !== undefined ? { size: opts.size } : {}), ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}), ...(opts.dontFrag !== undefined ? { dontFrag: opts.dontFrag } : {}),
    });
    sent.push({ seq, pkt: r.pkt, at: clock.now() });
    if (seq < count) clock.after(interval, () => sendOne(seq + 1));
  };
  sendOne(1);
  return { ident, sent, replies, errors, close: () => ns.icmp.closeEcho(ident) };
}

/**
 * Connection tracking (net/netfilter/nf_conntrack_*): every TCP, UDP and ICMP flow
 * has an entry with its original tuple and the tuple its replies will carry (which
 * NAT changes), a state, and a timeout on the virtual clock. Entries are created
 * unconfirmed by the first packet and confirmed when that packet leaves the last
 * hook (POSTROUTING or INPUT), as in the kernel.
 *
 * Timeouts follow the kernel defaults: UDP 30 s unreplied, 120 s once replied
 * (nf_conntrack_udp_timeout_stream); ICMP 30 s; TCP by state (SYN_SENT 120 s,
 * SYN_RECV 60 s, ESTABLISHED 432 000 s, FIN_WAIT 120 s, CLOSE_WAIT 60 s,
 * LAST_ACK 30 s, TIME_WAIT 120 s, CLOSE 10 s). Expiry is checked on lookup and
 * listing, so idle entries cost no timers.
 *
 * Not modelled: expectations and helpers (FTP, SIP), zones, TCP window tracking
 * (be_liberal behaviour), entry limits and early drop.
 */
import { formatIpv4 } from '../wire/addr.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { SECOND } from '../time/scheduler.ts';

export interface Tuple {
  readonly proto: number;
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  /** TCP/UDP source port, or the ICMP echo identifier. */
  readonly sport: number;
  /** TCP/UDP destination port, or the ICMP echo identifier (echo: same id both ways). */
  readonly dport: number;
  /** ICMP type (echo request 8 / reply 0); 0 for TCP/UDP. */
  readonly icmpType: number;
}

export type TcpCtState = 'NONE' | 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE_WAIT' | 'LAST_ACK' | 'TIME_WAIT' | 'CLOSE';

export const TCP_TIMEOUTS: Record<TcpCtState, number> = {
  NONE: 10 * SECOND, SYN_SENT: 120 * SECOND, SYN_RECV: 60 * SECOND, ESTABLISHED: 432000 * SECOND, FIN_WAIT: 120 * SECOND,
  CLOSE_WAIT: 60 * SECOND, LAST_ACK: 30 * SECOND, TIME_WAIT: 120 * SECOND, CLOSE: 10 * SECOND,
};
export const UDP_TIMEOUT = 30 * SECOND;
export const UDP_TIMEOUT_STREAM = 120 * SECOND;
export const ICMP_TIMEOUT = 30 * SECOND;

export interface ConntrackEntry {
  readonly id: number;
  readonly orig: Tuple;
  /** The tuple reply packets carry (the inverse of orig, changed by NAT). */
  reply: Tuple;
  dnat: boolean;
  snat: boolean;
  seenReply: boolean;
  assured: boolean;
  confirmed: boolean;
  tcpState: TcpCtState;
  expires: number;
  mark: number;
}

/** Direction of a packet relative to its entry. */
export const DIR_ORIGINAL = 0;
export const DIR_REPLY = 1;

export function tupleKey(t: Tuple): string {
  return `${t.proto}|${t.src}|${t.sport}|${t.dst}|${t.dport}|${t.icmpType}`;
}

export function invert(t: Tuple): Tuple {
  const icmpType = t.proto === 1 ? (t.icmpType === 8 ? 0 : t.icmpType === 0 ? 8 : t.icmpType) : 0;
  return { proto: t.proto, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport, icmpType };
}

export interface DeleteFilter {
  readonly proto?: number;
  /** Original-direction destination (e.g. a service's ClusterIP) and port. */
  readonly origDst?: Ipv4Addr;
  readonly origDport?: number;
  /** Reply-direction source (e.g. a removed endpoint's IP). */
  readonly replySrc?: Ipv4Addr;
}

export class Conntrack {
  private readonly table = new Map<string, { entry: ConntrackEntry; dir: number }>();
  private nextId = 1;

  constructor(private readonly now: () => number) {}

  /** Find the entry for a tuple (either direction); expired entries are removed. */
  lookup(t: Tuple): { entry: ConntrackEntry; dir: number } | undefined {
    const hit = this.table.get(tupleKey(t));
    if (hit === undefined) return undefined;
    if (hit.entry.expires <= this.now()) {
      this.remove(hit.entry);
      return undefined;
    }
    return hit;
  }

  /** A new, unconfirmed entry for a first packet. */
  create(orig: Tuple): ConntrackEntry {
    return {
      id: this.nextId++, orig, reply: invert(orig), dnat: false, snat: false, seenReply: false, assured: false, confirmed: false,
      tcpState: 'NONE', expires: this.now() + (orig.proto === 17 ? UDP_TIMEOUT : orig.proto === 1 ? ICMP_TIMEOUT : TCP_TIMEOUTS.SYN_SENT), mark: 0,
    };
  }

  /** Whether a reply tuple is already taken by another connection (NAT port clash). */
  replyTaken(reply: Tuple): boolean {
    return this.lookup(reply) !== undefined;
  }

  /** Insert an entry's two tuples (nf_conntrack_confirm). */
  confirm(e: ConntrackEntry): boolean {
    if (e.confirmed) return true;
    if (this.table.has(tupleKey(e.orig)) || this.table.has(tupleKey(e.reply))) return false;
    e.confirmed = true;
    this.table.set(tupleKey(e.orig), { entry: e, dir: DIR_ORIGINAL });
    this.table.set(tupleKey(e.reply), { entry: e, dir: DIR_REPLY });
    return true;
  }

  remove(e: ConntrackEntry): void {
    this.table.delete(tupleKey(e.orig));
    this.table.delete(tupleKey(e.reply));
  }

  /** Update state and timeout for a packet of a confirmed entry. */
  touch(e: ConntrackEntry, dir: number, tcpFlags: number): void {
    const now = this.now();
    if (dir === DIR_REPLY && !e.seenReply) e.seenReply = true;
    if (e.orig.proto === 17) {
      if (e.seenReply && dir === DIR_ORIGINAL) e.assured = true;
      e.expires = now + (e.seenReply ? UDP_TIMEOUT_STREAM : UDP_TIMEOUT);
    } else if (e.orig.proto === 1) {
      e.expires = now + ICMP_TIMEOUT;
    } else if (e.orig.proto === 6) {
      e.tcpState = nextTcpState(e.tcpState, dir, tcpFlags);
      if (e.tcpState === 'ESTABLISHED') e.assured = true;
      e.expires = now + TCP_TIMEOUTS[e.tcpState];
    }
  }

  /** Delete entries matching a filter (`conntrack -D -p udp --orig-dst X --dport P`); returns how many. */
  deleteByFilter(f: DeleteFilter): number {
    let n = 0;
    for (const e of this.entries()) {
      if (f.proto !== undefined && e.orig.proto !== f.proto) continue;
      if (f.origDst !== undefined && e.orig.dst !== f.origDst) continue;
      if (f.origDport !== undefined && e.orig.dport !== f.origDport) continue;
      if (f.replySrc !== undefined && e.reply.src !== f.replySrc) continue;
      this.remove(e);
      n++;
    }
    return n;
  }

  /** Live entries, each once, in creation order. */
  entries(): ConntrackEntry[] {
    const now = this.now();
    const seen = new Set<ConntrackEntry>();
    for (const { entry } of this.table.values()) {
      if (entry.expires <= now) continue;
      seen.add(entry);
    }
    return [...seen].sort((a, b) => a.id - b.id);
  }

  size(): number {
    return this.entries().length;
  }

  /** `conntrack -L` output (entries on stdout; the summary line goes to stderr on the real tool). */
  list(): string {
    const now = this.now();
    return this.entries().map((e) => formatEntry(e, now)).join('\n') + (this.size() > 0 ? '\n' : '');
  }
}

function nextTcpState(s: TcpCtState, dir: number, flags: number): TcpCtState {
  const syn = (flags & 0x02) !== 0;
  const ack = (flags & 0x10) !== 0;
  const fin = (flags & 0x01) !== 0;
  const rst = (flags & 0x04) !== 0;
  if (rst) return 'CLOSE';
  switch (s) {
    case 'NONE': return syn && !ack ? 'SYN_SENT' : 'ESTABLISHED';
    case 'SYN_SENT': return dir === DIR_REPLY && syn && ack ? 'SYN_RECV' : s;
    case 'SYN_RECV': return dir === DIR_ORIGINAL && ack && !syn ? 'ESTABLISHED' : s;
    case 'ESTABLISHED': return fin ? 'FIN_WAIT' : s;
    case 'FIN_WAIT': return fin ? 'LAST_ACK' : ack ? 'CLOSE_WAIT' : s;
    case 'CLOSE_WAIT': return fin ? 'LAST_ACK' : s;
    case 'LAST_ACK': return ack ? 'TIME_WAIT' : s;
    default: return s;
  }
}

const PROTO_NAME: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

function tupleText(t: Tuple): string {
  if (t.proto === 1) return `src=${formatIpv4(t.src)} dst=${formatIpv4(t.dst)} type=${t.icmpType} code=0 id=${t.sport}`;
  return `src=${formatIpv4(t.src)} dst=${formatIpv4(t.dst)} sport=${t.sport} dport=${t.dport}`;
}

/** One line as conntrack-tools 1.4 prints it. */
export function formatEntry(e: ConntrackEntry, now: number): string {
  const name = PROTO_NAME[e.orig.proto] ?? 'unknown';
  const secs = Math.max(0, Math.floor((e.expires - now) / SECOND));
  const parts = [`${name.padEnd(8)} ${e.orig.proto} ${secs}`];
  if (e.orig.proto === 6) parts.push(e.tcpState);
  parts.push(tupleText(e.orig));
  if (!e.seenReply) parts.push('[UNREPLIED]');
  parts.push(tupleText(e.reply));
  if (e.assured) parts.push('[ASSURED]');
  parts.push(`mark=${e.mark}`, 'use=1');
  return parts.join(' ');
}

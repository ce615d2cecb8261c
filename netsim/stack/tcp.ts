/**
 * A minimal TCP (RFC 793/9293) so pods can run small apps: the three-way handshake,
 * in-order data with acknowledgements, FIN and RST, TIME_WAIT, and retransmission
 * with an RFC 6298-style timeout (go-back-N from the first unacknowledged byte).
 * Segments are real bytes with correct checksums, so netfilter, conntrack and
 * captures see what a kernel would send.
 *
 * Not modelled: congestion control and slow start (the peer's window is the only
 * limit), SACK, timestamps and window scaling (SYNs carry only the MSS option),
 * out-of-order reassembly (out-of-order segments are dropped and re-acked), delayed
 * ACKs and Nagle, keepalive, urgent data, simultaneous open.
 */
import { DEFAULT_HEADROOM, Packet, copyBytes } from '../packet/packet.ts';
import type { NetDevice } from '../link/net-device.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { formatIpv4 } from '../wire/addr.ts';
import { Ipv4 } from '../wire/ipv4.ts';
import { TcpFlags, parseTcp, parseTcpInto, tcpFields } from '../wire/tcp.ts';
import type { TcpFields } from '../wire/tcp.ts';
import { buildIpv4TcpSegment } from '../wire/build.ts';
import { WireError } from '../wire/errors.ts';
import { MS, SECOND, Timer } from '../time/scheduler.ts';
import { NetsimError } from '../errors.ts';
import type { NetNamespace } from './net-namespace.ts';
import type { IcmpErrorInfo } from './icmp.ts';
import { TimeWaitTable } from './time-wait-table.ts';

export type TcpState =
  | 'SYN_SENT' | 'SYN_RECEIVED' | 'ESTABLISHED' | 'FIN_WAIT_1' | 'FIN_WAIT_2' | 'CLOSING'
  | 'TIME_WAIT' | 'CLOSE_WAIT' | 'LAST_ACK' | 'CLOSED';

/** Why a connection ended, as the application learns it. */
export type TcpCloseReason = 'closed' | 'reset' | 'refused' | 'timeout' | 'unreachable' | 'aborted';

/** Linux TCP_TIMEWAIT_LEN. */
export const TIME_WAIT_NS = 60 * SECOND;
/** RFC 6298 initial RTO (Linux TCP_TIMEOUT_INIT). */
export const INITIAL_RTO_NS = 1 * SECOND;
/** Linux TCP_RTO_MIN. */
export const MIN_RTO_NS = 200 * MS;
/** Linux TCP_RTO_MAX. */
export const MAX_RTO_NS = 120 * SECOND;
/** tcp_syn_retries. */
export const SYN_RETRIES = 6;
/** tcp_retries2. */
export const DATA_RETRIES = 15;
const WINDOW = 64240;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

interface InFlight {
  seq: number;
  flags: number;
  data: Uint8Array;
  /** Length in sequence space (data + SYN + FIN). */
  span: number;
  sentAt: number;
  retransmitted: boolean;
}

const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
const add = (a: number, n: number): number => (a + n) >>> 0;

export class TcpConnection {
  private st: TcpState;
  /** TIME_WAIT: the instant it ends; the layer keeps only a compact record (see TcpLayer). */
  private twUntil = 0;
  /** TIME_WAIT: id of the layer's compact record (0: none). */
  twId = 0;
  /** The retransmission timer (icsk_retransmit_timer), assigned in the constructor: a class-field arrow gets a runtime name helper call per instance under tsx. */
  private readonly rtx: Timer;
  onConnect: (() => void) | undefined = undefined;
  onData: ((data: Uint8Array, pkt: number) => void) | undefined = undefined;
  /** The peer sent FIN (half close): no more data will arrive. */
  onEnd: (() => void) | undefined = undefined;
  onClose: ((reason: TcpCloseReason, detail: string) => void) | undefined = undefined;
  /** Trace id of the first segment this side sent (its SYN or SYN-ACK; 0 before): what a trace follows. */
  firstPacket = 0;
  /** Last soft error reported by ICMP. */
  softError: string | undefined = undefined;

  private iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndWnd = WINDOW;
  private rcvNxt = 0;
  private mss: number;
  private readonly pending: Uint8Array[] = [];
  private pendingFin = false;
  private readonly inflight: InFlight[] = [];
  private rto = INITIAL_RTO_NS;
  private srtt = 0;
  private rttvar = 0;
  private retries = 0;
  private closedNotified = false;
  /** The socket's IPv4 id counter (inet_id). */
  private inetId: number;
  private accept: ((c: TcpConnection) => void) | undefined;

  constructor(
    private readonly layer: TcpLayer,
    readonly localAddr: Ipv4Addr,
    readonly localPort: number,
    readonly remoteAddr: Ipv4Addr,
    readonly remotePort: number,
    state: TcpState,
    iss: number,
    mss: number,
  ) {
    this.st = state;
    this.iss = iss;
    // tcp_v4_connect / tcp_v4_syn_recv_sock: inet_id = get_random_u16().
    this.inetId = layer.randomInetId();
    this.sndUna = iss;
    this.sndNxt = iss;
    this.mss = mss;
    this.rtx = new Timer(() => this.onTimeout());
  }

  /** The state; a connection in TIME_WAIT reads CLOSED once its 2MSL ran out. */
  get state(): TcpState {
    return this.st === 'TIME_WAIT' && this.layer.now() >= this.twUntil ? 'CLOSED' : this.st;
  }

  toString(): string {
    return `${formatIpv4(this.localAddr)}:${this.localPort} → ${formatIpv4(this.remoteAddr)}:${this.remotePort} ${this.state}`;
  }

  /** Queue data; it is sent as soon as the connection and the peer's window allow. */
  send(data: Uint8Array | string): void {
    if (this.st === 'CLOSED' || this.pendingFin || this.st === 'FIN_WAIT_1' || this.st === 'FIN_WAIT_2' || this.st === 'LAST_ACK' || this.st === 'CLOSING' || this.st === 'TIME_WAIT') {
      throw new NetsimError('NETSIM_ERR_NOT_CONNECTED', `tcp ${this.toString()}: cannot send after close (EPIPE)`);
    }
    const bytes = typeof data === 'string' ? utf8.encode(data) : data;
    if (bytes.length > 0) this.pending.push(bytes);
    this.flush();
  }

  /** Close our side after queued data (FIN). */
  end(): void {
    if (this.st === 'CLOSED' || this.pendingFin) return;
    if (this.st === 'SYN_SENT') {
      this.finish('closed', 'closed before connecting');
      return;
    }
    this.pendingFin = true;
    this.flush();
  }

  /**
   * Abort with RST (SO_LINGER 0). Linux's tcp_send_active_reset sends RST|ACK at
   * tcp_acceptable_seq with ack = rcv_nxt (tcp_transmit_skb fills it), so the peer and
   * Wireshark see a reset that acknowledges what was received.
   */
  abort(): void {
    if (this.st === 'CLOSED') return;
    if (this.st !== 'SYN_SENT' && this.st !== 'TIME_WAIT') this.emit(this.sndNxt, this.rcvNxt, TcpFlags.RST | TcpFlags.ACK, EMPTY);
    this.finish('aborted', 'aborted locally');
  }

  /** Start the handshake (active open). */
  startConnect(): void {
    this.transmitNew(TcpFlags.SYN, EMPTY, this.mssOption());
  }

  /** Answer a SYN (passive open). */
  startAccept(irs: number, peerMss: number | undefined, accept: (c: TcpConnection) => void): void {
    this.rcvNxt = add(irs, 1);
    if (peerMss !== undefined) this.mss = Math.min(this.mss, peerMss);
    this.accept = accept;
    this.transmitNew(TcpFlags.SYN | TcpFlags.ACK, EMPTY, this.mssOption());
  }

  private mssOption(): Uint8Array {
    return mssOptionBytes(this.mss);
  }

  /** Process a segment addressed to this connection. */
  segment(seg: Readonly<TcpFields>, payload: Uint8Array, pktId: number): void {
    const f = seg.flags;
    if (this.st === 'SYN_SENT') {
      if ((f & TcpFlags.ACK) !== 0 && seg.ack !== this.sndNxt) {
        if ((f & TcpFlags.RST) === 0) this.layer.sendReset(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, seg.ack, 0, false);
        return;
      }
      if ((f & TcpFlags.RST) !== 0) {
        if ((f & TcpFlags.ACK) !== 0) this.finish('refused', 'connection refused (RST)');
        return;
      }
      if ((f & TcpFlags.SYN) !== 0 && (f & TcpFlags.ACK) !== 0) {
        this.rcvNxt = add(seg.seq, 1);
        const peerMss = mssFrom(seg.options);
        if (peerMss !== undefined) this.mss = Math.min(this.mss, peerMss);
        this.sndWnd = seg.window;
        this.ack(seg.ack);
        this.st = 'ESTABLISHED';
        this.emit(this.sndNxt, this.rcvNxt, TcpFlags.ACK, EMPTY);
        this.onConnect?.();
        this.flush();
      }
      return;
    }
    if ((f & TcpFlags.RST) !== 0) {
      // RFC 5961: only an in-window RST is accepted.
      if (seg.seq === this.rcvNxt || this.st === 'SYN_RECEIVED') this.finish('reset', 'connection reset by peer');
      return;
    }
    if ((f & TcpFlags.SYN) !== 0) {
      // A SYN on a synchronised connection: challenge ACK.
      this.emit(this.sndNxt, this.rcvNxt, TcpFlags.ACK, EMPTY);
      return;
    }
    if ((f & TcpFlags.ACK) === 0) return;
    if (this.st === 'SYN_RECEIVED') {
      if (seg.ack !== add(this.iss, 1)) {
        this.layer.sendReset(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, seg.ack, 0, false);
        return;
      }
      this.st = 'ESTABLISHED';
      this.ack(seg.ack);
      this.sndWnd = seg.window;
      const acc = this.accept;
      this.accept = undefined;
      acc?.(this);
    } else {
      this.ack(seg.ack);
      this.sndWnd = seg.window;
    }
    const hasFin = (f & TcpFlags.FIN) !== 0;
    if (payload.length > 0 || hasFin) {
      if (seg.seq !== this.rcvNxt) {
        // Out of order or duplicate: re-ACK what we expect.
        this.emit(this.sndNxt, this.rcvNxt, TcpFlags.ACK, EMPTY);
        return;
      }
      if (payload.length > 0) {
        if (this.st === 'ESTABLISHED' || this.st === 'FIN_WAIT_1' || this.st === 'FIN_WAIT_2') {
          this.rcvNxt = add(this.rcvNxt, payload.length);
          this.onData?.(payload, pktId);
        } else {
          this.rcvNxt = add(this.rcvNxt, payload.length);
        }
      }
      if (hasFin) {
        this.rcvNxt = add(this.rcvNxt, 1);
        if (this.st === 'ESTABLISHED') {
          this.st = 'CLOSE_WAIT';
          this.emit(this.sndNxt, this.rcvNxt, TcpFlags.ACK, EMPTY);
          this.onEnd?.();
          return;
        }
        if (this.st === 'FIN_WAIT_1') this.st = this.inflight.length === 0 ? 'TIME_WAIT' : 'CLOSING';
        else if (this.st === 'FIN_WAIT_2') this.st = 'TIME_WAIT';
        this.emit(this.sndNxt, this.rcvNxt, TcpFlags.ACK, EMPTY);
        this.onEnd?.();
        if (this.st === 'TIME_WAIT') this.enterTimeWait();
        return;
      }
      this.emit(this.sndNxt, this.rcvNxt, TcpFlags.ACK, EMPTY);
    }
  }

  /** Process an acknowledgement number. */
  private ack(ackNo: number): void {
    if (!seqLt(this.sndUna, ackNo) || seqLt(this.sndNxt, ackNo)) return;
    this.sndUna = ackNo;
    const now = this.layer.now();
    while (this.inflight.length > 0) {
      const s = this.inflight[0] as InFlight;
      if (!seqLe(add(s.seq, s.span), ackNo)) break;
      this.inflight.shift();
      if (!s.retransmitted) this.sampleRtt(now - s.sentAt);
      if ((s.flags & TcpFlags.FIN) !== 0) this.finAcked();
    }
    this.retries = 0;
    this.rearm();
  }

  private finAcked(): void {
    if (this.st === 'FIN_WAIT_1') this.st = 'FIN_WAIT_2';
    else if (this.st === 'CLOSING') {
      this.st = 'TIME_WAIT';
      this.enterTimeWait();
    } else if (this.st === 'LAST_ACK') this.finish('closed', 'closed');
  }

  private sampleRtt(r: number): void {
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.min(MAX_RTO_NS, Math.max(MIN_RTO_NS, Math.round(this.srtt + 4 * this.rttvar)));
  }

  /** Send what the window allows, then a FIN if one is due. */
  private flush(): void {
    if (this.st !== 'ESTABLISHED' && this.st !== 'CLOSE_WAIT') return;
    while (this.pending.length > 0) {
      const inAir = (this.sndNxt - this.sndUna) >>> 0;
      const room = this.sndWnd - inAir;
      if (room <= 0) break;
      const head = this.pending[0] as Uint8Array;
      const n = Math.min(head.length, this.mss, room);
      const chunk = head.subarray(0, n);
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
      const last = this.pending.length === 0;
      this.transmitNew(TcpFlags.ACK | (last ? TcpFlags.PSH : 0), copyBytes(chunk, 0, chunk.length), undefined);
    }
    if (this.pendingFin && this.pending.length === 0) {
      this.pendingFin = false;
      this.st = this.st === 'CLOSE_WAIT' ? 'LAST_ACK' : 'FIN_WAIT_1';
      this.transmitNew(TcpFlags.FIN | TcpFlags.ACK, EMPTY, undefined);
    }
  }

  private transmitNew(flags: number, data: Uint8Array, options: Uint8Array | undefined): void {
    const span = data.length + ((flags & TcpFlags.SYN) !== 0 ? 1 : 0) + ((flags & TcpFlags.FIN) !== 0 ? 1 : 0);
    const seq = this.sndNxt;
    this.inflight.push({ seq, flags, data, span, sentAt: this.layer.now(), retransmitted: false });
    this.sndNxt = add(this.sndNxt, span);
    this.emit(seq, (flags & TcpFlags.ACK) !== 0 ? this.rcvNxt : 0, flags, data, options);
    if (!this.rtx.armed) this.rearm();
  }

  private emit(seq: number, ack: number, flags: number, data: Uint8Array, options?: Uint8Array): void {
    // The SYN-ACK leaves before the socket exists (ip_build_and_send_pkt: DF, id 0); every
    // other segment takes the socket's inet_id (ip_select_ident_segs, one id per segment).
    let ident = 0;
    if (!(this.st === 'SYN_RECEIVED' && (flags & TcpFlags.SYN) !== 0)) {
      ident = this.inetId;
      this.inetId = (this.inetId + 1) & 0xffff;
    }
    const id = this.layer.emitSegment(this.localAddr, this.remoteAddr, this.localPort, this.remotePort, seq, ack, flags, WINDOW, data, options, ident);
    if (this.firstPacket === 0) this.firstPacket = id;
  }

  /**
   * (Re)start the retransmission timer at now + RTO, or clear it when nothing is in
   * flight (tcp_rearm_rto). Only the deadline moves: the scheduler's Timer keeps one
   * queued entry and re-queues it at the deadline when it comes up early.
   */
  private rearm(): void {
    const clock = this.layer.clock();
    if (this.inflight.length === 0) clock.disarm(this.rtx);
    else clock.arm(this.rtx, clock.now() + this.rto);
  }

  private stopTimer(): void {
    this.layer.clock().stop(this.rtx);
  }

  private onTimeout(): void {
    if (this.inflight.length === 0 || this.st === 'CLOSED') return;
    const syn = this.st === 'SYN_SENT' || this.st === 'SYN_RECEIVED';
    this.retries++;
    if (this.retries > (syn ? SYN_RETRIES : DATA_RETRIES)) {
      this.finish('timeout', `no answer after ${this.retries - 1} retransmissions`);
      return;
    }
    this.rto = Math.min(MAX_RTO_NS, this.rto * 2);
    const now = this.layer.now();
    for (const s of this.inflight) {
      s.retransmitted = true;
      s.sentAt = now;
      const opts = (s.flags & TcpFlags.SYN) !== 0 ? this.mssOption() : undefined;
      this.emit(s.seq, (s.flags & TcpFlags.ACK) !== 0 ? this.rcvNxt : 0, s.flags, s.data, opts);
    }
    this.rearm();
  }

  /**
   * TIME_WAIT (2MSL, TIME_WAIT_NS): the 4-tuple stays reserved and late segments are
   * answered, but by a compact record in the layer (like the kernel's
   * inet_timewait_sock), not by this object: it leaves the socket table, drops its
   * callbacks and buffers, and reads CLOSED when the time is up.
   */
  private enterTimeWait(): void {
    this.stopTimer();
    if (this.twId !== 0 || this.twUntil !== 0) return;
    this.twUntil = this.layer.now() + TIME_WAIT_NS;
    this.layer.toTimeWait(this, this.sndNxt, this.rcvNxt, this.twUntil);
    // The application sees the close now; the 4-tuple stays reserved for TIME_WAIT.
    this.notifyClose('closed', 'closed (TIME_WAIT)');
    this.onConnect = undefined;
    this.onData = undefined;
    this.onEnd = undefined;
    this.onClose = undefined;
    this.accept = undefined;
    this.inflight.length = 0;
    this.pending.length = 0;
  }

  /** An ICMP error about one of our segments. */
  icmpError(info: IcmpErrorInfo): void {
    if (info.type === 3 && info.code === 4 && info.mtu >= 68) {
      // Path MTU discovery: shrink the MSS and resend.
      this.mss = Math.max(88, Math.min(this.mss, info.mtu - 40));
      return;
    }
    const what = info.type === 3 ? `ICMP unreachable code ${info.code} from ${formatIpv4(info.from)}` : `ICMP time exceeded from ${formatIpv4(info.from)}`;
    if ((this.st === 'SYN_SENT' || this.st === 'SYN_RECEIVED') && info.type === 3) {
      this.finish(info.code === 3 ? 'refused' : 'unreachable', what);
      return;
    }
    this.softError = what;
  }

  private finish(reason: TcpCloseReason, detail: string): void {
    this.stopTimer();
    if (this.twId !== 0) this.layer.dropTimeWait(this);
    this.st = 'CLOSED';
    this.inflight.length = 0;
    this.pending.length = 0;
    this.layer.remove(this);
    this.notifyClose(reason, detail);
  }

  private notifyClose(reason: TcpCloseReason, detail: string): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.onClose?.(reason, detail);
  }
}

export interface TcpListener {
  readonly port: number;
  readonly addr: Ipv4Addr;
  close(): void;
}

/**
 * The MSS option's bytes (kind 2, length 4), one array per MSS value: a connection's
 * SYN or SYN-ACK copies them into the segment and nothing writes them, and a host
 * sends only a few distinct values (its routes' MTUs).
 */
function mssOptionBytes(mss: number): Uint8Array {
  let o = MSS_OPTIONS.get(mss);
  if (o === undefined) MSS_OPTIONS.set(mss, (o = Uint8Array.of(2, 4, (mss >> 8) & 0xff, mss & 0xff)));
  return o;
}

const MSS_OPTIONS = new Map<number, Uint8Array>();

function mssFrom(options: Uint8Array | undefined): number | undefined {
  if (options === undefined) return undefined;
  let i = 0;
  while (i < options.length) {
    const kind = options[i] as number;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = options[i + 1] ?? 0;
    if (len < 2) break;
    if (kind === 2 && len === 4 && i + 3 < options.length) return ((options[i + 2] as number) << 8) | (options[i + 3] as number);
    i += len;
  }
  return undefined;
}

/**
 * Receive parses each segment's header into one record per layer, reused (no header
 * object per segment); a segment that arrives while another is being handled (from a
 * callback) gets a record of its own. Off: a new record per segment, as before — the
 * differential test (tests/scenarios/tcp-rx-record.test.ts) compares the two by hash.
 */
export const tcpRxRecord = { reuse: true };

export class TcpLayer {
  private readonly listeners = new Map<number, Array<{ addr: Ipv4Addr; onAccept: (c: TcpConnection) => void }>>();
  /**
   * lport → its one connection, or (raddr * 65536 + rport) → connection when several
   * share the port (a server's): a client's port has one connection, which then costs
   * no Map of its own and no boxed key per segment. Iteration order is insertion
   * order either way (`ss` lists in it).
   */
  private readonly conns = new Map<number, TcpConnection | Map<number, TcpConnection>>();
  private readonly tw = new TimeWaitTable();
  private twTimer: number | undefined = undefined;
  private readonly sweepFn = (): void => this.sweepTimeWait();
  /** The received segment's header fields (see {@link tcpRxRecord}), and whether a segment is using it now. */
  private readonly rx = tcpFields();
  private rxBusy = false;

  constructor(private readonly ns: NetNamespace) {}

  /** Connections in TIME_WAIT (compact records). */
  timeWaitCount(): number {
    return this.tw.sweep(this.now()) === 0 ? 0 : this.tw.size;
  }

  /** A connection enters TIME_WAIT: it leaves the socket table for a compact record. */
  toTimeWait(c: TcpConnection, snd: number, rcv: number, until: number): void {
    this.remove(c);
    c.twId = this.tw.add(c.localAddr, c.localPort, c.remoteAddr, c.remotePort, snd, rcv, until);
    if (this.twTimer === undefined) this.twTimer = this.ns.sim.clock.at(until, this.sweepFn);
  }

  /** The connection was aborted or reset in TIME_WAIT: its record goes. */
  dropTimeWait(c: TcpConnection): void {
    const k = this.tw.slotOf(c.twId, c.localPort, c.remoteAddr, c.remotePort);
    if (k >= 0) this.tw.unindex(k);
    c.twId = 0;
  }

  private sweepTimeWait(): void {
    this.twTimer = undefined;
    const next = this.tw.sweep(this.now());
    if (next !== 0) this.twTimer = this.ns.sim.clock.at(next, this.sweepFn);
  }

  /** A segment for a TIME_WAIT record: what TcpConnection.segment does in that state. */
  private timeWaitSegment(k: number, dst: Ipv4Addr, src: Ipv4Addr, seg: Readonly<TcpFields>, payloadLen: number): void {
    const f = seg.flags;
    const rcv = this.tw.rcvOf(k);
    const ackNow = (): void => {
      this.emitSegment(dst, src, seg.dstPort, seg.srcPort, this.tw.sndOf(k), this.tw.rcvOf(k), TcpFlags.ACK, WINDOW, EMPTY, undefined);
    };
    if ((f & TcpFlags.RST) !== 0) {
      if (seg.seq === rcv) this.tw.unindex(k);
      return;
    }
    if ((f & TcpFlags.SYN) !== 0) {
      ackNow();
      return;
    }
    if ((f & TcpFlags.ACK) === 0) return;
    const hasFin = (f & TcpFlags.FIN) !== 0;
    if (payloadLen === 0 && !hasFin) return;
    if (seg.seq !== rcv) {
      ackNow();
      return;
    }
    this.tw.setRcv(k, add(rcv, payloadLen + (hasFin ? 1 : 0)));
    ackNow();
  }

  now(): number {
    return this.ns.sim.clock.now();
  }

  clock(): NetNamespace['sim']['clock'] {
    return this.ns.sim.clock;
  }

  /** Listen on `port` (addr 0: every local address). */
  listen(port: number, onAccept: (c: TcpConnection) => void, addr: Ipv4Addr = 0): TcpListener {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NetsimError('NETSIM_ERR_BAD_ARGUMENT', `bad TCP port ${port}`);
    const list = this.listeners.get(port) ?? [];
    if (list.some((l) => l.addr === addr || l.addr === 0 || addr === 0)) {
      throw new NetsimError('NETSIM_ERR_ADDR_IN_USE', `${this.ns.name}: TCP ${formatIpv4(addr)}:${port} already in use (EADDRINUSE)`);
    }
    const entry = { addr, onAccept };
    list.push(entry);
    this.listeners.set(port, list);
    return {
      port, addr,
      close: () => {
        const l = (this.listeners.get(port) ?? []).filter((x) => x !== entry);
        if (l.length === 0) this.listeners.delete(port);
        else this.listeners.set(port, l);
      },
    };
  }

  /** Active open. The SYN leaves at once; watch `onConnect`/`onClose`. */
  connect(dst: Ipv4Addr, dport: number, opts: { sport?: number; src?: Ipv4Addr } = {}): TcpConnection {
    const res = this.ns.lookupRoute(dst);
    const src = opts.src ?? res?.prefsrc;
    if (res === undefined || src === undefined) throw new NetsimError('NETSIM_ERR_NO_ROUTE', `${this.ns.name}: connect to ${formatIpv4(dst)}:${dport}: Network is unreachable`);
    const mtu = res.type === 'local' ? this.ns.lo.mtu : (res.dev?.mtu ?? 1500);
    const sport = opts.sport ?? this.ephemeral(dst, dport);
    const c = new TcpConnection(this, src, sport, dst, dport, 'SYN_SENT', this.ns.userRng.nextU32(), Math.min(65495, mtu - 40));
    this.add(c);
    c.startConnect();
    return c;
  }

  private ephemeral(dst: Ipv4Addr, dport: number): number {
    const [lo, hi] = this.ns.sysctl.localPortRange;
    const now = this.now();
    for (let i = 0; i < 128; i++) {
      const p = this.ns.userRng.range(lo, hi);
      if (this.find(p, dst, dport) === undefined && !this.listeners.has(p) && this.tw.find(p, dst, dport, now) < 0) return p;
    }
    for (let p = lo; p <= hi; p++) if (this.find(p, dst, dport) === undefined && !this.listeners.has(p) && this.tw.find(p, dst, dport, now) < 0) return p;
    throw new NetsimError('NETSIM_ERR_ADDR_IN_USE', `${this.ns.name}: no free TCP port towards ${formatIpv4(dst)}:${dport}`);
  }

  /** The connection on local port `lport` with the remote end `raddr`:`rport`. */
  private find(lport: number, raddr: Ipv4Addr, rport: number): TcpConnection | undefined {
    const e = this.conns.get(lport);
    if (e === undefined) return undefined;
    if (e instanceof TcpConnection) return e.remoteAddr === raddr && e.remotePort === rport ? e : undefined;
    return e.get(raddr * 65536 + rport);
  }

  /** Enter `c` (replacing a connection with the same four-tuple). */
  private add(c: TcpConnection): void {
    const e = this.conns.get(c.localPort);
    if (e === undefined || (e instanceof TcpConnection && e.remoteAddr === c.remoteAddr && e.remotePort === c.remotePort)) {
      this.conns.set(c.localPort, c);
      return;
    }
    if (e instanceof TcpConnection) {
      const m = new Map<number, TcpConnection>();
      m.set(e.remoteAddr * 65536 + e.remotePort, e);
      m.set(c.remoteAddr * 65536 + c.remotePort, c);
      this.conns.set(c.localPort, m);
      return;
    }
    e.set(c.remoteAddr * 65536 + c.remotePort, c);
  }

  remove(c: TcpConnection): void {
    const e = this.conns.get(c.localPort);
    if (e === undefined) return;
    if (e instanceof TcpConnection) {
      if (e === c) this.conns.delete(c.localPort);
      return;
    }
    const key = c.remoteAddr * 65536 + c.remotePort;
    if (e.get(key) === c) e.delete(key);
    if (e.size === 0) this.conns.delete(c.localPort);
  }

  /** Listening sockets (`ss -tl`): address (0 = any) and port. */
  listening(): Array<{ readonly addr: Ipv4Addr; readonly port: number }> {
    const out: Array<{ addr: Ipv4Addr; port: number }> = [];
    for (const [port, list] of this.listeners) for (const l of list) out.push({ addr: l.addr, port });
    return out.sort((a, b) => a.port - b.port || a.addr - b.addr);
  }

  /** Every open connection (for views and tests). */
  connections(): TcpConnection[] {
    const out: TcpConnection[] = [];
    for (const e of this.conns.values()) {
      if (e instanceof TcpConnection) out.push(e);
      else out.push(...e.values());
    }
    return out;
  }

  /** A new socket's inet_id start. */
  randomInetId(): number {
    return this.ns.randomInetId();
  }

  /**
   * One segment with DF. `ident` is the connection's inet_id; segments without a
   * connected socket (RSTs and TIME_WAIT ACKs from the control socket, SYN-ACKs built
   * by ip_build_and_send_pkt) carry 0, as Linux's do. Plain fields, no header objects:
   * this runs for every segment.
   */
  emitSegment(src: Ipv4Addr, dst: Ipv4Addr, srcPort: number, dstPort: number, seq: number, ack: number, flags: number, window: number, data: Uint8Array, options: Uint8Array | undefined, ident = 0): number {
    const ns = this.ns;
    const buf = buildIpv4TcpSegment(DEFAULT_HEADROOM, src, dst, ns.sysctl.defaultTtl, ident, srcPort, dstPort, seq, ack, flags, window, options, data);
    const pkt = new Packet(ns.sim.nextPacketId(), buf, DEFAULT_HEADROOM, buf.length - DEFAULT_HEADROOM);
    pkt.l4Verified = true;
    ns.sendIp(pkt);
    return pkt.id;
  }

  /** RST for a segment nobody wants (RFC 9293 §3.10.7.1). */
  sendReset(src: Ipv4Addr, sport: number, dst: Ipv4Addr, dport: number, seq: number, ack: number, withAck: boolean): number {
    return this.emitSegment(src, dst, sport, dport, seq, ack, TcpFlags.RST | (withAck ? TcpFlags.ACK : 0), 0, EMPTY, undefined);
  }

  input(inDev: NetDevice, pkt: Packet): void {
    const ns = this.ns;
    const b = pkt.buf;
    const o = pkt.off;
    const hl = Ipv4.headerLen(b, o);
    const src = Ipv4.src(b, o);
    const dst = Ipv4.dst(b, o);
    // The layer's one record unless a segment is being handled already (a delivery inside a callback).
    const reuse = tcpRxRecord.reuse && !this.rxBusy;
    const seg = reuse ? this.rx : tcpFields();
    let payload: Uint8Array;
    try {
      if (!parseTcpInto(seg, b, o + hl, pkt.len - hl, src, dst, !pkt.l4Verified)) {
        const r = parseTcp(b.subarray(o + hl, o + pkt.len), { src, dst });
        seg.srcPort = r.srcPort;
        seg.dstPort = r.dstPort;
        seg.seq = r.seq;
        seg.ack = r.ack;
        seg.flags = r.flags;
        seg.window = r.window;
        seg.options = r.options;
      }
      const doff = ((b[o + hl + 12] as number) >> 4) * 4;
      payload = doff >= pkt.len - hl ? EMPTY : copyBytes(b, o + hl + doff, o + pkt.len);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      ns.traceDrop(pkt, e.code === 'WIRE_BAD_CHECKSUM' ? 'bad-checksum' : 'malformed', e.message, inDev.name);
      return;
    }
    if (!reuse) {
      this.dispatch(inDev, pkt, seg, payload, src, dst);
      return;
    }
    this.rxBusy = true;
    try {
      this.dispatch(inDev, pkt, seg, payload, src, dst);
    } finally {
      this.rxBusy = false;
    }
  }

  /** A parsed segment to its connection, TIME_WAIT record or listener, or answered with RST (tcp_v4_rcv). */
  private dispatch(inDev: NetDevice, pkt: Packet, seg: Readonly<TcpFields>, payload: Uint8Array, src: Ipv4Addr, dst: Ipv4Addr): void {
    const ns = this.ns;
    const c = this.find(seg.dstPort, src, seg.srcPort);
    if (c !== undefined && (c.localAddr === dst)) {
      if (ns.sim.tracer.enabled) ns.emitDeliver(pkt, `tcp ${c.toString()}`);
      c.segment(seg, payload, pkt.id);
      return;
    }
    if (this.tw.size > 0) {
      const k = this.tw.find(seg.dstPort, src, seg.srcPort, this.now());
      if (k >= 0 && this.tw.laddrOf(k) === dst) {
        if (ns.sim.tracer.enabled) ns.emitDeliver(pkt, `tcp ${formatIpv4(dst)}:${seg.dstPort} → ${formatIpv4(src)}:${seg.srcPort} TIME_WAIT`);
        this.timeWaitSegment(k, dst, src, seg, payload.length);
        return;
      }
    }
    const f = seg.flags;
    if ((f & TcpFlags.SYN) !== 0 && (f & TcpFlags.ACK) === 0 && (f & TcpFlags.RST) === 0) {
      const l = (this.listeners.get(seg.dstPort) ?? []).find((x) => x.addr === dst || x.addr === 0);
      if (l !== undefined) {
        const res = ns.lookupRoute(src);
        const mtu = res?.dev?.mtu ?? 1500;
        const conn = new TcpConnection(this, dst, seg.dstPort, src, seg.srcPort, 'SYN_RECEIVED', ns.userRng.nextU32(), Math.min(65495, mtu - 40));
        this.add(conn);
        if (ns.sim.tracer.enabled) ns.emitDeliver(pkt, `tcp listener :${seg.dstPort} (SYN, new connection)`);
        conn.startAccept(seg.seq, mssFrom(seg.options), l.onAccept);
        return;
      }
    }
    if ((f & TcpFlags.RST) !== 0) {
      ns.traceDrop(pkt, 'tcp-invalid', 'RST for no connection', inDev.name);
      return;
    }
    // No socket: answer with RST.
    if ((f & TcpFlags.ACK) !== 0) this.sendReset(dst, seg.dstPort, src, seg.srcPort, seg.ack, 0, false);
    else {
      const span = payload.length + ((f & TcpFlags.SYN) !== 0 ? 1 : 0) + ((f & TcpFlags.FIN) !== 0 ? 1 : 0);
      this.sendReset(dst, seg.dstPort, src, seg.srcPort, 0, add(seg.seq, span), true);
    }
    ns.traceDrop(pkt, 'no-socket', `no TCP socket on ${formatIpv4(dst)}:${seg.dstPort} (RST sent)`, inDev.name);
  }

  icmpError(info: IcmpErrorInfo, qsrc: Ipv4Addr, qsport: number, qdst: Ipv4Addr, qdport: number): void {
    const c = this.find(qsport, qdst, qdport);
    if (c !== undefined && c.localAddr === qsrc) c.icmpError(info);
  }
}

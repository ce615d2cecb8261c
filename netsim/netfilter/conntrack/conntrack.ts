/**
 * The connection table (net/netfilter/nf_conntrack_core.c) in a compact,
 * allocation-free layout: entries live in typed arrays indexed by a slot number,
 * and each entry is hashed twice (its original and its reply tuple) into one
 * chained hash table of 32-bit tuple hashes — no strings, no per-entry objects.
 * A reference to an entry from a lookup is `slot * 2 + direction`.
 *
 * Life of an entry, as in the kernel: the first packet of a flow creates it
 * unconfirmed (not yet findable); NAT may then change its reply tuple; when that
 * packet leaves the last hook the entry is confirmed (inserted). Later packets find
 * it in either direction and run the protocol's state machine, which refreshes the
 * timeout. Expired entries are removed when a lookup meets them, by a few slots of
 * incremental collection on every confirm, and by {@link Conntrack.sweep}.
 *
 * Timeouts (net.netfilter.nf_conntrack_*_timeout defaults): UDP 30 s, and 120 s
 * ("stream", with [ASSURED]) for a packet seen more than 2 s after the first one
 * once the flow has been answered — as kernels since 6.0 do, so a single DNS
 * exchange stays at 30 s without [ASSURED]; ICMP 30 s; TCP by state
 * (tcp-state.ts). A TCP RST before any reply kills the entry at once; a SYN on an
 * entry in TIME_WAIT or CLOSE replaces it (port reuse), so NAT is decided afresh.
 */
import { SECOND } from '../../time/scheduler.ts';
import type { Ipv4Addr } from '../../wire/addr.ts';
import {
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, hashTuple, icmpInverseType, icmpTypeOpens, packL4,
} from './tuple.ts';
import type { Tuple } from './tuple.ts';
import {
  SEG_RST, SEG_FIN, TCP_CLOSE, TCP_IGNORE, TCP_INVALID, TCP_NONE, TCP_STATE_NAMES, TCP_SYN_SENT, TCP_TIME_WAIT, TCP_ESTABLISHED, TCP_SYN_RECV,
  segmentKind, tcpNextState, tcpTimeout,
} from './tcp-state.ts';
import type { TcpCtState } from './tcp-state.ts';
import { deleteSummary, formatEntry, listSummary } from './format.ts';
import type { FormatOptions } from './format.ts';

/** Status bits, numbered as the kernel's enum ip_conntrack_status. */
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
/** The nat table has been consulted for this manipulation (set once per connection and hook type). */
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_DYING = 1 << 9;
/** Private bits: a FIN was seen (the kernel's IP_CT_TCP_FLAG_CLOSE_INIT); the slot is in use. */
const CLOSE_INIT = 1 << 14;
const ALLOCATED = 1 << 15;

export const DIR_ORIGINAL = 0;
export const DIR_REPLY = 1;

/** Timeouts in virtual nanoseconds. */
export interface ConntrackTimeouts {
  readonly udp: number;
  readonly udpStream: number;
  readonly icmp: number;
  /** Per TCP state, indexed like TCP_STATE_NAMES. */
  readonly tcp: readonly number[];
}

export const DEFAULT_TIMEOUTS: ConntrackTimeouts = {
  udp: 30 * SECOND,
  udpStream: 120 * SECOND,
  icmp: 30 * SECOND,
  tcp: TCP_STATE_NAMES.map((_, i) => tcpTimeout(i)),
};

/** kernels ≥ 6.0: a replied UDP flow becomes a stream only for packets 2 s after its first. */
const UDP_STREAM_DELAY = 2 * SECOND;

/** A read-only snapshot of one entry (for views, filters and tests; not for the packet path). */
export interface ConntrackEntry {
  readonly slot: number;
  /** Creation sequence number (listing order). */
  readonly id: number;
  readonly orig: Tuple;
  readonly reply: Tuple;
  /** TCP state name; undefined for UDP/ICMP. */
  readonly tcpState: TcpCtState | undefined;
  readonly status: number;
  readonly seenReply: boolean;
  readonly assured: boolean;
  readonly dnat: boolean;
  readonly snat: boolean;
  readonly mark: number;
  /** Virtual time the entry expires. */
  readonly expires: number;
}

/** Selection as `conntrack -L/-D` options give it (-p, -s, -d, -r, -q, --sport, --dport, --reply-port-*, --src-nat, --dst-nat, -m, --state). */
export interface ConntrackFilter {
  readonly proto?: number;
  readonly origSrc?: Ipv4Addr;
  readonly origDst?: Ipv4Addr;
  readonly origSport?: number;
  readonly origDport?: number;
  readonly replySrc?: Ipv4Addr;
  readonly replyDst?: Ipv4Addr;
  readonly replySport?: number;
  readonly replyDport?: number;
  /** Only entries with (true) or without (false) source NAT. */
  readonly srcNat?: boolean;
  readonly dstNat?: boolean;
  readonly mark?: number;
  readonly tcpState?: TcpCtState;
}
/** @deprecated name kept for callers of the first version. */
export type DeleteFilter = ConntrackFilter;

/** What the protocol handler made of a packet (packetIn returns a ref, or one of these). */
export const CT_VERDICT_INVALID = -1;

export interface ConntrackOptions {
  readonly timeouts?: Partial<ConntrackTimeouts>;
  /** Initial slot capacity (grows by doubling). */
  readonly capacity?: number;
}

export class Conntrack {
  readonly timeouts: ConntrackTimeouts;
  private cap: number;
  /** Per slot: original src, dst, ports word; reply src, dst, ports word. */
  private tup: Uint32Array;
  private proto: Uint8Array;
  /** TCP: state (low 4 bits), last segment direction (bit 4) and kind (bits 5..7). */
  private tcp: Uint8Array;
  private status: Uint16Array;
  private marks: Uint32Array;
  private ids: Uint32Array;
  private expires: Float64Array;
  /** UDP: time after which a replied flow counts as a stream. */
  private streamTs: Float64Array;
  /** Hash chain links per node (node = slot * 2 + dir); for free slots, the free list. */
  private next: Int32Array;
  private heads: Int32Array;
  private mask: number;
  private freeHead = -1;
  /** Slots ever used: [0, hiWater). */
  private hiWater = 0;
  private nextId = 1;
  private gcCursor = 0;
  /** Confirmed entries in the hash (including expired ones not yet collected). */
  count = 0;
  /** Set by packetIn: the entry was created by this packet. */
  lastCreated = false;
  /** Set by packetIn: TCP state before this packet (for state-change traces). */
  lastOldState = 0;

  constructor(private readonly now: () => number, opts: ConntrackOptions = {}) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    const cap = Math.max(16, opts.capacity ?? 1024);
    this.cap = cap;
    this.tup = new Uint32Array(cap * 6);
    this.proto = new Uint8Array(cap);
    this.tcp = new Uint8Array(cap);
    this.status = new Uint16Array(cap);
    this.marks = new Uint32Array(cap);
    this.ids = new Uint32Array(cap);
    this.expires = new Float64Array(cap);
    this.streamTs = new Float64Array(cap);
    this.next = new Int32Array(cap * 2);
    let nb = 16;
    while (nb < cap * 2) nb *= 2;
    this.heads = new Int32Array(nb).fill(-1);
    this.mask = nb - 1;
  }

  // ------------------------------------------------------------------ lookup

  /**
   * Find a confirmed entry by tuple in either direction: `slot * 2 + dir`, or -1.
   * An expired entry met here is removed and not returned.
   */
  find(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number): number {
    const s0 = src >>> 0;
    const d0 = dst >>> 0;
    const l4 = packL4(sport, dport);
    let n = this.heads[hashTuple(proto, s0, d0, l4) & this.mask] as number;
    const tup = this.tup;
    while (n >= 0) {
      const slot = n >>> 1;
      const b = slot * 6 + (n & 1) * 3;
      if (tup[b] === s0 && tup[b + 1] === d0 && tup[b + 2] === l4 && this.proto[slot] === proto) {
        if ((this.expires[slot] as number) <= this.now()) {
          this.release(slot);
          return -1;
        }
        return n;
      }
      n = this.next[n] as number;
    }
    return -1;
  }

  /** {@link find} with a tuple value. */
  lookup(t: Tuple): { slot: number; dir: number } | undefined {
    const r = this.find(t.proto, t.src, t.dst, t.sport, t.dport);
    return r < 0 ? undefined : { slot: r >>> 1, dir: r & 1 };
  }

  /** Whether a tuple is in use by a confirmed entry other than `ignore` (nf_conntrack_tuple_taken). */
  tupleTaken(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number, ignore = -1): boolean {
    const r = this.find(proto, src, dst, sport, dport);
    return r >= 0 && r >>> 1 !== ignore;
  }

  // ------------------------------------------------------------------ packets

  /**
   * nf_conntrack_in for one packet's tuple: find or create the entry and run the
   * protocol's state machine. Returns `slot * 2 + dir`, or CT_VERDICT_INVALID when
   * the packet is invalid for conntrack (it then carries no entry: no NAT, and
   * `--ctstate INVALID` matches). `lastCreated` tells whether it opened a new entry.
   */
  packetIn(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number, tcpFlags: number): number {
    this.lastCreated = false;
    let ref = this.find(proto, src, dst, sport, dport);
    if (ref < 0) {
      if (proto === IPPROTO_ICMP && !icmpTypeOpens(dport >> 8)) return CT_VERDICT_INVALID;
      if (proto === IPPROTO_TCP && tcpNextState(DIR_ORIGINAL, segmentKind(tcpFlags), TCP_NONE) >= TCP_INVALID) return CT_VERDICT_INVALID;
      ref = this.create(proto, src, dst, sport, dport) * 2;
      this.lastCreated = true;
    }
    const slot = ref >>> 1;
    const dir = ref & 1;
    this.lastOldState = (this.tcp[slot] as number) & 0x0f;
    const r = this.update(slot, dir, tcpFlags);
    if (r === UPDATE_REOPEN) {
      // A new SYN on a closed connection: the old entry goes, the packet starts a new one.
      this.kill(slot);
      return this.packetIn(proto, src, dst, sport, dport, tcpFlags);
    }
    if (r === UPDATE_INVALID) {
      if (this.lastCreated) this.kill(slot);
      this.lastCreated = false;
      return CT_VERDICT_INVALID;
    }
    if (dir === DIR_REPLY) this.status[slot] = (this.status[slot] as number) | IPS_SEEN_REPLY;
    return ref;
  }

  /** A new, unconfirmed entry whose reply tuple is the inverse of the original. Returns its slot. */
  create(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number): number {
    const slot = this.alloc();
    const b = slot * 6;
    const tup = this.tup;
    tup[b] = src >>> 0;
    tup[b + 1] = dst >>> 0;
    tup[b + 2] = packL4(sport, dport);
    tup[b + 3] = dst >>> 0;
    tup[b + 4] = src >>> 0;
    if (proto === IPPROTO_ICMP) {
      const inv = icmpInverseType(dport >> 8);
      tup[b + 5] = packL4(sport, ((inv < 0 ? dport >> 8 : inv) << 8) | (dport & 0xff));
    } else tup[b + 5] = packL4(dport, sport);
    this.proto[slot] = proto;
    this.tcp[slot] = 0;
    this.status[slot] = ALLOCATED;
    this.marks[slot] = 0;
    this.ids[slot] = this.nextId++ >>> 0;
    const now = this.now();
    this.expires[slot] = now + this.initialTimeout(proto);
    this.streamTs[slot] = now + UDP_STREAM_DELAY;
    return slot;
  }

  private initialTimeout(proto: number): number {
    if (proto === IPPROTO_UDP) return this.timeouts.udp;
    if (proto === IPPROTO_ICMP) return this.timeouts.icmp;
    return this.timeouts.tcp[TCP_SYN_SENT] as number;
  }

  /** Protocol state machine and timeout refresh for a packet in direction `dir`. */
  private update(slot: number, dir: number, tcpFlags: number): number {
    const now = this.now();
    const st = this.status[slot] as number;
    const proto = this.proto[slot] as number;
    if (proto === IPPROTO_UDP) {
      if ((st & IPS_SEEN_REPLY) !== 0) {
        if (now > (this.streamTs[slot] as number)) {
          this.expires[slot] = now + this.timeouts.udpStream;
          this.status[slot] = st | IPS_ASSURED;
        } else this.expires[slot] = now + this.timeouts.udp;
      } else this.expires[slot] = now + this.timeouts.udp;
      return UPDATE_OK;
    }
    if (proto === IPPROTO_ICMP) {
      this.expires[slot] = now + this.timeouts.icmp;
      return UPDATE_OK;
    }
    if (proto !== IPPROTO_TCP) return UPDATE_OK;
    const info = this.tcp[slot] as number;
    const old = info & 0x0f;
    const seg = segmentKind(tcpFlags);
    const nxt = tcpNextState(dir, seg, old);
    if (nxt === TCP_INVALID) return UPDATE_INVALID;
    if (nxt === TCP_IGNORE) {
      this.tcp[slot] = (old | (dir << 4) | (seg << 5)) & 0xff;
      return UPDATE_OK;
    }
    if (nxt === TCP_SYN_SENT && old >= TCP_TIME_WAIT && old <= TCP_CLOSE && (st & IPS_CONFIRMED) !== 0) return UPDATE_REOPEN;
    this.tcp[slot] = (nxt | (dir << 4) | (seg << 5)) & 0xff;
    let s = st;
    if (seg === SEG_FIN) s |= CLOSE_INIT;
    if ((st & IPS_SEEN_REPLY) === 0) {
      if (seg === SEG_RST && (st & IPS_CONFIRMED) !== 0) {
        // "If only reply is a RST, we can consider ourselves not to have an established connection."
        this.status[slot] = s;
        this.kill(slot);
        return UPDATE_OK;
      }
    } else if ((st & IPS_ASSURED) === 0 && (old === TCP_SYN_RECV || old === TCP_ESTABLISHED) && nxt === TCP_ESTABLISHED) {
      s |= IPS_ASSURED;
    }
    this.status[slot] = s;
    this.expires[slot] = now + (seg === SEG_RST ? (this.timeouts.tcp[TCP_CLOSE] as number) : (this.timeouts.tcp[nxt] as number));
    return UPDATE_OK;
  }

  /**
   * Insert an entry's two tuples (nf_conntrack_confirm). Returns false when either
   * tuple is already taken (a clash: the kernel drops the packet).
   */
  confirm(slot: number): boolean {
    const st = this.status[slot] as number;
    if ((st & IPS_CONFIRMED) !== 0) return true; // (a killed entry's packets still pass)
    if ((st & (ALLOCATED | IPS_DYING)) !== ALLOCATED) return false;
    const b = slot * 6;
    const tup = this.tup;
    const p = this.proto[slot] as number;
    if (this.findPacked(p, tup[b] as number, tup[b + 1] as number, tup[b + 2] as number) >= 0) return false;
    if (this.findPacked(p, tup[b + 3] as number, tup[b + 4] as number, tup[b + 5] as number) >= 0) return false;
    this.status[slot] = st | IPS_CONFIRMED;
    this.link(slot * 2);
    this.link(slot * 2 + 1);
    this.count++;
    if (this.count * 2 > this.heads.length) this.rehash(this.heads.length * 2);
    this.gcStep(8);
    return true;
  }

  /**
   * Remove an entry from the table now (conntrack -D, nf_ct_kill). It stays
   * allocated, marked dying, until the clock moves on: a packet of this instant
   * holding it still sees its data (and its NAT).
   */
  kill(slot: number): void {
    const st = this.status[slot] as number;
    if ((st & ALLOCATED) === 0 || (st & IPS_DYING) !== 0) return;
    if ((st & IPS_CONFIRMED) !== 0) {
      this.unlink(slot * 2);
      this.unlink(slot * 2 + 1);
      this.count--;
    }
    this.status[slot] = st | IPS_DYING;
    this.expires[slot] = this.now();
  }

  // ------------------------------------------------------------------ NAT binding

  /** Set the reply tuple (NAT setup, before confirmation). */
  setReply(slot: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number): void {
    const b = slot * 6;
    this.tup[b + 3] = src >>> 0;
    this.tup[b + 4] = dst >>> 0;
    this.tup[b + 5] = packL4(sport, dport);
  }

  setStatus(slot: number, bits: number): void {
    this.status[slot] = (this.status[slot] as number) | bits;
  }

  // ------------------------------------------------------------------ accessors

  statusOf(slot: number): number {
    return this.status[slot] as number;
  }

  protoOf(slot: number): number {
    return this.proto[slot] as number;
  }

  /** TCP state index (TCP_STATE_NAMES). */
  tcpStateOf(slot: number): number {
    return (this.tcp[slot] as number) & 0x0f;
  }

  markOf(slot: number): number {
    return this.marks[slot] as number;
  }

  setMark(slot: number, mark: number): void {
    this.marks[slot] = mark >>> 0;
  }

  expiresAt(slot: number): number {
    return this.expires[slot] as number;
  }

  idOf(slot: number): number {
    return this.ids[slot] as number;
  }

  /** Tuple field of direction `dir` (0 original, 1 reply): 0 src, 1 dst, 2 packed ports. */
  field(slot: number, dir: number, f: 0 | 1 | 2): number {
    return this.tup[slot * 6 + dir * 3 + f] as number;
  }

  /** A 23-bit tag of the entry in `slot`, for packets to hold beside the slot number. */
  tagOf(slot: number): number {
    return (this.ids[slot] as number) & 0x7fffff;
  }

  /** Whether `slot` still holds the entry tagged `tag` (a packet's reference is not stale). */
  holds(slot: number, tag: number): boolean {
    return slot < this.hiWater && ((this.status[slot] as number) & ALLOCATED) !== 0 && ((this.ids[slot] as number) & 0x7fffff) === tag;
  }

  /** Whether the entry has been confirmed (it may since have been killed). */
  isConfirmed(slot: number): boolean {
    return ((this.status[slot] as number) & IPS_CONFIRMED) !== 0;
  }

  /** Whether the entry is in the table (confirmed and not killed). */
  isLive(slot: number): boolean {
    return ((this.status[slot] as number) & (IPS_CONFIRMED | IPS_DYING)) === IPS_CONFIRMED;
  }

  tuple(slot: number, dir: number): Tuple {
    const b = slot * 6 + dir * 3;
    const l4 = this.tup[b + 2] as number;
    return { proto: this.proto[slot] as number, src: this.tup[b] as number, dst: this.tup[b + 1] as number, sport: l4 >>> 16, dport: l4 & 0xffff };
  }

  entry(slot: number): ConntrackEntry {
    const st = this.status[slot] as number;
    const proto = this.proto[slot] as number;
    return {
      slot, id: this.ids[slot] as number, orig: this.tuple(slot, 0), reply: this.tuple(slot, 1),
      tcpState: proto === IPPROTO_TCP ? TCP_STATE_NAMES[(this.tcp[slot] as number) & 0x0f] : undefined,
      status: st & 0x3ff, seenReply: (st & IPS_SEEN_REPLY) !== 0, assured: (st & IPS_ASSURED) !== 0,
      dnat: (st & IPS_DST_NAT) !== 0, snat: (st & IPS_SRC_NAT) !== 0, mark: this.marks[slot] as number, expires: this.expires[slot] as number,
    };
  }

  // ------------------------------------------------------------------ views and filters

  /** Live confirmed entries matching `f`, in creation order. */
  entries(f: ConntrackFilter = {}): ConntrackEntry[] {
    const now = this.now();
    const slots: number[] = [];
    for (let s = 0; s < this.hiWater; s++) {
      const st = this.status[s] as number;
      if ((st & (IPS_CONFIRMED | IPS_DYING)) !== IPS_CONFIRMED || (this.expires[s] as number) <= now) continue;
      if (this.matches(s, f)) slots.push(s);
    }
    slots.sort((a, b) => (this.ids[a] as number) - (this.ids[b] as number));
    return slots.map((s) => this.entry(s));
  }

  /** `conntrack -L [filter]` standard output: one line per entry, creation order. */
  list(f: ConntrackFilter = {}, opts: FormatOptions = {}): string {
    const now = this.now();
    return this.entries(f).map((e) => `${formatEntry(e, now, opts)}\n`).join('');
  }

  /** `conntrack -L [filter]`: what the real tool writes to stdout and stderr. */
  listCommand(f: ConntrackFilter = {}, opts: FormatOptions = {}): { stdout: string; stderr: string } {
    const now = this.now();
    const es = this.entries(f);
    return { stdout: es.map((e) => `${formatEntry(e, now, opts)}\n`).join(''), stderr: listSummary(es.length) };
  }

  /** `conntrack -D [filter]`: deletes, printing the deleted entries and the summary. */
  deleteCommand(f: ConntrackFilter, opts: FormatOptions = {}): { stdout: string; stderr: string } {
    const now = this.now();
    const es = this.entries(f);
    for (const e of es) this.kill(e.slot);
    return { stdout: es.map((e) => `${formatEntry(e, now, opts)}\n`).join(''), stderr: deleteSummary(es.length) };
  }

  /** Number of live entries (collects expired ones first). */
  size(): number {
    this.sweep();
    return this.count;
  }

  /** Delete matching entries (`conntrack -D …`); returns how many. */
  deleteByFilter(f: ConntrackFilter): number {
    const now = this.now();
    let n = 0;
    for (let s = 0; s < this.hiWater; s++) {
      const st = this.status[s] as number;
      if ((st & (IPS_CONFIRMED | IPS_DYING)) !== IPS_CONFIRMED || (this.expires[s] as number) <= now || !this.matches(s, f)) continue;
      this.kill(s);
      n++;
    }
    return n;
  }

  /** Delete every entry (`conntrack -F`); returns how many. */
  flush(): number {
    return this.deleteByFilter({});
  }

  private matches(s: number, f: ConntrackFilter): boolean {
    const tup = this.tup;
    const b = s * 6;
    const st = this.status[s] as number;
    if (f.proto !== undefined && this.proto[s] !== f.proto) return false;
    if (f.origSrc !== undefined && tup[b] !== f.origSrc >>> 0) return false;
    if (f.origDst !== undefined && tup[b + 1] !== f.origDst >>> 0) return false;
    if (f.origSport !== undefined && (tup[b + 2] as number) >>> 16 !== f.origSport) return false;
    if (f.origDport !== undefined && ((tup[b + 2] as number) & 0xffff) !== f.origDport) return false;
    if (f.replySrc !== undefined && tup[b + 3] !== f.replySrc >>> 0) return false;
    if (f.replyDst !== undefined && tup[b + 4] !== f.replyDst >>> 0) return false;
    if (f.replySport !== undefined && (tup[b + 5] as number) >>> 16 !== f.replySport) return false;
    if (f.replyDport !== undefined && ((tup[b + 5] as number) & 0xffff) !== f.replyDport) return false;
    if (f.srcNat !== undefined && ((st & IPS_SRC_NAT) !== 0) !== f.srcNat) return false;
    if (f.dstNat !== undefined && ((st & IPS_DST_NAT) !== 0) !== f.dstNat) return false;
    if (f.mark !== undefined && this.marks[s] !== f.mark >>> 0) return false;
    if (f.tcpState !== undefined && (this.proto[s] !== IPPROTO_TCP || TCP_STATE_NAMES[(this.tcp[s] as number) & 0x0f] !== f.tcpState)) return false;
    return true;
  }

  // ------------------------------------------------------------------ collection

  /** Collect every expired or dead entry now (the kernel's gc worker, all at once). */
  sweep(): void {
    for (let s = 0; s < this.hiWater; s++) this.collect(s);
  }

  /** Collect up to `n` slots, continuing where the last step stopped. */
  gcStep(n: number): void {
    if (this.hiWater === 0) return;
    for (let i = 0; i < n; i++) {
      if (this.gcCursor >= this.hiWater) this.gcCursor = 0;
      this.collect(this.gcCursor++);
    }
  }

  private collect(slot: number): void {
    const st = this.status[slot] as number;
    if ((st & ALLOCATED) === 0) return;
    const exp = this.expires[slot] as number;
    const now = this.now();
    // Dead and unconfirmed entries wait until the clock has moved past them: a packet
    // of this instant may still be using their data.
    if ((st & (IPS_CONFIRMED | IPS_DYING)) === IPS_CONFIRMED ? exp <= now : exp < now) this.release(slot);
  }

  /** Unhash (if confirmed) and free a slot. */
  private release(slot: number): void {
    const st = this.status[slot] as number;
    if ((st & (IPS_CONFIRMED | IPS_DYING)) === IPS_CONFIRMED) {
      this.unlink(slot * 2);
      this.unlink(slot * 2 + 1);
      this.count--;
    }
    this.status[slot] = 0;
    this.next[slot * 2] = this.freeHead;
    this.freeHead = slot;
  }

  // ------------------------------------------------------------------ storage

  private findPacked(proto: number, src: number, dst: number, l4: number): number {
    let n = this.heads[hashTuple(proto, src, dst, l4) & this.mask] as number;
    while (n >= 0) {
      const slot = n >>> 1;
      const b = slot * 6 + (n & 1) * 3;
      if (this.tup[b] === src && this.tup[b + 1] === dst && this.tup[b + 2] === l4 && this.proto[slot] === proto) {
        if ((this.expires[slot] as number) <= this.now()) {
          this.release(slot);
          return -1;
        }
        return n;
      }
      n = this.next[n] as number;
    }
    return -1;
  }

  private bucketOf(node: number): number {
    const slot = node >>> 1;
    const b = slot * 6 + (node & 1) * 3;
    return hashTuple(this.proto[slot] as number, this.tup[b] as number, this.tup[b + 1] as number, this.tup[b + 2] as number) & this.mask;
  }

  private link(node: number): void {
    const h = this.bucketOf(node);
    this.next[node] = this.heads[h] as number;
    this.heads[h] = node;
  }

  private unlink(node: number): void {
    const h = this.bucketOf(node);
    let n = this.heads[h] as number;
    if (n === node) {
      this.heads[h] = this.next[node] as number;
      return;
    }
    while (n >= 0) {
      const nx = this.next[n] as number;
      if (nx === node) {
        this.next[n] = this.next[node] as number;
        return;
      }
      n = nx;
    }
  }

  private alloc(): number {
    if (this.freeHead >= 0) {
      const s = this.freeHead;
      this.freeHead = this.next[s * 2] as number;
      return s;
    }
    if (this.hiWater === this.cap) this.grow();
    return this.hiWater++;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const copy = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(a: T, make: (n: number) => T, per: number): T => {
      const n = make(cap * per);
      n.set(a);
      return n;
    };
    this.tup = copy(this.tup, (n) => new Uint32Array(n), 6);
    this.proto = copy(this.proto, (n) => new Uint8Array(n), 1);
    this.tcp = copy(this.tcp, (n) => new Uint8Array(n), 1);
    this.status = copy(this.status, (n) => new Uint16Array(n), 1);
    this.marks = copy(this.marks, (n) => new Uint32Array(n), 1);
    this.ids = copy(this.ids, (n) => new Uint32Array(n), 1);
    this.expires = copy(this.expires, (n) => new Float64Array(n), 1);
    this.streamTs = copy(this.streamTs, (n) => new Float64Array(n), 1);
    this.next = copy(this.next, (n) => new Int32Array(n), 2);
    this.cap = cap;
  }

  private rehash(nb: number): void {
    this.heads = new Int32Array(nb).fill(-1);
    this.mask = nb - 1;
    for (let s = 0; s < this.hiWater; s++) {
      if (!this.isLive(s)) continue;
      this.link(s * 2);
      this.link(s * 2 + 1);
    }
  }

  /** Bytes held by the table's arrays (capacity, not live entries). */
  bytesAllocated(): number {
    return this.tup.byteLength + this.proto.byteLength + this.tcp.byteLength + this.status.byteLength + this.marks.byteLength
      + this.ids.byteLength + this.expires.byteLength + this.streamTs.byteLength + this.next.byteLength + this.heads.byteLength;
  }
}

const UPDATE_OK = 0;
const UPDATE_INVALID = 1;
const UPDATE_REOPEN = 2;

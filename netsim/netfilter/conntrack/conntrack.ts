/**
 * The connection table (net/netfilter/nf_conntrack_core.c) in a compact,
 * allocation-free layout: each entry is one 64-byte record (a cache line) in a
 * single ArrayBuffer, indexed by a slot number, and is hashed twice (its original
 * and its reply tuple) into one chained hash table of 32-bit tuple hashes — no
 * strings, no per-entry objects. A reference to an entry from a lookup is
 * `slot * 2 + direction`.
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
 *
 * CPUs and the insertion race (nf_conntrack_core.c, __nf_conntrack_confirm and
 * nf_ct_resolve_clash). A node has {@link Conntrack.cpus} CPUs; the caller says on
 * which one each packet is handled (the softirq's CPU: RPS, or the sending thread's).
 * Lookups are lockless and an entry is findable only once confirmed, so two packets
 * of one tuple handled at the same time on two CPUs both miss, both create an entry,
 * both get a NAT decision, and the second to confirm finds the tuple taken: the
 * clash. The emulator runs packets one after another, so the race is modelled at
 * lookup: a packet on another CPU that arrives within {@link Conntrack.raceWindowNs}
 * of an entry's creation (the time the kernel takes from nf_conntrack_in to confirm),
 * before any reply, does not see that entry. The clash at confirm is then resolved
 * as the kernel era the {@link ClashResolution} names, and counted in the per-CPU
 * statistics `conntrack -S` prints. With one CPU (the default) there is no race.
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

/**
 * What {@link Conntrack.conntrackIn} did besides finding the entry, written into a record
 * the caller owns and passes in (as nf_conntrack_in leaves it in the skb's ctinfo and the
 * entry): no field of the table carries it, and the returned reference is a plain number.
 */
export class CtInResult {
  /** The packet opened the entry. */
  created = false;
  /** The TCP conntrack state before the packet (tcp-state.ts numbering). */
  oldState = 0;
}

export interface ConntrackOptions {
  readonly timeouts?: Partial<ConntrackTimeouts>;
  /** Initial slot capacity (grows by doubling). */
  readonly capacity?: number;
}

/**
 * What a clash at confirm does to a NATed UDP packet, by kernel era
 * (nf_ct_resolve_clash; UDP is the protocol that allows clashes, `allow_clash`):
 * - `nat-drop`: 4.9 to 4.18 — clash resolution is skipped when NAT is in place
 *   (590b52e10d41 "skip clash resolution if nat is in place"): the packet is dropped.
 * - `nat-identical`: 4.19 to 5.5 — resolved when both entries have the same tuples
 *   both ways (ed07d9a021df, nf_ct_match): the packet joins the winner's entry. A
 *   clash between different NAT mappings (two DNS endpoints) still drops. With it
 *   came 4e35c1cb9460: NAT's tuple-taken check ignores an entry with the same
 *   original tuple, so the loser's null binding keeps its port and can match.
 * Entries without NAT are resolved in both. TCP and ICMP clashes always drop.
 * Kernels 5.6 and later also let a UDP packet with a different mapping through
 * (nf_ct_resolve_clash_harder, a reply-only entry): not modelled.
 */
export type ClashResolution = 'nat-drop' | 'nat-identical';
export const CLASH_RESOLUTIONS: readonly ClashResolution[] = ['nat-drop', 'nat-identical'];

/**
 * One CPU's counters (struct ip_conntrack_stat) in the order `conntrack -S` prints
 * them for kernels 4.x to 5.x: found (nf_conntrack_tuple_taken found a tuple NAT
 * wanted), invalid, ignore (a packet that already had its entry), insert (confirmed),
 * insert_failed (a clash at confirm, resolved or not), drop (a clash that dropped
 * the packet), early_drop, error, search_restart (never: the table is not resized
 * under readers here).
 */
export const CT_STAT_NAMES = ['found', 'invalid', 'ignore', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart'] as const;
export type CtStatName = (typeof CT_STAT_NAMES)[number];
export type ConntrackCpuStats = Record<CtStatName, number>;

function zeroStats(): ConntrackCpuStats {
  return { found: 0, invalid: 0, ignore: 0, insert: 0, insert_failed: 0, drop: 0, early_drop: 0, error: 0, search_restart: 0 };
}

/** How long an entry stays unconfirmed on a real kernel: from nf_conntrack_in to ipv4_confirm (an assumed few µs of softirq work). */
export const RACE_WINDOW_NS = 5_000;

export class Conntrack {
  readonly timeouts: ConntrackTimeouts;
  private cap: number;
  /** The records: see the R_* word offsets. */
  private u32: Uint32Array;
  private i32: Int32Array;
  private f64: Float64Array;
  /** Chain heads of the tuple hash (node = slot * 2 + dir, -1 = empty). */
  private heads: Int32Array;
  private mask: number;
  private freeHead = -1;
  /** Slots ever used: [0, hiWater). */
  private hiWater = 0;
  private nextId = 1;
  private gcCursor = 0;
  /** Confirmed entries in the hash (including expired ones not yet collected). */
  count = 0;
  /** The insertion race's window (see the header). */
  raceWindowNs = RACE_WINDOW_NS;
  /** The kernel era's clash resolution (see {@link ClashResolution}). */
  clashResolution: ClashResolution = 'nat-identical';
  private cpuStats: ConntrackCpuStats[] = [zeroStats()];

  constructor(private readonly now: () => number, opts: ConntrackOptions = {}) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    const cap = Math.max(16, opts.capacity ?? 1024);
    this.cap = cap;
    const buf = new ArrayBuffer(cap * REC_BYTES);
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    let nb = 16;
    while (nb < cap * 2) nb *= 2;
    this.heads = new Int32Array(nb).fill(-1);
    this.mask = nb - 1;
  }

  /** CPUs of the node (1: no insertion race). */
  get cpus(): number {
    return this.cpuStats.length;
  }

  set cpus(n: number) {
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`cpus must be an integer in 1..256, got ${n}`);
    while (this.cpuStats.length < n) this.cpuStats.push(zeroStats());
    this.cpuStats.length = n;
  }

  /** The per-CPU counters (`conntrack -S`). */
  stats(): readonly Readonly<ConntrackCpuStats>[] {
    return this.cpuStats;
  }

  /** Count an event of a packet handled on `cpu` that has no entry of its own (invalid, ignore). */
  countStat(cpu: number, name: CtStatName): void {
    const s = this.cpuStats[cpu] ?? this.cpuStats[0] as ConntrackCpuStats;
    s[name]++;
  }

  /** `conntrack -S`: one line per CPU, as conntrack-tools 1.4 prints the kernel's per-CPU statistics. */
  statsText(): string {
    return this.cpuStats.map((s, i) => `cpu=${String(i).padEnd(4)}\t${CT_STAT_NAMES.map((k) => `${k}=${s[k]} `).join('')}\n`).join('');
  }

  /** The CPU whose packet created the entry. */
  cpuOf(slot: number): number {
    return (this.u32[slot * W + R_CPU] as number) & 0xff;
  }

  // ------------------------------------------------------------------ record fields

  private st(slot: number): number {
    return (this.u32[slot * W + R_META] as number) >>> 16;
  }

  private setSt(slot: number, v: number): void {
    const i = slot * W + R_META;
    this.u32[i] = (((this.u32[i] as number) & 0xffff) | ((v & 0xffff) << 16)) >>> 0;
  }

  private pr(slot: number): number {
    return (this.u32[slot * W + R_META] as number) & 0xff;
  }

  private tcpInfo(slot: number): number {
    return ((this.u32[slot * W + R_META] as number) >>> 8) & 0xff;
  }

  private setTcpInfo(slot: number, v: number): void {
    const i = slot * W + R_META;
    this.u32[i] = (((this.u32[i] as number) & 0xffff00ff) | ((v & 0xff) << 8)) >>> 0;
  }

  private exp(slot: number): number {
    return this.f64[slot * (W / 2) + F_EXPIRES] as number;
  }

  private setExp(slot: number, t: number): void {
    this.f64[slot * (W / 2) + F_EXPIRES] = t;
  }

  private nextOf(node: number): number {
    return this.i32[(node >>> 1) * W + R_NEXT + (node & 1)] as number;
  }

  private setNext(node: number, v: number): void {
    this.i32[(node >>> 1) * W + R_NEXT + (node & 1)] = v;
  }

  // ------------------------------------------------------------------ lookup

  /**
   * Find a confirmed entry by tuple in either direction: `slot * 2 + dir`, or -1.
   * An expired entry met here is removed and not returned.
   */
  find(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number): number {
    return this.findPacked(proto, src >>> 0, dst >>> 0, packL4(sport, dport));
  }

  /** {@link find} with a tuple value. */
  lookup(t: Tuple): { slot: number; dir: number } | undefined {
    const r = this.find(t.proto, t.src, t.dst, t.sport, t.dport);
    return r < 0 ? undefined : { slot: r >>> 1, dir: r & 1 };
  }

  /** Whether a tuple is in use by a confirmed entry other than `ignore` (nf_conntrack_tuple_taken). */
  tupleTaken(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number, ignore = -1): boolean {
    const r = this.find(proto, src, dst, sport, dport);
    let taken = r >= 0 && r >>> 1 !== ignore;
    // Since 4.19 (4e35c1cb9460, with the clash resolution of matching entries): an entry with the same
    // original tuple is the same flow racing on another CPU — not taken; nf_ct_resolve_clash deals with it.
    if (taken && ignore >= 0 && this.clashResolution === 'nat-identical' && this.sameOriginal(r >>> 1, ignore)) taken = false;
    // nf_conntrack_tuple_taken counts `found` on the asking packet's CPU.
    if (taken && ignore >= 0) this.countStat(this.cpuOf(ignore), 'found');
    return taken;
  }

  private findPacked(proto: number, src: number, dst: number, l4: number): number {
    const u = this.u32;
    let n = this.heads[hashTuple(proto, src, dst, l4) & this.mask] as number;
    while (n >= 0) {
      const slot = n >>> 1;
      const b = slot * W + (n & 1) * 3;
      if (u[b] === src && u[b + 1] === dst && u[b + 2] === l4 && ((u[slot * W + R_META] as number) & 0xff) === proto) {
        if (this.exp(slot) <= this.now()) {
          this.release(slot);
          return -1;
        }
        return n;
      }
      n = this.i32[slot * W + R_NEXT + (n & 1)] as number;
    }
    return -1;
  }

  // ------------------------------------------------------------------ packets

  /**
   * nf_conntrack_in for one packet's tuple: find or create the entry and run the
   * protocol's state machine. Returns `slot * 2 + dir`, or CT_VERDICT_INVALID when
   * the packet is invalid for conntrack (it then carries no entry: no NAT, and
   * `--ctstate INVALID` matches). {@link conntrackIn} also says what changed.
   */
  packetIn(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number, tcpFlags: number): number {
    return this.conntrackIn(proto, src, dst, sport, dport, tcpFlags);
  }

  /**
   * {@link packetIn} on `cpu`, with what else happened written into `out` when given:
   * whether this packet opened the entry and the TCP state before it. Returns
   * `slot * 2 + dir`, or CT_VERDICT_INVALID (then `out` is left as it was).
   */
  conntrackIn(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number, tcpFlags: number, cpu = 0, out?: CtInResult): number {
    let created = false;
    let ref = this.find(proto, src, dst, sport, dport);
    // The insertion race (see the header): on another CPU, within the window, the entry is not yet there.
    if (ref >= 0 && this.cpuStats.length > 1 && (ref & 1) === DIR_ORIGINAL && this.raced(ref >>> 1, cpu)) ref = -1;
    if (ref < 0) {
      if (proto === IPPROTO_ICMP && !icmpTypeOpens(dport >> 8)) return this.invalid(cpu);
      if (proto === IPPROTO_TCP && tcpNextState(DIR_ORIGINAL, segmentKind(tcpFlags), TCP_NONE) >= TCP_INVALID) return this.invalid(cpu);
      ref = this.create(proto, src, dst, sport, dport, cpu) * 2;
      created = true;
    }
    const slot = ref >>> 1;
    const dir = ref & 1;
    const oldState = this.tcpInfo(slot) & 0x0f;
    const r = this.update(slot, dir, tcpFlags);
    if (r === UPDATE_REOPEN) {
      // A new SYN on a closed connection: the old entry goes, the packet starts a new one.
      this.kill(slot);
      return this.conntrackIn(proto, src, dst, sport, dport, tcpFlags, cpu, out);
    }
    if (r === UPDATE_INVALID) {
      if (created) this.kill(slot);
      return this.invalid(cpu);
    }
    if (dir === DIR_REPLY) this.setSt(slot, this.st(slot) | IPS_SEEN_REPLY);
    if (out !== undefined) {
      out.created = created;
      out.oldState = oldState;
    }
    return ref;
  }

  private sameOriginal(a: number, b: number): boolean {
    const u = this.u32;
    const x = a * W;
    const y = b * W;
    return this.pr(a) === this.pr(b) && u[x] === u[y] && u[x + 1] === u[y + 1] && u[x + 2] === u[y + 2];
  }

  private invalid(cpu: number): number {
    this.countStat(cpu, 'invalid');
    return CT_VERDICT_INVALID;
  }

  /** Whether a packet on `cpu` now misses the confirmed entry `slot` (created on another CPU within the window, no reply yet). */
  private raced(slot: number, cpu: number): boolean {
    return (this.st(slot) & IPS_SEEN_REPLY) === 0 && this.cpuOf(slot) !== cpu && this.now() - this.createdAt(slot) < this.raceWindowNs;
  }

  /** When the entry was created (its first packet's nf_conntrack_in). */
  private createdAt(slot: number): number {
    return (this.f64[slot * (W / 2) + F_STREAM] as number) - UDP_STREAM_DELAY;
  }

  /** A new, unconfirmed entry whose reply tuple is the inverse of the original, created by a packet on `cpu`. Returns its slot. */
  create(proto: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number, cpu = 0): number {
    const slot = this.alloc();
    const b = slot * W;
    const u = this.u32;
    u[b] = src >>> 0;
    u[b + 1] = dst >>> 0;
    u[b + 2] = packL4(sport, dport);
    u[b + 3] = dst >>> 0;
    u[b + 4] = src >>> 0;
    if (proto === IPPROTO_ICMP) {
      const inv = icmpInverseType(dport >> 8);
      u[b + 5] = packL4(sport, ((inv < 0 ? dport >> 8 : inv) << 8) | (dport & 0xff));
    } else u[b + 5] = packL4(dport, sport);
    u[b + R_META] = ((proto & 0xff) | (ALLOCATED << 16)) >>> 0;
    u[b + R_MARK] = 0;
    u[b + R_ID] = this.nextId++ >>> 0;
    u[b + R_CPU] = cpu;
    const now = this.now();
    this.setExp(slot, now + this.initialTimeout(proto));
    this.f64[slot * (W / 2) + F_STREAM] = now + UDP_STREAM_DELAY;
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
    const st = this.st(slot);
    const proto = this.pr(slot);
    if (proto === IPPROTO_UDP) {
      if ((st & IPS_SEEN_REPLY) !== 0 && now > (this.f64[slot * (W / 2) + F_STREAM] as number)) {
        this.setExp(slot, now + this.timeouts.udpStream);
        if ((st & IPS_ASSURED) === 0) this.setSt(slot, st | IPS_ASSURED);
      } else this.setExp(slot, now + this.timeouts.udp);
      return UPDATE_OK;
    }
    if (proto === IPPROTO_ICMP) {
      this.setExp(slot, now + this.timeouts.icmp);
      return UPDATE_OK;
    }
    if (proto !== IPPROTO_TCP) return UPDATE_OK;
    const old = this.tcpInfo(slot) & 0x0f;
    const seg = segmentKind(tcpFlags);
    const nxt = tcpNextState(dir, seg, old);
    if (nxt === TCP_INVALID) return UPDATE_INVALID;
    if (nxt === TCP_IGNORE) {
      this.setTcpInfo(slot, old | (dir << 4) | (seg << 5));
      return UPDATE_OK;
    }
    if (nxt === TCP_SYN_SENT && old >= TCP_TIME_WAIT && old <= TCP_CLOSE && (st & IPS_CONFIRMED) !== 0) return UPDATE_REOPEN;
    this.setTcpInfo(slot, nxt | (dir << 4) | (seg << 5));
    let s = st;
    if (seg === SEG_FIN) s |= CLOSE_INIT;
    if ((st & IPS_SEEN_REPLY) === 0) {
      if (seg === SEG_RST && (st & IPS_CONFIRMED) !== 0) {
        // "If only reply is a RST, we can consider ourselves not to have an established connection."
        this.setSt(slot, s);
        this.kill(slot);
        return UPDATE_OK;
      }
    } else if ((st & IPS_ASSURED) === 0 && (old === TCP_SYN_RECV || old === TCP_ESTABLISHED) && nxt === TCP_ESTABLISHED) {
      s |= IPS_ASSURED;
    }
    this.setSt(slot, s);
    this.setExp(slot, now + (seg === SEG_RST ? (this.timeouts.tcp[TCP_CLOSE] as number) : (this.timeouts.tcp[nxt] as number)));
    return UPDATE_OK;
  }

  /**
   * Insert an entry's two tuples (nf_conntrack_confirm). Returns false when either
   * tuple is already taken (a clash: see {@link resolveClash}).
   */
  confirm(slot: number): boolean {
    const st = this.st(slot);
    if ((st & IPS_CONFIRMED) !== 0) return true; // (a killed entry's packets still pass)
    if ((st & (ALLOCATED | IPS_DYING)) !== ALLOCATED) return false;
    const b = slot * W;
    const u = this.u32;
    const p = this.pr(slot);
    if (this.findPacked(p, u[b] as number, u[b + 1] as number, u[b + 2] as number) >= 0) return false;
    if (this.findPacked(p, u[b + 3] as number, u[b + 4] as number, u[b + 5] as number) >= 0) return false;
    this.setSt(slot, st | IPS_CONFIRMED);
    this.link(slot * 2);
    this.link(slot * 2 + 1);
    this.count++;
    this.countStat(this.cpuOf(slot), 'insert');
    if (this.count * 2 > this.heads.length) this.rehash(this.heads.length * 2);
    this.gcStep(4);
    return true;
  }

  /**
   * The clash path of __nf_conntrack_confirm after {@link confirm} failed: counts
   * `insert_failed`, then nf_ct_resolve_clash as {@link clashResolution} says.
   * Returns the slot of the entry already in the table when the packet may take it
   * over (UDP, and no NAT or — `nat-identical` — the same tuples both ways); else
   * counts `drop` and returns -1 (the packet is dropped). The loser's own entry is
   * the caller's to discard.
   */
  resolveClash(slot: number): number {
    const cpu = this.cpuOf(slot);
    this.countStat(cpu, 'insert_failed');
    const b = slot * W;
    const u = this.u32;
    const p = this.pr(slot);
    const ref = this.findPacked(p, u[b] as number, u[b + 1] as number, u[b + 2] as number);
    if (p === IPPROTO_UDP && ref >= 0 && (ref & 1) === DIR_ORIGINAL) {
      const w = ref >>> 1;
      const nat = (this.st(w) & (IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE)) !== 0;
      const wb = w * W;
      // nf_ct_match: the original tuples are equal (that is how the winner was found); the reply tuples too.
      const same = u[wb + 3] === u[b + 3] && u[wb + 4] === u[b + 4] && u[wb + 5] === u[b + 5];
      if ((this.st(w) & IPS_DYING) === 0 && (!nat || (this.clashResolution === 'nat-identical' && same))) return w;
    }
    this.countStat(cpu, 'drop');
    return -1;
  }

  /**
   * Remove an entry from the table now (conntrack -D, nf_ct_kill). It stays
   * allocated, marked dying, until the clock moves on: a packet of this instant
   * holding it still sees its data (and its NAT).
   */
  kill(slot: number): void {
    const st = this.st(slot);
    if ((st & ALLOCATED) === 0 || (st & IPS_DYING) !== 0) return;
    if ((st & IPS_CONFIRMED) !== 0) {
      this.unlink(slot * 2);
      this.unlink(slot * 2 + 1);
      this.count--;
    }
    this.setSt(slot, st | IPS_DYING);
    this.setExp(slot, this.now());
  }

  // ------------------------------------------------------------------ NAT binding

  /** Set the reply tuple (NAT setup, before confirmation). */
  setReply(slot: number, src: Ipv4Addr, dst: Ipv4Addr, sport: number, dport: number): void {
    const b = slot * W;
    this.u32[b + 3] = src >>> 0;
    this.u32[b + 4] = dst >>> 0;
    this.u32[b + 5] = packL4(sport, dport);
  }

  setStatus(slot: number, bits: number): void {
    this.setSt(slot, this.st(slot) | bits);
  }

  // ------------------------------------------------------------------ accessors

  statusOf(slot: number): number {
    return this.st(slot);
  }

  protoOf(slot: number): number {
    return this.pr(slot);
  }

  /** TCP state index (TCP_STATE_NAMES). */
  tcpStateOf(slot: number): number {
    return this.tcpInfo(slot) & 0x0f;
  }

  markOf(slot: number): number {
    return this.u32[slot * W + R_MARK] as number;
  }

  setMark(slot: number, mark: number): void {
    this.u32[slot * W + R_MARK] = mark >>> 0;
  }

  expiresAt(slot: number): number {
    return this.exp(slot);
  }

  idOf(slot: number): number {
    return this.u32[slot * W + R_ID] as number;
  }

  /** Tuple field of direction `dir` (0 original, 1 reply): 0 src, 1 dst, 2 packed ports. */
  field(slot: number, dir: number, f: 0 | 1 | 2): number {
    return this.u32[slot * W + dir * 3 + f] as number;
  }

  /** A 23-bit tag of the entry in `slot`, for packets to hold beside the slot number. */
  tagOf(slot: number): number {
    return (this.u32[slot * W + R_ID] as number) & 0x7fffff;
  }

  /** Whether `slot` still holds the entry tagged `tag` (a packet's reference is not stale). */
  holds(slot: number, tag: number): boolean {
    return slot < this.hiWater && (this.st(slot) & ALLOCATED) !== 0 && ((this.u32[slot * W + R_ID] as number) & 0x7fffff) === tag;
  }

  /**
   * The id of the entry in `slot` when it is still the one tagged `tag` (as {@link holds})
   * and confirmed (as {@link isConfirmed}), else -1: both tests and the id in one read of
   * the record, for the hook plans' per-packet check.
   */
  confirmedIdOf(slot: number, tag: number): number {
    if (slot >= this.hiWater) return -1;
    const b = slot * W;
    const st = (this.u32[b + R_META] as number) >>> 16;
    const id = this.u32[b + R_ID] as number;
    return (st & (ALLOCATED | IPS_CONFIRMED)) === (ALLOCATED | IPS_CONFIRMED) && (id & 0x7fffff) === tag ? id : -1;
  }

  /** Whether the entry has been confirmed (it may since have been killed). */
  isConfirmed(slot: number): boolean {
    return (this.st(slot) & IPS_CONFIRMED) !== 0;
  }

  /** Whether the entry is in the table (confirmed and not killed). */
  isLive(slot: number): boolean {
    return (this.st(slot) & (IPS_CONFIRMED | IPS_DYING)) === IPS_CONFIRMED;
  }

  tuple(slot: number, dir: number): Tuple {
    const b = slot * W + dir * 3;
    const l4 = this.u32[b + 2] as number;
    return { proto: this.pr(slot), src: this.u32[b] as number, dst: this.u32[b + 1] as number, sport: l4 >>> 16, dport: l4 & 0xffff };
  }

  entry(slot: number): ConntrackEntry {
    const st = this.st(slot);
    const proto = this.pr(slot);
    return {
      slot, id: this.idOf(slot), orig: this.tuple(slot, 0), reply: this.tuple(slot, 1),
      tcpState: proto === IPPROTO_TCP ? TCP_STATE_NAMES[this.tcpInfo(slot) & 0x0f] : undefined,
      status: st & 0x3ff, seenReply: (st & IPS_SEEN_REPLY) !== 0, assured: (st & IPS_ASSURED) !== 0,
      dnat: (st & IPS_DST_NAT) !== 0, snat: (st & IPS_SRC_NAT) !== 0, mark: this.markOf(slot), expires: this.exp(slot),
    };
  }

  // ------------------------------------------------------------------ views and filters

  /** Live confirmed entries matching `f`, in creation order. */
  entries(f: ConntrackFilter = {}): ConntrackEntry[] {
    const now = this.now();
    const slots: number[] = [];
    for (let s = 0; s < this.hiWater; s++) {
      if (!this.isLive(s) || this.exp(s) <= now) continue;
      if (this.matches(s, f)) slots.push(s);
    }
    slots.sort((a, b) => this.idOf(a) - this.idOf(b));
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
      if (!this.isLive(s) || this.exp(s) <= now || !this.matches(s, f)) continue;
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
    const u = this.u32;
    const b = s * W;
    const st = this.st(s);
    const proto = this.pr(s);
    if (f.proto !== undefined && proto !== f.proto) return false;
    if (f.origSrc !== undefined && u[b] !== f.origSrc >>> 0) return false;
    if (f.origDst !== undefined && u[b + 1] !== f.origDst >>> 0) return false;
    if (f.origSport !== undefined && (u[b + 2] as number) >>> 16 !== f.origSport) return false;
    if (f.origDport !== undefined && ((u[b + 2] as number) & 0xffff) !== f.origDport) return false;
    if (f.replySrc !== undefined && u[b + 3] !== f.replySrc >>> 0) return false;
    if (f.replyDst !== undefined && u[b + 4] !== f.replyDst >>> 0) return false;
    if (f.replySport !== undefined && (u[b + 5] as number) >>> 16 !== f.replySport) return false;
    if (f.replyDport !== undefined && ((u[b + 5] as number) & 0xffff) !== f.replyDport) return false;
    if (f.srcNat !== undefined && ((st & IPS_SRC_NAT) !== 0) !== f.srcNat) return false;
    if (f.dstNat !== undefined && ((st & IPS_DST_NAT) !== 0) !== f.dstNat) return false;
    if (f.mark !== undefined && u[b + R_MARK] !== f.mark >>> 0) return false;
    if (f.tcpState !== undefined && (proto !== IPPROTO_TCP || TCP_STATE_NAMES[this.tcpInfo(s) & 0x0f] !== f.tcpState)) return false;
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
    const st = this.st(slot);
    if ((st & ALLOCATED) === 0) return;
    const exp = this.exp(slot);
    const now = this.now();
    // Dead and unconfirmed entries wait until the clock has moved past them: a packet
    // of this instant may still be using their data.
    if ((st & (IPS_CONFIRMED | IPS_DYING)) === IPS_CONFIRMED ? exp <= now : exp < now) this.release(slot);
  }

  /** Unhash (if in the table) and free a slot. */
  private release(slot: number): void {
    if (this.isLive(slot)) {
      this.unlink(slot * 2);
      this.unlink(slot * 2 + 1);
      this.count--;
    }
    this.u32[slot * W + R_META] = 0;
    this.i32[slot * W + R_NEXT] = this.freeHead;
    this.freeHead = slot;
  }

  // ------------------------------------------------------------------ storage

  private bucketOf(node: number): number {
    const slot = node >>> 1;
    const b = slot * W + (node & 1) * 3;
    return hashTuple(this.pr(slot), this.u32[b] as number, this.u32[b + 1] as number, this.u32[b + 2] as number) & this.mask;
  }

  private link(node: number): void {
    const h = this.bucketOf(node);
    this.setNext(node, this.heads[h] as number);
    this.heads[h] = node;
  }

  private unlink(node: number): void {
    const h = this.bucketOf(node);
    let n = this.heads[h] as number;
    if (n === node) {
      this.heads[h] = this.nextOf(node);
      return;
    }
    while (n >= 0) {
      const nx = this.nextOf(n);
      if (nx === node) {
        this.setNext(n, this.nextOf(node));
        return;
      }
      n = nx;
    }
  }

  private alloc(): number {
    if (this.freeHead >= 0) {
      const s = this.freeHead;
      this.freeHead = this.i32[s * W + R_NEXT] as number;
      return s;
    }
    if (this.hiWater === this.cap) this.grow();
    return this.hiWater++;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const buf = new ArrayBuffer(cap * REC_BYTES);
    const u32 = new Uint32Array(buf);
    u32.set(this.u32);
    this.u32 = u32;
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
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

  /** Bytes held by the table (records at capacity plus hash heads). */
  bytesAllocated(): number {
    return this.u32.byteLength + this.heads.byteLength;
  }
}

/**
 * Record layout, in 32-bit words (16 words = 64 bytes per entry):
 * 0-2 original src, dst, ports; 3-5 reply src, dst, ports; 6 protocol (bits 0-7),
 * TCP state/last segment (8-15), status (16-31); 7 mark; 8 creation id;
 * 9-10 hash chain links of the two tuples (9 doubles as the free-list link);
 * 11 the creating packet's CPU; 12-13 expiry time and 14-15 UDP stream time as float64.
 */
const W = 16;
const REC_BYTES = W * 4;
const R_META = 6;
const R_MARK = 7;
const R_ID = 8;
const R_NEXT = 9;
/** The CPU whose packet created the entry. */
const R_CPU = 11;
/** Float64 indices within a record (record = 8 float64s). */
const F_EXPIRES = 6;
const F_STREAM = 7;

const UPDATE_OK = 0;
const UPDATE_INVALID = 1;
const UPDATE_REOPEN = 2;

/**
 * `-m recent` state of one namespace (net/netfilter/xt_recent.c): named tables of
 * addresses, each with its last RECENT_PKT_LIST_TOT timestamps (virtual ns) and
 * the TTL of the last packet. Tables hold at most RECENT_LIST_TOT addresses; the
 * least recently updated one is evicted, and `--reap` removes at most the oldest
 * entry per evaluation — both as the kernel does.
 */
import type { RecentMatch } from './model.ts';
import { RECENT_PKT_LIST_TOT } from './matches.ts';

/** xt_recent ip_list_tot: addresses per table. */
export const RECENT_LIST_TOT = 100;

const NS_PER_S = 1_000_000_000;

export class RecentEntry {
  readonly stamps: number[] = [];
  /** Next slot in `stamps` once it is full (ring). */
  index = 0;
  ttl = 0;
  constructor(readonly addr: number) {}

  /** The newest timestamp. */
  last(): number {
    const n = this.stamps.length;
    return n < RECENT_PKT_LIST_TOT ? (this.stamps[n - 1] as number) : (this.stamps[(this.index + n - 1) % n] as number);
  }

  stamp(now: number): void {
    if (this.stamps.length < RECENT_PKT_LIST_TOT) this.stamps.push(now);
    else {
      this.stamps[this.index] = now;
      this.index = (this.index + 1) % RECENT_PKT_LIST_TOT;
    }
  }
}

/** One named table; Map order is the LRU order (oldest first). */
export type RecentTable = Map<number, RecentEntry>;

export class RecentState {
  readonly tables = new Map<string, RecentTable>();

  table(name: string): RecentTable {
    let t = this.tables.get(name);
    if (!t) {
      t = new Map();
      this.tables.set(name, t);
    }
    return t;
  }

  /** Evaluate one recent match for the packet's address (already masked) and TTL. */
  match(m: RecentMatch, addr: number, ttl: number, now: number): boolean {
    const t = this.table(m.name);
    let ret = m.invert;
    let e = t.get(addr);
    if (e !== undefined && m.rttl && e.ttl !== ttl) e = undefined;
    if (e === undefined) {
      if (m.command !== 'set') return ret;
      if (t.size >= RECENT_LIST_TOT) {
        const oldest = t.keys().next().value as number;
        t.delete(oldest);
      }
      e = new RecentEntry(addr);
      e.stamp(now);
      e.ttl = ttl;
      t.set(addr, e);
      return !ret;
    }
    if (m.command === 'set') ret = !ret;
    else if (m.command === 'remove') {
      t.delete(addr);
      return !ret;
    } else if (m.seconds || m.hitcount) {
      const since = now - m.seconds * NS_PER_S;
      let hits = 0;
      for (const s of e.stamps) {
        if (m.seconds && s < since) continue;
        if (!m.hitcount || ++hits >= m.hitcount) {
          ret = !ret;
          break;
        }
      }
      if (m.reap) this.reap(t, since, e, m.command === 'update' && ret);
    } else ret = !ret;
    if (m.command === 'set' || (m.command === 'update' && ret)) {
      e.stamp(now);
      e.ttl = ttl;
      // Move to the young end of the LRU order.
      t.delete(addr);
      t.set(addr, e);
    }
    return ret;
  }

  /** recent_entry_reap: drop the least recently updated entry if it has gone stale. */
  private reap(t: RecentTable, since: number, working: RecentEntry, update: boolean): void {
    const first = t.values().next();
    if (first.done) return;
    const e = first.value;
    if (e === working && update) return;
    if (e.last() < since) t.delete(e.addr);
  }

  /** `/proc/net/xt_recent/NAME` style dump: `src=ADDR ttl: T last_seen: NS oldest_pkt: N …`. */
  entries(name: string): readonly RecentEntry[] {
    return [...(this.tables.get(name)?.values() ?? [])];
  }

  clear(): void {
    this.tables.clear();
  }
}

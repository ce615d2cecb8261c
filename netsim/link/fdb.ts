/**
 * The bridge forwarding database (net/bridge/br_fdb.c): MAC → port, learned from the
 * source address of frames entering a port, aged out after `ageingTime` (300 s by
 * default, `bridge link set ... ageing_time`). Ageing is evaluated lazily on lookup and
 * listing against the virtual clock, which is observably the same as the kernel's
 * periodic cleanup and costs no timers.
 */
import type { Instant } from '../time/scheduler.ts';
import { SECOND } from '../time/scheduler.ts';
import type { MacAddr } from '../wire/addr.ts';
import type { NetDevice } from './net-device.ts';

/** Linux BR_DEFAULT_AGEING_TIME: 300 s. */
export const BRIDGE_DEFAULT_AGEING = 300 * SECOND;

export interface FdbEntry {
  readonly mac: MacAddr;
  port: NetDevice;
  /** The MAC belongs to a port or the bridge itself ("permanent" in `bridge fdb show`). */
  readonly local: boolean;
  /** Added by hand (`bridge fdb add ... static`); never ages. */
  readonly isStatic: boolean;
  updated: Instant;
}

export class ForwardingDatabase {
  private readonly entries = new Map<MacAddr, FdbEntry>();
  /**
   * The last two entries found: a bridge sees a flow's source and destination in turn,
   * and a MAC is a 48-bit number, which a Map hashes as a heap number. Entries change
   * in place; the pair is forgotten whenever one is added or removed.
   */
  private recentA: FdbEntry | undefined = undefined;
  private recentB: FdbEntry | undefined = undefined;

  constructor(public ageingTime: number = BRIDGE_DEFAULT_AGEING) {}

  /** Look up a destination; expired dynamic entries are removed and report a miss. */
  lookup(mac: MacAddr, now: Instant): FdbEntry | undefined {
    const a = this.recentA;
    const b = this.recentB;
    let e = a !== undefined && a.mac === mac ? a : b !== undefined && b.mac === mac ? b : undefined;
    if (e === undefined) {
      e = this.entries.get(mac);
      if (e === undefined) return undefined;
      this.recentB = a;
      this.recentA = e;
    }
    if (!e.local && !e.isStatic && now - e.updated > this.ageingTime) {
      this.delete(mac);
      return undefined;
    }
    return e;
  }

  /**
   * Learn `mac` behind `port`. Returns 'new' | 'moved' | 'refreshed' | 'ignored'
   * (local and static entries are never overwritten by learning).
   */
  learn(mac: MacAddr, port: NetDevice, now: Instant): 'new' | 'moved' | 'refreshed' | 'ignored' {
    const e = this.lookup(mac, now);
    if (e === undefined) {
      this.set({ mac, port, local: false, isStatic: false, updated: now });
      return 'new';
    }
    if (e.local || e.isStatic) return 'ignored';
    e.updated = now;
    if (e.port !== port) {
      e.port = port;
      return 'moved';
    }
    return 'refreshed';
  }

  addLocal(mac: MacAddr, port: NetDevice, now: Instant): void {
    this.set({ mac, port, local: true, isStatic: false, updated: now });
  }

  addStatic(mac: MacAddr, port: NetDevice, now: Instant): void {
    this.set({ mac, port, local: false, isStatic: true, updated: now });
  }

  /** Forget every entry pointing at `port` (port removed from the bridge). */
  flushPort(port: NetDevice): void {
    for (const [mac, e] of this.entries) if (e.port === port) this.entries.delete(mac);
    this.forgetRecent();
  }

  delete(mac: MacAddr): boolean {
    this.forgetRecent();
    return this.entries.delete(mac);
  }

  private set(e: FdbEntry): void {
    this.entries.set(e.mac, e);
    this.forgetRecent();
  }

  private forgetRecent(): void {
    this.recentA = undefined;
    this.recentB = undefined;
  }

  /** Live entries in insertion order. */
  list(now: Instant): FdbEntry[] {
    const out: FdbEntry[] = [];
    for (const e of this.entries.values()) {
      if (!e.local && !e.isStatic && now - e.updated > this.ageingTime) continue;
      out.push(e);
    }
    return out;
  }
}

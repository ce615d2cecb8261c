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

  constructor(public ageingTime: number = BRIDGE_DEFAULT_AGEING) {}

  /** Look up a destination; expired dynamic entries are removed and report a miss. */
  lookup(mac: MacAddr, now: Instant): FdbEntry | undefined {
    const e = this.entries.get(mac);
    if (e === undefined) return undefined;
    if (!e.local && !e.isStatic && now - e.updated > this.ageingTime) {
      this.entries.delete(mac);
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
      this.entries.set(mac, { mac, port, local: false, isStatic: false, updated: now });
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
    this.entries.set(mac, { mac, port, local: true, isStatic: false, updated: now });
  }

  addStatic(mac: MacAddr, port: NetDevice, now: Instant): void {
    this.entries.set(mac, { mac, port, local: false, isStatic: true, updated: now });
  }

  /** Forget every entry pointing at `port` (port removed from the bridge). */
  flushPort(port: NetDevice): void {
    for (const [mac, e] of this.entries) if (e.port === port) this.entries.delete(mac);
  }

  delete(mac: MacAddr): boolean {
    return this.entries.delete(mac);
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

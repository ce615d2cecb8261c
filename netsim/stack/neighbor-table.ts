/**
 * The neighbour (ARP) table of one namespace (net/core/neighbour.c, net/ipv4/arp.c).
 *
 * States follow Linux: INCOMPLETE while an ARP request is outstanding (packets wait
 * in a per-entry queue), REACHABLE after a reply, STALE after `reachableTime` without
 * confirmation (still used; the first use moves it to DELAY and, if nothing confirms it
 * within `delayFirstProbe`, unicast probes follow — PROBE — and then FAILED), PERMANENT
 * for static entries (`ip neigh add ... nud permanent`, what flannel's VXLAN backend
 * installs). Unresolved requests are retried every `retransTime` up to `mcastSolicit`
 * times before FAILED.
 *
 * Timers are evaluated against the virtual clock; the table itself schedules only the
 * retransmissions (through its owner). Not modelled: gc thresholds, proxy ARP, upper-
 * layer confirmation (TCP forward progress) — entries go STALE on time alone.
 */
import type { Instant } from '../time/scheduler.ts';
import { SECOND } from '../time/scheduler.ts';
import type { Ipv4Addr, MacAddr } from '../wire/addr.ts';
import { formatIpv4, formatMac } from '../wire/addr.ts';
import type { Packet } from '../packet/packet.ts';

export type NeighState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE' | 'FAILED' | 'PERMANENT' | 'NOARP';

export interface NeighParams {
  /** base_reachable_time: 30 s. */
  reachableTime: number;
  /** retrans_time: 1 s. */
  retransTime: number;
  /** delay_first_probe_time: 5 s. */
  delayFirstProbe: number;
  /** mcast_solicit: 3. */
  mcastSolicit: number;
  /** ucast_solicit: 3. */
  ucastSolicit: number;
  /** Packets queued per unresolved entry (unres_qlen; Linux counts bytes since 3.3, ~101 packets of 2 KiB). */
  unresQlen: number;
}

export const DEFAULT_NEIGH_PARAMS: NeighParams = {
  reachableTime: 30 * SECOND,
  retransTime: 1 * SECOND,
  delayFirstProbe: 5 * SECOND,
  mcastSolicit: 3,
  ucastSolicit: 3,
  unresQlen: 101,
};

export interface NeighEntry {
  readonly ip: Ipv4Addr;
  readonly dev: string;
  mac: MacAddr | undefined;
  state: NeighState;
  /** Last confirmation (reply received) or creation. */
  confirmed: Instant;
  /** Packets waiting for resolution. */
  queue: Packet[];
  probes: number;
  timer: number | undefined;
}

export class NeighborTable {
  /** Per device, entries keyed by the address as an int32 (`ip | 0`: small integers, not heap numbers, for addresses from 128.0.0.0 up). */
  private readonly byDev = new Map<string, Map<number, NeighEntry>>();

  constructor(readonly params: NeighParams = { ...DEFAULT_NEIGH_PARAMS }) {}

  /**
   * The last entry found and its key: a namespace sends most packets to one next hop,
   * so most lookups are two compares instead of two Map probes. Cleared whenever an
   * entry is added or removed (entries change in place, so the reference stays right).
   */
  private lastDev: string | undefined = undefined;
  private lastIp = NaN;
  private lastEntry: NeighEntry | undefined = undefined;

  get(dev: string, ip: Ipv4Addr): NeighEntry | undefined {
    const key = ip | 0;
    if (key === this.lastIp && dev === this.lastDev) return this.lastEntry;
    const e = this.byDev.get(dev)?.get(key);
    if (e !== undefined) {
      this.lastDev = dev;
      this.lastIp = key;
      this.lastEntry = e;
    }
    return e;
  }

  private forgetLast(): void {
    this.lastDev = undefined;
    this.lastIp = NaN;
    this.lastEntry = undefined;
  }

  create(dev: string, ip: Ipv4Addr, state: NeighState, mac: MacAddr | undefined, now: Instant): NeighEntry {
    let m = this.byDev.get(dev);
    if (m === undefined) {
      m = new Map();
      this.byDev.set(dev, m);
    }
    const e: NeighEntry = { ip, dev, mac, state, confirmed: now, queue: [], probes: 0, timer: undefined };
    m.set(ip | 0, e);
    this.forgetLast();
    return e;
  }

  remove(dev: string, ip: Ipv4Addr): NeighEntry | undefined {
    const m = this.byDev.get(dev);
    const e = m?.get(ip | 0);
    if (e !== undefined) m?.delete(ip | 0);
    this.forgetLast();
    return e;
  }

  flushDev(dev: string): NeighEntry[] {
    const m = this.byDev.get(dev);
    this.byDev.delete(dev);
    this.forgetLast();
    return m === undefined ? [] : [...m.values()];
  }

  /** The state as seen now: REACHABLE entries past reachableTime read as STALE. */
  effectiveState(e: NeighEntry, now: Instant): NeighState {
    if (e.state === 'REACHABLE' && now - e.confirmed > this.params.reachableTime) e.state = 'STALE';
    return e.state;
  }

  /** Whether some resolution still holds packets (an INCOMPLETE entry's queue); reads nothing else. */
  holdsPackets(): boolean {
    for (const m of this.byDev.values()) for (const e of m.values()) if (e.queue.length > 0) return true;
    return false;
  }

  entries(now: Instant, dev?: string): NeighEntry[] {
    const out: NeighEntry[] = [];
    for (const [d, m] of this.byDev) {
      if (dev !== undefined && d !== dev) continue;
      for (const e of m.values()) {
        this.effectiveState(e, now);
        out.push(e);
      }
    }
    return out;
  }
}

/** One entry as `ip neigh show` prints it (`dev` omitted when listing a single device). */
export function formatNeigh(e: NeighEntry, withDev = true): string {
  const parts = [formatIpv4(e.ip)];
  if (withDev) parts.push('dev', e.dev);
  if (e.mac !== undefined && e.state !== 'INCOMPLETE' && e.state !== 'FAILED') parts.push('lladdr', formatMac(e.mac));
  parts.push(e.state);
  return parts.join(' ');
}

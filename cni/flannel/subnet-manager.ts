/**
 * flannel's SubnetManager: acquire a lease for this node (reusing one held by the same
 * public IP, else a random free subnet between SubnetMin and SubnetMax), renew it, and
 * watch everyone's leases. Leases expire on the virtual clock.
 *
 * The in-memory manager serves every node of one emulated cluster; a control-plane or
 * etcd backed manager implements the same interface through the key/value layout of
 * lease.ts.
 */
import type { Scheduler } from '../../netsim/time/scheduler.ts';
import type { Rng } from '../../netsim/time/rng.ts';
import { Ipv4Cidr } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import type { FlannelNetworkConfig, BackendType } from './network-config.ts';
import { LEASE_TTL, leaseKey, leaseValue } from './lease.ts';
import type { Lease } from './lease.ts';

export type LeaseEvent = { readonly type: 'added' | 'removed'; readonly lease: Lease };

export interface SubnetManager {
  readonly config: FlannelNetworkConfig;
  acquireLease(attrs: { publicIp: Ipv4Addr; backendType: BackendType; backendData: unknown }): Lease;
  renewLease(lease: Lease): void;
  /** Current leases, then every change. Returns a cancel function. */
  watchLeases(cb: (ev: LeaseEvent) => void): () => void;
  leases(): Lease[];
}

export class SubnetExhaustedError extends Error {
  constructor(net: string) {
    super(`out of subnets in ${net}`);
    this.name = 'SubnetExhaustedError';
  }
}

export class MemorySubnetManager implements SubnetManager {
  private readonly byKey = new Map<string, Lease>();
  private readonly watchers = new Set<(ev: LeaseEvent) => void>();

  constructor(readonly config: FlannelNetworkConfig, private readonly clock: Scheduler, private readonly rng: Rng) {}

  leases(): Lease[] {
    this.expire();
    return [...this.byKey.values()];
  }

  acquireLease(attrs: { publicIp: Ipv4Addr; backendType: BackendType; backendData: unknown }): Lease {
    this.expire();
    const mine = [...this.byKey.values()].find((l) => l.publicIp === attrs.publicIp);
    if (mine !== undefined) {
      mine.expiration = this.clock.now() + LEASE_TTL;
      return mine;
    }
    const size = 2 ** (32 - this.config.subnetLen);
    const free: Ipv4Cidr[] = [];
    for (let n = this.config.subnetMin.network; n <= this.config.subnetMax.network; n += size) {
      const c = Ipv4Cidr.of(n, this.config.subnetLen);
      if (!this.byKey.has(leaseKey(c))) free.push(c);
    }
    if (free.length === 0) throw new SubnetExhaustedError(this.config.network.toString());
    const subnet = free[this.rng.int(free.length)] as Ipv4Cidr;
    const lease: Lease = { subnet, publicIp: attrs.publicIp, backendType: attrs.backendType, backendData: attrs.backendData, expiration: this.clock.now() + LEASE_TTL };
    this.byKey.set(leaseKey(subnet), lease);
    this.scheduleExpiry(lease);
    for (const w of this.watchers) w({ type: 'added', lease });
    return lease;
  }

  renewLease(lease: Lease): void {
    lease.expiration = this.clock.now() + LEASE_TTL;
    this.scheduleExpiry(lease);
  }

  watchLeases(cb: (ev: LeaseEvent) => void): () => void {
    for (const l of this.leases()) cb({ type: 'added', lease: l });
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }

  /** The lease store as flannel's etcd keys and values (for views and tests). */
  keyValues(): Array<{ key: string; value: string }> {
    return this.leases().map((l) => ({ key: leaseKey(l.subnet), value: leaseValue(l) }));
  }

  private scheduleExpiry(lease: Lease): void {
    this.clock.at(lease.expiration, () => this.expire());
  }

  private expire(): void {
    const now = this.clock.now();
    for (const [k, l] of this.byKey) {
      if (l.expiration <= now) {
        this.byKey.delete(k);
        for (const w of this.watchers) w({ type: 'removed', lease: l });
      }
    }
  }
}

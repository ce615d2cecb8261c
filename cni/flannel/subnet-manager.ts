/**
 * flannel's SubnetManager (pkg/subnet): the network config, this node's lease
 * (acquire: reuse a lease held by the same PublicIP, else a random free subnet
 * between SubnetMin and SubnetMax; renew; both with a 24 h TTL on the virtual
 * clock) and a watch over everyone's leases that drives the backends.
 *
 * {@link KvSubnetManager} implements it over any {@link LeaseKV} (the control
 * plane's store or etcd, adapted by the composition root); {@link MemorySubnetManager}
 * is the same over an in-process {@link MemoryLeaseKV}, one per emulated cluster.
 */
import type { Scheduler } from '../../netsim/time/scheduler.ts';
import type { Rng } from '../../netsim/time/rng.ts';
import { Ipv4Cidr } from '../../netsim/wire/addr.ts';
import { FlannelConfigError, parseNetworkConfig, renderNetworkConfig } from './network-config.ts';
import type { FlannelNetworkConfig } from './network-config.ts';
import { DEFAULT_PREFIX, LEASE_TTL, leaseKey, leaseValue, parseLeaseKey, parseLeaseValue } from './lease.ts';
import type { Lease, LeaseAttrs, LeaseEvent } from './lease.ts';
import { MemoryLeaseKV } from './lease-kv.ts';
import type { LeaseKV } from './lease-kv.ts';
import { CodedError } from '../../netsim/errors.ts';

export interface SubnetManager {
  /** The network config (`<prefix>/config`). */
  readonly config: FlannelNetworkConfig;
  acquireLease(attrs: LeaseAttrs): Lease;
  renewLease(lease: Lease): void;
  /** The leases there are now. */
  leases(): Lease[];
  /** Lease added/removed events from now on; returns a cancel function. */
  watchLeases(onEvent: (ev: LeaseEvent) => void): () => void;
}

export class SubnetExhaustedError extends CodedError {
  readonly code = 'NETSIM_ERR_SUBNET_EXHAUSTED';
  constructor(net: string) {
    super(`failed to allocate subnet: out of subnets in ${net}`);
    this.name = 'SubnetExhaustedError';
  }
}

/** flannel's allocateSubnet collects at most this many free subnets, then picks one at random. */
export const FLANNEL_MAX_CANDIDATES = 100;

export interface SubnetManagerOptions {
  /** `/coreos.com/network` (`--etcd-prefix`). */
  readonly prefix?: string;
  /**
   * Free subnets considered for a new lease (flannel: the first 100 from SubnetMin).
   * Default: all of them, uniformly — the emulator's long-standing choice, which the
   * demo's recorded captures depend on.
   */
  readonly maxCandidates?: number;
}

export class KvSubnetManager implements SubnetManager {
  readonly prefix: string;
  private readonly maxCandidates: number;
  /**
   * Each lease key's last parse, kept while its stored text is the same. Every new node's
   * flanneld lists every lease (upstream's allocateSubnet does too), and parsing them all
   * again per node made a cluster's build allocate with the square of its nodes.
   */
  private readonly parsed = new Map<string, { readonly value: string; readonly subnet: Ipv4Cidr | undefined; readonly attrs: LeaseAttrs | undefined }>();

  constructor(readonly kv: LeaseKV, private readonly clock: Scheduler, private readonly rng: Rng, opts: SubnetManagerOptions = {}) {
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.maxCandidates = opts.maxCandidates ?? Number.POSITIVE_INFINITY;
  }

  get config(): FlannelNetworkConfig {
    const text = this.kv.get(`${this.prefix}/config`);
    if (text === undefined) throw new FlannelConfigError(`${this.prefix}/config: Key not found`);
    return parseNetworkConfig(text);
  }

  private toLease(key: string, value: string): Lease | undefined {
    let p = this.parsed.get(key);
    if (p === undefined || p.value !== value) {
      p = { value, subnet: parseLeaseKey(key, this.prefix), attrs: parseLeaseValue(value) };
      this.parsed.set(key, p);
    }
    return p.subnet === undefined || p.attrs === undefined ? undefined : { subnet: p.subnet, attrs: p.attrs, expiration: Number.NaN };
  }

  leases(): Lease[] {
    const out: Lease[] = [];
    for (const e of this.kv.list(`${this.prefix}/subnets/`)) {
      const l = this.toLease(e.key, e.value);
      if (l !== undefined) out.push(l);
    }
    return out;
  }

  acquireLease(attrs: LeaseAttrs): Lease {
    const cfg = this.config;
    for (let attempt = 0; attempt < 3; attempt++) {
      const all = this.leases();
      const mine = all.find((l) => l.attrs.publicIp === attrs.publicIp);
      if (mine !== undefined && cfg.network.containsCidr(mine.subnet) && mine.subnet.prefixLen === cfg.subnetLen) {
        // Reuse: the attributes are refreshed and the TTL starts again.
        this.kv.put(leaseKey(mine.subnet, this.prefix), leaseValue(attrs), { ttl: LEASE_TTL });
        return { subnet: mine.subnet, attrs, expiration: this.clock.now() + LEASE_TTL };
      }
      // A candidate overlaps a lease when the lease lies inside it (the candidate's block of
      // the lease's network is taken) or holds it (a lease shorter than subnetLen, rare):
      // a set lookup, not a scan of every lease for each of the 2^(subnetLen-prefix) candidates.
      const mask = Ipv4Cidr.of(0, cfg.subnetLen).mask;
      const takenBlocks = new Set<number>();
      const wider: Ipv4Cidr[] = [];
      for (const l of all) {
        if (l.subnet.prefixLen >= cfg.subnetLen) takenBlocks.add((l.subnet.network & mask) >>> 0);
        else wider.push(l.subnet);
      }
      const size = 2 ** (32 - cfg.subnetLen);
      const free: number[] = [];
      for (let n = cfg.subnetMin.network; n <= cfg.subnetMax.network && free.length < this.maxCandidates; n += size) {
        const c = (n & mask) >>> 0;
        if (!takenBlocks.has(c) && !wider.some((t) => t.contains(c))) free.push(c);
      }
      if (free.length === 0) throw new SubnetExhaustedError(cfg.network.toString());
      const subnet = Ipv4Cidr.of(free[this.rng.int(free.length)] as number, cfg.subnetLen);
      if (this.kv.put(leaseKey(subnet, this.prefix), leaseValue(attrs), { ttl: LEASE_TTL, create: true })) {
        return { subnet, attrs, expiration: this.clock.now() + LEASE_TTL };
      }
    }
    throw new Error('failed to acquire a subnet lease after 3 attempts');
  }

  renewLease(lease: Lease): void {
    this.kv.put(leaseKey(lease.subnet, this.prefix), leaseValue(lease.attrs), { ttl: LEASE_TTL });
    lease.expiration = this.clock.now() + LEASE_TTL;
  }

  /** The store as etcd would list it (`etcdctl get --prefix /coreos.com/network/subnets`). */
  keyValues(): Array<{ key: string; value: string }> {
    return this.kv.list(`${this.prefix}/subnets/`);
  }

  watchLeases(onEvent: (ev: LeaseEvent) => void): () => void {
    return this.kv.watch(`${this.prefix}/subnets/`, (ev) => {
      const l = this.toLease(ev.key, ev.value);
      if (l !== undefined) onEvent({ type: ev.type === 'put' ? 'added' : 'removed', lease: l });
    });
  }
}

/** The in-memory SubnetManager: one per emulated cluster, shared by every node's flanneld. */
export class MemorySubnetManager extends KvSubnetManager {
  declare readonly kv: MemoryLeaseKV;

  constructor(networkConfig: FlannelNetworkConfig | string, clock: Scheduler, rng: Rng, opts: SubnetManagerOptions = {}) {
    const kv = new MemoryLeaseKV(clock);
    kv.put(`${opts.prefix ?? DEFAULT_PREFIX}/config`, typeof networkConfig === 'string' ? networkConfig : renderNetworkConfig(networkConfig));
    super(kv, clock, rng, opts);
  }

}

/**
 * How Linux (6.x) picks the IPv4 identification of a packet it builds
 * (include/net/ip.h ip_select_ident_segs; net/ipv4/route.c __ip_select_ident,
 * ip_idents_reserve):
 *
 * - a connected socket (TCP after connect/accept, connected UDP) numbers its packets
 *   from its own counter, inet_id, started at a random 16-bit value;
 * - otherwise a packet with DF set that may not be fragmented locally (the socket's
 *   pmtudisc is DO: TCP's control socket for RSTs and TIME_WAIT ACKs; SYN-ACKs, which
 *   ip_build_and_send_pkt builds with DF) carries id 0;
 * - everything else (ICMP replies and errors, unconnected UDP and ping sockets, whose
 *   pmtudisc WANT lets the stack ignore DF, tunnel encapsulation in iptunnel_xmit)
 *   takes the next id of a bucket of the host's ip_idents table, chosen by a keyed
 *   hash of (daddr, saddr, protocol) with the namespace's ip_id_key; when the bucket
 *   was last used an earlier jiffy, the id jumps by a random amount below the jiffies
 *   elapsed (so an observer cannot count another host's traffic).
 *
 * ip_idents and its timestamps are one table per kernel, shared by every namespace
 * of the host (here: per NetNamespace.node); the hash key is per namespace. All
 * randomness comes from seeded streams, so a seed gives the same ids every run.
 *
 * Modelled approximately: the hash is a keyed 32-bit mix, not siphash_3u32 (the
 * kernel's key is random per boot, so its values are not reproducible anyway); the
 * table has 2048 buckets (alloc_large_system_hash's floor; bigger hosts have up to
 * 256 Ki) and each bucket starts at a random value when first used; HZ is 1000.
 */
import type { Rng } from '../time/rng.ts';
import type { Sim } from '../sim.ts';
import { MS } from '../time/scheduler.ts';

/** Buckets of ip_idents (a power of two: the mask is buckets - 1). */
export const IP_IDENTS_BUCKETS = 2048;

/** One host's ip_idents and ip_tstamps. */
export class IpIdents {
  private readonly ids = new Uint32Array(IP_IDENTS_BUCKETS);
  private readonly stamps = new Float64Array(IP_IDENTS_BUCKETS);
  private readonly used = new Uint8Array(IP_IDENTS_BUCKETS);

  constructor(private readonly rng: Rng, private readonly jiffies: () => number) {}

  /** ip_idents_reserve: the first of `segs` ids for `hash`'s bucket. */
  reserve(hash: number, segs: number): number {
    const b = hash & (IP_IDENTS_BUCKETS - 1);
    const now = this.jiffies();
    if (this.used[b] === 0) {
      // get_random_bytes(ip_idents) at boot; the stamps start at 0.
      this.used[b] = 1;
      this.ids[b] = this.rng.nextU32();
    }
    const old = this.stamps[b] as number;
    let delta = 0;
    if (old !== now) {
      this.stamps[b] = now;
      delta = this.rng.int(Math.min(now - old, 4294967296));
    }
    const next = ((this.ids[b] as number) + segs + delta) >>> 0;
    this.ids[b] = next;
    return (next - segs) & 0xffff;
  }
}

const hosts = new WeakMap<Sim, Map<string, IpIdents>>();

/** The ip_idents table of `host` in this run. */
export function ipIdentsOf(sim: Sim, host: string): IpIdents {
  let m = hosts.get(sim);
  if (m === undefined) hosts.set(sim, (m = new Map()));
  let t = m.get(host);
  if (t === undefined) {
    t = new IpIdents(sim.rng.fork(`ip_idents:${host}`), () => Math.floor(sim.clock.now() / MS));
    m.set(host, t);
  }
  return t;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A namespace's ip_id_key and its keyed hash of (daddr, saddr, protocol). */
export class IpIdKey {
  // Four fields drawn in this order, not an array: the hash runs per tunnelled packet, and an array's destructuring is an iteration.
  private readonly k0: number;
  private readonly k1: number;
  private readonly k2: number;
  private readonly k3: number;

  constructor(rng: Rng) {
    this.k0 = rng.nextU32();
    this.k1 = rng.nextU32();
    this.k2 = rng.nextU32();
    this.k3 = rng.nextU32();
  }

  hash(daddr: number, saddr: number, protocol: number): number {
    const k0 = this.k0;
    const k1 = this.k1;
    const k2 = this.k2;
    const k3 = this.k3;
    let h = fmix32((daddr ^ k0) >>> 0);
    h = fmix32((h ^ saddr ^ k1) >>> 0);
    h = fmix32((h ^ protocol ^ k2) >>> 0);
    return (h ^ k3) >>> 0;
  }
}

/**
 * CoreDNS's `cache 30` (plugin/cache): a reply is kept for the smallest TTL among
 * its records (answers, authority and additional; for a denial the SOA's TTL and
 * MINIMUM), capped at 30 s and floored at 5 s (minttl), a SERVFAIL for 5 s
 * (servfail). The reply that fills the cache already carries that TTL on every
 * record ("to avoid a jarring TTL experience", cache's ResponseWriter). Keys are the
 * lowercased name, type and the DO and CD bits. A hit is served with every TTL set
 * to what is left of the item's (whole seconds); an item at zero is gone.
 * Truncated replies are not cached.
 *
 * A block may cap denials lower than answers (`cache { success 9984 30; denial 9984 5 }`,
 * NodeLocal DNSCache's cluster zone).
 *
 * Not modelled: the positive/negative capacity limits (9984 each), prefetch,
 * serve_stale, the per-item random eviction.
 */
import type { Answer } from 'dns-packet';
import { SECOND } from '../../netsim/time/scheduler.ts';

/** cache plugin defaults: minimum TTL of success and denial, SERVFAIL lifetime. */
export const CACHE_MIN_TTL = 5;
export const CACHE_SERVFAIL_TTL = 5;

export interface CachedReply {
  readonly rcode: number;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  readonly additionals: Answer[];
}

interface Item extends CachedReply {
  readonly storedAt: number;
  readonly ttl: number;
}

const ttlOf = (rr: Answer): number => (rr as { ttl?: number }).ttl ?? 0;
const withTtl = (rrs: readonly Answer[], ttl: number): Answer[] => rrs.map((rr) => ({ ...rr, ttl }) as Answer);

export class DnsCache {
  private readonly items = new Map<string, Item>();

  /** `maxTtl`: success's cap (`cache 30`); `denialMaxTtl`: denial's (default the same). */
  constructor(private readonly now: () => number, private readonly maxTtl = 30, private readonly denialMaxTtl = maxTtl) {}

  key(name: string, type: string, dnssecOk: boolean, checkingDisabled: boolean): string {
    return `${name.toLowerCase().replace(/\.$/, '')}|${type}|${dnssecOk ? 1 : 0}|${checkingDisabled ? 1 : 0}`;
  }

  /** Store a reply; returns it with the TTLs the cache gave it (unchanged when not cached). */
  put<R extends CachedReply & { readonly tc?: boolean }>(key: string, r: R): R {
    if (r.tc === true) return r;
    let ttl: number;
    if (r.rcode === 2) ttl = CACHE_SERVFAIL_TTL;
    else if (r.rcode !== 0 && r.rcode !== 3) return r;
    else {
      // dnsutil.MinimalTTL: a denial's TTL is the SOA's (header TTL and MINIMUM), else the smallest record TTL.
      const denial = r.rcode === 3 || r.answers.length === 0;
      const rrs = denial ? r.authorities.filter((a) => a.type === 'SOA') : [...r.answers, ...r.authorities, ...r.additionals];
      const cap = denial ? this.denialMaxTtl : this.maxTtl;
      let min = cap;
      for (const rr of rrs) {
        min = Math.min(min, ttlOf(rr));
        if (rr.type === 'SOA') min = Math.min(min, (rr as { data: { minimum?: number } }).data.minimum ?? min);
      }
      ttl = Math.max(Math.min(CACHE_MIN_TTL, cap), Math.min(cap, min));
    }
    const capped = { ...r, answers: withTtl(r.answers, ttl), authorities: withTtl(r.authorities, ttl), additionals: withTtl(r.additionals, ttl) };
    this.items.set(key, { rcode: r.rcode, answers: capped.answers, authorities: capped.authorities, additionals: capped.additionals, storedAt: this.now(), ttl });
    return capped;
  }

  /** A hit with TTLs counted down, or undefined (absent or expired). */
  get(key: string): CachedReply | undefined {
    const it = this.items.get(key);
    if (it === undefined) return undefined;
    const elapsed = Math.floor((this.now() - it.storedAt) / SECOND);
    const left = it.ttl - elapsed;
    if (left <= 0) {
      this.items.delete(key);
      return undefined;
    }
    return { rcode: it.rcode, answers: withTtl(it.answers, left), authorities: withTtl(it.authorities, left), additionals: withTtl(it.additionals, left) };
  }
}

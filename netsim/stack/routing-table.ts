/**
 * Routing tables with longest-prefix match (net/ipv4/fib_*).
 *
 * A namespace has the `local` table (255: its own and broadcast addresses, filled by
 * the kernel when addresses are added) and `main` (254); lookups consult local first,
 * then main, which is what Linux's default rules (0: local, 32766: main) amount to.
 * Within a table the longest matching prefix wins, then the lowest metric.
 *
 * Lookup cost is one Map probe per distinct prefix length present (at most 33), not
 * per route, so thousands of routes cost the same as ten.
 */
import { formatIpv4 } from '../wire/addr.ts';
import type { Ipv4Cidr } from '../wire/addr.ts';
import type { Ipv4Addr } from '../wire/addr.ts';

export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit';
export type RouteScope = 'global' | 'link' | 'host';
export type RouteProto = 'kernel' | 'boot' | 'static';

export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export interface Route {
  readonly table: number;
  readonly type: RouteType;
  readonly dst: Ipv4Cidr;
  readonly gateway?: Ipv4Addr;
  /** Output device name (absent for blackhole/unreachable/prohibit). */
  readonly dev?: string;
  /** Preferred source address (`src`). */
  readonly src?: Ipv4Addr;
  readonly scope: RouteScope;
  readonly proto: RouteProto;
  readonly metric: number;
  /** `onlink`: the gateway is reachable on `dev` even though no address covers it. */
  readonly onlink: boolean;
}

export class RoutingTable {
  // byLen[len] maps a network address to the routes for that prefix (several metrics).
  private readonly byLen: Array<Map<number, Route[]> | undefined> = new Array(33).fill(undefined);
  /** Prefix lengths present, longest first. */
  private lens: number[] = [];
  private count = 0;

  constructor(readonly id: number) {}

  size(): number {
    return this.count;
  }

  /** Add a route; returns false if one with the same destination, type and metric exists (EEXIST). */
  add(r: Route): boolean {
    let m = this.byLen[r.dst.prefixLen];
    if (m === undefined) {
      m = new Map();
      this.byLen[r.dst.prefixLen] = m;
      this.lens = this.byLen.flatMap((x, i) => (x !== undefined ? [i] : [])).reverse();
    }
    const list = m.get(r.dst.network);
    if (list === undefined) {
      m.set(r.dst.network, [r]);
    } else {
      if (list.some((x) => x.metric === r.metric && x.type === r.type)) return false;
      list.push(r);
      list.sort((a, b) => a.metric - b.metric);
    }
    this.count++;
    return true;
  }

  /** Delete routes matching `pred` (and `dst` when given). Returns how many went. */
  delete(pred: (r: Route) => boolean, dst?: Ipv4Cidr): number {
    let n = 0;
    const lens = dst !== undefined ? [dst.prefixLen] : this.lens;
    for (const len of lens) {
      const m = this.byLen[len];
      if (m === undefined) continue;
      for (const [net, list] of m) {
        if (dst !== undefined && net !== dst.network) continue;
        const keep = list.filter((r) => !pred(r));
        n += list.length - keep.length;
        if (keep.length === 0) m.delete(net);
        else m.set(net, keep);
      }
      if (m.size === 0) this.byLen[len] = undefined;
    }
    this.lens = this.byLen.flatMap((x, i) => (x !== undefined ? [i] : [])).reverse();
    this.count -= n;
    return n;
  }

  /** Longest-prefix match; `usable` filters candidates (e.g. routes over down devices). */
  lookup(dst: Ipv4Addr, usable?: (r: Route) => boolean): Route | undefined {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i] as number;
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      const list = (this.byLen[len] as Map<number, Route[]>).get((dst & mask) >>> 0);
      if (list === undefined) continue;
      if (usable === undefined) return list[0];
      for (const r of list) if (usable(r)) return r;
    }
    return undefined;
  }

  /** Routes in the order `ip route` prints them: by network, then prefix length, then metric. */
  list(): Route[] {
    const all: Route[] = [];
    for (const m of this.byLen) if (m !== undefined) for (const l of m.values()) all.push(...l);
    return all.sort((a, b) => a.dst.network - b.dst.network || a.dst.prefixLen - b.dst.prefixLen || a.metric - b.metric);
  }
}

/** A route as `ip route show` prints it (without the table name). */
export function formatRoute(r: Route, opts: { showType?: boolean; linkdown?: boolean } = {}): string {
  const parts: string[] = [];
  const showType = opts.showType ?? r.type !== 'unicast';
  if (showType) parts.push(r.type);
  // iproute2 prints host routes without /32 and the zero prefix as `default`.
  parts.push(r.dst.prefixLen === 0 ? 'default' : r.dst.prefixLen === 32 ? formatIpv4(r.dst.network) : r.dst.toString());
  if (r.gateway !== undefined) parts.push('via', formatIpv4(r.gateway));
  if (r.dev !== undefined) parts.push('dev', r.dev);
  if (r.proto !== 'boot') parts.push('proto', r.proto);
  if (r.scope !== 'global') parts.push('scope', r.scope);
  if (r.src !== undefined) parts.push('src', formatIpv4(r.src));
  if (r.metric !== 0) parts.push('metric', String(r.metric));
  if (r.onlink) parts.push('onlink');
  if (opts.linkdown === true) parts.push('linkdown');
  return parts.join(' ');
}

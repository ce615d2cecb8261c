/**
 * An emulated load-balancer controller (the part of a cloud controller manager, or
 * MetalLB's controller, that gives `type: LoadBalancer` Services an address): each
 * LoadBalancer Service gets one `status.loadBalancer.ingress[].ip` from a configured
 * pool, the lowest free address, deterministically.
 *
 * - The pool is a list of CIDRs (`198.51.100.0/28`, every address usable, as MetalLB
 *   does by default), inclusive ranges (`198.51.100.10-198.51.100.20`) or single IPs.
 * - `spec.loadBalancerIP` is honoured when it is in the pool and free; otherwise the
 *   Service gets no address and a Warning Event says why.
 * - Services keep their address across passes; when two claim the same one, the older
 *   (creationTimestamp, then namespace/name) keeps it. An address outside the pool is
 *   replaced.
 * - An address is released when its Service is deleted, or stops being a
 *   LoadBalancer (the status is cleared, as upstream's service controller does).
 * - A Service with `spec.loadBalancerClass` other than the controller's is left alone.
 * - An exhausted pool is reported as a Warning Event `AllocationFailed` on the
 *   Service (once per distinct message), never as an exception; the Service is
 *   retried on every pass and served as soon as an address frees up.
 *
 * Not modelled: the load balancer's data path (addresses are delivered to the nodes by
 * whatever routes the topology has), IP sharing between Services, hostnames in
 * ingress, dual-stack, per-Service pool selection.
 */
import type { Service } from '../api/index.ts';
import { EventRecorder } from './event-recorder.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace } from './types.ts';

export interface LoadBalancerControllerOptions {
  /** Address pool: CIDRs, `first-last` ranges, or single IPv4 addresses. */
  readonly pool: readonly string[];
  /** The `spec.loadBalancerClass` this controller serves (default: only Services without one). */
  readonly loadBalancerClass?: string;
  readonly clock?: () => Date;
}

/** Event reasons (MetalLB's controller uses the same words). */
export const LB_EVENT_ALLOCATED = 'IPAllocated';
export const LB_EVENT_FAILED = 'AllocationFailed';

const COMPONENT = 'load-balancer-controller';

function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (m === null) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! * 256 + o[1]!) * 256 + o[2]!) * 256 + o[3]!;
}

function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Parse a pool into sorted, merged inclusive [first, last] ranges; throws on a malformed entry. */
export function parseAddressPool(pool: readonly string[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const raw of pool) {
    const e = raw.trim();
    let r: [number, number] | undefined;
    if (e.includes('/')) {
      const [a, l] = e.split('/');
      const base = parseIp(a ?? '');
      const len = Number(l);
      if (base !== undefined && Number.isInteger(len) && len >= 0 && len <= 32 && /^\d+$/.test(l ?? '')) {
        const size = 2 ** (32 - len);
        const first = Math.floor(base / size) * size;
        r = [first, first + size - 1];
      }
    } else if (e.includes('-')) {
      const [a, b] = e.split('-');
      const first = parseIp(a ?? '');
      const last = parseIp(b ?? '');
      if (first !== undefined && last !== undefined && first <= last) r = [first, last];
    } else {
      const ip = parseIp(e);
      if (ip !== undefined) r = [ip, ip];
    }
    if (r === undefined) throw new Error(`load-balancer pool: "${raw}" is not a CIDR, an address range or an IPv4 address`);
    ranges.push(r);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last !== undefined && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

const keyOf = (s: Service): string => `${s.metadata.namespace ?? 'default'}/${s.metadata.name ?? ''}`;

function ingressIPs(s: Service): string[] {
  return (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => ip !== undefined && ip !== '');
}

export class LoadBalancerController implements Controller {
  readonly name = 'load-balancer';
  private readonly ranges: Array<[number, number]>;
  private readonly clock: () => Date;
  /** Last Event reported per Service uid (reason + message), so a pass repeats none. */
  private readonly reported = new Map<string, string>();
  private readonly events: EventRecorder;

  constructor(private readonly api: ControlApi, private readonly opts: LoadBalancerControllerOptions) {
    this.ranges = parseAddressPool(opts.pool);
    if (this.ranges.length === 0) throw new Error('load-balancer pool is empty');
    this.clock = opts.clock ?? (() => new Date());
    this.events = new EventRecorder(api, COMPONENT, this.clock);
  }

  /** Whether `ip` is an address of the pool. */
  inPool(ip: string): boolean {
    const n = parseIp(ip);
    return n !== undefined && this.ranges.some(([a, b]) => n >= a && n <= b);
  }

  private ours(s: Service): boolean {
    if (s.spec.type !== 'LoadBalancer') return false;
    const cls = (s.spec as { loadBalancerClass?: string }).loadBalancerClass;
    return cls === this.opts.loadBalancerClass;
  }

  async sync(): Promise<number> {
    const all = (await this.api.list<Service>('services')).sort((a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || keyOf(a).localeCompare(keyOf(b)));
    let writes = 0;
    const used = new Map<number, string>();
    const keep = new Map<string, string>();
    const need: Service[] = [];
    const live = new Set(all.map((s) => s.metadata.uid ?? keyOf(s)));
    for (const uid of [...this.reported.keys()]) if (!live.has(uid)) this.reported.delete(uid);

    // Pass 1: who keeps what. Services that are no longer ours give their addresses back.
    for (const s of all) {
      const ips = ingressIPs(s);
      if (!this.ours(s)) {
        if (s.spec.type !== 'LoadBalancer' && ips.some((ip) => this.inPool(ip))) writes += await this.setIngress(s, undefined);
        continue;
      }
      const requested = s.spec.loadBalancerIP !== undefined && s.spec.loadBalancerIP !== '' ? s.spec.loadBalancerIP : undefined;
      const current = ips.length === 1 ? ips[0]! : undefined;
      const n = current !== undefined ? parseIp(current) : undefined;
      if (current !== undefined && n !== undefined && this.inPool(current) && !used.has(n) && (requested === undefined || requested === current)) {
        used.set(n, keyOf(s));
        keep.set(keyOf(s), current);
      } else need.push(s);
    }

    // Pass 2: addresses for the rest, oldest first.
    for (const s of need) {
      const requested = s.spec.loadBalancerIP !== undefined && s.spec.loadBalancerIP !== '' ? s.spec.loadBalancerIP : undefined;
      let ip: string | undefined;
      let failure: string | undefined;
      if (requested !== undefined) {
        const n = parseIp(requested);
        if (n === undefined || !this.inPool(requested)) failure = `Failed to allocate IP for "${keyOf(s)}": requested loadBalancerIP ${requested} is not in the pool`;
        else if (used.has(n)) failure = `Failed to allocate IP for "${keyOf(s)}": requested loadBalancerIP ${requested} is already in use by "${used.get(n)}"`;
        else ip = requested;
      } else {
        ip = this.lowestFree(used);
        if (ip === undefined) failure = `Failed to allocate IP for "${keyOf(s)}": no available IPs in the pool`;
      }
      if (ip !== undefined) {
        used.set(parseIp(ip)!, keyOf(s));
        writes += await this.setIngress(s, ip);
        writes += await this.report(s, 'Normal', LB_EVENT_ALLOCATED, `Assigned IP ["${ip}"]`);
      } else {
        if (ingressIPs(s).length > 0) writes += await this.setIngress(s, undefined);
        writes += await this.report(s, 'Warning', LB_EVENT_FAILED, failure!);
      }
    }
    return writes;
  }

  private lowestFree(used: ReadonlyMap<number, string>): string | undefined {
    for (const [a, b] of this.ranges) {
      for (let n = a; n <= b; n++) if (!used.has(n)) return formatIp(n);
    }
    return undefined;
  }

  /** Set (or with undefined, clear) the Service's ingress; returns the writes made. */
  private async setIngress(s: Service, ip: string | undefined): Promise<number> {
    const cur = ingressIPs(s);
    if (ip === undefined ? cur.length === 0 : cur.length === 1 && cur[0] === ip) return 0;
    const status = { ...s.status, loadBalancer: ip === undefined ? {} : { ingress: [{ ip }] } };
    try {
      await this.api.updateStatus('services', s.metadata.namespace, s.metadata.name!, { ...s, status });
      return 1;
    } catch (e) {
      if (isRace(e)) return 0;
      throw e;
    }
  }

  private async report(s: Service, type: 'Normal' | 'Warning', reason: string, message: string): Promise<number> {
    const uid = s.metadata.uid ?? keyOf(s);
    const sig = `${reason}\n${message}`;
    if (this.reported.get(uid) === sig) return 0;
    this.reported.set(uid, sig);
    return this.events.record({ apiVersion: 'v1', kind: 'Service', metadata: s.metadata }, type, reason, message);
  }

}

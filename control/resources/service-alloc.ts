/**
 * Service ClusterIP and NodePort allocation, done at admission like kube-apiserver's
 * service REST storage (so a colliding nodePort is a 422 on the create itself):
 * `spec.ports[0].nodePort: Invalid value: 30000: provided port is already allocated`.
 *
 * Allocation is deterministic (lowest free address/port of the dynamic band) instead of
 * random. As in kube-apiserver ≥ 1.27 the low end of each range is a "static band" that
 * dynamic allocation avoids while the upper band has room, so user-chosen values
 * (kube-dns 10.96.0.10, nodePort 30000) rarely collide with allocated ones.
 *
 * What is taken lives in `ServiceAllocations`, an in-memory index of the stored Services
 * (kube-apiserver keeps an in-memory bitmap per range for the same reason): a write costs
 * O(1) amortized instead of a look at every other Service, which made n creates O(n²).
 */
import type { Service } from '../api/index.ts';
import type { FieldError } from '../api/index.ts';
import { invalid } from '../api/index.ts';
import type { ServerConfig } from './strategy.ts';

export interface Ipv4Cidr { readonly base: number; readonly bits: number }

export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function parseCidr(s: string): Ipv4Cidr {
  const [ip, len] = s.split('/');
  const base = parseIpv4(ip ?? '');
  const bits = Number(len);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`invalid IPv4 CIDR ${s}`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (base & mask) >>> 0, bits };
}

export function cidrSize(c: Ipv4Cidr): number {
  return 2 ** (32 - c.bits);
}

export function cidrContains(c: Ipv4Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + cidrSize(c);
}

/** The allocator's ranges: the server's --service-cluster-ip-range and --service-node-port-range. */
export type AllocatorConfig = ServerConfig;

/** kube-apiserver's static band: min(max(16, size/16), 256) addresses (IPs), min(max(16, size/32), 128) ports. */
function ipStaticBand(size: number): number { return Math.min(Math.max(16, Math.floor(size / 16)), 256); }
function portStaticBand(size: number): number { return Math.min(Math.max(16, Math.floor(size / 32)), 128); }

/** The first usable address of the service CIDR: the `default/kubernetes` service's ClusterIP. */
export function kubernetesServiceIP(cfg: AllocatorConfig): string {
  return formatIpv4(parseCidr(cfg.serviceCIDR).base + 1);
}

/**
 * Fill in `spec.clusterIP(s)` and `spec.ports[].nodePort` of `svc` (mutating), the Service
 * stored at key `self` (`old`: its current object on an update), given what the stored
 * Services hold (`self`'s own values do not count as taken). Returns field errors for
 * user-chosen values that collide or fall out of range. Takes nothing in `held`: the
 * caller reserves what it stores (`ServiceAllocations.reserve`).
 */
export function allocateService(svc: Service, self: string, held: ServiceAllocations, old?: Service): FieldError[] {
  const errs: FieldError[] = [];
  const cfg = held.cfg;
  const spec = svc.spec;
  const type = spec.type ?? 'ClusterIP';
  const cidr = held.cidr;
  // --- ClusterIP
  if (old) {
    const oldIP = old.spec.clusterIP;
    const newIP = spec.clusterIP;
    if (oldIP && (newIP === undefined || newIP === '') && type !== 'ExternalName') {
      spec.clusterIP = oldIP;
      spec.clusterIPs = old.spec.clusterIPs ?? [oldIP];
    } else if (oldIP && newIP && newIP !== oldIP && old.spec.type !== 'ExternalName' && type !== 'ExternalName') {
      errs.push(invalid('spec.clusterIPs[0]', [newIP], 'may not change once set'));
    }
  }
  if (type === 'ExternalName') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else if (spec.clusterIP === 'None') {
    spec.clusterIPs = ['None'];
  } else if (!old || !old.spec.clusterIP || old.spec.type === 'ExternalName' || spec.clusterIP !== old.spec.clusterIP) {
    if (spec.clusterIP) {
      const n = parseIpv4(spec.clusterIP);
      if (n === undefined || !cidrContains(cidr, n) || n === cidr.base || n === cidr.base + cidrSize(cidr) - 1) {
        errs.push(invalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${cfg.serviceCIDR}`));
      } else if (held.ipTaken(self, spec.clusterIP)) {
        errs.push(invalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`));
      }
    } else {
      const ip = held.freeIp(self);
      if (ip === undefined) errs.push(invalid('spec.clusterIPs', [], 'failed to allocate a serviceIP: range is full'));
      else { spec.clusterIP = ip; spec.clusterIPs = [ip]; }
    }
    if (spec.clusterIP && !spec.clusterIPs) spec.clusterIPs = [spec.clusterIP];
  }
  // --- NodePorts
  const wantsNodePorts = type === 'NodePort' || (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
  const ports = spec.ports ?? [];
  const mine = new Set<number>();
  const oldHc = old?.spec.healthCheckNodePort;
  if (!wantsNodePorts) {
    if (old && (old.spec.type === 'NodePort' || old.spec.type === 'LoadBalancer')) for (const p of ports) delete p.nodePort;
    allocateHealthCheckNodePort(svc, self, held, oldHc, mine, errs);
    return errs;
  }
  const oldPorts = new Map<string, number>();
  if (old) for (const p of old.spec.ports ?? []) if (p.nodePort) oldPorts.set(`${p.port}/${p.protocol ?? 'TCP'}`, p.nodePort);
  const ownOld = new Set(oldPorts.values());
  ports.forEach((p, i) => {
    if (p.nodePort) {
      if (held.portTaken(self, p.nodePort)) {
        errs.push(invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
      }
      mine.add(p.nodePort);
    }
  });
  const skip = (n: number): boolean => mine.has(n) || ownOld.has(n);
  ports.forEach((p) => {
    if (p.nodePort) return;
    const keep = oldPorts.get(`${p.port}/${p.protocol ?? 'TCP'}`);
    if (keep !== undefined && !mine.has(keep)) { p.nodePort = keep; mine.add(keep); return; }
    const n = held.freePort(self, skip);
    if (n === undefined) errs.push(invalid('spec.ports', p.port, 'failed to allocate a nodePort: range is full'));
    else { p.nodePort = n; mine.add(n); }
  });
  allocateHealthCheckNodePort(svc, self, held, oldHc, mine, errs, ownOld);
  return errs;
}

/**
 * `spec.healthCheckNodePort`, from the NodePort range, for a Service that needs one
 * (apiservice.NeedsHealthCheck: type LoadBalancer with externalTrafficPolicy Local):
 * the user's value if free, else the one it had, else a free port; a Service that no
 * longer needs one loses it (the port is released with the stored object), and one
 * that never did may not set it (validation's "may only be set when …").
 */
function allocateHealthCheckNodePort(svc: Service, self: string, held: ServiceAllocations, oldHc: number | undefined, mine: Set<number>, errs: FieldError[], ownOld: ReadonlySet<number> = new Set()): void {
  const spec = svc.spec;
  const needs = spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
  const hc = spec.healthCheckNodePort;
  if (!needs) {
    if (hc !== undefined && hc !== 0 && hc !== oldHc) errs.push(invalid('spec.healthCheckNodePort', hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    else delete spec.healthCheckNodePort;
    return;
  }
  if (hc !== undefined && hc !== 0) {
    const lo = held.cfg.nodePortBase;
    if (hc < lo || hc >= lo + held.cfg.nodePortSize) errs.push(invalid('spec.healthCheckNodePort', hc, `provided port is not in the valid range. The range of valid ports is ${lo}-${lo + held.cfg.nodePortSize - 1}`));
    else if (hc !== oldHc && (mine.has(hc) || held.portTaken(self, hc))) errs.push(invalid('spec.healthCheckNodePort', hc, 'provided port is already allocated'));
    mine.add(hc);
    return;
  }
  if (oldHc !== undefined && oldHc !== 0 && !mine.has(oldHc)) {
    spec.healthCheckNodePort = oldHc;
    mine.add(oldHc);
    return;
  }
  const n = held.freePort(self, (p) => mine.has(p) || ownOld.has(p) || p === oldHc);
  if (n === undefined) errs.push(invalid('spec.healthCheckNodePort', 0, 'failed to allocate a nodePort: range is full'));
  else { spec.healthCheckNodePort = n; mine.add(n); }
}

/** What one stored Service holds. */
interface Held {
  readonly rev: number;
  /** `spec.clusterIP` (not '' or 'None'), as stored. */
  readonly ip: string | undefined;
  /** Its numeric value when `ip` is canonical dotted-quad text, as `formatIpv4` writes it. */
  readonly ipNum: number | undefined;
  /** `spec.ports[].nodePort` (those set). */
  readonly ports: readonly number[];
}

/** All of [lo, v) is taken (v only ever passes taken values; lowered on release). */
interface Cursor { readonly lo: number; readonly hi: number; v: number }

function countUp<K>(m: Map<K, number>, k: K): void { m.set(k, (m.get(k) ?? 0) + 1); }
function times(xs: readonly number[], v: number): number { let n = 0; for (const x of xs) if (x === v) n++; return n; }

/**
 * The ClusterIPs and nodePorts the stored Services hold, per Service key, with counts per
 * value (a value can be held twice after racing writers) and one lowest-free cursor per band.
 * Writes apply with their store revision; a write at or below the revision a key already
 * has (or was deleted at) is stale and ignored, so the store's watch events and the
 * writer's own results can arrive in either order.
 */
export class ServiceAllocations {
  readonly cfg: AllocatorConfig;
  readonly cidr: Ipv4Cidr;
  private readonly byKey = new Map<string, Held>();
  /** Keys deleted at a revision the watch has not delivered yet. */
  private readonly deletedAt = new Map<string, number>();
  private readonly ipText = new Map<string, number>();
  private readonly ipNums = new Map<number, number>();
  private readonly portCounts = new Map<number, number>();
  private readonly ipCursors: readonly [Cursor, Cursor];
  private readonly portCursors: readonly [Cursor, Cursor];
  /** Revision of the list the index was loaded from: writes at or below it are in already. */
  private baseRev = -1;
  /** Revision up to which the store's watch has delivered writes. */
  private seenRev = 0;

  constructor(cfg: AllocatorConfig) {
    this.cfg = cfg;
    this.cidr = parseCidr(cfg.serviceCIDR);
    const size = cidrSize(this.cidr);
    const b = this.cidr.base;
    const ib = ipStaticBand(size);
    const pb = portStaticBand(cfg.nodePortSize);
    const p = cfg.nodePortBase;
    this.ipCursors = [{ lo: b + ib, hi: b + size - 1, v: b + ib }, { lo: b + 1, hi: b + ib, v: b + 1 }];
    this.portCursors = [{ lo: p + pb, hi: p + cfg.nodePortSize, v: p + pb }, { lo: p, hi: p + pb, v: p }];
  }

  /** Load the Services of a list taken at store revision `rev` (before any other write is applied). */
  load(items: Iterable<{ readonly key: string; readonly svc: Service; readonly rev: number }>, rev: number): void {
    for (const it of items) this.put(it.key, it.svc, it.rev);
    this.baseRev = rev;
    this.seenRev = rev;
  }

  /** Record the Service stored at `key` by the write at `rev`. */
  put(key: string, svc: Service, rev: number): void {
    if (rev <= this.baseRev) return;
    const cur = this.byKey.get(key);
    if ((cur !== undefined && cur.rev >= rev) || (this.deletedAt.get(key) ?? 0) >= rev) return;
    this.deletedAt.delete(key);
    if (cur !== undefined) this.release(cur);
    const ip = svc.spec?.clusterIP && svc.spec.clusterIP !== 'None' ? svc.spec.clusterIP : undefined;
    const n = ip === undefined ? undefined : parseIpv4(ip);
    const ports: number[] = [];
    for (const p of svc.spec?.ports ?? []) if (p.nodePort) ports.push(p.nodePort);
    if (svc.spec?.healthCheckNodePort) ports.push(svc.spec.healthCheckNodePort);
    const held: Held = { rev, ip, ipNum: n !== undefined && formatIpv4(n) === ip ? n : undefined, ports };
    this.byKey.set(key, held);
    this.hold(held);
  }

  /** The Service at `key` was deleted by the write at `rev`. */
  remove(key: string, rev: number): void {
    if (rev <= this.baseRev) return;
    const cur = this.byKey.get(key);
    if (cur !== undefined && cur.rev >= rev) return;
    if (cur !== undefined) { this.byKey.delete(key); this.release(cur); }
    if (rev > this.seenRev) this.deletedAt.set(key, Math.max(rev, this.deletedAt.get(key) ?? 0));
  }

  /** The store's watch has delivered every write up to `rev`. */
  seen(rev: number): void {
    if (rev <= this.seenRev) return;
    this.seenRev = rev;
    if (this.deletedAt.size > 0) for (const [k, r] of this.deletedAt) if (r <= rev) this.deletedAt.delete(k);
  }

  /**
   * Count `svc`'s ClusterIP and nodePorts that `key` does not hold yet as taken until the
   * returned function is called: a write between admission and its store commit is not
   * yet in the index, and a concurrent admission must not hand out the same values.
   */
  reserve(key: string, svc: Service): () => void {
    const cur = this.byKey.get(key);
    const ip = svc.spec?.clusterIP && svc.spec.clusterIP !== 'None' && svc.spec.clusterIP !== cur?.ip ? svc.spec.clusterIP : undefined;
    const n = ip === undefined ? undefined : parseIpv4(ip);
    const ports: number[] = [];
    for (const p of svc.spec?.ports ?? []) if (p.nodePort && !cur?.ports.includes(p.nodePort)) ports.push(p.nodePort);
    const hc = svc.spec?.healthCheckNodePort;
    if (hc && !cur?.ports.includes(hc)) ports.push(hc);
    const held: Held = { rev: 0, ip, ipNum: n !== undefined && formatIpv4(n) === ip ? n : undefined, ports };
    this.hold(held);
    let done = false;
    return () => { if (!done) { done = true; this.release(held); } };
  }

  /** Services other than `self` hold this ClusterIP text. */
  ipTaken(self: string, ip: string): boolean {
    return (this.ipText.get(ip) ?? 0) > (this.byKey.get(self)?.ip === ip ? 1 : 0);
  }

  /** Services other than `self` hold this nodePort. */
  portTaken(self: string, port: number): boolean {
    const own = this.byKey.get(self);
    return (this.portCounts.get(port) ?? 0) > (own === undefined ? 0 : times(own.ports, port));
  }

  /** The lowest ClusterIP no other Service holds: of the dynamic band, then the static band. */
  freeIp(self: string): string | undefined {
    const own = this.byKey.get(self)?.ipNum;
    const owned = own === undefined ? [] : [own];
    const taken = (v: number): boolean => (this.ipNums.get(v) ?? 0) > times(owned, v);
    const n = lowest(this.ipCursors[0], this.ipNums, owned, taken) ?? lowest(this.ipCursors[1], this.ipNums, owned, taken);
    return n === undefined ? undefined : formatIpv4(n);
  }

  /** The lowest nodePort no other Service holds and `skip` allows: of the dynamic band, then the static band. */
  freePort(self: string, skip: (port: number) => boolean): number | undefined {
    const owned = this.byKey.get(self)?.ports ?? [];
    const taken = (v: number): boolean => skip(v) || (this.portCounts.get(v) ?? 0) > times(owned, v);
    return lowest(this.portCursors[0], this.portCounts, owned, taken) ?? lowest(this.portCursors[1], this.portCounts, owned, taken);
  }

  private hold(h: Held): void {
    if (h.ip !== undefined) countUp(this.ipText, h.ip);
    if (h.ipNum !== undefined) countUp(this.ipNums, h.ipNum);
    for (const p of h.ports) countUp(this.portCounts, p);
  }

  private release(h: Held): void {
    if (h.ip !== undefined) countDown(this.ipText, h.ip, []);
    if (h.ipNum !== undefined) countDown(this.ipNums, h.ipNum, this.ipCursors);
    for (const p of h.ports) countDown(this.portCounts, p, this.portCursors);
  }
}

function countDown<K extends number | string>(m: Map<K, number>, k: K, cursors: readonly Cursor[]): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n > 0) { m.set(k, n); return; }
  m.delete(k);
  if (typeof k === 'number') for (const c of cursors) if (k >= c.lo && k < c.v) c.v = k;
}

/**
 * Lowest v of the cursor's band with `taken(v)` false. Below the cursor everything is held,
 * so only values `self` holds itself can be free there; from the cursor on, scan.
 */
function lowest(c: Cursor, counts: Map<number, number>, owned: readonly number[], taken: (v: number) => boolean): number | undefined {
  while (c.v < c.hi && counts.has(c.v)) c.v++;
  let best: number | undefined;
  for (let v = c.v; v < c.hi; v++) if (!taken(v)) { best = v; break; }
  for (const v of owned) if (v >= c.lo && v < c.v && (best === undefined || v < best) && !taken(v)) best = v;
  return best;
}

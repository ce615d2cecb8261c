/**
 * Service ClusterIP and NodePort allocation, done at admission like kube-apiserver's
 * service REST storage (so a colliding nodePort is a 422 on the create itself):
 * `spec.ports[0].nodePort: Invalid value: 30000: provided port is already allocated`.
 *
 * Allocation is deterministic (lowest free address/port of the dynamic band) instead of
 * random. As in kube-apiserver ≥ 1.27 the low end of each range is a "static band" that
 * dynamic allocation avoids while the upper band has room, so user-chosen values
 * (kube-dns 10.96.0.10, nodePort 30000) rarely collide with allocated ones.
 */
import type { Service } from '../api/index.ts';
import type { FieldError } from '../api/index.ts';
import { invalid } from '../api/index.ts';

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

export interface AllocatorConfig {
  readonly serviceCIDR: string;
  readonly nodePortBase: number;
  readonly nodePortSize: number;
}

/** kube-apiserver's static band: min(max(16, size/16), 256) addresses (IPs), min(max(16, size/32), 128) ports. */
function ipStaticBand(size: number): number { return Math.min(Math.max(16, Math.floor(size / 16)), 256); }
function portStaticBand(size: number): number { return Math.min(Math.max(16, Math.floor(size / 32)), 128); }

/** The first usable address of the service CIDR: the `default/kubernetes` service's ClusterIP. */
export function kubernetesServiceIP(cfg: AllocatorConfig): string {
  return formatIpv4(parseCidr(cfg.serviceCIDR).base + 1);
}

/**
 * Fill in `spec.clusterIP(s)` and `spec.ports[].nodePort` of `svc` (mutating), given the
 * other services. Returns field errors for user-chosen values that collide or fall out of range.
 */
export function allocateService(svc: Service, others: readonly Service[], cfg: AllocatorConfig, old?: Service): FieldError[] {
  const errs: FieldError[] = [];
  const spec = svc.spec;
  const type = spec.type ?? 'ClusterIP';
  const cidr = parseCidr(cfg.serviceCIDR);
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
    const used = new Set(others.map((s) => s.spec.clusterIP).filter((x): x is string => !!x && x !== 'None'));
    if (spec.clusterIP) {
      const n = parseIpv4(spec.clusterIP);
      if (n === undefined || !cidrContains(cidr, n) || n === cidr.base || n === cidr.base + cidrSize(cidr) - 1) {
        errs.push(invalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${cfg.serviceCIDR}`));
      } else if (used.has(spec.clusterIP)) {
        errs.push(invalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`));
      }
    } else {
      const size = cidrSize(cidr);
      const band = ipStaticBand(size);
      let ip: string | undefined;
      const tryRange = (from: number, to: number): void => {
        for (let off = from; off < to && ip === undefined; off++) {
          const cand = formatIpv4(cidr.base + off);
          if (!used.has(cand)) ip = cand;
        }
      };
      tryRange(band, size - 1);
      if (ip === undefined) tryRange(1, band);
      if (ip === undefined) errs.push(invalid('spec.clusterIPs', [], 'failed to allocate a serviceIP: range is full'));
      else { spec.clusterIP = ip; spec.clusterIPs = [ip]; }
    }
    if (spec.clusterIP && !spec.clusterIPs) spec.clusterIPs = [spec.clusterIP];
  }
  // --- NodePorts
  const wantsNodePorts = type === 'NodePort' || (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
  const ports = spec.ports ?? [];
  if (!wantsNodePorts) {
    if (old && (old.spec.type === 'NodePort' || old.spec.type === 'LoadBalancer')) for (const p of ports) delete p.nodePort;
    return errs;
  }
  const used = new Set<number>();
  for (const s of others) for (const p of s.spec.ports ?? []) if (p.nodePort) used.add(p.nodePort);
  const oldPorts = new Map<string, number>();
  if (old) for (const p of old.spec.ports ?? []) if (p.nodePort) oldPorts.set(`${p.port}/${p.protocol ?? 'TCP'}`, p.nodePort);
  const ownOld = new Set(oldPorts.values());
  const mine = new Set<number>();
  ports.forEach((p, i) => {
    if (p.nodePort) {
      if (used.has(p.nodePort)) {
        errs.push(invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
      }
      mine.add(p.nodePort);
    }
  });
  const band = portStaticBand(cfg.nodePortSize);
  ports.forEach((p) => {
    if (p.nodePort) return;
    const keep = oldPorts.get(`${p.port}/${p.protocol ?? 'TCP'}`);
    if (keep !== undefined && !mine.has(keep)) { p.nodePort = keep; mine.add(keep); return; }
    const pick = (from: number, to: number): number | undefined => {
      for (let n = cfg.nodePortBase + from; n < cfg.nodePortBase + to; n++) if (!used.has(n) && !mine.has(n) && !ownOld.has(n)) return n;
      return undefined;
    };
    const n = pick(band, cfg.nodePortSize) ?? pick(0, band);
    if (n === undefined) errs.push(invalid('spec.ports', p.port, 'failed to allocate a nodePort: range is full'));
    else { p.nodePort = n; mine.add(n); }
  });
  return errs;
}

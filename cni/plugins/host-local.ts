/**
 * host-local IPAM (containernetworking/plugins plugins/ipam/host-local): addresses
 * from range sets, one file per allocated address under
 * `<dataDir>/<network>/<ip>` holding `<containerID>\r\n<ifname>`, and
 * `last_reserved_ip.<set index>` so allocation goes round-robin from the last
 * reserved address. Range defaults (Range.Canonicalize): rangeStart = network + 1,
 * rangeEnd = broadcast − 1, gateway = network + 1 (never handed out); /31 and /32
 * are too small to allocate from.
 *
 * Not modelled: IPv6 ranges, the `IP=` request in CNI_ARGS / `ips` runtime config,
 * resolvConf, the file lock (one plugin runs at a time here).
 */
import { CniError, cniError } from '../errors.ts';
import { pluginMain } from '../plugin.ts';
import type { PluginContext } from '../plugin.ts';
import type { CniResult, ResultRoute } from '../spec/types.ts';
import { isObject } from '../spec/config.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr , Ipv4Cidr} from '../../netsim/wire/addr.ts';
import { cidrOrFail, ipOrFail } from './addr-util.ts';

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

export interface IpRange {
  readonly subnet: Ipv4Cidr;
  readonly start: Ipv4Addr;
  readonly end: Ipv4Addr;
  readonly gateway: Ipv4Addr;
}

export interface HostLocalConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly rangeSets: IpRange[][];
  readonly routes: ResultRoute[];
}

function canonicalizeRange(r: Record<string, unknown>): IpRange {
  const ifc = cidrOrFail(r['subnet'], 'subnet');
  const subnet = ifc.cidr;
  if (ifc.prefixLen > 30) throw new CniError(7, 'invalid network config', `Network ${subnet.toString()} too small to allocate from`);
  if (ifc.addr !== subnet.network) {
    throw new CniError(7, 'invalid network config', `Network has host bits set. For a subnet mask of length ${ifc.prefixLen} the network address is ${formatIpv4(subnet.network)}`);
  }
  const inNet = (a: Ipv4Addr, what: string): Ipv4Addr => {
    if (!subnet.contains(a)) throw new CniError(7, 'invalid network config', `${what} ${formatIpv4(a)} not in network ${subnet.toString()}`);
    return a;
  };
  const start = r['rangeStart'] !== undefined ? inNet(ipOrFail(r['rangeStart'], 'rangeStart'), 'RangeStart') : subnet.network + 1;
  const end = r['rangeEnd'] !== undefined ? inNet(ipOrFail(r['rangeEnd'], 'rangeEnd'), 'RangeEnd') : subnet.broadcast - 1;
  const gateway = r['gateway'] !== undefined ? ipOrFail(r['gateway'], 'gateway') : subnet.network + 1;
  if (start > end) throw new CniError(7, 'invalid network config', `RangeStart ${formatIpv4(start)} is after RangeEnd ${formatIpv4(end)}`);
  return { subnet, start, end, gateway };
}

/** The `ipam` section of a config, canonicalized (code 7 on any mistake). */
export function parseHostLocalConfig(name: string, ipam: Record<string, unknown>): HostLocalConfig {
  const dataDir = ipam['dataDir'] === undefined ? DEFAULT_DATA_DIR : ipam['dataDir'];
  if (typeof dataDir !== 'string' || dataDir === '') throw new CniError(7, 'invalid network config', '"dataDir" must be a string');
  let raw: unknown = ipam['ranges'];
  if (ipam['subnet'] !== undefined) {
    // The old single-range form: subnet/rangeStart/rangeEnd/gateway at the top of ipam.
    const legacy = { subnet: ipam['subnet'], rangeStart: ipam['rangeStart'], rangeEnd: ipam['rangeEnd'], gateway: ipam['gateway'] };
    raw = [[Object.fromEntries(Object.entries(legacy).filter(([, v]) => v !== undefined))], ...(Array.isArray(raw) ? raw : [])];
  }
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) throw new CniError(7, 'invalid network config', 'no IP ranges specified');
  if (!Array.isArray(raw)) throw new CniError(7, 'invalid network config', '"ranges" must be a list of range sets');
  const rangeSets = raw.map((set, i) => {
    if (!Array.isArray(set) || set.length === 0) throw new CniError(7, 'invalid network config', `invalid range set ${i}: no IP ranges specified`);
    try {
      const ranges = set.map((r) => {
        if (!isObject(r)) throw new CniError(7, 'invalid network config', 'range must be an object');
        return canonicalizeRange(r);
      });
      for (let a = 0; a < ranges.length; a++) {
        for (let b = a + 1; b < ranges.length; b++) {
          const ra = ranges[a] as IpRange;
          const rb = ranges[b] as IpRange;
          if (ra.start <= rb.end && rb.start <= ra.end) throw new CniError(7, 'invalid network config', `range ${formatIpv4(ra.start)}-${formatIpv4(ra.end)} overlaps with ${formatIpv4(rb.start)}-${formatIpv4(rb.end)}`);
        }
      }
      return ranges;
    } catch (e) {
      if (e instanceof CniError) throw new CniError(e.code, e.msg, `invalid range set ${i}: ${e.details}`);
      throw e;
    }
  });
  const routesRaw = ipam['routes'] ?? [];
  if (!Array.isArray(routesRaw)) throw new CniError(7, 'invalid network config', '"routes" must be a list');
  const routes = routesRaw.map((r): ResultRoute => {
    if (!isObject(r)) throw new CniError(7, 'invalid network config', 'route must be an object');
    const dst = cidrOrFail(r['dst'], 'routes[].dst');
    const out: ResultRoute = { dst: dst.cidr.toString() };
    if (r['gw'] !== undefined) out.gw = formatIpv4(ipOrFail(r['gw'], 'routes[].gw'));
    return out;
  });
  return { name, dataDir, rangeSets, routes };
}

function rangeSetString(set: readonly IpRange[]): string {
  return set.map((r) => `${formatIpv4(r.start)}-${formatIpv4(r.end)}`).join(',');
}

/** The allocation store of one network in the host's files. */
class Store {
  readonly dir: string;

  constructor(private readonly ctx: PluginContext, cfg: HostLocalConfig) {
    this.dir = `${cfg.dataDir}/${cfg.name}`;
  }

  private get fs() {
    return this.ctx.host.fs;
  }

  owner(ip: Ipv4Addr): string | undefined {
    return this.fs.read(`${this.dir}/${formatIpv4(ip)}`);
  }

  reserve(ip: Ipv4Addr, id: string, ifname: string, setIndex: number): boolean {
    const path = `${this.dir}/${formatIpv4(ip)}`;
    if (this.fs.read(path) !== undefined) return false;
    this.fs.write(path, `${id}\r\n${ifname}`);
    this.fs.write(`${this.dir}/last_reserved_ip.${setIndex}`, formatIpv4(ip));
    return true;
  }

  lastReserved(setIndex: number): Ipv4Addr | undefined {
    const s = this.fs.read(`${this.dir}/last_reserved_ip.${setIndex}`);
    return s === undefined ? undefined : ipOrFail(s, 'last_reserved_ip');
  }

  /** Addresses held by (id, ifname); files written before ifnames were recorded hold only the id. */
  held(id: string, ifname: string): Ipv4Addr[] {
    const out: Ipv4Addr[] = [];
    for (const name of this.fs.list(this.dir)) {
      if (name.startsWith('last_reserved_ip') || name === 'lock') continue;
      const content = (this.fs.read(`${this.dir}/${name}`) ?? '').trim();
      if (content === `${id}\r\n${ifname}` || content === id) out.push(ipOrFail(name, 'allocation'));
    }
    return out;
  }

  allocations(): Array<{ ip: string; id: string; ifname: string }> {
    const out: Array<{ ip: string; id: string; ifname: string }> = [];
    for (const name of this.fs.list(this.dir)) {
      if (name.startsWith('last_reserved_ip') || name === 'lock') continue;
      const [id = '', ifname = ''] = (this.fs.read(`${this.dir}/${name}`) ?? '').split('\r\n');
      out.push({ ip: name, id, ifname });
    }
    return out;
  }

  release(ip: string): void {
    this.fs.remove(`${this.dir}/${ip}`);
  }
}

/** Round-robin over a range set from just after the last reserved address (allocator.go GetIter). */
function allocate(store: Store, set: readonly IpRange[], setIndex: number, id: string, ifname: string): IpRange & { ip: Ipv4Addr } {
  const all: Array<{ r: IpRange; ip: Ipv4Addr }> = [];
  const total = set.reduce((n, r) => n + (r.end - r.start + 1), 0);
  const last = store.lastReserved(setIndex);
  let ri = 0;
  let cur = set[0]?.start ?? 0;
  if (last !== undefined) {
    const at = set.findIndex((r) => r.start <= last && last <= r.end);
    if (at >= 0) {
      ri = at;
      cur = last;
      // Start with the address after the last reserved one.
      const r = set[ri] as IpRange;
      if (cur >= r.end) {
        ri = (ri + 1) % set.length;
        cur = (set[ri] as IpRange).start;
      } else cur++;
    }
  }
  for (let n = 0; n < total; n++) {
    const r = set[ri] as IpRange;
    all.push({ r, ip: cur });
    if (cur >= r.end) {
      ri = (ri + 1) % set.length;
      cur = (set[ri] as IpRange).start;
    } else cur++;
  }
  for (const { r, ip } of all) {
    if (ip === r.gateway) continue;
    if (store.reserve(ip, id, ifname, setIndex)) return { ...r, ip };
  }
  throw new CniError(999, `failed to allocate for range ${setIndex}: no IP addresses available in range set: ${rangeSetString(set)}`);
}

function ipamSection(ctx: PluginContext): Record<string, unknown> {
  const ipam = ctx.conf.ipam;
  if (ipam === undefined) throw cniError('INVALID_NETWORK_CONFIG', "IPAM config missing 'ipam' key");
  return ipam;
}

export const hostLocal = pluginMain({
  add(ctx) {
    const cfg = parseHostLocalConfig(ctx.conf.name, ipamSection(ctx));
    const store = new Store(ctx, cfg);
    const { containerId: id, ifName } = ctx.args;
    const ips: NonNullable<CniResult['ips']> = [];
    const reserved: Ipv4Addr[] = [];
    try {
      cfg.rangeSets.forEach((set, i) => {
        for (const ip of store.held(id, ifName)) {
          if (set.some((r) => r.subnet.contains(ip))) throw new CniError(999, `failed to allocate for range ${i}: ${formatIpv4(ip)} has been allocated to ${id}, duplicate allocation is not allowed`);
        }
        const got = allocate(store, set, i, id, ifName);
        reserved.push(got.ip);
        ips.push({ address: `${formatIpv4(got.ip)}/${got.subnet.prefixLen}`, gateway: formatIpv4(got.gateway) });
      });
    } catch (e) {
      for (const ip of reserved) store.release(formatIpv4(ip));
      throw e;
    }
    return { cniVersion: ctx.conf.cniVersion, ips, ...(cfg.routes.length > 0 ? { routes: cfg.routes } : {}), dns: {} };
  },
  del(ctx) {
    const cfg = parseHostLocalConfig(ctx.conf.name, ipamSection(ctx));
    const store = new Store(ctx, cfg);
    for (const ip of store.held(ctx.args.containerId, ctx.args.ifName)) store.release(formatIpv4(ip));
  },
  check(ctx) {
    const cfg = parseHostLocalConfig(ctx.conf.name, ipamSection(ctx));
    const store = new Store(ctx, cfg);
    if (store.held(ctx.args.containerId, ctx.args.ifName).length === 0) {
      throw new CniError(999, `host-local: Failed to find address added by container ${ctx.args.containerId}`);
    }
  },
  gc(ctx, valid) {
    const cfg = parseHostLocalConfig(ctx.conf.name, ipamSection(ctx));
    const store = new Store(ctx, cfg);
    const keep = new Set(valid.map((a) => `${a.containerID}\r\n${a.ifname}`));
    for (const a of store.allocations()) if (!keep.has(`${a.id}\r\n${a.ifname}`)) store.release(a.ip);
  },
  status(ctx) {
    parseHostLocalConfig(ctx.conf.name, ipamSection(ctx));
  },
});

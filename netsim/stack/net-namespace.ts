/**
 * A network namespace: its devices, addresses, routing tables, neighbour table,
 * sysctls, netfilter hooks and sockets, and the IPv4 paths between them
 * (net/ipv4/ip_input.c, ip_forward.c, ip_output.c, arp.c, icmp.c).
 *
 * Receive:  device → [ARP] | ip_rcv (validate) → PREROUTING → route →
 *           INPUT → local delivery (ICMP / UDP / TCP)
 *           FORWARD (TTL, MTU) → POSTROUTING → neighbour → device
 * Send:     socket → route (source selection) → OUTPUT → [re-route] → POSTROUTING → neighbour → device
 *
 * Not modelled: IPv6, IP fragmentation and reassembly (oversized packets without DF
 * are dropped with reason `fragmentation-unsupported`), ICMP redirects, ICMP rate
 * limiting, policy routing rules beyond local-then-main, multipath routes, rp_filter,
 * multicast delivery.
 */
import type { Sim } from '../sim.ts';
import type { Rng } from '../time/rng.ts';
import { IpIdKey, ipIdentsOf } from './ip-ident.ts';
import type { IpIdents } from './ip-ident.ts';
import { Packet, DEFAULT_HEADROOM, allocBytes, ipHeaderKnownGood, setIpv4Context } from '../packet/packet.ts';
import type { NetDevice, DeviceOwner } from '../link/net-device.ts';
import { LoopbackDevice } from '../link/loopback.ts';
import { BRNF_PREROUTED, BRNF_BRIDGED_DNAT } from '../link/bridge.ts';
import type { Bridge, BridgeNetfilter } from '../link/bridge.ts';
import type { DropReason } from '../trace/trace-event.ts';
import { NetsimError } from '../errors.ts';
import { Ipv4Cidr, Ipv4Interface, formatIpv4, formatMac, maskOf, MAC_BROADCAST } from '../wire/addr.ts';
import type { Ipv4Addr, MacAddr } from '../wire/addr.ts';
import { ipv4HeaderChecksum } from '../wire/checksum.ts';
import { Ipv4, IPV4_HEADER_LEN, IpProtocol, ipv4DecrementTtl } from '../wire/ipv4.ts';
import { Ether, ETHERNET_HEADER_LEN } from '../wire/ethernet.ts';
import { formatIpv4Packet } from '../wire/pretty.ts';
import { RoutingTable, RT_TABLE_LOCAL, RT_TABLE_MAIN, formatRoute } from './routing-table.ts';
import type { Route, RouteScope, RouteType, RouteProto } from './routing-table.ts';
import { NeighborTable } from './neighbor-table.ts';
import type { NeighEntry } from './neighbor-table.ts';
import { NF_ACCEPT, NF_STOLEN } from './netfilter-hooks.ts';
import type { NetfilterHooks } from './netfilter-hooks.ts';
import { NfHookCaller } from './nf-hook-call.ts';
import { ArpLayer } from './arp.ts';
import { IcmpLayer } from './icmp.ts';
import { UdpLayer } from './udp.ts';
import { TcpLayer } from './tcp.ts';

export interface Sysctls {
  /** net.ipv4.ip_forward (0 in a new namespace; Docker and kubelet set 1 on nodes). */
  ipForward: boolean;
  /**
   * net.ipv4.conf.all.route_localnet: 127/8 may be routed off loopback (kube-proxy's
   * iptables mode sets it for NodePorts on localhost). Per device: {@link NetNamespace.devRouteLocalnet}.
   */
  routeLocalnet: boolean;
  /** net.bridge.bridge-nf-call-iptables: bridged IPv4 frames traverse iptables. */
  bridgeNfCallIptables: boolean;
  /** net.ipv4.conf.all.arp_ignore: 0 answers for any local address on any device; 1 only for addresses on the receiving device. */
  arpIgnore: 0 | 1;
  /** net.ipv4.ip_default_ttl: 64. */
  defaultTtl: number;
  /** net.ipv4.ip_local_port_range: 32768 60999. */
  localPortRange: [number, number];
  /** net.ipv4.icmp_echo_ignore_all. */
  icmpEchoIgnoreAll: boolean;
}

export const DEFAULT_SYSCTLS: Sysctls = {
  ipForward: false,
  routeLocalnet: false,
  bridgeNfCallIptables: false,
  arpIgnore: 0,
  defaultTtl: 64,
  localPortRange: [32768, 60999],
  icmpEchoIgnoreAll: false,
};

/** An address on a device (`ip addr`). */
export interface IfAddr {
  readonly dev: string;
  readonly addr: Ipv4Addr;
  readonly prefixLen: number;
  readonly broadcast: Ipv4Addr | undefined;
  readonly scope: RouteScope;
  readonly secondary: boolean;
  /**
   * Whether the address was configured with a broadcast address (IFA_BROADCAST), as
   * Docker, the CNI plugins and DHCP do; plain `ip addr add A/N dev D` does not, and
   * `ip addr` then prints no `brd`. The kernel's broadcast route exists either way.
   */
  readonly showBroadcast: boolean;
}

/** Result of a route lookup (what `ip route get` answers). */
export interface RouteResult {
  readonly type: RouteType;
  readonly route: Route;
  readonly dev: NetDevice | undefined;
  readonly gateway: Ipv4Addr | undefined;
  /** Preferred source address for packets sent on this route. */
  readonly prefsrc: Ipv4Addr | undefined;
}

export interface RouteSpec {
  dst: string | Ipv4Cidr;
  via?: string | Ipv4Addr;
  dev?: string;
  src?: string | Ipv4Addr;
  type?: RouteType;
  table?: number;
  metric?: number;
  scope?: RouteScope;
  proto?: RouteProto;
  onlink?: boolean;
}

/**
 * A namespace's own random streams (ip_id_key, the sockets' inet_id, its programs'), forked from the run's
 * Rng when the namespace is created. Forked ahead of time ({@link NetNamespace.forkStreams})
 * they let a namespace built later (a lazily kept pod, cluster/lazy-pods.ts) draw the
 * numbers it would have drawn had it been built then.
 */
export interface NamespaceStreams {
  readonly idKey: Rng;
  readonly inetId: Rng;
  readonly user: Rng;
}

/** Outcome of a local send: 'sent' or why not (the errno a real socket would see, as a drop reason). */
export type SendResult = 'sent' | DropReason;

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;

export class NetNamespace implements DeviceOwner, BridgeNetfilter {
  readonly devices = new Map<string, NetDevice>();
  readonly addrs: IfAddr[] = [];
  readonly tables = new Map<number, RoutingTable>();
  readonly neigh = new NeighborTable();
  readonly sysctl: Sysctls;
  /** Devices with net.ipv4.conf.<dev>.route_localnet=1 (the CNI portmap plugin sets it on the bridge only). */
  readonly devRouteLocalnet = new Set<string>();
  /** Filled in by the netfilter layer; absent means every hook accepts. */
  hooks: NetfilterHooks | undefined = undefined;
  /** Runs {@link hooks} with a reused context per nesting depth (nf-hook-call.ts). */
  private readonly nfCall = new NfHookCaller();
  readonly lo: LoopbackDevice;
  readonly arp: ArpLayer;
  readonly icmp: IcmpLayer;
  readonly udp: UdpLayer;
  readonly tcp: TcpLayer;

  private nextIfindex = 1;
  /**
   * Called once, before the first packet this namespace receives from a device or sends
   * (deliverFromDevice, sendIp), then cleared: cluster/lazy-pods.ts builds the pods it keeps
   * as records before anything could see that they were not there.
   */
  beforeFirstPacket: (() => void) | undefined = undefined;
  /**
   * Keyed by the address as an int32 (`addr | 0`): addresses from 128.0.0.0 up are
   * doubles as uint32, which a Map hashes and compares as heap numbers; as int32 they
   * are small integers. The mapping is one to one, so lookups find the same entries.
   */
  private readonly local = new Map<number, IfAddr>();
  /**
   * A 1024-bit filter of {@link local}'s keys by their low ten bits, rebuilt whenever the
   * map changes: an address whose bit is clear is not local without probing the map.
   * Every IP receive asks it of the packet's source (fib_validate_source's accept_local
   * test), and a namespace's few addresses rarely share low bits with its peers'. Exact:
   * a local address always has its bit set, so a clear bit only ever answers "no".
   */
  private readonly localBits = new Int32Array(32);
  /** Keyed by the destination as an int32, as {@link local}. */
  private routeCache = new Map<number, RouteResult | undefined>();
  /**
   * Moves with every address, route or device change (whatever clears the route cache):
   * netfilter replays a remembered walk that tested an address type only in the
   * generation it was taken in (flow-walks.ts).
   */
  routeGeneration = 0;
  /**
   * The last two destinations looked up and what the cache gave for them: a forwarded
   * packet and the tunnel packet it becomes alternate on a node, so most lookups are
   * a compare instead of a Map probe. Always a copy of cache entries, cleared with
   * the cache (NaN matches no key).
   */
  private routeKeyA = NaN;
  private routeResA: RouteResult | undefined = undefined;
  private routeKeyB = NaN;
  private routeResB: RouteResult | undefined = undefined;
  /** ip_id_key (hashed ids) and the stream for sockets' inet_id (ip-ident.ts). */
  private readonly idKey: IpIdKey;
  private readonly inetIdRng: Rng;
  /**
   * Randomness for the sockets and programs in this namespace (TCP initial sequence
   * numbers, ephemeral ports, DNS query ids): a stream of its own, so what one
   * namespace draws never shifts another's, nor depends on how hosts interleave.
   */
  readonly userRng: Rng;
  private idents: IpIdents | undefined;

  constructor(readonly sim: Sim, readonly name: string, readonly node: string = name, sysctl: Partial<Sysctls> = {}, streams: NamespaceStreams = NetNamespace.forkStreams(sim, name)) {
    this.sysctl = { ...DEFAULT_SYSCTLS, ...sysctl, localPortRange: [...(sysctl.localPortRange ?? DEFAULT_SYSCTLS.localPortRange)] };
    this.idKey = new IpIdKey(streams.idKey);
    this.inetIdRng = streams.inetId;
    this.userRng = streams.user;
    this.tables.set(RT_TABLE_LOCAL, new RoutingTable(RT_TABLE_LOCAL));
    this.tables.set(RT_TABLE_MAIN, new RoutingTable(RT_TABLE_MAIN));
    this.arp = new ArpLayer(this);
    this.icmp = new IcmpLayer(this);
    this.udp = new UdpLayer(this);
    this.tcp = new TcpLayer(this);
    this.lo = new LoopbackDevice(sim);
    this.addDevice(this.lo);
    this.addAddress('lo', '127.0.0.1/8');
    this.setUp('lo', true);
  }

  /** The streams a namespace named `name` created now would draw from. */
  static forkStreams(sim: Sim, name: string): NamespaceStreams {
    return { idKey: sim.rng.fork(`ip_id_key:${name}`), inetId: sim.rng.fork(`inet_id:${name}`), user: sim.rng.fork(`user:${name}`) };
  }

  // ---------------------------------------------------------------- devices

  /** Take the next ifindex now for a device added later with {@link addDevice}`(dev, ifindex)`. */
  reserveIfindex(): number {
    return this.nextIfindex++;
  }

  /**
   * Add `dev` with the next ifindex, or with one reserved earlier ({@link reserveIfindex}):
   * then it takes the place in the device list (for_each_netdev order) that it would
   * have had if added at reservation, since ifindexes are handed out in creation order.
   */
  addDevice(dev: NetDevice, reserved?: number): NetDevice {
    if (this.devices.has(dev.name)) throw new NetsimError('NETSIM_ERR_DUPLICATE_DEVICE', `${this.name}: device ${dev.name} already exists`);
    if (dev.owner !== undefined) throw new NetsimError('NETSIM_ERR_BAD_ARGUMENT', `${dev.name} already belongs to namespace ${dev.owner.name}`);
    if (reserved !== undefined && (reserved >= this.nextIfindex || [...this.devices.values()].some((d) => d.ifindex === reserved))) {
      throw new NetsimError('NETSIM_ERR_BAD_ARGUMENT', `${this.name}: ifindex ${reserved} was not reserved or is taken`);
    }
    dev.owner = this;
    dev.ifindex = reserved ?? this.nextIfindex++;
    this.devices.set(dev.name, dev);
    if (reserved !== undefined) this.sortDevices();
    if (dev.kind === 'bridge') (dev as Bridge).netfilter = this;
    this.invalidate();
    return dev;
  }

  /** Keep the device list in ifindex (= creation) order after a device with a reserved ifindex came in late. */
  private sortDevices(): void {
    let prev = 0;
    let sorted = true;
    for (const d of this.devices.values()) {
      if (d.ifindex < prev) sorted = false;
      prev = d.ifindex;
    }
    if (sorted) return;
    const all = [...this.devices.values()].sort((a, b) => a.ifindex - b.ifindex);
    this.devices.clear();
    for (const d of all) this.devices.set(d.name, d);
  }

  device(name: string): NetDevice {
    const d = this.devices.get(name);
    if (d === undefined) throw new NetsimError('NETSIM_ERR_NO_DEVICE', `${this.name}: no device ${name} (have ${[...this.devices.keys()].join(', ')})`);
    return d;
  }

  /** Remove a device with its addresses, routes and neighbours (`ip link del`). */
  removeDevice(name: string): NetDevice {
    const dev = this.device(name);
    this.setUp(name, false);
    for (const a of this.addrs.filter((x) => x.dev === name)) this.delAddress(name, new Ipv4Interface(a.addr, a.prefixLen));
    for (const t of this.tables.values()) t.delete((r) => r.dev === name);
    this.devices.delete(name);
    dev.detached();
    dev.owner = undefined;
    this.invalidate();
    return dev;
  }

  /** `ip link set DEV netns OTHER` (addresses and routes are lost, as on Linux). */
  moveDevice(name: string, to: NetNamespace, newName?: string): NetDevice {
    const dev = this.removeDevice(name);
    if (newName !== undefined) dev.name = newName;
    to.addDevice(dev);
    return dev;
  }

  /** `ip link set DEV up|down`. Bringing a device down removes every route through it. */
  setUp(name: string, up: boolean): void {
    const dev = this.device(name);
    if (dev.up === up) return;
    dev.up = up;
    if (up) {
      for (const a of this.addrs) if (a.dev === name) this.addPrefixRoute(a);
    } else {
      for (const t of this.tables.values()) t.delete((r) => r.dev === name && !(r.table === RT_TABLE_LOCAL && (r.type === 'local' || r.type === 'broadcast')));
      for (const e of this.neigh.flushDev(name)) this.arp.failQueued(e, 'link-down');
    }
    this.invalidate();
  }

  setMtu(name: string, mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65536) throw new NetsimError('NETSIM_ERR_BAD_ARGUMENT', `mtu ${mtu} out of range 68-65536`);
    this.device(name).mtu = mtu;
  }

  // -------------------------------------------------------------- addresses

  /** `ip addr add A/LEN dev DEV`: also the local/broadcast routes and (when up) the prefix route. */
  addAddress(devName: string, cidr: string | Ipv4Interface, opts: { scope?: RouteScope; noPrefixRoute?: boolean; broadcast?: boolean } = {}): IfAddr {
    const dev = this.device(devName);
    const ifc = typeof cidr === 'string' ? Ipv4Interface.parse(cidr) : cidr;
    if (this.addrs.some((a) => a.dev === devName && a.addr === ifc.addr)) {
      throw new NetsimError('NETSIM_ERR_ADDR_EXISTS', `${this.name}: ${ifc.toString()} already on ${devName}`);
    }
    const net = Ipv4Cidr.of(ifc.addr, ifc.prefixLen);
    const secondary = this.addrs.some((a) => a.dev === devName && a.prefixLen === ifc.prefixLen && net.contains(a.addr));
    const scope: RouteScope = opts.scope ?? (dev.kind === 'loopback' || (ifc.addr >>> 24) === 127 ? 'host' : 'global');
    const broadcast = ifc.prefixLen < 31 ? (net.network | ~net.mask) >>> 0 : undefined;
    const showBroadcast = broadcast !== undefined && (opts.broadcast ?? dev.kind !== 'loopback');
    const a: IfAddr = { dev: devName, addr: ifc.addr, prefixLen: ifc.prefixLen, broadcast, scope, secondary, showBroadcast };
    this.addrs.push(a);
    if (!this.local.has(a.addr | 0)) this.local.set(a.addr | 0, a);
    this.indexLocal();
    const localT = this.table(RT_TABLE_LOCAL);
    localT.add({ table: RT_TABLE_LOCAL, type: 'local', dst: Ipv4Cidr.of(a.addr, 32), dev: devName, src: a.addr, scope: 'host', proto: 'kernel', metric: 0, onlink: false });
    if (broadcast !== undefined) {
      localT.add({ table: RT_TABLE_LOCAL, type: 'broadcast', dst: Ipv4Cidr.of(broadcast, 32), dev: devName, src: a.addr, scope: 'link', proto: 'kernel', metric: 0, onlink: false });
    }
    if (dev.up && opts.noPrefixRoute !== true) this.addPrefixRoute(a);
    this.invalidate();
    return a;
  }

  delAddress(devName: string, cidr: string | Ipv4Interface): void {
    const ifc = typeof cidr === 'string' ? Ipv4Interface.parse(cidr) : cidr;
    const i = this.addrs.findIndex((a) => a.dev === devName && a.addr === ifc.addr);
    if (i < 0) throw new NetsimError('NETSIM_ERR_NO_ADDR', `${this.name}: ${ifc.toString()} is not on ${devName}`);
    const a = this.addrs[i] as IfAddr;
    this.addrs.splice(i, 1);
    this.local.delete(a.addr | 0);
    const other = this.addrs.find((x) => x.addr === a.addr);
    if (other !== undefined) this.local.set(a.addr | 0, other);
    this.indexLocal();
    for (const t of this.tables.values()) t.delete((r) => r.dev === devName && r.proto === 'kernel' && r.src === a.addr);
    this.invalidate();
  }

  /** Device names in creation order, lo first (the kernel's device list, for_each_netdev). */
  deviceNames(): IterableIterator<string> {
    return this.devices.keys();
  }

  /** Addresses of a device, primary first. */
  addressesOf(devName: string): IfAddr[] {
    return this.addrs.filter((a) => a.dev === devName);
  }

  /** Rebuild {@link localBits} from {@link local}. */
  private indexLocal(): void {
    const bits = this.localBits;
    bits.fill(0);
    for (const k of this.local.keys()) bits[(k & 1023) >>> 5] = (bits[(k & 1023) >>> 5] as number) | (1 << (k & 31));
  }

  /** Whether `addr` is assigned to one of this namespace's devices (the filter first, then the map). */
  private isAssigned(addr: Ipv4Addr): boolean {
    return (((this.localBits[(addr & 1023) >>> 5] as number) >>> (addr & 31)) & 1) !== 0 && this.local.has(addr | 0);
  }

  /** Whether `addr` is one of this namespace's own addresses (route type local). */
  isLocalAddress(addr: Ipv4Addr): boolean {
    if (this.isAssigned(addr)) return true;
    const r = this.table(RT_TABLE_LOCAL).lookup(addr);
    return r !== undefined && r.type === 'local';
  }

  /** The first address of a device, e.g. a pod's eth0 IP. */
  primaryAddress(devName: string): Ipv4Addr | undefined {
    return this.addrs.find((a) => a.dev === devName && !a.secondary)?.addr;
  }

  private addPrefixRoute(a: IfAddr): void {
    if (a.prefixLen >= 32 || a.secondary) return;
    const dev = this.device(a.dev);
    const net = Ipv4Cidr.of(a.addr, a.prefixLen);
    if (dev.kind === 'loopback') {
      this.table(RT_TABLE_LOCAL).add({ table: RT_TABLE_LOCAL, type: 'local', dst: net, dev: a.dev, src: a.addr, scope: 'host', proto: 'kernel', metric: 0, onlink: false });
    } else {
      this.table(RT_TABLE_MAIN).add({ table: RT_TABLE_MAIN, type: 'unicast', dst: net, dev: a.dev, src: a.addr, scope: 'link', proto: 'kernel', metric: 0, onlink: false });
    }
  }

  // ----------------------------------------------------------------- routes

  table(id: number): RoutingTable {
    let t = this.tables.get(id);
    if (t === undefined) {
      t = new RoutingTable(id);
      this.tables.set(id, t);
    }
    return t;
  }

  /** `ip route add`. Gateways must be reachable on the device unless `onlink`. */
  addRoute(spec: RouteSpec): Route {
    const dst = typeof spec.dst === 'string' ? (spec.dst === 'default' ? Ipv4Cidr.parse('0.0.0.0/0') : Ipv4Cidr.parse(spec.dst.includes('/') ? spec.dst : `${spec.dst}/32`)) : spec.dst;
    const type = spec.type ?? 'unicast';
    const gateway = spec.via === undefined ? undefined : typeof spec.via === 'string' ? Ipv4Interface.parse(`${spec.via}/32`).addr : spec.via;
    const src = spec.src === undefined ? undefined : typeof spec.src === 'string' ? Ipv4Interface.parse(`${spec.src}/32`).addr : spec.src;
    let devName = spec.dev;
    const onlink = spec.onlink ?? false;
    if (type === 'unicast' || type === 'local' || type === 'broadcast') {
      if (gateway !== undefined && !onlink) {
        // The gateway must be directly reachable: a link-scope route covers it.
        const via = this.table(RT_TABLE_MAIN).lookup(gateway, (r) => r.scope === 'link' && r.gateway === undefined && (devName === undefined || r.dev === devName));
        if (via === undefined) throw new NetsimError('NETSIM_ERR_BAD_GATEWAY', `${this.name}: Nexthop has invalid gateway ${formatIpv4(gateway)}`);
        devName = devName ?? via.dev;
      }
      if (devName === undefined) throw new NetsimError('NETSIM_ERR_BAD_ARGUMENT', `${this.name}: route to ${dst.toString()} needs a device or a gateway`);
      const dev = this.device(devName);
      if (!dev.up) throw new NetsimError('NETSIM_ERR_BAD_ARGUMENT', `${this.name}: Network is down (${devName})`);
    }
    if (src !== undefined && !this.local.has(src | 0)) throw new NetsimError('NETSIM_ERR_BAD_ARGUMENT', `${this.name}: Invalid prefsrc ${formatIpv4(src)}: not a local address`);
    const table = spec.table ?? (type === 'local' || type === 'broadcast' ? RT_TABLE_LOCAL : RT_TABLE_MAIN);
    const scope: RouteScope = spec.scope ?? (type === 'local' ? 'host' : gateway === undefined && type === 'unicast' ? 'link' : 'global');
    const r: Route = {
      table, type, dst, scope, proto: spec.proto ?? 'boot', metric: spec.metric ?? 0, onlink,
      ...(gateway !== undefined ? { gateway } : {}), ...(devName !== undefined ? { dev: devName } : {}), ...(src !== undefined ? { src } : {}),
    };
    if (!this.table(table).add(r)) throw new NetsimError('NETSIM_ERR_ROUTE_EXISTS', `${this.name}: RTNETLINK answers: File exists (${formatRoute(r)})`);
    this.invalidate();
    return r;
  }

  /** `ip route del DST [table T]`; returns the number of routes removed. */
  delRoute(dst: string | Ipv4Cidr, opts: { table?: number; dev?: string; via?: Ipv4Addr } = {}): number {
    const cidr = typeof dst === 'string' ? Ipv4Cidr.parse(dst === 'default' ? '0.0.0.0/0' : dst.includes('/') ? dst : `${dst}/32`) : dst;
    const n = this.table(opts.table ?? RT_TABLE_MAIN).delete((r) => (opts.dev === undefined || r.dev === opts.dev) && (opts.via === undefined || r.gateway === opts.via), cidr);
    if (n === 0) throw new NetsimError('NETSIM_ERR_NO_ROUTE', `${this.name}: RTNETLINK answers: No such process (${cidr.toString()})`);
    this.invalidate();
    return n;
  }

  /** Route lookup for a destination: local table, then main. Cached until configuration changes. */
  lookupRoute(dst: Ipv4Addr): RouteResult | undefined {
    const key = dst | 0;
    if (key === this.routeKeyA) return this.routeResA;
    if (key === this.routeKeyB) return this.routeResB;
    const cache = this.routeCache;
    let res = cache.get(key);
    if (res === undefined && !cache.has(key)) {
      res = this.resolveRoute(dst);
      if (cache.size > 65536) {
        cache.clear();
        this.routeKeyA = NaN;
      }
      cache.set(key, res);
    }
    // The older of the two goes: A is the most recent.
    this.routeKeyB = this.routeKeyA;
    this.routeResB = this.routeResA;
    this.routeKeyA = key;
    this.routeResA = res;
    return res;
  }

  private resolveRoute(dst: Ipv4Addr): RouteResult | undefined {
    const r = this.table(RT_TABLE_LOCAL).lookup(dst) ?? this.table(RT_TABLE_MAIN).lookup(dst);
    if (r === undefined) return undefined;
    const dev = r.dev !== undefined ? this.devices.get(r.dev) : undefined;
    return { type: r.type, route: r, dev, gateway: r.gateway, prefsrc: this.selectSource(r, dst) };
  }

  /** Source address selection (fib_result_prefsrc / inet_select_addr). */
  selectSource(r: Route, dst: Ipv4Addr): Ipv4Addr | undefined {
    if (r.src !== undefined) return r.src;
    if (r.type === 'local') return dst;
    const target = r.gateway ?? dst;
    let first: IfAddr | undefined;
    for (const a of this.addrs) {
      if (a.dev !== r.dev || a.secondary) continue;
      if (a.scope === 'host' && r.dev !== 'lo') continue;
      first ??= a;
      const mask = maskOf(a.prefixLen);
      if (((a.addr & mask) >>> 0) === ((target & mask) >>> 0)) return a.addr;
    }
    if (first !== undefined) return first.addr;
    // No address on the device: any global address of the namespace (Linux does the same).
    for (const a of this.addrs) if (a.scope === 'global' && !a.secondary) return a.addr;
    return undefined;
  }

  /** What `ip route get DST` prints. */
  routeGet(dst: Ipv4Addr): string {
    const res = this.lookupRoute(dst);
    if (res === undefined) return 'RTNETLINK answers: Network is unreachable';
    const r = res.route;
    if (r.type === 'unreachable' || r.type === 'prohibit' || r.type === 'blackhole') {
      return `${r.type} ${formatIpv4(dst)} ${r.table === RT_TABLE_MAIN ? '' : `table ${r.table} `}uid 0 \n    cache `;
    }
    const parts: string[] = [];
    if (r.type === 'local') parts.push('local');
    if (r.type === 'broadcast') parts.push('broadcast');
    parts.push(formatIpv4(dst));
    if (res.gateway !== undefined) parts.push('via', formatIpv4(res.gateway));
    parts.push('dev', r.type === 'local' ? 'lo' : (r.dev ?? '?'));
    if (res.prefsrc !== undefined) parts.push('src', formatIpv4(res.prefsrc));
    parts.push('uid', '0');
    const cacheFlags = r.type === 'local' ? ' <local>' : r.type === 'broadcast' ? ' <local,brd>' : '';
    return `${parts.join(' ')} \n    cache${cacheFlags} `;
  }

  private invalidate(): void {
    this.routeGeneration++;
    if (this.routeCache.size > 0) this.routeCache = new Map();
    this.routeKeyA = NaN;
    this.routeResA = undefined;
    this.routeKeyB = NaN;
    this.routeResB = undefined;
  }

  // ---------------------------------------------------------------- receive

  private firstPacket(): void {
    const f = this.beforeFirstPacket;
    this.beforeFirstPacket = undefined;
    f?.();
  }

  /** Implements {@link DeviceOwner.deliverFromDevice} (netif_receive_skb → protocol handler). */
  deliverFromDevice(dev: NetDevice, pkt: Packet): void {
    if (this.beforeFirstPacket !== undefined) this.firstPacket();
    if (dev.linkType === 'raw-ip') {
      this.ipRcv(dev, pkt);
      return;
    }
    if (pkt.len < 14) {
      this.traceDrop(pkt, 'malformed', `runt frame (${pkt.len} bytes)`, dev.name);
      return;
    }
    const b = pkt.buf;
    const o = pkt.off;
    if (!Ether.dstIsGroup(b, o) && !dev.promisc && dev.kind !== 'loopback' && dev.kind !== 'bridge') {
      // A unicast frame for another host (PACKET_OTHERHOST): ip_rcv drops it.
      if (Ether.dst(b, o) !== dev.mac) {
        this.traceDrop(pkt, 'not-for-us', `frame for ${formatMac(Ether.dst(b, o))} on ${dev.name} (${formatMac(dev.mac)})`, dev.name);
        return;
      }
    }
    const etherType = Ether.etherType(b, o);
    if (etherType === ETH_P_IP) {
      pkt.pull(ETHERNET_HEADER_LEN);
      this.ipRcv(dev, pkt);
    } else if (etherType === ETH_P_ARP) {
      this.arp.input(dev, pkt);
    } else {
      this.traceDrop(pkt, 'unsupported-protocol', `EtherType 0x${etherType.toString(16).padStart(4, '0')}`, dev.name);
    }
  }

  /** ip_rcv_core's checks (and br_validate_ipv4's): version, lengths, header checksum; trims link padding. */
  private validateIpv4(dev: NetDevice, pkt: Packet): boolean {
    const b = pkt.buf;
    const o = pkt.off;
    const len = pkt.len;
    if (len < IPV4_HEADER_LEN || Ipv4.version(b, o) !== 4) {
      this.traceDrop(pkt, 'malformed', len < IPV4_HEADER_LEN ? `IPv4 header truncated (${len} bytes)` : `IP version ${Ipv4.version(b, o)}`, dev.name);
      return false;
    }
    const hl = Ipv4.headerLen(b, o);
    const total = Ipv4.totalLen(b, o);
    if (hl < IPV4_HEADER_LEN || hl > len || total < hl || total > len) {
      this.traceDrop(pkt, 'malformed', `bad IPv4 lengths (ihl ${hl}, total ${total}, have ${len})`, dev.name);
      return false;
    }
    // A header this packet already proved right and that only checksum-keeping writers touched since is not summed again (Packet.ipHdrOk).
    if (pkt.ipHdrOk !== o || !ipHeaderKnownGood.on) {
      if (ipv4HeaderChecksum(b, o, hl) !== 0) {
        this.traceDrop(pkt, 'bad-checksum', 'IPv4 header checksum mismatch', dev.name);
        return false;
      }
      pkt.ipHdrOk = o;
    }
    pkt.trim(total);
    setIpv4Context(pkt);
    return true;
  }

  /**
   * ip_rcv + ip_rcv_finish: validate, PREROUTING, route, then local delivery or
   * forwarding. A frame that already ran PREROUTING in a bridge's pre-routing hook
   * (br_netfilter) does not run it again (ip_sabotage_in).
   */
  ipRcv(dev: NetDevice, pkt: Packet): void {
    if (!this.validateIpv4(dev, pkt)) return;
    const b = pkt.buf;
    const o = pkt.off;
    const src = Ipv4.src(b, o);
    const dst0 = Ipv4.dst(b, o);
    if (src >= 0xe0000000 || (dev.kind !== 'loopback' && ((src >>> 24) === 127 || (dst0 >>> 24) === 127) && !this.routeLocalnet(dev.name))) {
      this.traceDrop(pkt, 'martian', `martian ${formatIpv4(src)} → ${formatIpv4(dst0)} on ${dev.name}`, dev.name);
      return;
    }
    // fib_validate_source: a packet arriving on a real device from one of this namespace's own
    // addresses is a martian source (accept_local is off; its fast path with rp_filter 0 since
    // Linux 5.0, the reverse lookup's RTN_LOCAL otherwise) — e.g. flanneld's udp proxy's net
    // unreachable, which it writes into flannel0 from flannel0's own address. PREROUTING cannot
    // change the source of a packet before routing, so checking it first is the same.
    if (dev.kind !== 'loopback' && src !== 0 && this.isAssigned(src)) {
      this.traceDrop(pkt, 'martian', `martian source ${formatIpv4(src)} (a local address) → ${formatIpv4(dst0)} on ${dev.name}: accept_local is off`, dev.name);
      return;
    }
    pkt.inDev = dev.name;
    if ((pkt.brnf & BRNF_PREROUTED) !== 0) {
      pkt.brnf = 0;
      pkt.brnfPhysIn = undefined;
    } else if (this.hooks !== undefined && this.nfCall.run(this.hooks, 'PREROUTING', pkt, dev, undefined) !== NF_ACCEPT) return;
    const dst = Ipv4.dst(b, o);
    const res = dst === 0xffffffff ? undefined : this.lookupRoute(dst);
    if (dst === 0xffffffff || (res !== undefined && (res.type === 'local' || res.type === 'broadcast'))) {
      if (this.sim.tracer.enabled) this.traceRoute(pkt, dst, res);
      this.ipLocalDeliver(dev, pkt);
      return;
    }
    if (dst >= 0xe0000000) {
      this.traceDrop(pkt, 'unsupported-protocol', `multicast ${formatIpv4(dst)} not modelled`, dev.name);
      return;
    }
    if (!this.sysctl.ipForward) {
      this.traceDrop(pkt, 'not-forwarding', `${formatIpv4(dst)} is not local and ip_forward=0`, dev.name);
      return;
    }
    if (this.sim.tracer.enabled) this.traceRoute(pkt, dst, res);
    if (res === undefined) {
      this.icmp.sendError(pkt, 3, 0, 0);
      this.traceDrop(pkt, 'no-route', `no route to ${formatIpv4(dst)}`, dev.name);
      return;
    }
    if (res.type !== 'unicast') {
      this.routeTypeDrop(pkt, res, dev.name);
      return;
    }
    this.ipForward(dev, pkt, res);
  }

  /** ip_forward: TTL, MTU, FORWARD hook, then output. */
  private ipForward(inDev: NetDevice, pkt: Packet, res: RouteResult): void {
    const b = pkt.buf;
    const o = pkt.off;
    const out = res.dev as NetDevice;
    const ttl = Ipv4.ttl(b, o);
    if (ttl <= 1) {
      this.icmp.sendError(pkt, 11, 0, 0);
      this.traceDrop(pkt, 'ttl-exceeded', `TTL ${ttl} would reach 0 forwarding to ${out.name}`, inDev.name);
      return;
    }
    if (pkt.len > out.mtu) {
      if (Ipv4.dontFragment(b, o)) {
        this.icmp.sendError(pkt, 3, 4, out.mtu);
        this.traceDrop(pkt, 'mtu-exceeded', `${pkt.len} bytes > mtu ${out.mtu} of ${out.name}, DF set: ICMP fragmentation needed`, inDev.name);
      } else {
        this.traceDrop(pkt, 'fragmentation-unsupported', `${pkt.len} bytes > mtu ${out.mtu} of ${out.name}; fragmentation is not modelled`, inDev.name);
      }
      return;
    }
    const newTtl = ipv4DecrementTtl(b, o);
    if (this.sim.tracer.enabled) this.emitTtl(pkt, ttl, newTtl, 'forward');
    if (this.hooks !== undefined && this.nfCall.run(this.hooks, 'FORWARD', pkt, inDev, out) !== NF_ACCEPT) return;
    this.ipFinishOutput(pkt, res, inDev);
  }

  /** ip_local_deliver: INPUT hook, then the transport protocol. */
  ipLocalDeliver(inDev: NetDevice, pkt: Packet): void {
    if (this.hooks !== undefined && this.nfCall.run(this.hooks, 'INPUT', pkt, inDev, undefined) !== NF_ACCEPT) return;
    const proto = Ipv4.protocol(pkt.buf, pkt.off);
    if (proto === IpProtocol.UDP) this.udp.input(inDev, pkt);
    else if (proto === IpProtocol.TCP) this.tcp.input(inDev, pkt);
    else if (proto === IpProtocol.ICMP) this.icmp.input(inDev, pkt);
    else {
      this.icmp.sendError(pkt, 3, 2, 0);
      this.traceDrop(pkt, 'unsupported-protocol', `IP protocol ${proto} has no handler`, inDev.name);
    }
  }

  // ----------------------------------------------------------------- output

  /**
   * __ip_select_ident: the id of a packet sent without a connected socket (ICMP,
   * unconnected UDP, tunnels) — the next of the host's ip_idents bucket that the keyed
   * hash of (daddr, saddr, protocol) picks (ip-ident.ts).
   */
  hashedIpId(dst: Ipv4Addr, src: Ipv4Addr, protocol: number, segs = 1): number {
    this.idents ??= ipIdentsOf(this.sim, this.node);
    return this.idents.reserve(this.idKey.hash(dst >>> 0, src >>> 0, protocol), segs);
  }

  /** get_random_u16(): where a connected socket's inet_id starts. */
  randomInetId(): number {
    return this.inetIdRng.nextU32() & 0xffff;
  }

  /**
   * Send a locally generated IPv4 packet (`pkt.off` at a complete header with source set):
   * route, OUTPUT, re-route after NAT, POSTROUTING, neighbour. Returns what a socket
   * would learn synchronously.
   */
  sendIp(pkt: Packet): SendResult {
    if (this.beforeFirstPacket !== undefined) this.firstPacket();
    const b = pkt.buf;
    const o = pkt.off;
    const loopbackSrc = Ipv4.src(b, o) >>> 24 === 127;
    pkt.inDev = '';
    setIpv4Context(pkt);
    let dst = Ipv4.dst(b, o);
    let res = dst === 0xffffffff ? this.broadcastRoute() : this.lookupRoute(dst);
    if (this.sim.tracer.enabled) this.traceRoute(pkt, dst, res);
    if (res === undefined) {
      this.traceDrop(pkt, 'no-route', `no route to ${formatIpv4(dst)} (ENETUNREACH)`);
      return 'no-route';
    }
    if (res.type === 'unreachable' || res.type === 'prohibit' || res.type === 'blackhole') {
      this.routeTypeDrop(pkt, res, undefined);
      return res.type;
    }
    const outDev = res.type === 'local' ? this.lo : (res.dev as NetDevice);
    if (loopbackSrc && this.loopbackSourceRefused(pkt, outDev)) return 'martian';
    if (this.hooks !== undefined) {
      const v = this.nfCall.run(this.hooks, 'OUTPUT', pkt, undefined, outDev);
      // Stolen (IPVS took a locally generated packet to a virtual service and sends it on itself).
      if (v === NF_STOLEN) return 'sent';
      if (v !== NF_ACCEPT) return 'nf-drop';
      const nd = Ipv4.dst(b, o);
      if (nd !== dst) {
        // ip_route_me_harder: the destination changed (DNAT), route again.
        dst = nd;
        res = this.lookupRoute(dst);
        if (this.sim.tracer.enabled) this.traceRoute(pkt, dst, res);
        if (res === undefined) {
          this.traceDrop(pkt, 'no-route', `no route to ${formatIpv4(dst)} after NAT`);
          return 'no-route';
        }
        if (loopbackSrc && this.loopbackSourceRefused(pkt, res.type === 'local' ? this.lo : (res.dev as NetDevice))) return 'martian';
      }
    }
    const dev = res.type === 'local' ? this.lo : (res.dev as NetDevice);
    if (pkt.len > dev.mtu) {
      this.traceDrop(pkt, Ipv4.dontFragment(b, o) ? 'mtu-exceeded' : 'fragmentation-unsupported', `${pkt.len} bytes > mtu ${dev.mtu} of ${dev.name} (EMSGSIZE)`);
      return 'mtu-exceeded';
    }
    this.ipFinishOutput(pkt, res, undefined);
    return 'sent';
  }

  /** IN_DEV_ROUTE_LOCALNET: conf.all or the device's own route_localnet. */
  routeLocalnet(dev: string): boolean {
    return this.sysctl.routeLocalnet || this.devRouteLocalnet.has(dev);
  }

  /**
   * __mkroute_output: a 127/8 source may not leave through a device other than
   * loopback unless route_localnet is on for that device (EINVAL) — e.g. a node's
   * connection to 127.0.0.1:NODEPORT after kube-proxy's DNAT sent it to a pod.
   */
  private loopbackSourceRefused(pkt: Packet, dev: NetDevice): boolean {
    if (dev.kind === 'loopback' || this.routeLocalnet(dev.name)) return false;
    this.traceDrop(pkt, 'martian', `source ${formatIpv4(Ipv4.src(pkt.buf, pkt.off))} may not leave through ${dev.name}: route_localnet is off (EINVAL)`, dev.name);
    return true;
  }

  private broadcastRoute(): RouteResult | undefined {
    // Limited broadcast goes out the device of the default route (or the first up Ethernet device).
    const def = this.table(RT_TABLE_MAIN).lookup(0);
    const dev = def?.dev !== undefined ? this.devices.get(def.dev) : [...this.devices.values()].find((d) => d.up && d.kind !== 'loopback');
    if (dev === undefined) return undefined;
    const route: Route = { table: RT_TABLE_LOCAL, type: 'broadcast', dst: Ipv4Cidr.of(0xffffffff, 32), dev: dev.name, scope: 'link', proto: 'kernel', metric: 0, onlink: false };
    return { type: 'broadcast', route, dev, gateway: undefined, prefsrc: this.primaryAddress(dev.name) };
  }

  /** POSTROUTING, then hand to the neighbour layer (ip_finish_output2). */
  private ipFinishOutput(pkt: Packet, res: RouteResult, inDev: NetDevice | undefined): void {
    const dev = res.type === 'local' ? this.lo : (res.dev as NetDevice);
    if (this.hooks !== undefined && this.nfCall.run(this.hooks, 'POSTROUTING', pkt, inDev, dev) !== NF_ACCEPT) return;
    const dst = Ipv4.dst(pkt.buf, pkt.off);
    const nexthop = res.gateway ?? dst;
    this.neighOutput(pkt, dev, nexthop, res.type === 'broadcast' || dst === 0xffffffff);
  }

  /** Add the link-layer header and transmit, resolving the next hop's MAC by ARP if needed. */
  neighOutput(pkt: Packet, dev: NetDevice, nexthop: Ipv4Addr, broadcast: boolean): void {
    if (dev.linkType === 'raw-ip') {
      dev.transmit(pkt);
      return;
    }
    if (broadcast || dev.noArp) {
      this.pushEthernet(pkt, dev, broadcast ? MAC_BROADCAST : 0, ETH_P_IP);
      dev.transmit(pkt);
      return;
    }
    const now = this.sim.clock.now();
    const e = this.neigh.get(dev.name, nexthop);
    if (e !== undefined && e.mac !== undefined && e.state !== 'INCOMPLETE' && e.state !== 'FAILED') {
      const st = this.neigh.effectiveState(e, now);
      if (st === 'STALE') this.arp.startDelay(e, dev);
      if (this.sim.tracer.enabled) this.emitNeigh(pkt, 'hit', dev.name, nexthop, e.mac);
      this.pushEthernet(pkt, dev, e.mac, ETH_P_IP);
      dev.transmit(pkt);
      return;
    }
    this.arp.resolve(dev, nexthop, pkt, e);
  }

  /** Prepend an Ethernet header (reusing headroom). */
  pushEthernet(pkt: Packet, dev: NetDevice, dstMac: MacAddr, etherType: number): void {
    Ether.write(pkt.buf, pkt.push(ETHERNET_HEADER_LEN), dstMac, dev.mac, etherType);
  }

  /** A new packet with room for link and tunnel headers in front of `ipBytes`. */
  newPacket(ipBytes: Uint8Array, id = this.sim.nextPacketId()): Packet {
    const buf = allocBytes(DEFAULT_HEADROOM + ipBytes.length);
    buf.set(ipBytes, DEFAULT_HEADROOM);
    return new Packet(id, buf, DEFAULT_HEADROOM, ipBytes.length);
  }

  private routeTypeDrop(pkt: Packet, res: RouteResult, dev: string | undefined): void {
    const dst = formatIpv4(Ipv4.dst(pkt.buf, pkt.off));
    if (res.type === 'unreachable') {
      if (dev !== undefined) this.icmp.sendError(pkt, 3, 1, 0);
      this.traceDrop(pkt, 'unreachable', `unreachable route to ${dst}`, dev);
    } else if (res.type === 'prohibit') {
      if (dev !== undefined) this.icmp.sendError(pkt, 3, 13, 0);
      this.traceDrop(pkt, 'prohibit', `prohibit route to ${dst}`, dev);
    } else {
      this.traceDrop(pkt, 'blackhole', `blackhole route to ${dst}`, dev);
    }
  }

  // ----------------------------------------------------------- bridge-nf

  /** Implements {@link BridgeNetfilter.enabled}. */
  enabled(): boolean {
    return this.hooks !== undefined && this.sysctl.bridgeNfCallIptables;
  }

  /**
   * Implements {@link BridgeNetfilter.preRouting} (br_nf_pre_routing and
   * br_nf_pre_routing_finish): validate, PREROUTING with in = the bridge and physin =
   * the port; then, when the destination address changed, route it: a route out of
   * this same bridge keeps the frame bridged towards the neighbour's MAC (known and
   * reachable: rewritten here; otherwise through the bridge device's neighbour layer,
   * which hands it back to the bridge), any other result addresses the frame to the
   * bridge so the stack routes or delivers it.
   */
  preRouting(pkt: Packet, bridge: Bridge, inPort: NetDevice): boolean {
    const hooks = this.hooks;
    if (hooks === undefined) return true;
    pkt.pull(ETHERNET_HEADER_LEN);
    if (!this.validateIpv4(inPort, pkt)) return false;
    const b = pkt.buf;
    const o = pkt.off;
    const daddr = Ipv4.dst(b, o);
    pkt.brnf = BRNF_PREROUTED;
    pkt.brnfPhysIn = inPort;
    pkt.inDev = bridge.name;
    if (this.nfCall.run(hooks, 'PREROUTING', pkt, bridge, undefined, inPort) !== NF_ACCEPT) return false;
    const nd = Ipv4.dst(b, o);
    if (nd === daddr) {
      pkt.push(ETHERNET_HEADER_LEN);
      return true;
    }
    const res = this.lookupRoute(nd);
    const tracing = this.sim.tracer.enabled;
    if (tracing) this.traceRoute(pkt, nd, res);
    if (res !== undefined && res.type === 'unicast' && res.dev === bridge) {
      // Bridged DNAT: no ip_forward, no TTL change; the bridge forwards by the new MAC.
      const nexthop = res.gateway ?? nd;
      const e = this.neigh.get(bridge.name, nexthop);
      const st = e === undefined ? undefined : this.neigh.effectiveState(e, this.sim.clock.now());
      if (e !== undefined && e.mac !== undefined && (st === 'REACHABLE' || st === 'PERMANENT')) {
        Ether.setDst(pkt.buf, pkt.push(ETHERNET_HEADER_LEN), e.mac);
        if (tracing) bridge.traceBridge(pkt, 'bridged-dnat', inPort.name, e.mac, `${formatIpv4(nd)} is reached through ${bridge.name} itself: bridged to ${formatMac(e.mac)} (not routed, TTL kept)`);
        return true;
      }
      pkt.brnfSavedSrc = Ether.src(b, o - ETHERNET_HEADER_LEN);
      pkt.brnf |= BRNF_BRIDGED_DNAT;
      if (tracing) bridge.traceBridge(pkt, 'bridged-dnat', inPort.name, undefined, `${formatIpv4(nd)} is reached through ${bridge.name} itself: bridged once ${bridge.name}'s neighbour ${formatIpv4(nexthop)} is resolved (not routed, TTL kept)`);
      this.neighOutput(pkt, bridge, nexthop, false);
      return false;
    }
    // Routed or local: the frame goes up the bridge device to the IP stack.
    Ether.setDst(pkt.buf, pkt.push(ETHERNET_HEADER_LEN), bridge.mac);
    return true;
  }

  /** Implements {@link BridgeNetfilter.forward} (br_nf_forward_ip, br_nf_post_routing): FORWARD, then POSTROUTING. */
  forward(pkt: Packet, bridge: Bridge, inPort: NetDevice, outPort: NetDevice): boolean {
    const hooks = this.hooks;
    if (hooks === undefined) return true;
    pkt.pull(ETHERNET_HEADER_LEN);
    if (this.nfCall.run(hooks, 'FORWARD', pkt, bridge, bridge, inPort, outPort) !== NF_ACCEPT) return false;
    if (this.nfCall.run(hooks, 'POSTROUTING', pkt, undefined, bridge, inPort, outPort) !== NF_ACCEPT) return false;
    pkt.push(ETHERNET_HEADER_LEN);
    return true;
  }

  // ----------------------------------------------------------------- tracing

  /** Implements {@link DeviceOwner.traceDrop}. */
  traceDrop(pkt: Packet, reason: DropReason, detail: string, dev?: string): void {
    if (!this.sim.tracer.enabled) return;
    this.sim.tracer.emit({ kind: 'drop', t: this.sim.clock.now(), node: this.node, netns: this.name, pkt: pkt.id, reason, detail, ...(dev !== undefined ? { dev } : {}) });
  }

  traceRoute(pkt: Packet, dst: Ipv4Addr, res: RouteResult | undefined): void {
    this.sim.tracer.emit({
      kind: 'route', t: this.sim.clock.now(), node: this.node, netns: this.name, pkt: pkt.id, dst: formatIpv4(dst),
      table: res === undefined ? 'main' : res.route.table === RT_TABLE_LOCAL ? 'local' : res.route.table === RT_TABLE_MAIN ? 'main' : String(res.route.table),
      result: res === undefined ? 'unreachable: no route' : `${formatRoute(res.route)}${res.prefsrc !== undefined && res.route.src === undefined ? ` (src ${formatIpv4(res.prefsrc)})` : ''}`,
    });
  }

  emitTtl(pkt: Packet, from: number, to: number, by: string): void {
    this.sim.tracer.emit({ kind: 'ttl', t: this.sim.clock.now(), node: this.node, netns: this.name, pkt: pkt.id, from, to, by });
  }

  emitNeigh(pkt: Packet | undefined, action: 'hit' | 'request' | 'reply' | 'resolved' | 'queued' | 'failed' | 'learned', dev: string, ip: Ipv4Addr, mac?: MacAddr): void {
    this.sim.tracer.emit({
      kind: 'neigh', t: this.sim.clock.now(), node: this.node, netns: this.name, pkt: pkt?.id ?? 0, action, dev, ip: formatIpv4(ip),
      ...(mac !== undefined ? { mac: formatMac(mac) } : {}),
    });
  }

  emitDeliver(pkt: Packet, to: string): void {
    this.sim.tracer.emit({ kind: 'deliver', t: this.sim.clock.now(), node: this.node, netns: this.name, pkt: pkt.id, to, detail: formatIpv4Packet(pkt.bytes()) });
  }

  /**
   * `ip neigh replace IP lladdr MAC dev DEV nud permanent|reachable|stale`. Packets
   * waiting for resolution of that address are sent at once.
   */
  setNeighbour(devName: string, addr: Ipv4Addr, mac: MacAddr, state: 'PERMANENT' | 'REACHABLE' | 'STALE' = 'PERMANENT'): NeighEntry {
    const dev = this.device(devName);
    const now = this.sim.clock.now();
    const old = this.neigh.get(devName, addr);
    if (old?.timer !== undefined) this.sim.clock.cancel(old.timer);
    const queued = old?.queue ?? [];
    const e = this.neigh.create(devName, addr, state, mac, now);
    for (const q of queued) {
      this.pushEthernet(q, dev, mac, ETH_P_IP);
      dev.transmit(q);
    }
    return e;
  }

  /** `ip neigh del IP dev DEV`; returns whether an entry was there. */
  deleteNeighbour(devName: string, addr: Ipv4Addr): boolean {
    const e = this.neigh.remove(devName, addr);
    if (e?.timer !== undefined) this.sim.clock.cancel(e.timer);
    return e !== undefined;
  }

  /** Entries of the neighbour table as objects (for views and tests). */
  neighbours(dev?: string): NeighEntry[] {
    return this.neigh.entries(this.sim.clock.now(), dev);
  }
}

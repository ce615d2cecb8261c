/**
 * flannel's UDP backend (pkg/backend/udp with its C proxy, proxy_amd64.c).
 *
 * Device: TUN `flannel0`, MTU = external MTU − 28 (20 IP + 8 UDP), address
 * `<lease network address>/<flannel network prefix>` (configureIface with
 * `tunNet = {lease IP, Network.PrefixLen}`), which gives the kernel route
 * `10.244.0.0/16 dev flannel0 proto kernel scope link src 10.244.1.0`; flanneld's
 * explicit route for the network then meets EEXIST. (flannel releases from 2021 put
 * a /32 on the TUN instead and rely on that explicit universe-scope route —
 * `tunPrefix: 32` reproduces them; REFERENCE.md describes that variant.) The
 * address is the source for host→pod traffic and for the proxy's ICMP errors.
 *
 * Proxy, TUN → UDP (tun_to_udp): find the peer whose subnet holds the destination
 * (a userspace route table fed by lease events); none → ICMP destination unreachable
 * / net unreachable written back into the TUN, TTL 8, from the TUN address, quoting
 * the header + 8 bytes — never about an ICMP packet or a non-first fragment (the error
 * comes from the node's own address, so the node drops it as a martian source,
 * fib_validate_source in NetNamespace.ipRcv, and the sender never sees it, as on a real
 * node); then the TTL is decremented (RFC 1624 incremental checksum) and a packet whose
 * TTL reaches 0 is dropped silently; otherwise the whole IP packet is the payload of a UDP datagram
 * from <external IP>:8285 to <peer PublicIP>:8285. No header of flannel's own.
 * UDP → TUN (udp_to_tun): decrement the TTL again (0 → drop), write into the TUN.
 * The proxy's read/sendto copies are not modelled: the datagram's headers go into the
 * packet's headroom and come off by a pull, as for the kernel's VXLAN device (the bytes
 * are the same).
 *
 * Trace: 'encap'/'decap' events on flannel0 with the inner packet's id kept on the
 * outer datagram; drops 'flannel-no-lease' and 'flannel-ttl'.
 */
import { TunDevice } from '../../netsim/link/tun.ts';
import type { Packet } from '../../netsim/packet/packet.ts';
import { packetFromBytes } from '../../netsim/packet/packet.ts';
import type { UdpSocket } from '../../netsim/stack/udp.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import { readU32 } from '../../netsim/wire/field.ts';
import { Ipv4, ipv4DecrementTtl, IpProtocol } from '../../netsim/wire/ipv4.ts';
import { icmpErrorQuote } from '../../netsim/wire/icmpv4.ts';
import { buildIpv4Icmp } from '../../netsim/wire/build.ts';
import type { Backend, BackendContext } from './backend.ts';
import type { Lease } from './lease.ts';
import { subnetKey } from './lease.ts';
import type { Ipv4Cidr } from '../../netsim/wire/addr.ts';

/** pkg/backend/udp encapOverhead: 20 bytes IP header + 8 bytes UDP header. */
export const UDP_ENCAP_OVERHEAD = 28;
export const TUN_NAME = 'flannel0';
/** proxy_amd64.c send_net_unreachable: the ICMP error's TTL. */
export const NET_UNREACHABLE_TTL = 8;

interface ProxyRoute {
  readonly dst: Ipv4Cidr;
  readonly nextHop: Ipv4Addr;
}

export class UdpBackend implements Backend {
  readonly type = 'udp' as const;
  readonly mtu: number;
  readonly backendData = null;
  readonly tun: TunDevice;
  private socket: UdpSocket | undefined;
  private tunAddr: Ipv4Addr = 0;
  /** The proxy's route table (CMD_SET_ROUTE / CMD_DEL_ROUTE). */
  private readonly routes = new Map<string, ProxyRoute>();
  /** Routes by network (signed 32-bit) when every lease has one prefix length; see reindex. */
  private readonly byNet = new Map<number, ProxyRoute>();
  private indexMask = -1;

  constructor(private readonly ctx: BackendContext, private readonly tunPrefix: 'network' | 32 = 'network') {
    this.mtu = ctx.ns.device(ctx.extIface).mtu - UDP_ENCAP_OVERHEAD;
    this.tun = new TunDevice(ctx.ns.sim, TUN_NAME, this.mtu);
  }

  get port(): number {
    return this.ctx.config.backend.port;
  }

  configure(lease: Lease): void {
    const ns = this.ctx.ns;
    this.tunAddr = lease.subnet.network;
    ns.addDevice(this.tun);
    const prefix = this.tunPrefix === 32 ? 32 : this.ctx.config.network.prefixLen;
    ns.addAddress(TUN_NAME, `${formatIpv4(this.tunAddr)}/${prefix}`);
    ns.setUp(TUN_NAME, true);
    // The explicit route; with the network-prefix address the kernel's route is already there (EEXIST, ignored).
    if (prefix === 32) ns.addRoute({ dst: this.ctx.config.network, dev: TUN_NAME, scope: 'global' });
    this.socket = ns.udp.bind(this.port, this.ctx.publicIp);
    this.socket.onEncap = (inner, src, sport) => this.udpToTun(inner, src, sport);
    this.tun.attachReader((pkt) => this.tunToUdp(pkt));
  }

  addPeer(lease: Lease): void {
    if (lease.attrs.backendType !== 'udp') return;
    this.routes.set(subnetKey(lease.subnet), { dst: lease.subnet, nextHop: lease.attrs.publicIp });
    this.reindex();
  }

  removePeer(lease: Lease): void {
    this.routes.delete(subnetKey(lease.subnet));
    this.reindex();
  }

  /**
   * Leases all have the network's SubnetLen, so they never overlap and the route for an
   * address is the one keyed by the address masked to that length: one Map probe per
   * packet instead of a scan of every lease. With mixed lengths (not something flannel
   * hands out) the first match in insertion order is kept, as flanneld's proxy scans.
   */
  private reindex(): void {
    this.byNet.clear();
    this.indexMask = -1;
    let len = -1;
    for (const r of this.routes.values()) {
      if (len === -1) len = r.dst.prefixLen;
      else if (len !== r.dst.prefixLen) return;
    }
    if (len === -1) return;
    for (const r of this.routes.values()) this.byNet.set(r.dst.network | 0, r);
    this.indexMask = this.routes.values().next().value?.dst.mask ?? -1;
  }

  stop(): void {
    this.tun.detachReader();
    this.socket?.close();
    this.socket = undefined;
  }

  /** The proxy's routes, for views: `10.244.2.0/24 → 192.168.50.12:8285`. */
  proxyRoutes(): string[] {
    return [...this.routes.values()].map((r) => `${r.dst.toString()} → ${formatIpv4(r.nextHop)}:${this.port}`);
  }

  /** The proxy's socket and routes (the `flannel-proxy` node view): `listen 192.168.50.11:8285`, then {@link proxyRoutes}. */
  proxyView(): string {
    return [`listen ${formatIpv4(this.ctx.publicIp)}:${this.port}`, ...this.proxyRoutes()].join('\n') + '\n';
  }

  private findRoute(dst: Ipv4Addr): ProxyRoute | undefined {
    if (this.indexMask !== -1) return this.byNet.get(dst & this.indexMask);
    for (const r of this.routes.values()) if (r.dst.contains(dst)) return r;
    return undefined;
  }

  private emit(kind: 'encap' | 'decap', pkt: number, detail: string): void {
    const ns = this.ctx.ns;
    if (ns.sim.tracer.enabled) ns.sim.tracer.emit({ kind, t: ns.sim.clock.now(), node: ns.node, netns: ns.name, pkt, dev: TUN_NAME, detail });
  }

  /** decrement_ttl: false when the TTL reached 0 (the packet is discarded). */
  private decrementTtl(pkt: Packet): boolean {
    const ns = this.ctx.ns;
    const ttl = pkt.buf[pkt.off + 8] as number;
    if (ttl <= 1) {
      ns.traceDrop(pkt, 'flannel-ttl', `flanneld: discarding ${formatIpv4(readU32(pkt.buf, pkt.off + 12))} → ${formatIpv4(readU32(pkt.buf, pkt.off + 16))} due to zero TTL`, TUN_NAME);
      return false;
    }
    const to = ipv4DecrementTtl(pkt.buf, pkt.off);
    if (ns.sim.tracer.enabled) ns.emitTtl(pkt, ttl, to, 'flanneld');
    return true;
  }

  private tunToUdp(pkt: Packet): void {
    const ns = this.ctx.ns;
    if (pkt.len < 20) return;
    const dst = readU32(pkt.buf, pkt.off + 16);
    const route = this.findRoute(dst);
    if (route === undefined) {
      const sent = this.sendNetUnreachable(pkt);
      ns.traceDrop(pkt, 'flannel-no-lease', `flanneld: no lease covers ${formatIpv4(dst)}${sent ? ' (ICMP net unreachable written to flannel0)' : ''}`, TUN_NAME);
      return;
    }
    if (!this.decrementTtl(pkt)) return;
    const socket = this.socket;
    if (socket === undefined) return;
    if (ns.sim.tracer.enabled) this.emit('encap', pkt.id, `flanneld UDP: ${formatIpv4(this.ctx.publicIp)}:${this.port} → ${formatIpv4(route.nextHop)}:${this.port} for ${formatIpv4(dst)} (lease ${route.dst.toString()})`);
    socket.sendPacket(route.nextHop, this.port, pkt, { packetId: pkt.id });
  }

  private udpToTun(inner: Packet, src: Ipv4Addr, sport: number): void {
    const ns = this.ctx.ns;
    if (inner.len < 20) {
      ns.traceDrop(inner, 'malformed', `flanneld: UDP packet too small: ${inner.len} bytes`, TUN_NAME);
      return;
    }
    if (!this.decrementTtl(inner)) return;
    if (ns.sim.tracer.enabled) this.emit('decap', inner.id, `flanneld UDP from ${formatIpv4(src)}:${sport}: inner ${formatIpv4(readU32(inner.buf, inner.off + 12))} → ${formatIpv4(readU32(inner.buf, inner.off + 16))} written to ${TUN_NAME}`);
    this.tun.write(inner);
  }

  /** send_net_unreachable; false when the rules say not to answer. */
  private sendNetUnreachable(pkt: Packet): boolean {
    const b = pkt.buf;
    const o = pkt.off;
    const hl = Ipv4.headerLen(b, o);
    if (hl > 60 || hl < 20) return false;
    if (b[o + 9] === IpProtocol.ICMP) return false; // RFC 792: no ICMP about ICMP
    if (Ipv4.fragOffset(b, o) !== 0) return false; // only for the first fragment
    const bytes = buildIpv4Icmp(
      { src: this.tunAddr, dst: Ipv4.src(b, o), ttl: NET_UNREACHABLE_TTL, ident: 0, dontFrag: false },
      { type: 'dest-unreachable', code: 0, original: icmpErrorQuote(pkt.bytes()) },
    );
    this.tun.write(packetFromBytes(this.ctx.ns.sim.nextPacketId(), bytes));
    return true;
  }
}

export function createUdpBackend(ctx: BackendContext): UdpBackend {
  return new UdpBackend(ctx);
}

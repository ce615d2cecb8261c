/**
 * flannel's UDP backend (pkg/backend/udp with its C proxy): a TUN device `flannel0`
 * carrying the whole cluster network, and a userspace proxy that moves packets
 * between the TUN and a UDP socket on port 8285.
 *
 * Design notes, as flannel does it:
 * - flannel0 gets `<lease IP>/<network prefix>` (e.g. 10.244.1.0/16), so the kernel
 *   route `10.244.0.0/16 dev flannel0 proto kernel scope link src 10.244.1.0` sends
 *   every pod address that is not on the local docker0 into the TUN. MTU is the
 *   uplink's minus 28 (20 IP + 8 UDP).
 * - TUN → UDP (tun_to_udp): find the lease whose subnet holds the destination; none →
 *   ICMP net unreachable written back into the TUN (never about an ICMP error or a
 *   non-first fragment); TTL ≤ 1 → dropped silently; otherwise decrement the TTL (with
 *   an incremental checksum fix) and send the whole IP packet as the payload of a UDP
 *   datagram from the node's public IP:8285 to the peer's public IP:8285. No header of
 *   flannel's own.
 * - UDP → TUN (udp_to_tun): decrement the TTL again and write the packet into the TUN.
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { TunDevice } from '../../netsim/link/tun.ts';
import type { Packet } from '../../netsim/packet/packet.ts';
import { packetFromBytes } from '../../netsim/packet/packet.ts';
import type { UdpSocket, UdpMessage } from '../../netsim/stack/udp.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import { readU16, readU32 } from '../../netsim/wire/field.ts';
import { ipv4DecrementTtl } from '../../netsim/wire/ipv4.ts';
import { icmpErrorQuote } from '../../netsim/wire/icmpv4.ts';
import { buildIpv4Icmp } from '../../netsim/wire/build.ts';
import type { FlannelNetworkConfig } from './network-config.ts';
import type { Lease } from './lease.ts';

/** flannel pkg/backend/udp: encapOverhead = 20 IP + 8 UDP. */
export const UDP_ENCAP_OVERHEAD = 28;

export class UdpBackend {
  readonly tun: TunDevice;
  private socket: UdpSocket | undefined;
  private peers: Lease[] = [];

  constructor(private readonly ns: NetNamespace, private readonly config: FlannelNetworkConfig, private readonly lease: Lease, private readonly uplink: string) {
    const mtu = ns.device(uplink).mtu - UDP_ENCAP_OVERHEAD;
    this.tun = new TunDevice(ns.sim, 'flannel0', mtu);
  }

  /** Create flannel0, address it, open the UDP socket and start proxying. */
  start(): void {
    const ns = this.ns;
    ns.addDevice(this.tun);
    ns.addAddress('flannel0', `${formatIpv4(this.lease.subnet.network)}/${this.config.network.prefixLen}`, { broadcast: false });
    ns.setUp('flannel0', true);
    this.socket = ns.udp.bind(this.config.backend.port, this.lease.publicIp);
    this.socket.onMessage = (m) => this.udpToTun(m);
    this.tun.attachReader((pkt) => this.tunToUdp(pkt));
  }

  /** The leases of other nodes (flanneld's watch keeps this current). */
  setPeers(leases: readonly Lease[]): void {
    this.peers = leases.filter((l) => l.publicIp !== this.lease.publicIp);
  }

  private trace(pkt: number, kind: 'encap' | 'decap', detail: string): void {
    const ns = this.ns;
    if (ns.sim.tracer.enabled) ns.sim.tracer.emit({ kind, t: ns.sim.clock.now(), node: ns.node, netns: ns.name, pkt, dev: 'flannel0', detail });
  }

  private tunToUdp(pkt: Packet): void {
    const ns = this.ns;
    const b = pkt.buf;
    const o = pkt.off;
    if (pkt.len < 20) return;
    const dst = readU32(b, o + 16);
    const peer = this.peers.find((l) => l.subnet.contains(dst));
    if (peer === undefined) {
      this.netUnreachable(pkt);
      ns.traceDrop(pkt, 'flannel-no-lease', `flanneld: no lease for ${formatIpv4(dst)} (ICMP net unreachable written to flannel0)`, 'flannel0');
      return;
    }
    const ttl = b[o + 8] as number;
    if (ttl <= 1) {
      ns.traceDrop(pkt, 'flannel-ttl', `flanneld: TTL ${ttl} expired`, 'flannel0');
      return;
    }
    const newTtl = ipv4DecrementTtl(b, o);
    if (ns.sim.tracer.enabled) ns.emitTtl(pkt, ttl, newTtl, 'flanneld');
    this.trace(pkt.id, 'encap', `flanneld UDP: ${formatIpv4(this.lease.publicIp)}:${this.config.backend.port} → ${formatIpv4(peer.publicIp)}:${this.config.backend.port} for ${formatIpv4(dst)} (lease ${peer.subnet.toString()})`);
    this.socket?.send(peer.publicIp, this.config.backend.port, pkt.bytes().slice(), { packetId: pkt.id, dontFrag: false });
  }

  private udpToTun(m: UdpMessage): void {
    const ns = this.ns;
    const inner = packetFromBytes(m.pkt, m.data);
    if (inner.len < 20 || (inner.buf[inner.off] as number) >> 4 !== 4) {
      ns.traceDrop(inner, 'malformed', 'flanneld: UDP payload is not an IPv4 packet', 'flannel0');
      return;
    }
    const ttl = inner.buf[inner.off + 8] as number;
    if (ttl <= 1) {
      ns.traceDrop(inner, 'flannel-ttl', `flanneld: TTL ${ttl} expired`, 'flannel0');
      return;
    }
    const newTtl = ipv4DecrementTtl(inner.buf, inner.off);
    if (ns.sim.tracer.enabled) ns.emitTtl(inner, ttl, newTtl, 'flanneld');
    this.trace(inner.id, 'decap', `flanneld UDP from ${formatIpv4(m.src)}:${m.sport}: inner ${formatIpv4(readU32(inner.buf, inner.off + 12))} → ${formatIpv4(readU32(inner.buf, inner.off + 16))} written to flannel0`);
    this.tun.write(inner);
  }

  /** ICMP destination unreachable (net) back into the TUN, as flannel's proxy does. */
  private netUnreachable(pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.off;
    const hl = ((b[o] as number) & 0x0f) * 4;
    if ((readU16(b, o + 6) & 0x1fff) !== 0) return;
    if (b[o + 9] === 1 && pkt.len > hl && [3, 4, 5, 11, 12].includes(b[o + hl] as number)) return;
    const src: Ipv4Addr = readU32(b, o + 12);
    const bytes = buildIpv4Icmp({ src: this.lease.subnet.network, dst: src, ttl: 64 }, { type: 'dest-unreachable', code: 0, original: icmpErrorQuote(pkt.bytes()) });
    this.tun.write(packetFromBytes(this.ns.sim.nextPacketId(), bytes));
  }
}

/**
 * UDP sockets of one namespace (net/ipv4/udp.c). A socket bound to a specific
 * address wins over one bound to 0.0.0.0 on the same port. A datagram for a port
 * nobody holds is answered with ICMP port unreachable (not for broadcasts). Kernel
 * users (the VXLAN device's socket on 8472) and userspace daemons (flanneld on 8285)
 * bind the same way.
 *
 * Tunnels (the VXLAN device, flanneld's UDP proxy) exchange packets, not copies: a
 * tunnel sends a packet's bytes as a datagram by pushing the UDP and IPv4 headers into
 * its headroom (udp_tunnel_xmit_skb), and its socket's `onEncap` (udp_sk->encap_rcv)
 * receives the payload as a packet of its own with the outer headers pulled.
 */
import { AF_INET, DEFAULT_HEADROOM, Packet, copyBytes, packetFromBytes } from '../packet/packet.ts';
import { ipv4PacketSum } from '../wire/lco.ts';
import type { NetDevice } from '../link/net-device.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { formatIpv4 } from '../wire/addr.ts';
import { readU16 } from '../wire/field.ts';
import { foldSum, onesComplementSum, pseudoHeaderSum } from '../wire/checksum.ts';
import { emitIpv4, Ipv4, IPV4_HEADER_LEN, IpProtocol } from '../wire/ipv4.ts';
import { emitUdpHeader, UDP_HEADER_LEN } from '../wire/udp.ts';
import { buildIpv4Udp } from '../wire/build.ts';
import { NetsimError } from '../errors.ts';
import type { NetNamespace, SendResult } from './net-namespace.ts';
import type { IcmpErrorInfo } from './icmp.ts';

export interface UdpMessage {
  readonly data: Uint8Array;
  readonly src: Ipv4Addr;
  readonly sport: number;
  readonly dst: Ipv4Addr;
  readonly dport: number;
  readonly ttl: number;
  /** The packet's trace id. */
  readonly pkt: number;
  /** The device it arrived on. */
  readonly dev: string;
}

export interface UdpSendOptions {
  ttl?: number;
  dontFrag?: boolean;
  /** Keep this trace id (e.g. flanneld encapsulating a packet keeps the inner packet's id). */
  packetId?: number;
  tos?: number;
}

/**
 * Tunnel datagrams in the packet's headroom (on) or copied out and into a new packet
 * (off), as a userspace read/sendto would (and with the outer checksum summed over the
 * copy, where on uses local checksum offload). Bytes, ids, traces and captures are the same
 * either way (tests/scenarios/encap-headroom.test.ts runs both and compares hashes); the
 * switch exists for that test.
 */
export const encapInHeadroom = { on: true };

export class UdpSocket {
  onMessage: ((m: UdpMessage) => void) | undefined = undefined;
  /**
   * encap_rcv: a tunnel's receive handler, called instead of `onMessage` with the
   * datagram's payload as a packet of its own (same trace id, fresh metadata, outer
   * headers pulled). It owns `inner`.
   */
  onEncap: ((inner: Packet, src: Ipv4Addr, sport: number) => void) | undefined = undefined;
  onError: ((e: IcmpErrorInfo & { readonly dst: Ipv4Addr; readonly dport: number }) => void) | undefined = undefined;
  closed = false;

  constructor(private readonly layer: UdpLayer, readonly localAddr: Ipv4Addr, readonly localPort: number) {}

  /** Send a datagram; the source address is the bound one or what the route selects. */
  send(dst: Ipv4Addr, dport: number, data: Uint8Array, opts: UdpSendOptions = {}): { result: SendResult; pkt: number } {
    if (this.closed) throw new NetsimError('NETSIM_ERR_NOT_CONNECTED', `udp socket :${this.localPort} is closed`);
    return this.layer.send(this, dst, dport, data, opts);
  }

  /** Send `pkt`'s bytes as the datagram's payload (a tunnel's transmit); takes ownership of `pkt`. */
  sendPacket(dst: Ipv4Addr, dport: number, pkt: Packet, opts: UdpSendOptions = {}): { result: SendResult; pkt: number } {
    if (this.closed) throw new NetsimError('NETSIM_ERR_NOT_CONNECTED', `udp socket :${this.localPort} is closed`);
    const src = this.localAddr !== 0 ? this.localAddr : this.layer.sourceFor(dst);
    if (src === undefined) return { result: 'no-route', pkt: 0 };
    return this.layer.sendPacketFrom(src, this.localPort, dst, dport, pkt, opts);
  }

  close(): void {
    if (!this.closed) this.layer.unbind(this);
    this.closed = true;
  }
}

/**
 * The folded sum of a tunnel's payload (`inner`'s bytes) for the outer checksum, by
 * local checksum offload (lco.ts) when it carries the IPv4 packet of its context with a
 * checksum known right: the bytes in front of it (VXLAN and inner Ethernet headers)
 * summed, the packet from its IP header. -1 when the payload must be read (the same sum).
 */
function tunnelPayloadSum(inner: Packet): number {
  if (!inner.l4Verified || inner.family !== AF_INET) return -1;
  const o = inner.off;
  const nh = inner.nh;
  const end = o + inner.len;
  if (nh < o || ((nh - o) & 1) !== 0 || nh + IPV4_HEADER_LEN > end) return -1;
  return foldSum(onesComplementSum(inner.buf, o, nh) + ipv4PacketSum(inner.buf, nh, end, true));
}

export class UdpLayer {
  private readonly sockets = new Map<number, UdpSocket[]>();
  /**
   * The last (address, port) a lookup found a socket for, and the socket: a namespace
   * receives most datagrams for one socket (flanneld's, a server's). Forgotten on
   * every bind and unbind (NaN matches no port).
   */
  private lastDst = NaN;
  private lastPort = NaN;
  private lastSocket: UdpSocket | undefined = undefined;

  constructor(private readonly ns: NetNamespace) {}

  /** Bound sockets (`ss -ua`), by port. */
  bound(): UdpSocket[] {
    return [...this.sockets.values()].flat().sort((a, b) => a.localPort - b.localPort || a.localAddr - b.localAddr);
  }

  /** Bind a socket; port 0 picks a free ephemeral port from ip_local_port_range. */
  bind(port = 0, addr: Ipv4Addr = 0): UdpSocket {
    let p = port;
    if (p === 0) p = this.ephemeral();
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new NetsimError('NETSIM_ERR_BAD_ARGUMENT', `bad UDP port ${port}`);
    const list = this.sockets.get(p) ?? [];
    if (list.some((s) => s.localAddr === addr || s.localAddr === 0 || addr === 0)) {
      throw new NetsimError('NETSIM_ERR_ADDR_IN_USE', `${this.ns.name}: UDP ${formatIpv4(addr)}:${p} already in use (EADDRINUSE)`);
    }
    const s = new UdpSocket(this, addr, p);
    list.push(s);
    this.sockets.set(p, list);
    this.forgetLast();
    return s;
  }

  unbind(s: UdpSocket): void {
    const list = this.sockets.get(s.localPort);
    if (list === undefined) return;
    const rest = list.filter((x) => x !== s);
    if (rest.length === 0) this.sockets.delete(s.localPort);
    else this.sockets.set(s.localPort, rest);
    this.forgetLast();
  }

  private forgetLast(): void {
    this.lastDst = NaN;
    this.lastPort = NaN;
    this.lastSocket = undefined;
  }

  private ephemeral(): number {
    const [lo, hi] = this.ns.sysctl.localPortRange;
    const rng = this.ns.userRng;
    for (let i = 0; i < 64; i++) {
      const p = rng.range(lo, hi);
      if (!this.sockets.has(p)) return p;
    }
    for (let p = lo; p <= hi; p++) if (!this.sockets.has(p)) return p;
    throw new NetsimError('NETSIM_ERR_ADDR_IN_USE', `${this.ns.name}: no free UDP port`);
  }

  /** The source address a socket bound to 0.0.0.0 sends `dst` from: the route's prefsrc. */
  sourceFor(dst: Ipv4Addr): Ipv4Addr | undefined {
    return this.ns.lookupRoute(dst)?.prefsrc;
  }

  send(s: UdpSocket, dst: Ipv4Addr, dport: number, data: Uint8Array, opts: UdpSendOptions): { result: SendResult; pkt: number } {
    const src = s.localAddr !== 0 ? s.localAddr : this.sourceFor(dst);
    if (src === undefined) return { result: 'no-route', pkt: 0 };
    return this.sendFrom(src, s.localPort, dst, dport, data, opts);
  }

  /** Kernel-internal send with an explicit source address and port (a tunnel's per-flow port). */
  sendFrom(src: Ipv4Addr, sport: number, dst: Ipv4Addr, dport: number, data: Uint8Array, opts: UdpSendOptions = {}): { result: SendResult; pkt: number } {
    const ns = this.ns;
    const bytes = buildIpv4Udp(
      // An unconnected socket (pmtudisc WANT: DF may be ignored): the hashed generator.
      { src, dst, ttl: opts.ttl ?? ns.sysctl.defaultTtl, ident: ns.hashedIpId(dst, src, IpProtocol.UDP), dontFrag: opts.dontFrag ?? true, tos: opts.tos ?? 0 },
      { srcPort: sport, dstPort: dport }, data, DEFAULT_HEADROOM,
    );
    const pkt = new Packet(opts.packetId ?? ns.sim.nextPacketId(), bytes, DEFAULT_HEADROOM, bytes.length - DEFAULT_HEADROOM);
    pkt.l4Verified = true;
    pkt.ipHdrOk = DEFAULT_HEADROOM; // emitted whole, checksum summed
    return { result: ns.sendIp(pkt), pkt: pkt.id };
  }

  /**
   * A tunnel's transmit (udp_tunnel_xmit_skb): `inner`'s bytes become the payload of a
   * datagram whose UDP and IPv4 headers are pushed into its headroom — the same bytes,
   * IP id and packet id as {@link sendFrom} with a copy of them. Takes ownership of `inner`.
   */
  sendPacketFrom(src: Ipv4Addr, sport: number, dst: Ipv4Addr, dport: number, inner: Packet, opts: UdpSendOptions = {}): { result: SendResult; pkt: number } {
    if (!encapInHeadroom.on) return this.sendFrom(src, sport, dst, dport, inner.bytes(), opts);
    const ns = this.ns;
    // iptunnel_xmit: __ip_select_ident whatever DF says.
    const ident = ns.hashedIpId(dst, src, IpProtocol.UDP);
    const sum = tunnelPayloadSum(inner);
    // A new skb as far as metadata goes (no mark, conntrack or bridge state) over the inner
    // bytes: the same object, scrubbed, since the tunnel owns it.
    const pkt = inner;
    pkt.scrub();
    if (opts.packetId !== pkt.id) pkt.id = opts.packetId ?? ns.sim.nextPacketId();
    const ulen = UDP_HEADER_LEN + pkt.len;
    const o = pkt.push(IPV4_HEADER_LEN + UDP_HEADER_LEN);
    emitIpv4({ src: src >>> 0, dst: dst >>> 0, protocol: IpProtocol.UDP, ttl: opts.ttl ?? ns.sysctl.defaultTtl, payloadLen: ulen, ident, dontFrag: opts.dontFrag ?? true, tos: opts.tos ?? 0 }, pkt.buf, o);
    emitUdpHeader(sport, dport, pkt.buf, o + IPV4_HEADER_LEN, ulen, src, dst, sum);
    pkt.l4Verified = true;
    pkt.ipHdrOk = o; // emitted whole, checksum summed
    return { result: ns.sendIp(pkt), pkt: pkt.id };
  }

  private lookup(dst: Ipv4Addr, dport: number): UdpSocket | undefined {
    if (dport === this.lastPort && dst === this.lastDst) return this.lastSocket;
    const list = this.sockets.get(dport);
    if (list === undefined) return undefined;
    let found: UdpSocket | undefined;
    for (const s of list) {
      if (s.localAddr === dst) {
        found = s;
        break;
      }
      if (s.localAddr === 0) found = s;
    }
    if (found !== undefined) {
      this.lastDst = dst;
      this.lastPort = dport;
      this.lastSocket = found;
    }
    return found;
  }

  input(inDev: NetDevice, pkt: Packet): void {
    const ns = this.ns;
    const b = pkt.buf;
    const o = pkt.off;
    const hl = Ipv4.headerLen(b, o);
    const l4 = o + hl;
    const avail = pkt.len - hl;
    const ulen = avail >= 8 ? readU16(b, l4 + 4) : 0;
    if (avail < 8 || ulen < 8 || ulen > avail) {
      ns.traceDrop(pkt, 'malformed', `bad UDP length ${ulen} (have ${avail})`, inDev.name);
      return;
    }
    const src = Ipv4.src(b, o);
    const dst = Ipv4.dst(b, o);
    if (!pkt.l4Verified && readU16(b, l4 + 6) !== 0) {
      const sum = onesComplementSum(b, l4, l4 + ulen, pseudoHeaderSum(src, dst, IpProtocol.UDP, ulen));
      if (sum !== 0xffff) {
        ns.traceDrop(pkt, 'bad-checksum', 'UDP checksum mismatch', inDev.name);
        return;
      }
    }
    const sport = readU16(b, l4);
    const dport = readU16(b, l4 + 2);
    const s = this.lookup(dst, dport);
    if (s === undefined || (s.onMessage === undefined && s.onEncap === undefined)) {
      const bcast = dst === 0xffffffff || ns.lookupRoute(dst)?.type === 'broadcast';
      if (!bcast) ns.icmp.sendError(pkt, 3, 3, 0);
      ns.traceDrop(pkt, 'no-socket', `no UDP socket on ${formatIpv4(dst)}:${dport}`, inDev.name);
      return;
    }
    if (ns.sim.tracer.enabled) ns.emitDeliver(pkt, `udp socket ${formatIpv4(s.localAddr)}:${s.localPort}`);
    if (s.onEncap !== undefined) {
      // skb_pull of the outer headers; a new packet object so that no metadata of the outer one carries over.
      const inner = encapInHeadroom.on ? new Packet(pkt.id, b, l4 + UDP_HEADER_LEN, ulen - UDP_HEADER_LEN) : packetFromBytes(pkt.id, b.subarray(l4 + UDP_HEADER_LEN, l4 + ulen));
      s.onEncap(inner, src, sport);
      return;
    }
    (s.onMessage as (m: UdpMessage) => void)({ data: copyBytes(b, l4 + 8, l4 + ulen), src, sport, dst, dport, ttl: b[o + 8] as number, pkt: pkt.id, dev: inDev.name });
  }

  icmpError(info: IcmpErrorInfo, qsrc: Ipv4Addr, qsport: number, qdst: Ipv4Addr, qdport: number, _pkt: Packet): void {
    const s = this.lookup(qsrc, qsport);
    s?.onError?.({ ...info, dst: qdst, dport: qdport });
  }
}

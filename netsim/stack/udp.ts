/**
 * UDP sockets of one namespace (net/ipv4/udp.c). A socket bound to a specific
 * address wins over one bound to 0.0.0.0 on the same port. A datagram for a port
 * nobody holds is answered with ICMP port unreachable (not for broadcasts). Kernel
 * users (the VXLAN device's socket on 8472) and userspace daemons (flanneld on 8285)
 * bind the same way.
 */
import { DEFAULT_HEADROOM, Packet, copyBytes } from '../packet/packet.ts';
import type { NetDevice } from '../link/net-device.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { formatIpv4 } from '../wire/addr.ts';
import { readU16 } from '../wire/field.ts';
import { onesComplementSum, pseudoHeaderSum } from '../wire/checksum.ts';
import { Ipv4, IpProtocol } from '../wire/ipv4.ts';
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

export class UdpSocket {
  onMessage: ((m: UdpMessage) => void) | undefined = undefined;
  onError: ((e: IcmpErrorInfo & { readonly dst: Ipv4Addr; readonly dport: number }) => void) | undefined = undefined;
  closed = false;

  constructor(private readonly layer: UdpLayer, readonly localAddr: Ipv4Addr, readonly localPort: number) {}

  /** Send a datagram; the source address is the bound one or what the route selects. */
  send(dst: Ipv4Addr, dport: number, data: Uint8Array, opts: UdpSendOptions = {}): { result: SendResult; pkt: number } {
    if (this.closed) throw new NetsimError('NETSIM_ERR_NOT_CONNECTED', `udp socket :${this.localPort} is closed`);
    return this.layer.send(this, dst, dport, data, opts);
  }

  close(): void {
    if (!this.closed) this.layer.unbind(this);
    this.closed = true;
  }
}

export class UdpLayer {
  private readonly sockets = new Map<number, UdpSocket[]>();

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
    return s;
  }

  unbind(s: UdpSocket): void {
    const list = this.sockets.get(s.localPort);
    if (list === undefined) return;
    const rest = list.filter((x) => x !== s);
    if (rest.length === 0) this.sockets.delete(s.localPort);
    else this.sockets.set(s.localPort, rest);
  }

  private ephemeral(): number {
    const [lo, hi] = this.ns.sysctl.localPortRange;
    const rng = this.ns.sim.rng;
    for (let i = 0; i < 64; i++) {
      const p = rng.range(lo, hi);
      if (!this.sockets.has(p)) return p;
    }
    for (let p = lo; p <= hi; p++) if (!this.sockets.has(p)) return p;
    throw new NetsimError('NETSIM_ERR_ADDR_IN_USE', `${this.ns.name}: no free UDP port`);
  }

  send(s: UdpSocket, dst: Ipv4Addr, dport: number, data: Uint8Array, opts: UdpSendOptions): { result: SendResult; pkt: number } {
    const src = s.localAddr !== 0 ? s.localAddr : this.ns.lookupRoute(dst)?.prefsrc;
    if (src === undefined) return { result: 'no-route', pkt: 0 };
    return this.sendFrom(src, s.localPort, dst, dport, data, opts);
  }

  /** Kernel-internal send with an explicit source address and port (a tunnel's per-flow port). */
  sendFrom(src: Ipv4Addr, sport: number, dst: Ipv4Addr, dport: number, data: Uint8Array, opts: UdpSendOptions = {}): { result: SendResult; pkt: number } {
    const ns = this.ns;
    const bytes = buildIpv4Udp(
      { src, dst, ttl: opts.ttl ?? ns.sysctl.defaultTtl, ident: ns.nextIpId(), dontFrag: opts.dontFrag ?? true, tos: opts.tos ?? 0 },
      { srcPort: sport, dstPort: dport }, data, DEFAULT_HEADROOM,
    );
    const pkt = new Packet(opts.packetId ?? ns.sim.nextPacketId(), bytes, DEFAULT_HEADROOM, bytes.length - DEFAULT_HEADROOM);
    pkt.l4Verified = true;
    return { result: ns.sendIp(pkt), pkt: pkt.id };
  }

  private lookup(dst: Ipv4Addr, dport: number): UdpSocket | undefined {
    const list = this.sockets.get(dport);
    if (list === undefined) return undefined;
    let wild: UdpSocket | undefined;
    for (const s of list) {
      if (s.localAddr === dst) return s;
      if (s.localAddr === 0) wild = s;
    }
    return wild;
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
    if (s === undefined || s.onMessage === undefined) {
      const bcast = dst === 0xffffffff || ns.lookupRoute(dst)?.type === 'broadcast';
      if (!bcast) ns.icmp.sendError(pkt, 3, 3, 0);
      ns.traceDrop(pkt, 'no-socket', `no UDP socket on ${formatIpv4(dst)}:${dport}`, inDev.name);
      return;
    }
    if (ns.sim.tracer.enabled) ns.emitDeliver(pkt, `udp socket ${formatIpv4(s.localAddr)}:${s.localPort}`);
    s.onMessage({ data: copyBytes(b, l4 + 8, l4 + ulen), src, sport, dst, dport, ttl: b[o + 8] as number, pkt: pkt.id, dev: inDev.name });
  }

  icmpError(info: IcmpErrorInfo, qsrc: Ipv4Addr, qsport: number, qdst: Ipv4Addr, qdport: number, _pkt: Packet): void {
    const s = this.lookup(qsrc, qsport);
    s?.onError?.({ ...info, dst: qdst, dport: qdport });
  }
}

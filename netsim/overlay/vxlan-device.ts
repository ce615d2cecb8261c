/**
 * VXLAN device (drivers/net/vxlan), e.g. flannel's `flannel.1`: an Ethernet device
 * whose frames travel inside UDP between VTEPs (RFC 7348). Transmit looks the inner
 * destination MAC up in the device's own FDB (`bridge fdb append MAC dev flannel.1 dst
 * VTEP`), prepends the 8-byte VXLAN header and sends it as a UDP datagram from the
 * namespace's stack; a kernel UDP socket on the VXLAN port receives datagrams, checks
 * the VNI and hands the inner frame to the device's receive path. Headers go into the
 * frame's headroom and come off by a pull (vxlan_xmit_one, vxlan_rcv): no copy.
 *
 * Flannel creates its device with `nolearning` and programs FDB and permanent ARP
 * entries itself; `learning` is supported for completeness. The UDP source port is a
 * hash of the inner flow within the local port range, as the kernel's
 * udp_flow_src_port does, so one flow keeps one outer port.
 *
 * Not modelled: multicast groups and default (all-zero MAC) flood entries beyond a
 * unicast list, VXLAN-GPE/GBP extensions, IPv6 underlay.
 */
import type { Sim } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import { NetDevice } from '../link/net-device.ts';
import type { Ipv4Addr, MacAddr } from '../wire/addr.ts';
import { formatIpv4, formatMac } from '../wire/addr.ts';
import { readU16, readU32, readU48 } from '../wire/field.ts';
import { VXLAN_HEADER_LEN, VXLAN_PORT_LINUX_DEFAULT, emitVxlan, parseVxlan, vxlanVniAt } from '../wire/vxlan.ts';
import { Ipv4 } from '../wire/ipv4.ts';
import { WireError } from '../wire/errors.ts';
import type { NetNamespace } from '../stack/net-namespace.ts';
import type { UdpSocket } from '../stack/udp.ts';

/** flannel pkg/backend/vxlan: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

export interface VxlanOptions {
  vni: number;
  /** UDP destination port (and the port the receiving socket binds). Linux default 8472. */
  port?: number;
  /** Local VTEP address used as the outer source. */
  local: Ipv4Addr;
  mac: MacAddr;
  mtu?: number;
  learning?: boolean;
}

export interface VxlanFdbEntry {
  readonly mac: MacAddr;
  readonly dst: Ipv4Addr;
  readonly permanent: boolean;
}

export class VxlanDevice extends NetDevice {
  readonly vni: number;
  readonly port: number;
  readonly local: Ipv4Addr;
  readonly learning: boolean;
  private readonly fdb = new Map<MacAddr, VxlanFdbEntry>();
  private socket: UdpSocket | undefined;
  private ns: NetNamespace | undefined;

  constructor(sim: Sim, name: string, opts: VxlanOptions) {
    super(sim, name, 'vxlan', 'ether', opts.mac, opts.mtu ?? 1450);
    if (!Number.isInteger(opts.vni) || opts.vni < 0 || opts.vni > 0xffffff) throw new RangeError(`vxlan: VNI ${opts.vni} out of range`);
    this.vni = opts.vni;
    this.port = opts.port ?? VXLAN_PORT_LINUX_DEFAULT;
    this.local = opts.local;
    this.learning = opts.learning ?? false;
  }

  /** Add the device to `ns` and open its kernel UDP socket. */
  attachTo(ns: NetNamespace): this {
    ns.addDevice(this);
    this.ns = ns;
    this.socket = ns.udp.bind(this.port);
    this.socket.onEncap = (inner, src, sport) => this.decap(inner, src, sport);
    return this;
  }

  /** Implements {@link NetDevice.detached}: close the kernel UDP socket. */
  override detached(): void {
    this.socket?.close();
    this.socket = undefined;
    this.ns = undefined;
  }

  /** `bridge fdb append MAC dev DEV dst IP self permanent`. */
  fdbAdd(mac: MacAddr, dst: Ipv4Addr): void {
    this.fdb.set(mac, { mac, dst, permanent: true });
  }

  fdbDel(mac: MacAddr): boolean {
    return this.fdb.delete(mac);
  }

  fdbEntries(): VxlanFdbEntry[] {
    return [...this.fdb.values()];
  }

  protected xmit(pkt: Packet): void {
    const ns = this.ns;
    if (ns === undefined || this.socket === undefined) {
      this.drop(pkt, 'link-down', `${this.name}: not attached`);
      return;
    }
    const b = pkt.buf;
    const o = pkt.off;
    const dst = readU48(b, o);
    const e = this.fdb.get(dst);
    if (e === undefined) {
      this.drop(pkt, 'vxlan-no-fdb', `${this.name}: no FDB entry for ${formatMac(dst)}`);
      return;
    }
    const sport = this.flowPort(b, o);
    if (this.sim.tracer.enabled) {
      this.sim.tracer.emit({
        kind: 'encap', t: this.sim.clock.now(), node: ns.node, netns: ns.name, pkt: pkt.id, dev: this.name,
        detail: `VXLAN VNI ${this.vni}: ${formatIpv4(this.local)}:${sport} → ${formatIpv4(e.dst)}:${this.port} (inner dst ${formatMac(dst)})`,
      });
    }
    // The outer datagram is sent from the fixed VTEP address and the flow's source port.
    emitVxlan({ vni: this.vni }, pkt.buf, pkt.push(VXLAN_HEADER_LEN));
    const res = ns.udp.sendPacketFrom(this.local, sport, e.dst, this.port, pkt, { packetId: pkt.id, dontFrag: false });
    if (res.result !== 'sent') this.stats.txDropped++;
  }

  /**
   * Outer source port from a hash of the inner flow (udp_flow_src_port over
   * skb_get_hash), the same for both directions: the flow dissector orders the
   * endpoints before hashing (__flow_hash_consistentify: the lower address, or the
   * lower port on equal addresses, first), so a reply leaves with the request's port.
   */
  private flowPort(b: Uint8Array, o: number): number {
    let h = 0x9e3779b9;
    if (readU16(b, o + 12) === 0x0800 && o + 34 <= b.length) {
      let src = readU32(b, o + 26);
      let dst = readU32(b, o + 30);
      const ihl = Ipv4.headerLen(b, o + 14);
      const p = b[o + 23] as number;
      const hasPorts = (p === 6 || p === 17) && o + 14 + ihl + 4 <= b.length;
      let sport = hasPorts ? readU16(b, o + 14 + ihl) : 0;
      let dport = hasPorts ? readU16(b, o + 14 + ihl + 2) : 0;
      if (dst < src || (dst === src && dport < sport)) {
        [src, dst] = [dst, src];
        [sport, dport] = [dport, sport];
      }
      h ^= src;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h ^= dst;
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      h ^= ((sport << 16) | dport) >>> 0;
      h ^= p;
    } else {
      h ^= readU32(b, o + 6);
    }
    h = Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
    const [lo, hi] = this.ns?.sysctl.localPortRange ?? [32768, 60999];
    return lo + (h % (hi - lo + 1));
  }

  private decap(inner: Packet, src: Ipv4Addr, sport: number): void {
    const ns = this.ns as NetNamespace;
    const vni = vxlanVniAt(inner.buf, inner.off, inner.len);
    if (vni < 0) {
      try {
        parseVxlan(inner.bytes());
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        inner.trim(0);
        ns.traceDrop(inner, 'malformed', `vxlan: ${e.message}`, this.name);
      }
      return;
    }
    inner.pull(VXLAN_HEADER_LEN);
    if (vni !== this.vni) {
      ns.traceDrop(inner, 'vxlan-bad-vni', `VNI ${vni} arrived; ${this.name} serves VNI ${this.vni}`, this.name);
      return;
    }
    if (inner.len < 14) {
      ns.traceDrop(inner, 'malformed', 'vxlan: inner frame shorter than an Ethernet header', this.name);
      return;
    }
    if (this.learning) {
      const mac = readU48(inner.buf, inner.off + 6);
      const cur = this.fdb.get(mac);
      if (cur === undefined || !cur.permanent) this.fdb.set(mac, { mac, dst: src, permanent: false });
    }
    if (this.sim.tracer.enabled) {
      this.sim.tracer.emit({
        kind: 'decap', t: this.sim.clock.now(), node: ns.node, netns: ns.name, pkt: inner.id, dev: this.name,
        detail: `VXLAN VNI ${vni} from ${formatIpv4(src)}:${sport}`,
      });
    }
    this.receive(inner);
  }
}

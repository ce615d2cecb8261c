/**
 * NetDevice: a network interface in one namespace (Linux: struct net_device).
 *
 * Two directions, as in the kernel:
 * - {@link NetDevice.transmit} (dev_queue_xmit): the namespace's stack, or a bridge,
 *   sends a packet out of the device. The subclass decides where it goes (the veth
 *   peer, a userspace TUN reader, an underlay segment, an encapsulation).
 * - {@link NetDevice.receive} (netif_receive_skb): a packet arrives from the device's
 *   medium. If the device is a bridge port, the bridge takes it (br_handle_frame);
 *   otherwise the owning namespace's stack does.
 *
 * Packet layout: on 'ether' devices `pkt` starts at the Ethernet header; on 'raw-ip'
 * devices (TUN) it starts at the IPv4 header.
 */
import type { Sim } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import type { DropReason, LinkType } from '../trace/trace-event.ts';
import type { MacAddr } from '../wire/addr.ts';
import { formatEthernetFrame, formatIpv4Packet } from '../wire/pretty.ts';

export type DeviceKind = 'veth' | 'bridge' | 'tun' | 'vxlan' | 'dummy' | 'loopback' | 'ether';

/** What a device needs from the namespace that owns it. Implemented by NetNamespace. */
export interface DeviceOwner {
  readonly name: string;
  readonly node: string;
  /** A packet arrived on `dev` and is not taken by a bridge: hand it to the stack. */
  deliverFromDevice(dev: NetDevice, pkt: Packet): void;
  /** Drop with a trace event (the owner knows its own names). */
  traceDrop(pkt: Packet, reason: DropReason, detail: string, dev?: string): void;
}

/** What a device needs from the bridge it is enslaved to. Implemented by Bridge. */
export interface BridgeMaster {
  readonly name: string;
  handleFrame(port: NetDevice, pkt: Packet): void;
}

export interface DeviceStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
}

export abstract class NetDevice {
  /** Set by the namespace when the device is added. */
  ifindex = 0;
  owner: DeviceOwner | undefined = undefined;
  master: BridgeMaster | undefined = undefined;
  /** Administrative state (`ip link set X up`). */
  up = false;
  promisc = false;
  /** `ip link set X txqueuelen N`; undefined: the kind's default (500 for TUN, 1000 for the rest). */
  txQueueLen: number | undefined = undefined;
  /** IFF_NOARP: the neighbour layer does not resolve addresses on this device. */
  readonly noArp: boolean;
  readonly stats: DeviceStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, rxDropped: 0, txDropped: 0 };

  constructor(
    readonly sim: Sim,
    public name: string,
    readonly kind: DeviceKind,
    readonly linkType: LinkType,
    public mac: MacAddr,
    public mtu: number,
    opts: { noArp?: boolean } = {},
  ) {
    this.noArp = opts.noArp ?? linkType === 'raw-ip';
  }

  /** Whether the device can pass packets now (IFF_UP and, where it applies, carrier). */
  operational(): boolean {
    return this.up && this.carrier();
  }

  /** Lower-layer carrier (veth: the peer is up). */
  carrier(): boolean {
    return true;
  }

  /** Send `pkt` out of this device (dev_queue_xmit). Takes ownership of `pkt`. */
  transmit(pkt: Packet): void {
    if (!this.operational()) {
      this.stats.txDropped++;
      this.drop(pkt, 'link-down', `${this.name} is ${this.up ? 'without carrier' : 'down'}`);
      return;
    }
    this.stats.txPackets++;
    this.stats.txBytes += pkt.len;
    if (this.sim.tracer.enabled) this.traceRxTx('tx', pkt);
    this.xmit(pkt);
  }

  /** A packet arrives from the medium (netif_receive_skb). Takes ownership of `pkt`. */
  receive(pkt: Packet): void {
    if (!this.up) {
      this.stats.rxDropped++;
      this.drop(pkt, 'link-down', `${this.name} is down`);
      return;
    }
    this.stats.rxPackets++;
    this.stats.rxBytes += pkt.len;
    if (this.sim.tracer.enabled) this.traceRxTx('rx', pkt);
    if (this.master !== undefined) this.master.handleFrame(this, pkt);
    else this.deliverUp(pkt);
  }

  /** Hand a received packet to the owning namespace's stack. */
  deliverUp(pkt: Packet): void {
    if (this.owner === undefined) {
      this.stats.rxDropped++;
      return;
    }
    this.owner.deliverFromDevice(this, pkt);
  }

  /** Called by the namespace when the device is removed from it (release sockets, timers). */
  detached(): void {}

  /** Device-specific transmission. */
  protected abstract xmit(pkt: Packet): void;

  protected drop(pkt: Packet, reason: DropReason, detail: string): void {
    if (this.owner !== undefined) this.owner.traceDrop(pkt, reason, detail, this.name);
    else if (this.sim.tracer.enabled) {
      this.sim.tracer.emit({ kind: 'drop', t: this.sim.clock.now(), node: '', netns: '', pkt: pkt.id, reason, detail, dev: this.name });
    }
  }

  /** Emit an rx/tx trace event for `pkt` as seen on this device. */
  traceRxTx(kind: 'rx' | 'tx', pkt: Packet): void {
    const bytes = pkt.bytes();
    const summary = this.linkType === 'ether' ? formatEthernetFrame(bytes) : formatIpv4Packet(bytes);
    const base = {
      kind, t: this.sim.clock.now(), node: this.owner?.node ?? '', netns: this.owner?.name ?? '', pkt: pkt.id,
      dev: this.name, linkType: this.linkType, summary,
    } as const;
    this.sim.tracer.emit(this.sim.tracer.wantBytes ? { ...base, data: bytes.slice() } : base);
  }

  /** Flags as `ip link` prints them, e.g. `<BROADCAST,MULTICAST,UP,LOWER_UP>`. */
  flags(): string {
    const f: string[] = [];
    if (this.kind === 'loopback') f.push('LOOPBACK');
    else if (this.linkType === 'raw-ip') f.push('POINTOPOINT', 'MULTICAST', 'NOARP');
    else if (this.noArp) f.push('BROADCAST', 'NOARP');
    else f.push('BROADCAST', 'MULTICAST');
    if (this.promisc) f.push('PROMISC');
    if (this.up) f.push('UP');
    if (this.up && this.carrier()) f.push('LOWER_UP');
    else if (this.up) f.push('NO-CARRIER');
    return `<${f.join(',')}>`;
  }
}

/**
 * TUN device (drivers/net/tun.c), e.g. flannel's `flannel0`: a point-to-point L3 device
 * with no link-layer header. Packets the stack routes into it are handed to the userspace
 * program holding the device open (flanneld reads them); packets that program writes are
 * received by the stack as if they came off a wire.
 *
 * Not modelled: the TUN queue length (txqueuelen 500 on Linux) and the packet-information
 * header (flannel opens the device with IFF_NO_PI).
 */
import type { Sim, PacketSink } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import { NetDevice } from './net-device.ts';

export class TunDevice extends NetDevice {
  private reader: PacketSink | undefined;

  constructor(sim: Sim, name: string, mtu = 1500) {
    super(sim, name, 'tun', 'raw-ip', 0, mtu, { noArp: true });
  }

  /** A userspace program opens the device; `onPacket` receives what the stack sends into it. */
  attachReader(onPacket: (pkt: Packet) => void): void {
    this.reader = { receive: onPacket };
  }

  detachReader(): void {
    this.reader = undefined;
  }

  /** Carrier is on while a reader holds the device (`ip route` shows `linkdown` otherwise). */
  override carrier(): boolean {
    return this.reader !== undefined;
  }

  /** Userspace writes a raw IPv4 packet into the device; the stack receives it. */
  write(pkt: Packet): void {
    this.receive(pkt);
  }

  protected xmit(pkt: Packet): void {
    if (this.reader === undefined) {
      this.drop(pkt, 'tun-no-reader', `${this.name}: no userspace reader`);
      return;
    }
    this.sim.enqueue(this.reader, pkt);
  }
}

/**
 * Loopback `lo` (drivers/net/loopback.c): what is transmitted is received again by the
 * same namespace. Frames carry an Ethernet header with all-zero MACs, as on Linux, so
 * a capture on lo reads as Ethernet. MTU 65536, NOARP.
 */
import type { Sim } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import { NetDevice } from './net-device.ts';

export const LOOPBACK_MTU = 65536;

export class LoopbackDevice extends NetDevice {
  constructor(sim: Sim, name = 'lo') {
    super(sim, name, 'loopback', 'ether', 0, LOOPBACK_MTU, { noArp: true });
  }

  protected xmit(pkt: Packet): void {
    this.sim.enqueue(this, pkt);
  }
}

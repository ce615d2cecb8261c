/**
 * veth pair: what one end transmits, the other end receives (drivers/net/veth.c).
 * Delivery goes through the run's backlog at the same virtual instant: veth has no
 * queue and no delay of its own. Carrier follows the peer's administrative state.
 */
import type { Sim } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import type { MacAddr } from '../wire/addr.ts';
import { NetDevice } from './net-device.ts';

export class VethDevice extends NetDevice {
  peer!: VethDevice;

  constructor(sim: Sim, name: string, mac: MacAddr, mtu = 1500) {
    super(sim, name, 'veth', 'ether', mac, mtu);
  }

  override carrier(): boolean {
    return this.peer.up;
  }

  protected xmit(pkt: Packet): void {
    if (this.peer.owner !== this.owner) {
      // skb_scrub_packet: crossing into another namespace drops conntrack state and the mark.
      pkt.ct = undefined;
      pkt.ctInfo = 0;
      pkt.mark = 0;
      pkt.ipvs = false;
    }
    this.sim.enqueue(this.peer, pkt);
  }
}

/** Create a veth pair (`ip link add A type veth peer name B`). Both ends start down. */
export function createVethPair(sim: Sim, a: { name: string; mac: MacAddr; mtu?: number }, b: { name: string; mac: MacAddr; mtu?: number }): [VethDevice, VethDevice] {
  const da = new VethDevice(sim, a.name, a.mac, a.mtu ?? 1500);
  const db = new VethDevice(sim, b.name, b.mac, b.mtu ?? 1500);
  da.peer = db;
  db.peer = da;
  return [da, db];
}

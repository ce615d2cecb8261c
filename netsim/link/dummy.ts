/**
 * dummy device (drivers/net/dummy.c), e.g. kube-proxy's `kube-ipvs0`: holds addresses
 * so the local routing table accepts them; whatever is sent to it is silently consumed.
 * kube-proxy creates it with NOARP and leaves it down; its addresses are local anyway.
 */
import type { Sim } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import type { MacAddr } from '../wire/addr.ts';
import { NetDevice } from './net-device.ts';

export class DummyDevice extends NetDevice {
  constructor(sim: Sim, name: string, mac: MacAddr) {
    super(sim, name, 'dummy', 'ether', mac, 1500, { noArp: true });
  }

  protected xmit(_pkt: Packet): void {
    // Consumed, as dummy_xmit does (counted as transmitted).
  }
}

/** Device helpers shared by the bridge plugin and the docker runtime. */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { Rng } from '../../netsim/time/rng.ts';
import type { MacAddr } from '../../netsim/wire/addr.ts';
import { VethDevice } from '../../netsim/link/veth.ts';
import type { Bridge } from '../../netsim/link/bridge.ts';

/** A random locally administered unicast MAC (what the kernel gives a new veth or bridge). */
export function randomMac(rng: Rng): MacAddr {
  const hi = (rng.nextU32() & 0xfeff) | 0x0200;
  return hi * 0x100000000 + rng.nextU32();
}

/** `n` random lower-case hex characters. */
export function randomHex(rng: Rng, n: number): string {
  let s = '';
  while (s.length < n) s += rng.nextU32().toString(16).padStart(8, '0');
  return s.slice(0, n);
}

/**
 * `ip link del IFNAME` inside `pod`: the veth pair dies with both ends, so the host
 * end leaves its bridge and the host namespace too. Returns the removed pod device.
 */
export function deleteVethPair(pod: NetNamespace, host: NetNamespace, ifName: string): VethDevice | undefined {
  const dev = pod.devices.get(ifName);
  if (dev === undefined) return undefined;
  pod.removeDevice(ifName);
  if (dev instanceof VethDevice) {
    const peer = dev.peer;
    if (peer.owner === host) {
      const master = peer.master as Bridge | undefined;
      master?.removePort(peer);
      host.removeDevice(peer.name);
    }
    return dev;
  }
  return undefined;
}

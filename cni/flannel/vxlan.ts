/**
 * flannel's VXLAN backend (pkg/backend/vxlan): device `flannel.<VNI>` (VNI 1, UDP
 * 8472, `nolearning`, MTU = external − 50, a random MAC published in the lease as
 * VtepMAC), address `<lease IP>/32`. Per remote vxlan lease, nothing learnt, all
 * programmed (no L2/L3 miss handlers):
 * 1. permanent neighbour `<remote subnet IP> lladdr <VtepMAC> dev flannel.1`;
 * 2. FDB `<VtepMAC> dev flannel.1 dst <remote PublicIP> self permanent`;
 * 3. route `<remote subnet> via <remote subnet IP> dev flannel.1 onlink`.
 * All three go when the lease goes.
 *
 * Not modelled: DirectRouting, GBP, IPv6, the stored-MAC reuse across restarts.
 */
import { VxlanDevice, VXLAN_OVERHEAD } from '../../netsim/overlay/vxlan-device.ts';
import { formatIpv4, formatMac, parseMac } from '../../netsim/wire/addr.ts';
import type { MacAddr } from '../../netsim/wire/addr.ts';
import { NetsimError } from '../../netsim/errors.ts';
import type { Backend, BackendContext } from './backend.ts';
import type { Lease } from './lease.ts';
import { randomMac } from '../plugins/link-util.ts';

export { VXLAN_OVERHEAD };

export class VxlanBackend implements Backend {
  readonly type = 'vxlan' as const;
  readonly mtu: number;
  readonly device: VxlanDevice;
  readonly name: string;
  readonly backendData: { VNI: number; VtepMAC: string };

  constructor(private readonly ctx: BackendContext) {
    const ns = ctx.ns;
    this.mtu = ns.device(ctx.extIface).mtu - VXLAN_OVERHEAD;
    const vni = ctx.config.backend.vni;
    this.name = `flannel.${vni}`;
    // The device exists before the lease: its MAC goes into the lease attributes.
    this.device = new VxlanDevice(ns.sim, this.name, { vni, port: ctx.config.backend.port, local: ctx.publicIp, mac: randomMac(ctx.rng), mtu: this.mtu, learning: false }).attachTo(ns);
    this.backendData = { VNI: vni, VtepMAC: formatMac(this.device.mac) };
  }

  configure(lease: Lease): void {
    this.ctx.ns.addAddress(this.name, `${formatIpv4(lease.subnet.network)}/32`);
    this.ctx.ns.setUp(this.name, true);
  }

  private vtepMac(lease: Lease): MacAddr | undefined {
    const d = lease.attrs.backendData as { VtepMAC?: unknown } | null;
    if (d === null || typeof d !== 'object' || typeof d.VtepMAC !== 'string') return undefined;
    try {
      return parseMac(d.VtepMAC);
    } catch {
      return undefined;
    }
  }

  addPeer(lease: Lease): void {
    if (lease.attrs.backendType !== 'vxlan') return;
    const mac = this.vtepMac(lease);
    if (mac === undefined) return;
    const ns = this.ctx.ns;
    const gw = lease.subnet.network;
    ns.setNeighbour(this.name, gw, mac, 'PERMANENT');
    this.device.fdbAdd(mac, lease.attrs.publicIp);
    // RouteReplace
    try {
      ns.delRoute(lease.subnet, { dev: this.name });
    } catch (e) {
      if (!(e instanceof NetsimError)) throw e;
    }
    ns.addRoute({ dst: lease.subnet, via: gw, dev: this.name, onlink: true });
  }

  removePeer(lease: Lease): void {
    if (lease.attrs.backendType !== 'vxlan') return;
    const ns = this.ctx.ns;
    const mac = this.vtepMac(lease);
    ns.deleteNeighbour(this.name, lease.subnet.network);
    if (mac !== undefined) this.device.fdbDel(mac);
    try {
      ns.delRoute(lease.subnet, { dev: this.name });
    } catch (e) {
      if (!(e instanceof NetsimError)) throw e;
    }
  }

  stop(): void {}
}

export function createVxlanBackend(ctx: BackendContext): VxlanBackend {
  return new VxlanBackend(ctx);
}

/**
 * flannel's host-gw backend (pkg/backend/hostgw): no encapsulation, one route per
 * remote host-gw lease, `<remote subnet> via <remote PublicIP> dev <external iface>`
 * (so the hosts need L2 adjacency); removed with the lease. Pod MTU = external MTU.
 */
import { NetsimError } from '../../netsim/errors.ts';
import type { Backend, BackendContext } from './backend.ts';
import type { Lease } from './lease.ts';

export class HostGwBackend implements Backend {
  readonly type = 'host-gw' as const;
  readonly mtu: number;
  readonly backendData = null;

  constructor(private readonly ctx: BackendContext) {
    this.mtu = ctx.ns.device(ctx.extIface).mtu;
  }

  configure(_lease: Lease): void {}

  addPeer(lease: Lease): void {
    if (lease.attrs.backendType !== 'host-gw') return;
    const ns = this.ctx.ns;
    try {
      ns.delRoute(lease.subnet, { dev: this.ctx.extIface });
    } catch (e) {
      if (!(e instanceof NetsimError)) throw e;
    }
    ns.addRoute({ dst: lease.subnet, via: lease.attrs.publicIp, dev: this.ctx.extIface });
  }

  removePeer(lease: Lease): void {
    if (lease.attrs.backendType !== 'host-gw') return;
    try {
      this.ctx.ns.delRoute(lease.subnet, { dev: this.ctx.extIface, via: lease.attrs.publicIp });
    } catch (e) {
      if (!(e instanceof NetsimError)) throw e;
    }
  }

  stop(): void {}
}

export function createHostGwBackend(ctx: BackendContext): HostGwBackend {
  return new HostGwBackend(ctx);
}

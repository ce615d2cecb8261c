/**
 * flanneld on one node: acquire a lease, write subnet.env, bring up the backend, and
 * follow the other nodes' leases; renew an hour before expiry, on the virtual clock.
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import type { SubnetManager } from './subnet-manager.ts';
import type { Lease } from './lease.ts';
import { LEASE_RENEW_MARGIN } from './lease.ts';
import { UdpBackend, UDP_ENCAP_OVERHEAD } from './udp-backend.ts';
import { FlannelConfigError } from './network-config.ts';

export interface SubnetEnv {
  readonly FLANNEL_NETWORK: string;
  readonly FLANNEL_SUBNET: string;
  readonly FLANNEL_MTU: number;
  readonly FLANNEL_IPMASQ: boolean;
}

/** flanneld --ip-masq rules (pkg/ip/iptables.go MasqRules) and its FORWARD accept rules. */
export function flannelRules(cluster: string, podCidr: string, ipMasq: boolean): string {
  const c = '-m comment --comment "flanneld masq"';
  const masq = ipMasq ? [
    ':FLANNEL-POSTRTG - [0:0]',
    `-A POSTROUTING ${c} -j FLANNEL-POSTRTG`,
    `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${podCidr} -d ${cluster} ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${cluster} -d ${podCidr} ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG ! -s ${cluster} -d ${podCidr} ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${cluster} ! -d 224.0.0.0/4 ${c} -j MASQUERADE --random-fully`,
    `-A FLANNEL-POSTRTG ! -s ${cluster} -d ${cluster} ${c} -j MASQUERADE --random-fully`,
  ] : [];
  const f = '-m comment --comment "flanneld forward"';
  return ['*nat', ...masq, 'COMMIT', '*filter', ':FLANNEL-FWD - [0:0]', `-A FORWARD ${f} -j FLANNEL-FWD`, `-A FLANNEL-FWD -s ${cluster} ${f} -j ACCEPT`, `-A FLANNEL-FWD -d ${cluster} ${f} -j ACCEPT`, 'COMMIT', ''].join('\n');
}

/** `/run/flannel/subnet.env` as flanneld writes it. */
export function renderSubnetEnv(e: SubnetEnv): string {
  return `FLANNEL_NETWORK=${e.FLANNEL_NETWORK}\nFLANNEL_SUBNET=${e.FLANNEL_SUBNET}\nFLANNEL_MTU=${e.FLANNEL_MTU}\nFLANNEL_IPMASQ=${e.FLANNEL_IPMASQ}\n`;
}

export class Flanneld {
  lease: Lease | undefined;
  subnetEnv: SubnetEnv | undefined;
  backend: UdpBackend | undefined;
  private stopWatch: (() => void) | undefined;

  constructor(private readonly ns: NetNamespace, private readonly sm: SubnetManager, private readonly opts: { publicIp: Ipv4Addr; iface?: string; ipMasq?: boolean; iptables?: { restore(text: string, opts: { noflush: boolean }): void } }) {}

  start(): void {
    const cfg = this.sm.config;
    if (cfg.backend.type !== 'udp') throw new FlannelConfigError(`backend ${cfg.backend.type} is not available yet in this emulator (udp is)`);
    const iface = this.opts.iface ?? 'eth0';
    const lease = this.sm.acquireLease({ publicIp: this.opts.publicIp, backendType: 'udp', backendData: null });
    this.lease = lease;
    const mtu = this.ns.device(iface).mtu - UDP_ENCAP_OVERHEAD;
    this.subnetEnv = {
      FLANNEL_NETWORK: cfg.network.toString(),
      FLANNEL_SUBNET: `${formatIpv4(lease.subnet.network + 1)}/${lease.subnet.prefixLen}`,
      FLANNEL_MTU: mtu,
      FLANNEL_IPMASQ: this.opts.ipMasq ?? true,
    };
    this.opts.iptables?.restore(flannelRules(cfg.network.toString(), lease.subnet.toString(), this.opts.ipMasq ?? true), { noflush: true });
    const backend = new UdpBackend(this.ns, cfg, lease, iface);
    backend.start();
    this.backend = backend;
    this.stopWatch = this.sm.watchLeases(() => backend.setPeers(this.sm.leases()));
    this.scheduleRenew();
  }

  private scheduleRenew(): void {
    const l = this.lease;
    if (l === undefined) return;
    this.ns.sim.clock.at(l.expiration - LEASE_RENEW_MARGIN, () => {
      if (this.stopWatch === undefined) return;
      this.sm.renewLease(l);
      this.scheduleRenew();
    });
  }

  /** flanneld stops: no more renewals (the lease expires after its TTL). */
  stop(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.backend?.tun.detachReader();
  }
}

/**
 * flanneld on one node (flannel main.go): read the network config, create the
 * backend, acquire a lease (PublicIP = the external interface's address), let the
 * backend configure the node, install the iptables rules (`--ip-masq` and the
 * forward rules), write `/run/flannel/subnet.env`, then follow every other node's
 * lease through the SubnetManager's watch. The lease is renewed an hour before it
 * runs out (a failed renewal is retried a minute later), on the virtual clock.
 * `stop()` ends renewals and the proxy; the lease then expires after its TTL and
 * the peers remove their routes to this node.
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { Rng } from '../../netsim/time/rng.ts';
import type { Duration, TimerId } from '../../netsim/time/scheduler.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import type { HostFs, IptablesRestorer } from '../host.ts';
import type { SubnetManager } from './subnet-manager.ts';
import type { Lease, LeaseEvent } from './lease.ts';
import { LEASE_RENEW_MARGIN, LEASE_RETRY, subnetKey } from './lease.ts';
import { FlannelConfigError } from './network-config.ts';
import type { BackendType } from './network-config.ts';
import type { Backend, BackendFactory } from './backend.ts';
import { BACKENDS } from './backends.ts';
import { SUBNET_FILE, renderSubnetEnv } from './subnet-env.ts';
import type { SubnetEnv } from './subnet-env.ts';
import { ensureChainRules, forwardRules, masqRules, renderChainRules } from './masq.ts';

export { renderSubnetEnv };
export type { SubnetEnv };

export interface FlanneldOptions {
  /** `--public-ip`; default: the external interface's primary address. */
  readonly publicIp?: Ipv4Addr;
  /** `--iface`, default eth0. */
  readonly iface?: string;
  /** `--ip-masq` (kube-flannel passes it; flanneld's own default is false). */
  readonly ipMasq?: boolean;
  /** `--iptables-forward-rules`, default true. */
  readonly forwardRules?: boolean;
  /** Where the rules go; without it none are installed. */
  readonly iptables?: IptablesRestorer;
  /** Where subnet.env is written (at `subnetFile`); without it only `subnetEnv` holds it. */
  readonly fs?: HostFs;
  readonly subnetFile?: string;
  /** `--subnet-lease-renew-margin`. */
  readonly renewMargin?: Duration;
  readonly backends?: Readonly<Record<BackendType, BackendFactory>>;
  /** Randomness for this node (VTEP MAC); default a fork of the run's Rng. */
  readonly rng?: Rng;
}

/** The rules flanneld installs, as one iptables-restore text (for goldens and views). */
export function flannelRules(clusterCidr: string, podCidr: string, ipMasq: boolean, forward = true): string {
  return (ipMasq ? renderChainRules(masqRules(clusterCidr, podCidr)) : '') + (forward ? renderChainRules(forwardRules(clusterCidr)) : '');
}

export class Flanneld {
  lease: Lease | undefined;
  subnetEnv: SubnetEnv | undefined;
  backend: Backend | undefined;
  /** The iptables-restore texts flanneld applied. */
  readonly appliedRules: string[] = [];
  private stopWatch: (() => void) | undefined;
  private renewTimer: TimerId | undefined;

  constructor(readonly ns: NetNamespace, readonly sm: SubnetManager, private readonly opts: FlanneldOptions = {}) {}

  get running(): boolean {
    return this.stopWatch !== undefined;
  }

  start(): void {
    if (this.running) throw new Error('flanneld already running');
    const ns = this.ns;
    const cfg = this.sm.config;
    const iface = this.opts.iface ?? 'eth0';
    const publicIp = this.opts.publicIp ?? ns.primaryAddress(iface);
    if (publicIp === undefined) throw new FlannelConfigError(`failed to find IPv4 address for interface ${iface}`);
    const factory = (this.opts.backends ?? BACKENDS)[cfg.backend.type];
    const backend = factory({ ns, config: cfg, extIface: iface, publicIp, rng: this.opts.rng ?? ns.sim.rng.fork(`flanneld:${ns.node}`) });
    const lease = this.sm.acquireLease({ publicIp, backendType: cfg.backend.type, backendData: backend.backendData });
    this.lease = lease;
    this.backend = backend;
    backend.configure(lease);
    const ipMasq = this.opts.ipMasq ?? false;
    const ipt = this.opts.iptables;
    if (ipt !== undefined) {
      if (ipMasq) this.appliedRules.push(ensureChainRules(ipt, masqRules(cfg.network.toString(), lease.subnet.toString())));
      if (this.opts.forwardRules ?? true) this.appliedRules.push(ensureChainRules(ipt, forwardRules(cfg.network.toString())));
    }
    this.subnetEnv = {
      FLANNEL_NETWORK: cfg.network.toString(),
      FLANNEL_SUBNET: `${formatIpv4(lease.subnet.network + 1)}/${lease.subnet.prefixLen}`,
      FLANNEL_MTU: backend.mtu,
      FLANNEL_IPMASQ: ipMasq,
    };
    this.opts.fs?.write(this.opts.subnetFile ?? SUBNET_FILE, renderSubnetEnv(this.subnetEnv));
    this.stopWatch = this.sm.watchLeases((ev) => this.onLease(ev));
    for (const l of this.sm.leases()) this.onLease({ type: 'added', lease: l });
    this.scheduleRenew(lease.expiration - (this.opts.renewMargin ?? LEASE_RENEW_MARGIN));
  }

  private onLease(ev: LeaseEvent): void {
    const own = this.lease;
    const backend = this.backend;
    if (own === undefined || backend === undefined) return;
    if (subnetKey(ev.lease.subnet) === subnetKey(own.subnet)) return;
    if (ev.type === 'added') backend.addPeer(ev.lease);
    else backend.removePeer(ev.lease);
  }

  private scheduleRenew(at: number): void {
    this.renewTimer = this.ns.sim.clock.at(at, () => {
      const l = this.lease;
      if (!this.running || l === undefined) return;
      try {
        this.sm.renewLease(l);
        this.scheduleRenew(l.expiration - (this.opts.renewMargin ?? LEASE_RENEW_MARGIN));
      } catch {
        this.scheduleRenew(this.ns.sim.clock.now() + LEASE_RETRY);
      }
    });
  }

  /** flanneld exits: no more renewals or watch; the proxy stops (the lease expires after its TTL). */
  stop(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
    if (this.renewTimer !== undefined) this.ns.sim.clock.cancel(this.renewTimer);
    this.renewTimer = undefined;
    this.backend?.stop();
  }
}

/**
 * Wiring a node for CNI: the host context the plugins run against, and pod sandboxes
 * (a network namespace registered under /var/run/netns/<name>, as `ip netns add`
 * does for a container runtime).
 */
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import type { Rng } from '../netsim/time/rng.ts';
import type { CniHost, HostFs, IptablesRestorer } from './host.ts';
import { MemoryFs, NetnsRegistry } from './host.ts';
import type { CniPlugin } from './plugin.ts';
import { PLUGINS } from './plugins/index.ts';

export interface CniHostOptions {
  readonly iptables: IptablesRestorer;
  readonly fs?: HostFs;
  readonly netns?: NetnsRegistry;
  /** Defaults to a fork of the run's Rng named after the node. */
  readonly rng?: Rng;
  readonly plugins?: Readonly<Record<string, CniPlugin>>;
}

export function createCniHost(ns: NetNamespace, opts: CniHostOptions): CniHost {
  return {
    ns,
    iptables: opts.iptables,
    fs: opts.fs ?? new MemoryFs(),
    netns: opts.netns ?? new NetnsRegistry(),
    rng: opts.rng ?? ns.sim.rng.fork(`cni:${ns.node}`),
    plugins: opts.plugins ?? PLUGINS,
  };
}

/** `ip netns add NAME` for a pod sandbox: a fresh namespace on the node, registered by path. */
export function createSandbox(host: CniHost, name: string): { path: string; ns: NetNamespace } {
  const path = NetnsRegistry.pathFor(name);
  const ns = new NetNamespace(host.ns.sim, name, host.ns.node);
  host.netns.add(path, ns);
  return { path, ns };
}

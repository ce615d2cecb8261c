/**
 * A two-node flannel cluster for tests and demos, wired the way a composition root
 * would: an underlay segment with node01 (192.168.50.11) and node02 (192.168.50.12),
 * one in-memory SubnetManager, flanneld on each node with `--ip-masq`, netfilter
 * installed, and pods run either by the Docker-style runtime (docker0 from
 * subnet.env) or by CNI (kube-flannel's `cbr0` conflist: flannel → bridge cni0 +
 * host-local, then portmap).
 */
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { attachNic } from '../../netsim/topology.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import { formatIpv4, Ipv4Interface } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import type { IptablesRestorer } from '../host.ts';
import { MemoryFs, RecordingRestorer } from '../host.ts';
import type { CniHost } from '../host.ts';
import { createCniHost, createSandbox } from '../node-host.ts';
import { CniRuntime } from '../runtime.ts';
import { parseConfList } from '../spec/config.ts';
import type { CniResult, NetConfList } from '../spec/types.ts';
import { MemorySubnetManager } from '../flannel/subnet-manager.ts';
import type { BackendType } from '../flannel/network-config.ts';
import { Flanneld } from '../flannel/flanneld.ts';
import { SUBNET_FILE } from '../flannel/subnet-env.ts';
import { DockerRuntime } from '../docker/docker-runtime.ts';

import { KUBE_FLANNEL_CONFLIST } from '../plugins/flannel.ts';
export { KUBE_FLANNEL_CONFLIST };

export function flannelNetworkConfig(backend: BackendType): string {
  const b = backend === 'udp' ? '{"Type":"udp","Port":8285}' : backend === 'vxlan' ? '{"Type":"vxlan"}' : '{"Type":"host-gw"}';
  return `{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":${b}}`;
}

export interface TestPod {
  readonly name: string;
  readonly ns: NetNamespace;
  readonly ip: Ipv4Addr;
  readonly result?: CniResult;
}

export interface TestNode {
  readonly name: string;
  readonly ns: NetNamespace;
  readonly publicIp: string;
  readonly iptables: IptablesRestorer;
  readonly netfilter: NetfilterStack | undefined;
  readonly fs: MemoryFs;
  readonly flanneld: Flanneld;
  readonly docker: DockerRuntime | undefined;
  readonly cni: { readonly host: CniHost; readonly runtime: CniRuntime; readonly list: NetConfList } | undefined;
  runPod(name: string, opts?: { portMappings?: unknown[] }): TestPod;
}

export interface TwoNodeCluster {
  readonly sim: Sim;
  readonly underlay: Segment;
  readonly subnets: MemorySubnetManager;
  readonly nodes: readonly [TestNode, TestNode];
  /** A third node's flanneld that can be started later (node03, 192.168.50.13), without pods. */
  addNode(name: string, publicIp: string): TestNode;
}

export function buildTwoNodeCluster(opts: { backend: BackendType; runtime: 'docker' | 'cni'; netfilter?: boolean; seed?: number }): TwoNodeCluster {
  const sim = new Sim({ seed: opts.seed ?? 1 });
  const underlay = new Segment(sim, 'underlay');
  const subnets = new MemorySubnetManager(flannelNetworkConfig(opts.backend), sim.clock, sim.rng.fork('flannel-subnets'));
  const mk = (name: string, publicIp: string, withRuntime: boolean): TestNode => {
    const ns = new NetNamespace(sim, name, name);
    attachNic(ns, underlay, 'eth0', `${publicIp}/24`);
    const netfilter = opts.netfilter === false ? undefined : NetfilterStack.install(ns);
    const iptables: IptablesRestorer = netfilter?.iptables ?? new RecordingRestorer();
    const fs = new MemoryFs();
    const flanneld = new Flanneld(ns, subnets, { ipMasq: true, iptables, fs });
    flanneld.start();
    const subnetEnv = fs.read(SUBNET_FILE) as string;
    let docker: DockerRuntime | undefined;
    let cni: TestNode['cni'];
    if (withRuntime && opts.runtime === 'docker') docker = DockerRuntime.fromSubnetEnv(ns, subnetEnv, { iptables });
    if (withRuntime && opts.runtime === 'cni') {
      const host = createCniHost(ns, { iptables, fs });
      cni = { host, runtime: new CniRuntime(host), list: parseConfList(KUBE_FLANNEL_CONFLIST) };
    }
    let seq = 0;
    const runPod = (pod: string, o: { portMappings?: unknown[] } = {}): TestPod => {
      if (docker !== undefined) {
        const p = docker.runPod(pod);
        return { name: pod, ns: p.ns, ip: p.ip };
      }
      if (cni === undefined) throw new Error(`${name} runs no pods`);
      const sb = createSandbox(cni.host, pod.replace(/\//g, '_'));
      const containerId = `${name}-pod${++seq}`.replace(/[^a-zA-Z0-9]/g, '') + '0123456789abcdef';
      const result = cni.runtime.addNetworkList(cni.list, {
        containerId, netns: sb.path, ifName: 'eth0',
        args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', pod]],
        ...(o.portMappings !== undefined ? { capabilityArgs: { portMappings: o.portMappings } } : {}),
      });
      const addr = result.ips?.[0]?.address;
      if (addr === undefined) throw new Error('CNI ADD gave no address');
      return { name: pod, ns: sb.ns, ip: Ipv4Interface.parse(addr).addr, result };
    };
    return { name, ns, publicIp, iptables, netfilter, fs, flanneld, docker, cni, runPod };
  };
  const n1 = mk('node01', '192.168.50.11', true);
  const n2 = mk('node02', '192.168.50.12', true);
  return { sim, underlay, subnets, nodes: [n1, n2], addNode: (name, ip) => mk(name, ip, false) };
}

export { formatIpv4 };

/**
 * How a node gives a pod its network: the Docker-style runtime (a pause container's
 * namespace on docker0, configured from flannel's subnet.env, as in the seed
 * articles) or CNI (kube-flannel's `cbr0` conflist: flannel → bridge cni0 +
 * host-local, then portmap), called through the CNI protocol exactly as kubelet's
 * runtime would. Host-network pods use the node's own namespace. With the Docker
 * runtime a pod may be kept as a record until its node is touched (lazy-pods.ts).
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import type { Ipv4Addr } from '../netsim/wire/addr.ts';
import { Ipv4Interface } from '../netsim/wire/addr.ts';
import { DockerRuntime } from '../cni/docker/docker-runtime.ts';
import type { PodSandbox } from '../cni/docker/docker-runtime.ts';
import type { LazyPods } from './lazy-pods.ts';
import type { IptablesRestorer, HostFs } from '../cni/host.ts';
import { createCniHost, createSandbox } from '../cni/node-host.ts';
import { CniRuntime } from '../cni/runtime.ts';
import { parseConfList } from '../cni/spec/config.ts';
import { KUBE_FLANNEL_CONFLIST } from '../cni/plugins/flannel.ts';
import type { NetConfList } from '../cni/spec/types.ts';
import type { Rng } from '../netsim/time/rng.ts';


export interface PodNetworkRequest {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly hostNetwork: boolean;
  /** hostPort mappings (portmap plugin's capability argument). */
  readonly portMappings: ReadonlyArray<{ hostPort: number; containerPort: number; protocol: string }>;
}

export interface PodNetwork {
  /** The pod's namespace (the node's for a host-network pod). Reading it builds a pod kept as a record, with its node's others. */
  readonly ns: NetNamespace;
  readonly ip: Ipv4Addr;
  /** The host-side interface (veth) name, if any. */
  readonly hostVeth: string | undefined;
  readonly hostNetwork: boolean;
  /** Run `f` with the namespace once it is built: now, or when the node's kept pods are built (in pod order). */
  whenBuilt(f: (ns: NetNamespace) => void): void;
  teardown(): void;
}

export interface PodNetworkProvider {
  readonly kind: 'docker' | 'cni';
  setup(req: PodNetworkRequest): PodNetwork;
}

function hostNetworkPod(node: NetNamespace): PodNetwork {
  return { ns: node, ip: node.primaryAddress('eth0') ?? 0, hostVeth: undefined, hostNetwork: true, whenBuilt: (f) => f(node), teardown: () => {} };
}

/** Why a pod with hostPorts does not start on the docker runtime (its sandbox fails with this message). */
export const DOCKER_HOSTPORT_UNSUPPORTED = (ports: readonly string[]): string =>
  `hostPort ${ports.join(', ')}: the docker runtime's hostPort publishing (the DOCKER chain and docker-proxy) is not modelled; use runtime: cni, whose portmap plugin is`;

/** With `lazy`, pods may be kept as records until the node is touched (lazy-pods.ts). */
export function dockerPodNetwork(node: NetNamespace, subnetEnv: string, iptables: IptablesRestorer, lazy?: LazyPods): PodNetworkProvider & { readonly runtime: DockerRuntime } {
  const runtime = DockerRuntime.fromSubnetEnv(node, subnetEnv, { iptables });
  return {
    kind: 'docker',
    runtime,
    setup: (req) => {
      if (req.hostNetwork) return hostNetworkPod(node);
      // dockershim published hostPorts itself (its DOCKER chain and docker-proxy), which is not
      // modelled: refuse rather than start a pod whose hostPort silently does nothing.
      if (req.portMappings.length > 0) throw new Error(DOCKER_HOSTPORT_UNSUPPORTED(req.portMappings.map((m) => `${m.hostPort}/${m.protocol}`)));
      const key = `${req.namespace}/${req.name}`;
      // kubelet turns hairpin mode on for the pod's bridge port (--hairpin-mode=hairpin-veth).
      if (lazy === undefined) {
        const p = runtime.runPod(key, { hairpin: true });
        return { ns: p.ns, ip: p.ip, hostVeth: p.hostVeth.name, hostNetwork: false, whenBuilt: (f) => f(p.ns), teardown: () => runtime.removePod(key) };
      }
      const r = runtime.reservePod(key, { hairpin: true });
      let sandbox: PodSandbox | undefined;
      lazy.defer(() => { sandbox = runtime.buildPod(r); });
      return {
        get ns(): NetNamespace {
          lazy.materialise();
          if (sandbox === undefined) throw new Error(`docker: pod ${key} was removed before it was built`);
          return sandbox.ns;
        },
        ip: r.ip, hostVeth: r.hostVethName, hostNetwork: false,
        whenBuilt: (f) => lazy.defer(() => { if (sandbox !== undefined) f(sandbox.ns); }),
        teardown: () => runtime.removePod(key),
      };
    },
  };
}

export function cniPodNetwork(node: NetNamespace, iptables: IptablesRestorer, fs: HostFs, rng: Rng): PodNetworkProvider & { readonly runtime: CniRuntime; readonly list: NetConfList } {
  // kubeadm's node prerequisite (br_netfilter, net.bridge.bridge-nf-call-iptables=1): without it a
  // pod's reply to a same-node pod that reached it through a ClusterIP is bridged past conntrack, is
  // never un-DNATed, and the client drops it. Docker turns it on itself (see DockerRuntime).
  node.sysctl.bridgeNfCallIptables = true;
  const host = createCniHost(node, { iptables, fs, rng });
  const runtime = new CniRuntime(host);
  const list = parseConfList(KUBE_FLANNEL_CONFLIST);
  return {
    kind: 'cni',
    runtime,
    list,
    setup: (req) => {
      if (req.hostNetwork) return hostNetworkPod(node);
      // containerd names the sandbox namespace cni-<uuid>; the container id is the sandbox id.
      const sb = createSandbox(host, `cni-${req.uid}`);
      const containerId = req.uid.replace(/-/g, '').padEnd(64, '0').slice(0, 64);
      const rt = {
        containerId, netns: sb.path, ifName: 'eth0',
        args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', req.namespace], ['K8S_POD_NAME', req.name], ['K8S_POD_INFRA_CONTAINER_ID', containerId], ['K8S_POD_UID', req.uid]] as Array<[string, string]>,
        ...(req.portMappings.length > 0 ? { capabilityArgs: { portMappings: req.portMappings.map((m) => ({ ...m, protocol: m.protocol.toLowerCase() })) } } : {}),
      };
      const result = runtime.addNetworkList(list, rt);
      const addr = result.ips?.[0]?.address;
      if (addr === undefined) throw new Error(`CNI ADD for ${req.namespace}/${req.name} returned no address`);
      const hostVeth = result.interfaces?.find((i) => i.sandbox === undefined && i.name !== 'cni0')?.name;
      return { ns: sb.ns, ip: Ipv4Interface.parse(addr).addr, hostVeth, hostNetwork: false, whenBuilt: (f) => f(sb.ns), teardown: () => runtime.delNetworkList(list, rt) };
    },
  };
}

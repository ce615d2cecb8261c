/**
 * The Docker-style runtime of the seed documents (Docker's default bridge network
 * as kubelet's dockershim used it):
 * - `dockerd --bip=10.244.1.1/24 --mtu=1472` (mk-docker-opts.sh from flannel's
 *   subnet.env; 172.17.0.1/16 and 1500 without flannel): docker0 with the bip,
 *   ip_forward and bridge-nf-call-iptables on, and Docker's own nat/filter rules
 *   (REFERENCE.md "docker0 and the Linux bridge"; with `--ip-masq=false`, what
 *   mk-docker-opts.sh passes when flanneld masquerades, no MASQUERADE rule);
 * - a pod = a pause container owning a network namespace: `eth0` with MAC
 *   02:42:<ip bytes> and the next free address of the bridge subnet, its peer
 *   `veth` + 7 random hex characters on docker0, default route via the bridge
 *   address; every other container of the pod joins that namespace
 *   (`--net=container:<pause>`), so they share addresses and ports.
 *
 * Not modelled: user-defined networks, published ports (-p) and the userland proxy,
 * ICC=false, IPv6.
 */
import type { NamespaceStreams, NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { NetNamespace as Netns } from '../../netsim/stack/net-namespace.ts';
import { Bridge } from '../../netsim/link/bridge.ts';
import { createVethPair } from '../../netsim/link/veth.ts';
import type { VethDevice } from '../../netsim/link/veth.ts';
import { macFromIp } from '../../netsim/topology.ts';
import type { PodAttachment } from '../../netsim/topology.ts';
import type { Rng } from '../../netsim/time/rng.ts';
import { Ipv4Interface, formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr, MacAddr } from '../../netsim/wire/addr.ts';
import type { IptablesRestorer } from '../host.ts';
import { NetnsRegistry } from '../host.ts';
import { deleteVethPair, randomHex, randomMac } from '../plugins/link-util.ts';
import { parseSubnetEnv } from '../flannel/subnet-env.ts';

export const DOCKER_DEFAULT_BIP = '172.17.0.1/16';
export const DOCKER_BRIDGE = 'docker0';

/** Docker's rules for the default bridge, as iptables-save prints them. */
export function dockerRules(subnet: string, ipMasq = true): string {
  return [
    '*nat', ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
    ...(ipMasq ? [`-A POSTROUTING -s ${subnet} ! -o docker0 -j MASQUERADE`] : []),
    '-A DOCKER -i docker0 -j RETURN',
    'COMMIT',
    '*filter', ':FORWARD DROP [0:0]', ':DOCKER - [0:0]', ':DOCKER-ISOLATION-STAGE-1 - [0:0]', ':DOCKER-ISOLATION-STAGE-2 - [0:0]', ':DOCKER-USER - [0:0]',
    '-A FORWARD -j DOCKER-USER',
    '-A FORWARD -j DOCKER-ISOLATION-STAGE-1',
    '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A FORWARD -o docker0 -j DOCKER',
    '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT',
    '-A FORWARD -i docker0 -o docker0 -j ACCEPT',
    '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2',
    '-A DOCKER-ISOLATION-STAGE-1 -j RETURN',
    '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP',
    '-A DOCKER-ISOLATION-STAGE-2 -j RETURN',
    '-A DOCKER-USER -j RETURN',
    'COMMIT', '',
  ].join('\n');
}

export interface DockerOptions {
  /** `--bip`, default 172.17.0.1/16. */
  readonly bip?: string;
  /** `--mtu`, default 1500. */
  readonly mtu?: number;
  /** `--ip-masq`, default true. */
  readonly ipMasq?: boolean;
  /** Where Docker's rules go. */
  readonly iptables?: IptablesRestorer;
  /** Older form: a netfilter stack whose `iptables` takes the rules. */
  readonly netfilter?: { readonly iptables: IptablesRestorer };
  /** Registry the pause namespaces are published in (/var/run/netns/<pod>). */
  readonly netns?: NetnsRegistry;
  readonly rng?: Rng;
}

/** A running pod: its pause container's namespace and the containers sharing it. */
export interface PodSandbox extends PodAttachment {
  readonly name: string;
  /** The pause container's id (the sandbox id). */
  readonly pauseId: string;
  /** CNI_NETNS-style path of the shared namespace. */
  readonly netnsPath: string;
  /** Container name → the namespace it runs in (always the pause container's). */
  readonly containers: Map<string, NetNamespace>;
}

/** What {@link DockerRuntime.reservePod} took for a pod that is not built yet. */
export interface PodReservation {
  readonly name: string;
  readonly ip: Ipv4Addr;
  readonly pauseId: string;
  readonly streams: NamespaceStreams;
  readonly hostVethName: string;
  readonly hostVethMac: MacAddr;
  readonly hostIfindex: number;
  readonly hairpin: boolean;
}

export class DockerRuntime {
  readonly bridge: Bridge;
  readonly gateway: Ipv4Interface;
  readonly mtu: number;
  readonly pods = new Map<string, PodSandbox>();
  readonly netns: NetnsRegistry;
  /** The iptables-restore text Docker applied at start. */
  readonly rules: string;
  private readonly rng: Rng;
  private readonly used = new Set<Ipv4Addr>();
  /** Pods reserved and not built yet ({@link reservePod}). */
  private readonly reserved = new Map<string, PodReservation>();

  constructor(readonly node: NetNamespace, opts: DockerOptions = {}) {
    this.gateway = Ipv4Interface.parse(opts.bip ?? DOCKER_DEFAULT_BIP);
    this.mtu = opts.mtu ?? 1500;
    this.rng = opts.rng ?? node.sim.rng.fork(`docker:${node.node}`);
    this.netns = opts.netns ?? new NetnsRegistry();
    const br = new Bridge(node.sim, DOCKER_BRIDGE, randomMac(this.rng), this.mtu);
    node.addDevice(br);
    node.addAddress(DOCKER_BRIDGE, this.gateway, { broadcast: true });
    node.setUp(DOCKER_BRIDGE, true);
    this.bridge = br;
    node.sysctl.ipForward = true;
    node.sysctl.bridgeNfCallIptables = true;
    this.rules = dockerRules(this.gateway.cidr.toString(), opts.ipMasq ?? true);
    (opts.iptables ?? opts.netfilter?.iptables)?.restore(this.rules, { noflush: true });
  }

  /** dockerd started the way mk-docker-opts.sh starts it from flannel's subnet.env. */
  static fromSubnetEnv(node: NetNamespace, subnetEnv: string, opts: Omit<DockerOptions, 'bip' | 'mtu' | 'ipMasq'> = {}): DockerRuntime {
    const env = parseSubnetEnv(subnetEnv);
    return new DockerRuntime(node, { ...opts, bip: env.FLANNEL_SUBNET, mtu: env.FLANNEL_MTU, ipMasq: !env.FLANNEL_IPMASQ });
  }

  /** Docker's IPAM: the lowest free address of the bridge subnet. */
  private allocate(): Ipv4Addr {
    const net = this.gateway.cidr;
    for (let a = net.network + 1; a < net.broadcast; a++) {
      if (a !== this.gateway.addr && !this.used.has(a)) return a;
    }
    throw new Error(`docker: no available IPv4 addresses on network ${net.toString()}`);
  }

  /** `docker run` of a pod's pause container: the pod's network namespace on docker0. */
  runPod(name: string, opts: { ip?: string; hairpin?: boolean } = {}): PodSandbox {
    return this.buildPod(this.reservePod(name, opts)) as PodSandbox;
  }

  /**
   * The first half of {@link runPod}: everything it takes from a counter or a random stream,
   * in the order it takes it (the address, the pause id, the namespace's streams, the veth's
   * name and MAC, its ifindex on the node), without building anything. {@link buildPod}
   * later builds exactly the pod `runPod` would have built now.
   */
  reservePod(name: string, opts: { ip?: string; hairpin?: boolean } = {}): PodReservation {
    if (this.pods.has(name) || this.reserved.has(name)) throw new Error(`docker: pod ${name} already running`);
    const ip = opts.ip !== undefined ? Ipv4Interface.parse(`${opts.ip}/32`).addr : this.allocate();
    if (this.used.has(ip)) throw new Error(`docker: address ${formatIpv4(ip)} already in use`);
    this.used.add(ip);
    const pauseId = randomHex(this.rng, 64);
    const streams = Netns.forkStreams(this.node.sim, name);
    const hostVethName = this.vethName();
    const hostVethMac = randomMac(this.rng);
    const r: PodReservation = { name, ip, pauseId, streams, hostVethName, hostVethMac, hostIfindex: this.node.reserveIfindex(), hairpin: opts.hairpin ?? false };
    this.reserved.set(name, r);
    return r;
  }

  /** The second half of {@link runPod}; undefined when the pod was removed since its reservation. */
  buildPod(r: PodReservation): PodSandbox | undefined {
    if (this.reserved.get(r.name) !== r) return undefined;
    this.reserved.delete(r.name);
    const node = this.node;
    const ns = new Netns(node.sim, r.name, node.node, {}, r.streams);
    const [eth, hostVeth] = createVethPair(node.sim, { name: 'eth0', mac: macFromIp(r.ip), mtu: this.mtu }, { name: r.hostVethName, mac: r.hostVethMac, mtu: this.mtu });
    node.addDevice(hostVeth, r.hostIfindex);
    this.bridge.addPort(hostVeth, { hairpin: r.hairpin });
    node.setUp(r.hostVethName, true);
    ns.addDevice(eth);
    ns.addAddress('eth0', new Ipv4Interface(r.ip, this.gateway.prefixLen), { broadcast: true });
    ns.setUp('eth0', true);
    ns.addRoute({ dst: 'default', via: this.gateway.addr, dev: 'eth0' });
    const netnsPath = NetnsRegistry.pathFor(r.pauseId.slice(0, 12));
    this.netns.add(netnsPath, ns);
    const pod: PodSandbox = { name: r.name, pauseId: r.pauseId, netnsPath, ns, eth: eth as VethDevice, hostVeth, ip: r.ip, containers: new Map([['POD', ns]]) };
    this.pods.set(r.name, pod);
    return pod;
  }

  /** `docker run --net=container:<pause>`: another container of the pod, in the pause container's namespace. */
  addContainer(pod: string, container: string): NetNamespace {
    const p = this.pods.get(pod);
    if (p === undefined) throw new Error(`docker: no pod ${pod}`);
    p.containers.set(container, p.ns);
    return p.ns;
  }

  /** The pod's containers stop and the pause container with them: the veth pair goes, the address is free again. */
  removePod(name: string): void {
    const r = this.reserved.get(name);
    if (r !== undefined) {
      // Never built: only what the reservation took is given back (the address; ifindexes are not reused).
      this.reserved.delete(name);
      this.used.delete(r.ip);
      return;
    }
    const p = this.pods.get(name);
    if (p === undefined) return;
    deleteVethPair(p.ns, this.node, 'eth0');
    this.netns.delete(p.netnsPath);
    this.used.delete(p.ip);
    this.pods.delete(name);
  }

  /** libnetwork: `veth` + 7 random hex characters. */
  private vethName(): string {
    for (;;) {
      const n = `veth${randomHex(this.rng, 7)}`;
      if (!this.node.devices.has(n) && ![...this.reserved.values()].some((r) => r.hostVethName === n)) return n;
    }
  }
}

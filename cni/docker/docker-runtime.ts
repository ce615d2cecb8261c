/**
 * The Docker-style runtime of the seed documents: docker0 configured from flannel's
 * subnet.env (`--bip=10.244.1.1/24 --mtu=1472`; 172.17.0.1/16 without flannel),
 * Docker's own nat and filter rules, and one network namespace per pod owned by its
 * pause container, joined to docker0 by a veth pair (`vethXXXXXXX` on the host,
 * `eth0` with MAC 02:42:<ip> inside).
 *
 * Not modelled: user-defined networks, port publishing (-p), the userland proxy,
 * IPv6, Docker's DOCKER-USER / DOCKER-ISOLATION chains.
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod } from '../../netsim/topology.ts';
import type { PodAttachment } from '../../netsim/topology.ts';
import type { Bridge } from '../../netsim/link/bridge.ts';
import { Ipv4Interface, formatIpv4 } from '../../netsim/wire/addr.ts';
import type { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';

export const DOCKER_DEFAULT_BIP = '172.17.0.1/16';

/** Docker's rules for the default bridge (REFERENCE.md "docker0 and the Linux bridge"). */
export function dockerRules(subnet: string, ipMasq = true): string {
  return [
    '*nat', ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
    ...(ipMasq ? [`-A POSTROUTING -s ${subnet} ! -o docker0 -j MASQUERADE`] : []),
    '-A DOCKER -i docker0 -j RETURN',
    'COMMIT',
    '*filter', ':FORWARD DROP [0:0]', ':DOCKER - [0:0]',
    '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A FORWARD -o docker0 -j DOCKER',
    '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT',
    '-A FORWARD -i docker0 -o docker0 -j ACCEPT',
    'COMMIT', '',
  ].join('\n');
}

export class DockerRuntime {
  readonly bridge: Bridge;
  private readonly gateway: Ipv4Interface;
  private nextHost = 2;
  readonly pods = new Map<string, PodAttachment>();

  /**
   * `dockerd --bip=BIP --mtu=MTU [--ip-masq=false]`: docker0, ip_forward, bridge-nf, and
   * Docker's iptables rules. With flannel's --ip-masq, mk-docker-opts.sh passes
   * --ip-masq=false so that flanneld alone decides masquerading.
   */
  constructor(private readonly node: NetNamespace, opts: { bip?: string; mtu?: number; ipMasq?: boolean; netfilter?: NetfilterStack } = {}) {
    this.gateway = Ipv4Interface.parse(opts.bip ?? DOCKER_DEFAULT_BIP);
    this.bridge = createBridge(node, 'docker0', this.gateway.toString(), opts.mtu ?? 1500);
    node.sysctl.ipForward = true;
    node.sysctl.bridgeNfCallIptables = true;
    opts.netfilter?.iptables.restore(dockerRules(this.gateway.cidr.toString(), opts.ipMasq ?? true), { noflush: true });
  }

  /** Start a pod: its pause container's namespace on docker0, the next free address. */
  runPod(name: string, opts: { ip?: string; hairpin?: boolean } = {}): PodAttachment {
    const ip = opts.ip ?? formatIpv4(this.gateway.cidr.host(this.nextHost++));
    const hex = Array.from({ length: 7 }, () => this.node.sim.rng.int(16).toString(16)).join('');
    const pod = attachPod(this.node, this.bridge, {
      name, cidr: `${ip}/${this.gateway.prefixLen}`, gateway: formatIpv4(this.gateway.addr), hostVeth: `veth${hex}`,
      mtu: this.bridge.mtu, node: this.node.node, hairpin: opts.hairpin ?? false,
    });
    this.pods.set(name, pod);
    return pod;
  }
}

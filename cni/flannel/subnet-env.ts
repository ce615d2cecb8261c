/**
 * `/run/flannel/subnet.env` (flannel WriteSubnetFile; read by the flannel CNI plugin
 * and by mk-docker-opts.sh for Docker's `--bip`/`--mtu`):
 * ```
 * FLANNEL_NETWORK=10.244.0.0/16
 * FLANNEL_SUBNET=10.244.1.1/24
 * FLANNEL_MTU=1472
 * FLANNEL_IPMASQ=true
 * ```
 * FLANNEL_SUBNET is the lease's first address (.1) with the subnet's prefix.
 */
import { Ipv4Cidr, Ipv4Interface } from '../../netsim/wire/addr.ts';

export const SUBNET_FILE = '/run/flannel/subnet.env';

export interface SubnetEnv {
  readonly network: Ipv4Cidr;
  /** The bridge address for the node's pods (lease network + 1 / lease prefix). */
  readonly subnet: Ipv4Interface;
  readonly mtu: number;
  readonly ipMasq: boolean;
}

export function renderSubnetEnv(e: SubnetEnv): string {
  return `FLANNEL_NETWORK=${e.network.toString()}\nFLANNEL_SUBNET=${e.subnet.toString()}\nFLANNEL_MTU=${e.mtu}\nFLANNEL_IPMASQ=${e.ipMasq}\n`;
}

export function parseSubnetEnv(text: string): SubnetEnv {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const i = l.indexOf('=');
    if (i <= 0) throw new Error(`bad line "${l}"`);
    vars.set(l.slice(0, i), l.slice(i + 1));
  }
  const need = (k: string): string => {
    const v = vars.get(k);
    if (v === undefined) throw new Error(`${k} is missing`);
    return v;
  };
  const mtu = Number(need('FLANNEL_MTU'));
  if (!Number.isInteger(mtu) || mtu < 68) throw new Error(`bad FLANNEL_MTU ${need('FLANNEL_MTU')}`);
  const ipMasq = need('FLANNEL_IPMASQ');
  if (ipMasq !== 'true' && ipMasq !== 'false') throw new Error(`bad FLANNEL_IPMASQ ${ipMasq}`);
  return { network: Ipv4Cidr.parse(need('FLANNEL_NETWORK')), subnet: Ipv4Interface.parse(need('FLANNEL_SUBNET')), mtu, ipMasq: ipMasq === 'true' };
}

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
  readonly FLANNEL_NETWORK: string;
  readonly FLANNEL_SUBNET: string;
  readonly FLANNEL_MTU: number;
  readonly FLANNEL_IPMASQ: boolean;
}

export function renderSubnetEnv(e: SubnetEnv): string {
  return `FLANNEL_NETWORK=${e.FLANNEL_NETWORK}\nFLANNEL_SUBNET=${e.FLANNEL_SUBNET}\nFLANNEL_MTU=${e.FLANNEL_MTU}\nFLANNEL_IPMASQ=${e.FLANNEL_IPMASQ}\n`;
}

/** Parse subnet.env; throws Error with the problem (the flannel plugin wraps it). */
export function parseSubnetEnv(text: string): SubnetEnv & { readonly network: Ipv4Cidr; readonly subnet: Ipv4Interface } {
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
  const network = Ipv4Cidr.parse(need('FLANNEL_NETWORK'));
  const subnet = Ipv4Interface.parse(need('FLANNEL_SUBNET'));
  return { FLANNEL_NETWORK: network.toString(), FLANNEL_SUBNET: subnet.toString(), FLANNEL_MTU: mtu, FLANNEL_IPMASQ: ipMasq === 'true', network, subnet };
}

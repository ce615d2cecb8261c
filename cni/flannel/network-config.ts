/**
 * flannel's network configuration (etcd key `/coreos.com/network/config`), e.g.
 * `{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"udp","Port":8285}}`.
 * SubnetLen defaults to 24; SubnetMin is the network's second subnet and SubnetMax
 * its last (flannel pkg/subnet/config.go).
 */
import { Ipv4Cidr } from '../../netsim/wire/addr.ts';

export type BackendType = 'udp' | 'vxlan' | 'host-gw';

export interface FlannelNetworkConfig {
  readonly network: Ipv4Cidr;
  readonly subnetLen: number;
  readonly subnetMin: Ipv4Cidr;
  readonly subnetMax: Ipv4Cidr;
  readonly backend: { readonly type: BackendType; readonly port: number; readonly vni: number };
}

export class FlannelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlannelConfigError';
  }
}

/** flannel pkg/backend/udp: defaultPort. */
export const UDP_DEFAULT_PORT = 8285;
/** The Linux VXLAN default port flannel uses. */
export const VXLAN_DEFAULT_PORT = 8472;

export function parseNetworkConfig(json: string): FlannelNetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new FlannelConfigError(`invalid network config JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new FlannelConfigError('network config must be a JSON object');
  const r = raw as Record<string, unknown>;
  if (typeof r['Network'] !== 'string') throw new FlannelConfigError('please define a correct Network parameter in the flannel config');
  let network: Ipv4Cidr;
  try {
    network = Ipv4Cidr.parse(r['Network']);
  } catch (e) {
    throw new FlannelConfigError(`bad Network: ${(e as Error).message}`);
  }
  const subnetLen = r['SubnetLen'] === undefined ? 24 : Number(r['SubnetLen']);
  if (!Number.isInteger(subnetLen) || subnetLen <= network.prefixLen || subnetLen > 30) {
    throw new FlannelConfigError(`SubnetLen ${String(r['SubnetLen'])} must be between ${network.prefixLen + 1} and 30`);
  }
  const size = 2 ** (32 - subnetLen);
  const subnetMin = r['SubnetMin'] !== undefined ? Ipv4Cidr.of(Ipv4Cidr.parse(`${String(r['SubnetMin'])}/${subnetLen}`).network, subnetLen) : Ipv4Cidr.of(network.network + size, subnetLen);
  const subnetMax = r['SubnetMax'] !== undefined ? Ipv4Cidr.of(Ipv4Cidr.parse(`${String(r['SubnetMax'])}/${subnetLen}`).network, subnetLen) : Ipv4Cidr.of(((network.network | ~network.mask) >>> 0) - size + 1, subnetLen);
  const b = (r['Backend'] ?? { Type: 'udp' }) as Record<string, unknown>;
  const type = String(b['Type'] ?? 'udp');
  if (type !== 'udp' && type !== 'vxlan' && type !== 'host-gw') throw new FlannelConfigError(`unknown backend type "${type}"`);
  const port = b['Port'] !== undefined ? Number(b['Port']) : type === 'vxlan' ? VXLAN_DEFAULT_PORT : UDP_DEFAULT_PORT;
  return { network, subnetLen, subnetMin, subnetMax, backend: { type, port, vni: b['VNI'] !== undefined ? Number(b['VNI']) : 1 } };
}

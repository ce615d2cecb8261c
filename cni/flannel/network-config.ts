/**
 * flannel's network configuration (key `/coreos.com/network/config`), e.g.
 * `{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"udp","Port":8285}}`
 * (flannel pkg/subnet/config.go):
 * - SubnetLen defaults to 24 when the network is /22 or larger, else prefix + 2; at most /30;
 * - SubnetMin defaults to the network's second subnet, SubnetMax to its last;
 * - Backend.Type defaults to "udp" (what the code does; the docs say vxlan);
 *   udp Port 8285, vxlan Port 8472 (the Linux kernel default flannel uses) and VNI 1.
 */
import { Ipv4Cidr, Ipv4Interface } from '../../netsim/wire/addr.ts';
import { CodedError } from '../../netsim/errors.ts';

export type BackendType = 'udp' | 'vxlan' | 'host-gw';
export const BACKEND_TYPES: readonly BackendType[] = ['udp', 'vxlan', 'host-gw'];

export interface FlannelNetworkConfig {
  readonly network: Ipv4Cidr;
  readonly subnetLen: number;
  readonly subnetMin: Ipv4Cidr;
  readonly subnetMax: Ipv4Cidr;
  readonly backend: { readonly type: BackendType; readonly port: number; readonly vni: number };
}

export class FlannelConfigError extends CodedError {
  readonly code = 'NETSIM_ERR_FLANNEL_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'FlannelConfigError';
  }
}

/** flannel pkg/backend/udp defaultPort. */
export const UDP_DEFAULT_PORT = 8285;
/** Linux's VXLAN port (flannel leaves Port 0 to the kernel default). */
export const VXLAN_DEFAULT_PORT = 8472;
/** flannel pkg/backend/vxlan defaultVNI. */
export const VXLAN_DEFAULT_VNI = 1;
export const NETWORK_CONFIG_KEY = '/coreos.com/network/config';

function subnetAt(s: unknown, len: number, what: string): Ipv4Cidr {
  if (typeof s !== 'string') throw new FlannelConfigError(`${what} must be an IP address string`);
  try {
    return Ipv4Cidr.of(Ipv4Interface.parse(`${s}/${len}`).addr, len);
  } catch {
    throw new FlannelConfigError(`invalid ${what} "${s}"`);
  }
}

function port(v: unknown, dflt: number): number {
  if (v === undefined || v === 0) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw new FlannelConfigError(`invalid Backend Port ${JSON.stringify(v)}`);
  return v;
}

export function parseNetworkConfig(json: string): FlannelNetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new FlannelConfigError(`invalid network config JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FlannelConfigError('network config must be a JSON object');
  const r = raw as Record<string, unknown>;
  if (typeof r['Network'] !== 'string') throw new FlannelConfigError('please define a correct Network parameter in the flannel config');
  let network: Ipv4Cidr;
  try {
    network = Ipv4Cidr.parse(r['Network']);
  } catch {
    throw new FlannelConfigError(`invalid Network "${r['Network']}"`);
  }
  const sl = r['SubnetLen'];
  const subnetLen = sl === undefined || sl === 0 ? (network.prefixLen <= 22 ? 24 : network.prefixLen + 2) : sl;
  if (typeof subnetLen !== 'number' || !Number.isInteger(subnetLen) || subnetLen > 30) throw new FlannelConfigError('SubnetLen must be less than /31');
  if (subnetLen < network.prefixLen) throw new FlannelConfigError('Network must be able to accommodate at least four subnets');
  const size = 2 ** (32 - subnetLen);
  const subnetMin = r['SubnetMin'] !== undefined ? subnetAt(r['SubnetMin'], subnetLen, 'SubnetMin') : Ipv4Cidr.of(network.network + size, subnetLen);
  const subnetMax = r['SubnetMax'] !== undefined ? subnetAt(r['SubnetMax'], subnetLen, 'SubnetMax') : Ipv4Cidr.of(network.broadcast - size + 1, subnetLen);
  if (!network.contains(subnetMin.network)) throw new FlannelConfigError('SubnetMin is not in the range of the Network');
  if (!network.contains(subnetMax.network)) throw new FlannelConfigError('SubnetMax is not in the range of the Network');
  if (subnetMin.network > subnetMax.network) throw new FlannelConfigError('SubnetMin is larger than SubnetMax');
  const b = r['Backend'] ?? { Type: 'udp' };
  if (typeof b !== 'object' || b === null) throw new FlannelConfigError('Backend must be an object');
  const bb = b as Record<string, unknown>;
  const type = bb['Type'] ?? 'udp';
  if (typeof type !== 'string' || !(BACKEND_TYPES as readonly string[]).includes(type)) throw new FlannelConfigError(`unknown backend type: ${String(type)}`);
  const t = type as BackendType;
  const vni = bb['VNI'] ?? VXLAN_DEFAULT_VNI;
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new FlannelConfigError(`invalid VNI ${JSON.stringify(vni)}`);
  return { network, subnetLen, subnetMin, subnetMax, backend: { type: t, port: port(bb['Port'], t === 'vxlan' ? VXLAN_DEFAULT_PORT : UDP_DEFAULT_PORT), vni } };
}

/** The config back as JSON (flannel's field names; defaults written out). */
export function renderNetworkConfig(c: FlannelNetworkConfig): string {
  const backend: Record<string, unknown> = { Type: c.backend.type, Port: c.backend.port };
  if (c.backend.type === 'vxlan') backend['VNI'] = c.backend.vni;
  return JSON.stringify({
    Network: c.network.toString(), SubnetLen: c.subnetLen,
    SubnetMin: c.subnetMin.toString().split('/')[0], SubnetMax: c.subnetMax.toString().split('/')[0], Backend: backend,
  });
}

/**
 * Subnet leases as flannel stores them: key `/coreos.com/network/subnets/10.244.1.0-24`,
 * value `{"PublicIP":"192.168.50.11","BackendType":"udp","BackendData":null}`, a 24 h
 * TTL renewed one hour before expiry (flannel pkg/subnet).
 */
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr , Ipv4Cidr} from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { BackendType } from './network-config.ts';

export const LEASE_TTL = 24 * 3600 * SECOND;
export const LEASE_RENEW_MARGIN = 3600 * SECOND;
export const SUBNETS_PREFIX = '/coreos.com/network/subnets/';

export interface Lease {
  readonly subnet: Ipv4Cidr;
  readonly publicIp: Ipv4Addr;
  readonly backendType: BackendType;
  readonly backendData: unknown;
  /** Virtual time of expiry. */
  expiration: number;
}

export function leaseKey(subnet: Ipv4Cidr): string {
  return `${SUBNETS_PREFIX}${formatIpv4(subnet.network)}-${subnet.prefixLen}`;
}

export function leaseValue(l: Lease): string {
  return JSON.stringify({ PublicIP: formatIpv4(l.publicIp), BackendType: l.backendType, BackendData: l.backendData ?? null });
}

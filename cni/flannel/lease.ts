/**
 * Subnet leases as flannel keeps them in etcd (pkg/subnet): key
 * `/coreos.com/network/subnets/10.244.1.0-24`, value (LeaseAttrs)
 * `{"PublicIP":"192.168.50.11","BackendType":"udp","BackendData":null}` — vxlan's
 * BackendData is `{"VNI":1,"VtepMAC":"…"}` — with a 24 h TTL renewed an hour before
 * it runs out (`--subnet-lease-renew-margin` 60 min).
 */
import { Ipv4Cidr, formatIpv4, tryParseIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { Instant } from '../../netsim/time/scheduler.ts';
import { BACKEND_TYPES } from './network-config.ts';
import type { BackendType } from './network-config.ts';

/** pkg/subnet subnetTTL. */
export const LEASE_TTL = 24 * 3600 * SECOND;
/** --subnet-lease-renew-margin default (minutes). */
export const LEASE_RENEW_MARGIN = 60 * 60 * SECOND;
/** A failed renewal is retried after a minute. */
export const LEASE_RETRY = 60 * SECOND;
export const DEFAULT_PREFIX = '/coreos.com/network';

export interface LeaseAttrs {
  readonly publicIp: Ipv4Addr;
  readonly backendType: BackendType;
  readonly backendData: unknown;
}

export interface Lease {
  readonly subnet: Ipv4Cidr;
  readonly attrs: LeaseAttrs;
  /** Virtual time the lease runs out (known for leases this node holds). */
  expiration: Instant;
}

export type LeaseEvent = { readonly type: 'added' | 'removed'; readonly lease: Lease };

/** MakeSubnetKey: `10.244.1.0-24`. */
export function subnetKey(subnet: Ipv4Cidr): string {
  return `${formatIpv4(subnet.network)}-${subnet.prefixLen}`;
}

export function leaseKey(subnet: Ipv4Cidr, prefix = DEFAULT_PREFIX): string {
  return `${prefix}/subnets/${subnetKey(subnet)}`;
}

/** The subnet a lease key names, or undefined for another key. */
export function parseLeaseKey(key: string, prefix = DEFAULT_PREFIX): Ipv4Cidr | undefined {
  const p = `${prefix}/subnets/`;
  if (!key.startsWith(p)) return undefined;
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d+)$/.exec(key.slice(p.length));
  if (m === null) return undefined;
  const ip = tryParseIpv4(m[1] as string);
  const len = Number(m[2]);
  if (ip === undefined || len > 32) return undefined;
  return Ipv4Cidr.of(ip, len);
}

export function leaseValue(a: LeaseAttrs): string {
  return JSON.stringify({ PublicIP: formatIpv4(a.publicIp), BackendType: a.backendType, BackendData: a.backendData ?? null });
}

export function parseLeaseValue(value: string): LeaseAttrs | undefined {
  let j: unknown;
  try {
    j = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof j !== 'object' || j === null) return undefined;
  const o = j as Record<string, unknown>;
  const ip = typeof o['PublicIP'] === 'string' ? tryParseIpv4(o['PublicIP']) : undefined;
  const bt = o['BackendType'];
  if (ip === undefined || typeof bt !== 'string' || !(BACKEND_TYPES as readonly string[]).includes(bt)) return undefined;
  return { publicIp: ip, backendType: bt as BackendType, backendData: o['BackendData'] ?? null };
}

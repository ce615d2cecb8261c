/** Address parsing for plugin configs: wrong addresses are invalid network config (code 7). */
import { CniError } from '../errors.ts';
import { Ipv4Interface, tryParseIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';

export function cidrOrFail(s: unknown, what: string): Ipv4Interface {
  if (typeof s !== 'string') throw new CniError(7, 'invalid network config', `${what} must be a CIDR string`);
  try {
    return Ipv4Interface.parse(s);
  } catch {
    throw new CniError(7, 'invalid network config', `invalid CIDR address: ${s}`);
  }
}

export function ipOrFail(s: unknown, what: string): Ipv4Addr {
  const a = typeof s === 'string' ? tryParseIpv4(s) : undefined;
  if (a === undefined) throw new CniError(7, 'invalid network config', `${what}: invalid IP address ${JSON.stringify(s)}`);
  return a;
}

/**
 * kube-proxy nftables mode's object names (upstream pkg/proxy/nftables
 * servicePortChainNameBase, servicePortEndpointChainNameBase, hashAndTruncate):
 * the readable "namespace/service/protocol/port" (plus "__ip/port" for an endpoint)
 * prefixed with the first 8 characters of the RFC 4648 base32 of its sha256, and cut
 * to 240 characters with "..." (nftables names hold 256; the longest prefix is 16).
 * Vectors: "ns1/svc1/tcp/p80" → "ULMVA6XW-ns1/svc1/tcp/p80".
 * Memoised: a 10 000-service sync would otherwise hash every name every time.
 */
import { createHash } from 'node:crypto';
import { base32 } from '../../netsim/tools/base32.ts';
import type { ServicePortInfo } from '../service-port.ts';

/** knftables.NameLengthMax (256) minus upstream chainNamePrefixLengthMax (16). */
const BASE_LENGTH_MAX = 256 - 16;

const memo = new Map<string, string>();
const MEMO_MAX = 1 << 20;

/** upstream hashAndTruncate. */
function hashAndTruncate(name: string): string {
  let out = memo.get(name);
  if (out !== undefined) return out;
  out = `${base32(createHash('sha256').update(name).digest()).slice(0, 8)}-${name}`;
  if (out.length > BASE_LENGTH_MAX) out = `${out.slice(0, BASE_LENGTH_MAX - 3)}...`;
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(name, out);
  return out;
}

/** "HASH-namespace/name/protocol/port". */
export function servicePortChainNameBase(sp: Pick<ServicePortInfo, 'service' | 'portName' | 'protocol'>): string {
  return hashAndTruncate(`${sp.service}/${sp.protocol}/${sp.portName}`);
}

/** "HASH-namespace/name/protocol/port__ip/port" (an IPv6 address's colons become dots). */
export function endpointChainNameBase(sp: Pick<ServicePortInfo, 'service' | 'portName' | 'protocol'>, endpoint: string): string {
  const colon = endpoint.lastIndexOf(':');
  let ip = endpoint.slice(0, colon);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  return hashAndTruncate(`${sp.service}/${sp.protocol}/${sp.portName}__${ip.replaceAll(':', '.')}/${endpoint.slice(colon + 1)}`);
}

/** upstream chain name prefixes. */
export const CHAIN_PREFIX = { cluster: 'service-', local: 'local-', external: 'external-', endpoint: 'endpoint-', firewall: 'firewall-' } as const;
/** upstream servicePortEndpointAffinityNamePrefix. */
export const AFFINITY_PREFIX = 'affinity-';

/** upstream isServiceChainName: only per-service chains have a "/" in their names. */
export function isServiceChainName(chain: string): boolean {
  return chain.includes('/');
}

/** upstream isAffinitySetName. */
export function isAffinitySetName(set: string): boolean {
  return set.startsWith(AFFINITY_PREFIX);
}

/**
 * kube-proxy's chain names: a prefix and the first 16 characters of the RFC 4648
 * base32 (upper case) of sha256(servicePortName + protocol [+ endpoint]). Test
 * vector (REFERENCE.md): "ns1/svc1:p80tcp" → KUBE-SVC-XPGD46QRK7WJZT7O.
 * Names are memoised: a sync of 10 000 services × 10 endpoints would otherwise
 * hash 140 000 strings every time.
 */
import { sha256Base32x16 } from '../../netsim/tools/base32.ts';

const memo = new Map<string, string>();
/** Memo bound: cleared wholesale beyond this many names (churn in a long run). */
const MEMO_MAX = 1 << 20;

function hash16(s: string): string {
  let h = memo.get(s);
  if (h === undefined) {
    h = sha256Base32x16(s);
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(s, h);
  }
  return h;
}

export type ServiceChainPrefix = 'KUBE-SVC' | 'KUBE-SVL' | 'KUBE-EXT' | 'KUBE-FW';

/** `KUBE-SVC-`, `KUBE-SVL-`, `KUBE-EXT-`, `KUBE-FW-` chain for a service port. */
export function servicePortChain(prefix: ServiceChainPrefix, servicePortName: string, protocol: string): string {
  return `${prefix}-${hash16(servicePortName + protocol.toLowerCase())}`;
}

/** `KUBE-SEP-` chain for one endpoint ("ip:port") of a service port. */
export function endpointChain(servicePortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(servicePortName + protocol.toLowerCase() + endpoint)}`;
}

/** upstream isServiceChainName: the per-service chains kube-proxy owns (and deletes when stale). */
export function isServiceChainName(chain: string): boolean {
  return /^KUBE-(SVC|SVL|EXT|FW|SEP)-/.test(chain);
}

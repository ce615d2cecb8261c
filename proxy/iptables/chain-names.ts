/**
 * kube-proxy's chain names: a prefix and the first 16 characters of the RFC 4648
 * base32 (upper case) of sha256(servicePortName + protocol [+ endpoint]). Test
 * vector (REFERENCE.md): "ns1/svc1:p80tcp" → KUBE-SVC-XPGD46QRK7WJZT7O.
 */
import { createHash } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function hash16(s: string): string {
  return base32(createHash('sha256').update(s).digest()).slice(0, 16);
}

/** `KUBE-SVC-`, `KUBE-SVL-`, `KUBE-EXT-`, `KUBE-FW-` chain for a service port. */
export function servicePortChain(prefix: 'KUBE-SVC' | 'KUBE-SVL' | 'KUBE-EXT' | 'KUBE-FW', servicePortName: string, protocol: string): string {
  return `${prefix}-${hash16(servicePortName + protocol.toLowerCase())}`;
}

/** `KUBE-SEP-` chain for one endpoint ("ip:port") of a service port. */
export function endpointChain(servicePortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(servicePortName + protocol.toLowerCase() + endpoint)}`;
}

/**
 * RFC 4648 base32 (upper case, `=` padding), as Go's `encoding/base32.StdEncoding`
 * writes it: the alphabet of the hashed chain and ipset names that kube-proxy
 * (`KUBE-SVC-…`) and kube-router (`KUBE-POD-FW-…`, `KUBE-SRC-…`) derive from sha256.
 * Test vector (REFERENCE.md): "ns1/svc1:p80tcp" → KUBE-SVC-XPGD46QRK7WJZT7O.
 */
import { createHash } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** The first 16 characters of base32(sha256(s)): the hash part of both daemons' names. */
export function sha256Base32x16(s: string): string {
  return base32(createHash('sha256').update(s).digest()).slice(0, 16);
}

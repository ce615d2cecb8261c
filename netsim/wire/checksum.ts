/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * Conventions used throughout this folder:
 * - `onesComplementSum` returns the folded 16-bit one's-complement sum, NOT
 *   complemented; sums of several ranges chain through `initial`.
 * - `internetChecksum` returns the value to store in a checksum field: the
 *   complement of the folded sum.
 * - A header verifies when the sum over it (checksum field included) is 0xffff.
 *
 * UDP rule (RFC 768): a checksum field of 0 means "no checksum". A computed
 * UDP checksum of 0 is therefore transmitted as 0xffff (the other one's-
 * complement zero), and a datagram received with checksum 0 must keep 0 when
 * NAT rewrites addresses or ports (Linux `inet_proto_csum_replace*` callers
 * skip it). TCP has no such escape: its checksum is mandatory, and 0 is an
 * ordinary value.
 */

/** Folds a non-negative sum of 16-bit words (any magnitude < 2^53) into 16 bits with end-around carry. */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * One's-complement sum of `b[start..end)` as big-endian 16-bit words, plus
 * `initial` (a previous folded sum, e.g. the pseudo-header). An odd trailing
 * byte is padded with a zero byte on the right. Result is folded to 16 bits.
 */
export function onesComplementSum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  // Accumulate in 32-bit-safe chunks: 0x8000 words of ≤ 0xffff stay below 2^31,
  // so the folds below keep the accumulator an exact small integer.
  // Two words per iteration while four bytes remain (the sum is order-independent).
  const last4 = end - 3;
  let words = 0;
  for (; i < last4; i += 4) {
    sum += (((b[i] as number) << 8) | (b[i + 1] as number)) + (((b[i + 2] as number) << 8) | (b[i + 3] as number));
    if ((words += 2) === 0x8000) {
      sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
      words = 0;
    }
  }
  if (i < end - 1) {
    sum += ((b[i] as number) << 8) | (b[i + 1] as number);
    i += 2;
  }
  if (i < end) sum += (b[i] as number) << 8;
  return foldSum(sum);
}

/**
 * {@link internetChecksum} over the IPv4 header of `hl` bytes at `o` (the kernel's
 * ip_fast_csum): a 20-byte header, which almost every packet has and every hop
 * verifies, summed as ten words without the loop; other lengths by internetChecksum.
 * The same value as `internetChecksum(b, o, o + hl)`.
 */
export function ipv4HeaderChecksum(b: Uint8Array, o: number, hl: number): number {
  if (hl !== 20) return internetChecksum(b, o, o + hl);
  const s =
    ((((b[o] as number) << 8) | (b[o + 1] as number)) + (((b[o + 2] as number) << 8) | (b[o + 3] as number)))
    + ((((b[o + 4] as number) << 8) | (b[o + 5] as number)) + (((b[o + 6] as number) << 8) | (b[o + 7] as number)))
    + ((((b[o + 8] as number) << 8) | (b[o + 9] as number)) + (((b[o + 10] as number) << 8) | (b[o + 11] as number)))
    + ((((b[o + 12] as number) << 8) | (b[o + 13] as number)) + (((b[o + 14] as number) << 8) | (b[o + 15] as number)))
    + ((((b[o + 16] as number) << 8) | (b[o + 17] as number)) + (((b[o + 18] as number) << 8) | (b[o + 19] as number)));
  // Ten words stay below 2^20: two folds leave at most 0xffff, as foldSum's loop does.
  let f = (s & 0xffff) + (s >>> 16);
  f = (f & 0xffff) + (f >>> 16);
  return ~f & 0xffff;
}

/** The value to store in a checksum field: `~sum` over `b[start..end)` (plus `initial`). */
export function internetChecksum(b: Uint8Array, start: number, end: number, initial = 0): number {
  return ~onesComplementSum(b, start, end, initial) & 0xffff;
}

/**
 * Folded sum of the TCP/UDP IPv4 pseudo-header (RFC 793 §3.1, RFC 768):
 * source, destination, zero byte + protocol, and the L4 length (header + data).
 * Pass it as `initial` to `onesComplementSum`/`internetChecksum`.
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, l4Length: number): number {
  return foldSum(
    (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + (l4Length & 0xffff),
  );
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), the checksum after one 16-bit word
 * of the covered data changes from `oldWord` to `newWord`. Equals a full
 * recompute whenever the covered data is not all zeros.
 */
export function checksumUpdate16(oldChecksum: number, oldWord: number, newWord: number): number {
  let s = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** `checksumUpdate16` for a 32-bit field (an IPv4 address, a TCP sequence number): two words at once. */
export function checksumUpdate32(oldChecksum: number, oldU32: number, newU32: number): number {
  let s =
    (~oldChecksum & 0xffff) +
    (~(oldU32 >>> 16) & 0xffff) +
    (~oldU32 & 0xffff) +
    (newU32 >>> 16) +
    (newU32 & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

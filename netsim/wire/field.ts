/**
 * Big-endian (network order) field access on `Uint8Array`.
 *
 * Every header accessor in this folder goes through these helpers: they read
 * bytes directly (no `DataView`, no allocation) and return unsigned values.
 * They do not bounds-check: a view's `checked()` constructor validates the
 * lengths once, and reading past the end of a typed array yields `undefined`,
 * which the bitwise operators coerce to 0.
 */

/** 2^32, the weight of the upper 16 bits of a 48-bit value. */
const TWO_POW_32 = 0x1_0000_0000;

/** Reads an unsigned 16-bit big-endian integer at `off`. */
export function readU16(b: Uint8Array, off: number): number {
  return ((b[off] as number) << 8) | (b[off + 1] as number);
}

/** Writes the low 16 bits of `v` big-endian at `off`. */
export function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

/** Reads an unsigned 32-bit big-endian integer at `off` (always ≥ 0). */
export function readU32(b: Uint8Array, off: number): number {
  return (
    (((b[off] as number) << 24) |
      ((b[off + 1] as number) << 16) |
      ((b[off + 2] as number) << 8) |
      (b[off + 3] as number)) >>>
    0
  );
}

/** Writes the low 32 bits of `v` big-endian at `off` (signed or unsigned input). */
export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/** Reads an unsigned 48-bit big-endian integer (a MAC address) at `off`. */
export function readU48(b: Uint8Array, off: number): number {
  return readU16(b, off) * TWO_POW_32 + readU32(b, off + 2);
}

/**
 * Writes a 48-bit unsigned integer (0 ≤ v < 2^48) big-endian at `off`. The low word is
 * `v - hi·2^32` rather than `v % 2^32`: the same integer, without the floating-point
 * remainder (a C call per use; two per Ethernet header written).
 */
export function writeU48(b: Uint8Array, off: number, v: number): void {
  const hi = Math.floor(v / TWO_POW_32);
  writeU16(b, off, hi);
  writeU32(b, off + 2, v - hi * TWO_POW_32);
}

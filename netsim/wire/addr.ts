/**
 * IPv4 and MAC addresses as plain numbers, and IPv4 prefixes.
 *
 * Addresses are unbranded primitives so that they are cheap `Map` keys on the
 * hot path (FDB, neighbour table, conntrack, routes):
 * - `Ipv4Addr`: uint32 in host order, always normalised with `>>> 0`.
 * - `MacAddr`: 48-bit integer, exactly representable in a double.
 *
 * String parsing is strict (what `inet_pton` and `ip link` accept); CIDR
 * strings are additionally validated with the `ip-num` package, while all
 * prefix arithmetic (`contains`, `broadcast`, `host`) is pure integer math.
 */
import { Validator } from 'ip-num';
import { WireError } from './errors.ts';

/** IPv4 address: uint32, host order (10.0.0.1 = 0x0a000001). */
export type Ipv4Addr = number;
/** MAC address: 48-bit unsigned integer (02:42:ac:11:00:02 = 0x0242ac110002). */
export type MacAddr = number;

/** ff:ff:ff:ff:ff:ff */
export const MAC_BROADCAST: MacAddr = 0xffff_ffff_ffff;
/** 00:00:00:00:00:00 (ARP requests carry it as the unknown target). */
export const MAC_ZERO: MacAddr = 0;
/** 0.0.0.0 */
export const IPV4_UNSPECIFIED: Ipv4Addr = 0;
/** 255.255.255.255 */
export const IPV4_BROADCAST: Ipv4Addr = 0xffff_ffff;

const TWO_POW_40 = 0x100_0000_0000;

function badAddress(detail: string): WireError {
  return new WireError('WIRE_BAD_ADDRESS', 'addr', detail);
}

/**
 * Parses a strict dotted quad: four decimal octets 0-255, no leading zeros
 * (glibc `inet_pton` rejects `010.0.0.1` because `inet_aton` would read octal),
 * no whitespace, no shorthand forms.
 */
export function parseIpv4(s: string): Ipv4Addr {
  const v = tryParseIpv4(s);
  if (v === undefined) throw badAddress(`invalid IPv4 address ${JSON.stringify(s)}`);
  return v;
}

/** Alias of the address `parseIpv4`, unambiguous next to the packet parser. */
export const parseIpv4Addr = parseIpv4;

/** Like `parseIpv4` but returns `undefined` instead of throwing. */
export function tryParseIpv4(s: string): Ipv4Addr | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let acc = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      acc = acc * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return undefined;
      digits++;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return (acc * 256 + octet) >>> 0;
}

/** Dotted quad of a uint32 (any number is first normalised with `>>> 0`). */
export function formatIpv4(a: Ipv4Addr): string {
  const v = a >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

const MAC_RE = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i;

/** Parses `aa:bb:cc:dd:ee:ff` (hex digits in either case, exactly two per octet). */
export function parseMac(s: string): MacAddr {
  if (MAC_RE.exec(s) === null) throw badAddress(`invalid MAC address ${JSON.stringify(s)}`);
  return parseInt(s.replaceAll(':', ''), 16);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case `aa:bb:cc:dd:ee:ff`, as `ip link` prints it. */
export function formatMac(m: MacAddr): string {
  const hi = Math.floor(m / 0x1_0000_0000);
  const lo = m >>> 0;
  return (
    `${HEX[(hi >>> 8) & 0xff]}:${HEX[hi & 0xff]}:` +
    `${HEX[lo >>> 24]}:${HEX[(lo >>> 16) & 0xff]}:${HEX[(lo >>> 8) & 0xff]}:${HEX[lo & 0xff]}`
  );
}

export function isBroadcastMac(m: MacAddr): boolean {
  return m === MAC_BROADCAST;
}

/** True when the I/G bit (least significant bit of the first octet) is set; broadcast included. */
export function isMulticastMac(m: MacAddr): boolean {
  return (Math.floor(m / TWO_POW_40) & 1) === 1;
}

/** True for a unicast address with the U/L bit set (what Docker and veth pairs generate). */
export function isLocalAdminMac(m: MacAddr): boolean {
  return (Math.floor(m / TWO_POW_40) & 2) === 2;
}

/** Netmask of a prefix length: 0 → 0, 24 → 0xffffff00, 32 → 0xffffffff. */
export function maskOf(prefixLen: number): Ipv4Addr {
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) {
    throw badAddress(`invalid prefix length ${prefixLen}`);
  }
  // `x << 32` is `x << 0` in JS, so /0 needs its own branch.
  return prefixLen === 0 ? 0 : (0xffff_ffff << (32 - prefixLen)) >>> 0;
}

/** Prefix length of a contiguous netmask (255.255.255.0 → 24); throws on holes. */
export function prefixLenOf(mask: Ipv4Addr): number {
  const m = mask >>> 0;
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) throw badAddress(`non-contiguous netmask ${formatIpv4(m)}`);
  return Math.clz32(inv);
}

const PREFIX_RE = /^(?:[0-9]|[12][0-9]|3[0-2])$/;

function splitCidr(s: string): { addr: Ipv4Addr; prefixLen: number } {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? undefined : tryParseIpv4(s.slice(0, slash));
  const prefix = slash < 0 ? '' : s.slice(slash + 1);
  if (addr === undefined || !PREFIX_RE.test(prefix) || !Validator.isValidIPv4CidrNotation(s)[0]) {
    throw badAddress(`invalid IPv4 CIDR ${JSON.stringify(s)}`);
  }
  return { addr, prefixLen: Number(prefix) };
}

/**
 * An IPv4 prefix (`10.244.1.0/24`): the network address with host bits clear.
 * Like Go's `net.ParseCIDR`, parsing `10.244.1.5/24` yields `10.244.1.0/24`.
 */
export class Ipv4Cidr {
  readonly network: Ipv4Addr;
  readonly prefixLen: number;
  readonly mask: Ipv4Addr;

  private constructor(network: Ipv4Addr, prefixLen: number, mask: Ipv4Addr) {
    this.network = network;
    this.prefixLen = prefixLen;
    this.mask = mask;
  }

  /** Parses `a.b.c.d/n` (strict address, prefix 0-32 without leading zeros); host bits are cleared. */
  static parse(s: string): Ipv4Cidr {
    const { addr, prefixLen } = splitCidr(s);
    return Ipv4Cidr.of(addr, prefixLen);
  }

  /** The prefix of length `prefixLen` containing `addr` (network = addr & mask). */
  static of(addr: Ipv4Addr, prefixLen: number): Ipv4Cidr {
    const mask = maskOf(prefixLen);
    return new Ipv4Cidr((addr & mask) >>> 0, prefixLen, mask);
  }

  /** Hot path: one AND and one compare. */
  contains(a: Ipv4Addr): boolean {
    return ((a & this.mask) >>> 0) === this.network;
  }

  /** True when every address of `other` is inside this prefix. */
  containsCidr(other: Ipv4Cidr): boolean {
    return other.prefixLen >= this.prefixLen && this.contains(other.network);
  }

  /** True when the two prefixes share at least one address. */
  overlaps(other: Ipv4Cidr): boolean {
    return this.contains(other.network) || other.contains(this.network);
  }

  /** The last address of the prefix (all host bits set). */
  get broadcast(): Ipv4Addr {
    return (this.network | ~this.mask) >>> 0;
  }

  /** Number of addresses, 2^(32 - prefixLen) (4294967296 for /0). */
  get size(): number {
    return 2 ** (32 - this.prefixLen);
  }

  /** The n-th address of the prefix: host(0) is the network, host(1) the first host (`cidrhost`). */
  host(n: number): Ipv4Addr {
    if (!Number.isInteger(n) || n < 0 || n >= this.size) {
      throw badAddress(`host index ${n} outside ${this.toString()}`);
    }
    return (this.network + n) >>> 0;
  }

  /** The index-th sub-prefix of length newPrefixLen (10.244.0.0/16 .subnet(3, 24) = 10.244.3.0/24). */
  subnet(index: number, newPrefixLen: number): Ipv4Cidr {
    if (!Number.isInteger(newPrefixLen) || newPrefixLen < this.prefixLen || newPrefixLen > 32) {
      throw badAddress(`cannot split ${this.toString()} into /${newPrefixLen}`);
    }
    const count = 2 ** (newPrefixLen - this.prefixLen);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw badAddress(`subnet index ${index} outside ${this.toString()} split into /${newPrefixLen}`);
    }
    return Ipv4Cidr.of(this.network + index * 2 ** (32 - newPrefixLen), newPrefixLen);
  }

  equals(other: Ipv4Cidr): boolean {
    return this.network === other.network && this.prefixLen === other.prefixLen;
  }

  toString(): string {
    return `${formatIpv4(this.network)}/${this.prefixLen}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** An address with its prefix length, as `ip addr` shows it (`10.244.1.1/24`). */
export class Ipv4Interface {
  readonly addr: Ipv4Addr;
  readonly prefixLen: number;
  /** The connected prefix (10.244.1.0/24 for 10.244.1.1/24). */
  readonly cidr: Ipv4Cidr;

  constructor(addr: Ipv4Addr, prefixLen: number) {
    this.cidr = Ipv4Cidr.of(addr, prefixLen);
    this.addr = addr >>> 0;
    this.prefixLen = prefixLen;
  }

  /** Parses `10.244.1.1/24`; the host bits are kept. */
  static parse(s: string): Ipv4Interface {
    const { addr, prefixLen } = splitCidr(s);
    return new Ipv4Interface(addr, prefixLen);
  }

  get mask(): Ipv4Addr {
    return this.cidr.mask;
  }

  get broadcast(): Ipv4Addr {
    return this.cidr.broadcast;
  }

  equals(other: Ipv4Interface): boolean {
    return this.addr === other.addr && this.prefixLen === other.prefixLen;
  }

  toString(): string {
    return `${formatIpv4(this.addr)}/${this.prefixLen}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

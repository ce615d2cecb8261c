/**
 * nft datatypes (src/datatype.c, src/proto.c, src/ct.c, src/fib.c) as far as the
 * modelled selectors need them: how a word of input becomes a value, how a value
 * prints, the key width it takes in a set (a concatenation's components are padded
 * to 4-byte registers, which fixes how nft orders concatenated elements), and how
 * many elements of a named set nft prints per line (calculate_delim).
 */
import { formatIpv4, tryParseIpv4 } from '../../wire/addr.ts';
import type { Scalar } from './model.ts';

export interface DataType {
  readonly name: string;
  /** nft's description of the type (datatype->desc), used in its messages. */
  readonly description: string;
  /** Bytes of the value in a set key (before padding to a 4-byte register). */
  readonly size: number;
  /** Parses one value; undefined if the word is not one. */
  parse(text: string, quoted: boolean): Scalar | undefined;
  format(v: Scalar): string;
  /** Elements per line in a named set's `elements = { … }` (calculate_delim; 1 = one per line). */
  readonly perLine: number;
  /** Flag types (`ct state`, `ct status`): a comma list is a bitmask and a bare match tests any bit. */
  readonly flags?: ReadonlyArray<readonly [string, number]>;
  /** What nft says when a word is not a value of this type. */
  readonly badValue: (text: string) => string;
}

function numeric(text: string, max: number): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) return undefined;
  const v = Number(text);
  return Number.isSafeInteger(v) && v <= max ? v : undefined;
}

function named(table: ReadonlyArray<readonly [string, number]>, max: number) {
  return (text: string): number | undefined => table.find(([n]) => n === text)?.[1] ?? numeric(text, max);
}

function flagType(name: string, description: string, table: ReadonlyArray<readonly [string, number]>): DataType {
  return {
    name, description, size: 4, perLine: 2, flags: table,
    parse: (t) => table.find(([n]) => n === t)?.[1] ?? numeric(t, 0xffffffff),
    format: (v) => {
      const n = v as number;
      const names = table.filter(([, b]) => (n & b) !== 0).map(([s]) => s);
      return names.length > 0 ? names.join(',') : `0x${n.toString(16)}`;
    },
    badValue: () => `Could not parse ${name.replace('ct_', 'conntrack ')}`,
  };
}

/** /etc/protocols names nft prints (getprotobynumber). */
export const PROTOCOLS: ReadonlyArray<readonly [string, number]> = [
  ['icmp', 1], ['igmp', 2], ['tcp', 6], ['udp', 17], ['gre', 47], ['esp', 50], ['ah', 51], ['sctp', 132],
];

const SERVICES: ReadonlyArray<readonly [string, number]> = [
  ['ssh', 22], ['smtp', 25], ['domain', 53], ['http', 80], ['https', 443],
];

/** enum ip_conntrack_info as `ct state` names it, in bit order. */
export const CT_STATE_BITS: ReadonlyArray<readonly [string, number]> = [
  ['invalid', 1], ['established', 2], ['related', 4], ['new', 8], ['untracked', 64],
];

/** enum ip_conntrack_status as `ct status` names it. */
export const CT_STATUS_BITS: ReadonlyArray<readonly [string, number]> = [
  ['expected', 1], ['seen-reply', 2], ['assured', 4], ['confirmed', 8], ['snat', 16], ['dnat', 32], ['dying', 512],
];

/** RTN_* as `fib … type` names them. */
export const FIB_ADDRTYPES: ReadonlyArray<readonly [string, number]> = [
  ['unspec', 0], ['unicast', 1], ['local', 2], ['broadcast', 3], ['anycast', 4], ['multicast', 5], ['blackhole', 6], ['unreachable', 7], ['prohibit', 8],
];

export const DATATYPES: Record<string, DataType> = {
  ipv4_addr: {
    name: 'ipv4_addr', description: 'IPv4 address', size: 4, perLine: 2,
    parse: (t) => (/^\d+\.\d+\.\d+\.\d+$/.test(t) ? tryParseIpv4(t) : undefined),
    format: (v) => formatIpv4(v as number),
    badValue: () => 'Could not resolve hostname: Name or service not known',
  },
  inet_proto: {
    name: 'inet_proto', description: 'Internet protocol', size: 1, perLine: 5,
    parse: named(PROTOCOLS, 255),
    format: (v) => PROTOCOLS.find(([, n]) => n === v)?.[0] ?? String(v),
    badValue: (t) => `Could not resolve protocol name: ${t}`,
  },
  inet_service: {
    name: 'inet_service', description: 'internet network service', size: 2, perLine: 5,
    parse: named(SERVICES, 65535),
    format: (v) => String(v),
    badValue: (t) => (/^\d+$/.test(t) ? 'Service out of range' : 'Could not resolve service: Servname not supported for ai_socktype'),
  },
  mark: {
    name: 'mark', description: 'packet mark', size: 4, perLine: 5,
    parse: (t) => numeric(t, 0xffffffff),
    format: (v) => `0x${(v as number).toString(16).padStart(8, '0')}`,
    badValue: (t) => `Could not parse mark ${t}`,
  },
  integer: {
    name: 'integer', description: 'integer', size: 4, perLine: 5,
    parse: (t) => numeric(t, 0xffffffff),
    format: (v) => String(v),
    badValue: (t) => `Could not parse integer ${t}`,
  },
  ifname: {
    name: 'ifname', description: 'network interface name', size: 16, perLine: 1,
    parse: (t) => (t.length > 0 && t.length < 16 ? t : undefined),
    format: (v) => `"${String(v)}"`,
    badValue: () => 'String exceeds maximum length of 16',
  },
  ct_state: flagType('ct_state', 'conntrack state', CT_STATE_BITS),
  ct_status: flagType('ct_status', 'conntrack status', CT_STATUS_BITS),
  fib_addrtype: {
    name: 'fib_addrtype', description: 'fib address type', size: 4, perLine: 1,
    parse: named(FIB_ADDRTYPES, 255),
    format: (v) => FIB_ADDRTYPES.find(([, n]) => n === v)?.[0] ?? String(v),
    badValue: (t) => `Could not parse fib address type ${t}`,
  },
  nf_proto: {
    name: 'nf_proto', description: 'netfilter protocol', size: 1, perLine: 5,
    parse: named([['ipv4', 2], ['ipv6', 10]], 255),
    format: (v) => (v === 2 ? 'ipv4' : v === 10 ? 'ipv6' : String(v)),
    badValue: (t) => `Could not parse nf_proto ${t}`,
  },
};

/** The datatype named in a set declaration (`type ipv4_addr . inet_proto`), or undefined. */
export function datatype(name: string): DataType | undefined {
  return Object.hasOwn(DATATYPES, name) ? DATATYPES[name] : undefined;
}

/** Bytes a key component occupies in a concatenation (NFT_REG32_SIZE alignment). */
export function regSize(t: DataType): number {
  return Math.ceil(t.size / 4) * 4;
}

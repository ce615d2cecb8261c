/**
 * Value parsers and printers shared by matches and targets, following libxtables:
 * numbers in C `strtoul(…, 0)` syntax, ports and port ranges, marks as value/mask,
 * IPv4 addresses with prefix or dotted mask, protocol names.
 */
import { tryParseIpv4 } from '../../wire/addr.ts';
import { argError } from './errors.ts';
import type { PortRange } from './model.ts';

/** C strtoul with base 0: decimal, 0x hex, leading-0 octal; the whole string must be used. */
export function parseUInt(s: string, max = 0xffffffff): number | undefined {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) v = parseInt(s, 8);
  else if (/^[1-9][0-9]*$/.test(s)) v = parseInt(s, 10);
  else return undefined;
  return v <= max ? v : undefined;
}

/** Decimal only (ports, counts). */
export function parseDec(s: string, max: number): number | undefined {
  if (!/^[0-9]+$/.test(s) || s.length > 10) return undefined;
  const v = parseInt(s, 10);
  return v <= max ? v : undefined;
}

export function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

export function parsePort(s: string): number {
  const v = parseDec(s, 65535);
  if (v === undefined) throw argError('IPT_BAD_ARG', `invalid port/service \`${s}' specified`);
  return v;
}

/** `a`, `a:b`, `a:` (to 65535), `:b` (from 0). */
export function parsePortRange(s: string): PortRange {
  const i = s.indexOf(':');
  if (i < 0) {
    const p = parsePort(s);
    return { min: p, max: p };
  }
  const min = i === 0 ? 0 : parsePort(s.slice(0, i));
  const max = i === s.length - 1 ? 65535 : parsePort(s.slice(i + 1));
  if (min > max) throw argError('IPT_BAD_ARG', `invalid portrange (min > max) specified`);
  return { min, max };
}

export function formatPortRange(r: PortRange, sep = ':'): string {
  return r.min === r.max ? String(r.min) : `${r.min}${sep}${r.max}`;
}

/** `value[/mask]`; mask defaults to 0xffffffff. */
export function parseMarkMask(s: string): { value: number; mask: number } {
  const i = s.indexOf('/');
  const value = parseUInt(i < 0 ? s : s.slice(0, i));
  const mask = i < 0 ? 0xffffffff : parseUInt(s.slice(i + 1));
  if (value === undefined || mask === undefined) throw argError('IPT_BAD_ARG', `Bad MARK value "${s}"`);
  return { value, mask };
}

/** Prefix length of a contiguous mask, or -1. */
export function maskPrefix(mask: number): number {
  const m = mask >>> 0;
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  let n = 0;
  for (let b = m; b !== 0; b = (b << 1) >>> 0) n++;
  return n;
}

export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** `-s`/`-d` syntax: `a.b.c.d[/len|/dotted-mask]`; the address is masked as the kernel stores it. */
export function parseAddrMask(s: string): { addr: number; mask: number } {
  const i = s.indexOf('/');
  const a = tryParseIpv4(i < 0 ? s : s.slice(0, i));
  if (a === undefined) throw argError('IPT_BAD_ARG', `host/network \`${i < 0 ? s : s.slice(0, i)}' not found`);
  let mask = 0xffffffff;
  if (i >= 0) {
    const m = s.slice(i + 1);
    const dotted = tryParseIpv4(m);
    if (dotted !== undefined) mask = dotted;
    else {
      const len = parseDec(m, 32);
      if (len === undefined) throw argError('IPT_BAD_ARG', `invalid mask \`${m}' specified`);
      mask = prefixMask(len);
    }
  }
  return { addr: (a & mask) >>> 0, mask };
}

export function formatAddr(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function formatAddrMask(addr: number, mask: number): string {
  const p = maskPrefix(mask);
  return `${formatAddr(addr)}/${p >= 0 ? String(p) : formatAddr(mask)}`;
}

/**
 * Protocol names iptables prints (libxtables' own table first, then /etc/protocols
 * of a Debian bookworm machine).
 */
const PROTO_BY_NUM = new Map<number, string>([
  [6, 'tcp'], [132, 'sctp'], [17, 'udp'], [136, 'udplite'], [1, 'icmp'], [58, 'icmpv6'], [50, 'esp'], [51, 'ah'], [135, 'mh'],
  [2, 'igmp'], [3, 'ggp'], [4, 'ipencap'], [5, 'st'], [8, 'egp'], [9, 'igp'], [12, 'pup'], [20, 'hmp'], [22, 'xns-idp'],
  [27, 'rdp'], [29, 'iso-tp4'], [33, 'dccp'], [36, 'xtp'], [37, 'ddp'], [38, 'idpr-cmtp'], [41, 'ipv6'], [43, 'ipv6-route'],
  [44, 'ipv6-frag'], [45, 'idrp'], [46, 'rsvp'], [47, 'gre'], [57, 'skip'], [59, 'ipv6-nonxt'], [60, 'ipv6-opts'],
  [73, 'rspf'], [81, 'vmtp'], [88, 'eigrp'], [89, 'ospf'], [93, 'ax.25'], [94, 'ipip'], [97, 'etherip'], [98, 'encap'],
  [103, 'pim'], [108, 'ipcomp'], [112, 'vrrp'], [115, 'l2tp'], [124, 'isis'], [133, 'fc'], [137, 'mpls-in-ip'],
  [138, 'manet'], [139, 'hip'], [140, 'shim6'], [141, 'wesp'], [142, 'rohc'], [143, 'ethernet'],
]);
const PROTO_BY_NAME = new Map<string, number>([...PROTO_BY_NUM].map(([n, s]) => [s, n]));
PROTO_BY_NAME.set('all', 0);
PROTO_BY_NAME.set('ipv6-icmp', 58);
PROTO_BY_NAME.set('mobility-header', 135);

/** `-p` argument: a name (case-insensitive), `all`, or 0–255. */
export function parseProto(s: string): number {
  const n = parseDec(s, 255);
  if (n !== undefined) return n;
  const v = PROTO_BY_NAME.get(s.toLowerCase());
  if (v === undefined) throw argError('IPT_BAD_ARG', `unknown protocol "${s}" specified`);
  return v;
}

export function protoName(p: number): string {
  return PROTO_BY_NUM.get(p) ?? String(p);
}

/** xtables_save_string: bare when only [A-Za-z0-9_-], else double-quoted with `"`, `\`, `'` escaped. */
export function saveString(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  return `"${s.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

/** Interface names: at most 15 characters (IFNAMSIZ − 1). */
export function parseIface(s: string): string {
  if (s.length === 0 || s.length > 15) throw argError('IPT_BAD_ARG', `interface name \`${s}' must be shorter than IFNAMSIZ (16)`);
  return s;
}

/**
 * Parse a rule specification (the arguments after `-A CHAIN`) into a {@link Rule}
 * the way iptables 1.8 does: core options anywhere (also after the target), `-m
 * MODULE` loads a match, `-j`/`-g` names the target, and every `--option` belongs to
 * the most recently loaded module that has it — the target's options included —
 * with getopt's unique-prefix abbreviations (`--to` for `--to-destination`). An
 * option no loaded module knows makes `-p tcp|udp|icmp` load that protocol's match
 * at that point (the implicit `-m tcp`). `!` inverts the next option. Values are
 * normalised to what the kernel stores (see model.ts). Error texts are the real
 * tool's.
 */
import { IptablesError } from './errors.ts';
import type { IptablesErrorCode } from './errors.ts';
import type { AddrMatch, IfaceMatch, Match, PortRange, Rule, Target } from './model.ts';
import { LOG_FLAGS, XT_LIMIT_SCALE } from './model.ts';
import { tryParseIpv4, maskOf } from '../../wire/addr.ts';
import type { Ipv4Addr } from '../../wire/addr.ts';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT, CT_UNTRACKED } from '../eval-types.ts';

/** Protocol names iptables accepts and prints (iptables' own table, then /etc/protocols for the rest). */
export const PROTOCOLS: Record<string, number> = {
  all: 0, icmp: 1, igmp: 2, ipencap: 4, tcp: 6, udp: 17, ipv6: 41, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, ipip: 94, pim: 103, vrrp: 112, sctp: 132, udplite: 136,
};
/** The name iptables-save prints for a protocol number (none: the number). */
const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 2: 'igmp', 4: 'ipencap', 6: 'tcp', 17: 'udp', 41: 'ipv6', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'ipv6-icmp', 94: 'ipip', 103: 'pim', 112: 'vrrp', 132: 'sctp', 136: 'udplite' };
export function protoName(num: number): string {
  return PROTO_NAMES[num] ?? String(num);
}

/** Conntrack state names in the order iptables prints them. */
export const CT_STATE_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['INVALID', CT_INVALID], ['NEW', CT_NEW], ['RELATED', CT_RELATED], ['ESTABLISHED', CT_ESTABLISHED],
  ['UNTRACKED', CT_UNTRACKED], ['SNAT', CT_SNAT], ['DNAT', CT_DNAT],
];

/** xt_addrtype types in bit order (the order iptables prints a list in). */
export const ADDR_TYPES = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'];

const ICMP_TYPES: Record<string, [number, number?]> = {
  'echo-reply': [0], pong: [0], 'destination-unreachable': [3], 'network-unreachable': [3, 0], 'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2], 'port-unreachable': [3, 3], 'fragmentation-needed': [3, 4], 'source-route-failed': [3, 5],
  'network-prohibited': [3, 9], 'host-prohibited': [3, 10], 'communication-prohibited': [3, 13], 'source-quench': [4], redirect: [5],
  'echo-request': [8], ping: [8], 'router-advertisement': [9], 'router-solicitation': [10], 'time-exceeded': [11], 'ttl-exceeded': [11],
  'ttl-zero-during-transit': [11, 0], 'ttl-zero-during-reassembly': [11, 1], 'parameter-problem': [12], 'timestamp-request': [13],
  'timestamp-reply': [14], 'address-mask-request': [17], 'address-mask-reply': [18], any: [255],
};

export const REJECT_WITH = new Set([
  'icmp-net-unreachable', 'icmp-host-unreachable', 'icmp-port-unreachable', 'icmp-proto-unreachable',
  'icmp-net-prohibited', 'icmp-host-prohibited', 'icmp-admin-prohibited', 'tcp-reset',
]);
const REJECT_ALIASES: Record<string, string> = { 'tcp-rst': 'tcp-reset', 'net-unreach': 'icmp-net-unreachable', 'host-unreach': 'icmp-host-unreachable', 'port-unreach': 'icmp-port-unreachable', 'proto-unreach': 'icmp-proto-unreachable', 'net-prohib': 'icmp-net-prohibited', 'host-prohib': 'icmp-host-prohibited', 'admin-prohib': 'icmp-admin-prohibited' };

/** syslog level names LOG --log-level takes. */
const LOG_LEVELS: Record<string, number> = { emerg: 0, panic: 0, alert: 1, crit: 2, err: 3, error: 3, warning: 4, warn: 4, notice: 5, info: 6, debug: 7 };

/** Options of each module: name → number of arguments. */
type OptionSpec = Readonly<Record<string, number>>;

const MATCH_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  comment: { '--comment': 1 },
  tcp: { '--source-port': 1, '--sport': 1, '--destination-port': 1, '--dport': 1, '--tcp-flags': 2, '--syn': 0 },
  udp: { '--source-port': 1, '--sport': 1, '--destination-port': 1, '--dport': 1 },
  sctp: { '--source-port': 1, '--sport': 1, '--destination-port': 1, '--dport': 1 },
  nfacct: { '--nfacct-name': 1 },
  icmp: { '--icmp-type': 1 },
  multiport: { '--source-ports': 1, '--sports': 1, '--destination-ports': 1, '--dports': 1, '--ports': 1 },
  mark: { '--mark': 1 },
  addrtype: { '--src-type': 1, '--dst-type': 1, '--limit-iface-in': 0, '--limit-iface-out': 0 },
  conntrack: { '--ctstate': 1 },
  state: { '--state': 1 },
  statistic: { '--mode': 1, '--probability': 1, '--every': 1, '--packet': 1 },
  recent: { '--set': 0, '--rcheck': 0, '--update': 0, '--remove': 0, '--seconds': 1, '--reap': 0, '--hitcount': 1, '--rttl': 0, '--name': 1, '--mask': 1, '--rsource': 0, '--rdest': 0 },
  set: { '--match-set': 2 },
  physdev: { '--physdev-in': 1, '--physdev-out': 1, '--physdev-is-in': 0, '--physdev-is-out': 0, '--physdev-is-bridged': 0 },
  limit: { '--limit': 1, '--limit-burst': 1 },
};

const TARGET_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  ACCEPT: {}, DROP: {}, RETURN: {}, TRACE: {}, NOTRACK: {},
  REJECT: { '--reject-with': 1 },
  DNAT: { '--to-destination': 1, '--random': 0, '--random-fully': 0, '--persistent': 0 },
  SNAT: { '--to-source': 1, '--random': 0, '--random-fully': 0, '--persistent': 0 },
  MASQUERADE: { '--to-ports': 1, '--random': 0, '--random-fully': 0 },
  REDIRECT: { '--to-ports': 1, '--random': 0 },
  MARK: { '--set-mark': 1, '--set-xmark': 1, '--or-mark': 1, '--and-mark': 1, '--xor-mark': 1 },
  CONNMARK: { '--set-mark': 1, '--set-xmark': 1, '--save-mark': 0, '--restore-mark': 0, '--nfmask': 1, '--ctmask': 1, '--mask': 1 },
  LOG: { '--log-prefix': 1, '--log-level': 1, ...Object.fromEntries(LOG_FLAGS.map(([o]) => [o, 0])) },
  CT: { '--notrack': 0 },
  NFLOG: { '--nflog-group': 1, '--nflog-prefix': 1 },
};

/** iptables' own long options (they take part in getopt's prefix matching: `--d` is ambiguous). */
const CORE_OPTIONS = [
  '--append', '--delete', '--check', '--insert', '--replace', '--list', '--list-rules', '--flush', '--zero', '--new-chain', '--delete-chain',
  '--policy', '--rename-chain', '--source', '--src', '--destination', '--dst', '--protocol', '--in-interface', '--jump', '--table', '--match',
  '--numeric', '--out-interface', '--verbose', '--version', '--exact', '--fragment', '--line-numbers', '--modprobe', '--set-counters',
  '--goto', '--ipv4', '--ipv6', '--wait', '--wait-interval', '--help',
];
const CORE_SHORT: Record<string, string> = {
  '--source': '-s', '--src': '-s', '--destination': '-d', '--dst': '-d', '--protocol': '-p', '--in-interface': '-i', '--out-interface': '-o',
  '--jump': '-j', '--goto': '-g', '--match': '-m', '--set-counters': '-c',
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MatchBuilder = Mutable<Match> & Record<string, unknown>;

class Cursor {
  i = 0;
  constructor(readonly args: readonly string[], readonly line: number | undefined) {}
  done(): boolean {
    return this.i >= this.args.length;
  }
  next(what: string): string {
    const v = this.args[this.i++];
    if (v === undefined) throw new IptablesError('IPT_BAD_ARG', `option "${what}" requires an argument`, this.line);
    return v;
  }
  fail(code: IptablesErrorCode, msg: string): never {
    throw new IptablesError(code, msg, this.line);
  }
}

/** strtoul(s, 0): decimal, 0x hex or 0-prefixed octal, the whole string. */
function strtoul(s: string): number {
  return /^0[xX][0-9a-fA-F]+$/.test(s) ? parseInt(s.slice(2), 16) : /^0[0-7]*$/.test(s) ? parseInt(s, 8) : /^[1-9]\d*$/.test(s) ? Number(s) : NaN;
}

function num(c: Cursor, s: string, what: string, max = 0xffffffff): number {
  const n = strtoul(s);
  if (!Number.isFinite(n) || n > max) c.fail('IPT_BAD_ARG', `bad value for ${what}: "${s}"`);
  return n;
}

function dec(s: string, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

/** Leading one bits of a contiguous mask, or -1. */
function maskPrefix(mask: number): number {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  let n = 0;
  for (let b = mask >>> 0; b !== 0; b = (b << 1) >>> 0) n++;
  return n;
}

function addr(c: Cursor, s: string, invert: boolean): AddrMatch {
  const parts = s.split('/');
  const [a, len] = parts;
  const ip = tryParseIpv4(a ?? '');
  if (ip === undefined || parts.length > 2) c.fail('IPT_BAD_ARG', `host/network \`${a ?? s}' not found`);
  let mask = 0xffffffff;
  if (len !== undefined) {
    const dotted = len.includes('.') ? tryParseIpv4(len) : undefined;
    const n = len.includes('.') ? undefined : dec(len, 32);
    if (dotted !== undefined) mask = dotted >>> 0;
    else if (n !== undefined) mask = maskOf(n) >>> 0;
    else c.fail('IPT_BAD_ARG', `invalid mask \`${len}' specified`);
  }
  return { addr: (ip & mask) >>> 0, mask, prefixLen: maskPrefix(mask), invert };
}

function iface(c: Cursor, s: string, invert: boolean): IfaceMatch {
  if (s.length === 0 || s.length > 15) c.fail('IPT_BAD_ARG', `interface name \`${s}' must be shorter than IFNAMSIZ (15)`);
  return { name: s, invert };
}

function port(c: Cursor, s: string): number {
  const n = dec(s, 65535);
  if (n === undefined) c.fail('IPT_BAD_ARG', `invalid port/service \`${s}' specified`);
  return n;
}

/** `a`, `a:b`, `a:` (to 65535), `:b` (from 0). */
function portRange(c: Cursor, s: string, invert: boolean): PortRange {
  const i = s.indexOf(':');
  const min = i === 0 ? 0 : port(c, i < 0 ? s : s.slice(0, i));
  const max = i < 0 ? min : i === s.length - 1 ? 65535 : port(c, s.slice(i + 1));
  if (min > max) c.fail('IPT_BAD_ARG', 'invalid portrange (min > max) specified');
  return { min, max, invert };
}

function states(c: Cursor, s: string): { states: number; names: string[] } {
  let bits = 0;
  for (const n of s.split(',')) {
    const e = CT_STATE_NAMES.find(([name]) => name === n.toUpperCase());
    if (e === undefined) c.fail('IPT_BAD_ARG', `Bad ctstate "${n}"`);
    bits |= e[1];
  }
  return { states: bits, names: CT_STATE_NAMES.filter(([, b]) => (bits & b) !== 0).map(([n]) => n) };
}

function addrTypes(c: Cursor, s: string): string[] {
  const set = new Set<string>();
  for (const t of s.split(',')) {
    const u = t.toUpperCase();
    if (!ADDR_TYPES.includes(u)) c.fail('IPT_BAD_ARG', `addrtype: bad type "${t}"`);
    set.add(u);
  }
  return ADDR_TYPES.filter((t) => set.has(t));
}

/** `IP[-IP][:PORT[-PORT]]` for DNAT/SNAT. */
function natRange(c: Cursor, s: string): { addrMin: Ipv4Addr; addrMax: Ipv4Addr; portMin?: number; portMax?: number } {
  const m = /^([0-9.]+)(?:-([0-9.]+))?(?::(\d+)(?:-(\d+))?)?$/.exec(s);
  if (m === null) c.fail('IPT_BAD_ARG', `Bad IP address "${s}"`);
  const a1 = tryParseIpv4(m[1] as string);
  const a2 = m[2] !== undefined ? tryParseIpv4(m[2]) : a1;
  if (a1 === undefined || a2 === undefined) c.fail('IPT_BAD_ARG', `Bad IP address "${s}"`);
  const out: { addrMin: Ipv4Addr; addrMax: Ipv4Addr; portMin?: number; portMax?: number } = { addrMin: a1, addrMax: a2 };
  if (m[3] !== undefined) {
    out.portMin = port(c, m[3]);
    out.portMax = m[4] !== undefined ? port(c, m[4]) : out.portMin;
  }
  return out;
}

function ports(c: Cursor, s: string): { portMin: number; portMax: number } {
  const [a, b] = s.split('-');
  const portMin = port(c, a ?? '');
  return { portMin, portMax: b !== undefined ? port(c, b) : portMin };
}

/**
 * libxt_limit parse_rate: `N[/second|/minute|/hour|/day]` (any prefix of the unit
 * name) → the mean interval in XT_LIMIT_SCALE units, as the kernel keeps it.
 */
function limitRate(c: Cursor, s: string): number {
  const [n, unit] = s.split('/');
  const r = dec(n ?? '', 0xffffffff);
  const units: Array<[string, number]> = [['second', 1], ['minute', 60], ['hour', 3600], ['day', 86400]];
  const mult = unit === undefined ? 1 : unit !== '' ? units.find(([u]) => u.startsWith(unit.toLowerCase()))?.[1] : undefined;
  if (r === undefined || mult === undefined) return c.fail('IPT_BAD_ARG', `bad rate "${s}"'`);
  if (r === 0) return c.fail('IPT_BAD_ARG', `Rate too fast "${s}"`);
  const avg = Math.floor((XT_LIMIT_SCALE * mult) / r);
  if (avg === 0) return c.fail('IPT_BAD_ARG', `Rate too fast "${s}"`);
  return avg;
}

function markMask(c: Cursor, s: string, what: string): { value: number; mask: number | undefined } {
  const [v, m] = s.split('/');
  return { value: num(c, v ?? '', what), mask: m !== undefined ? num(c, m, what) : undefined };
}

/** Apply option `opt` (already resolved to the module's own name) to a match. */
function matchOption(c: Cursor, m: MatchBuilder, opt: string, invert: boolean): void {
  switch (m.kind) {
    case 'comment':
      m['comment'] = c.next(opt);
      if ((m['comment'] as string).length > 255) c.fail('IPT_BAD_ARG', 'COMMENT must be shorter than 256 characters');
      return;
    case 'nfacct':
      m['name'] = c.next(opt);
      return;
    case 'tcp':
    case 'udp':
    case 'sctp':
      if (opt === '--sport' || opt === '--source-port') m['sport'] = portRange(c, c.next(opt), invert);
      else if (opt === '--dport' || opt === '--destination-port') m['dport'] = portRange(c, c.next(opt), invert);
      else if (opt === '--syn') m['tcpFlags'] = { mask: 0x17, cmp: 0x02, invert };
      else {
        const flag = (list: string): number => list.split(',').reduce((acc, f) => acc | (({ FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ALL: 63, NONE: 0 } as Record<string, number>)[f.toUpperCase()] ?? c.fail('IPT_BAD_ARG', `Unknown TCP flag \`${f}'`)), 0);
        m['tcpFlags'] = { mask: flag(c.next(opt)), cmp: flag(c.next(opt)), invert };
      }
      return;
    case 'icmp': {
      const v = c.next(opt);
      const named = ICMP_TYPES[v];
      if (named !== undefined) {
        m['type'] = named[0];
        if (named[1] !== undefined) m['code'] = named[1];
      } else {
        const [t, code] = v.split('/');
        const tn = dec(t ?? '', 255);
        const cn = code === undefined ? undefined : dec(code, 255);
        if (tn === undefined || (code !== undefined && cn === undefined)) c.fail('IPT_BAD_ARG', `Invalid ICMP type \`${v}'`);
        m['type'] = tn;
        if (cn !== undefined) m['code'] = cn;
      }
      m['invert'] = invert;
      return;
    }
    case 'multiport': {
      const list = c.next(opt).split(',').map((p) => {
        const r = portRange(c, p, false);
        return [r.min, r.max] as const;
      });
      if (list.length > 15) c.fail('IPT_BAD_ARG', 'too many ports specified');
      m['dir'] = opt === '--ports' ? 'ports' : opt.includes('source') || opt === '--sports' ? 'sports' : 'dports';
      m['ports'] = list;
      m['invert'] = invert;
      return;
    }
    case 'mark': {
      const v = markMask(c, c.next(opt), 'mark');
      m['value'] = v.value;
      m['mask'] = v.mask ?? 0xffffffff;
      m['invert'] = invert;
      return;
    }
    case 'addrtype':
      if (opt === '--src-type' || opt === '--dst-type') m[opt === '--src-type' ? 'src' : 'dst'] = { types: addrTypes(c, c.next(opt)), invert };
      else if (opt === '--limit-iface-in') m['limitIfaceIn'] = true;
      else m['limitIfaceOut'] = true;
      return;
    case 'conntrack':
    case 'state': {
      const s = states(c, c.next(opt));
      m['states'] = s.states;
      m['names'] = s.names;
      m['invert'] = invert;
      return;
    }
    case 'statistic': {
      if (opt === '--mode') {
        const mode = c.next(opt);
        if (mode !== 'random' && mode !== 'nth') c.fail('IPT_BAD_ARG', `Bad mode "${mode}"`);
        m['mode'] = mode;
      } else if (opt === '--probability') {
        const s = c.next(opt);
        const p = /^\s*[+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) ? Number(s) : NaN;
        if (!(p >= 0 && p <= 1)) c.fail('IPT_BAD_ARG', `--probability must be between 0 and 1`);
        // xt_statistic keeps the probability as a 31-bit fixed-point number (libxt_statistic: lround(0x80000000 * p)).
        m['probability'] = Math.round(0x80000000 * p);
        m['invert'] = invert;
      } else if (opt === '--every') {
        m['every'] = num(c, c.next(opt), 'every');
        if (m['every'] === 0) c.fail('IPT_BAD_ARG', '--every cannot be 0');
        m['invert'] = invert;
      } else m['packet'] = num(c, c.next(opt), 'packet');
      return;
    }
    case 'recent': {
      if (opt === '--set' || opt === '--rcheck' || opt === '--update' || opt === '--remove') {
        if (m['actionSet'] === true) c.fail('IPT_BAD_ARG', 'recent: only one of `--set\', `--rcheck\' `--update\' or `--remove\' may be set');
        m['action'] = opt.slice(2) as 'set' | 'rcheck' | 'update' | 'remove';
        m['actionSet'] = true;
        m['invert'] = invert;
      } else if (opt === '--seconds') m['seconds'] = num(c, c.next(opt), 'seconds');
      else if (opt === '--hitcount') m['hitcount'] = num(c, c.next(opt), 'hitcount', 255);
      else if (opt === '--reap') m['reap'] = true;
      else if (opt === '--rttl') m['rttl'] = true;
      else if (opt === '--name') m['name'] = c.next(opt);
      else if (opt === '--mask') {
        const v = tryParseIpv4(c.next(opt));
        if (v === undefined) c.fail('IPT_BAD_ARG', 'recent: bad --mask');
        m['mask'] = v;
      } else m['side'] = opt === '--rsource' ? 'rsource' : 'rdest';
      return;
    }
    case 'set': {
      m['name'] = c.next(opt);
      const dirs = c.next(opt).split(',');
      if (dirs.length > 6 || dirs.some((d) => d !== 'src' && d !== 'dst')) c.fail('IPT_BAD_ARG', `You must specify (the comma separated list of) 'src' or 'dst'`);
      m['dirs'] = dirs as Array<'src' | 'dst'>;
      m['invert'] = invert;
      return;
    }
    case 'limit':
      if (opt === '--limit') m['avg'] = limitRate(c, c.next(opt));
      else {
        const b = c.next(opt);
        const n = dec(b, 0xffffffff);
        if (n === undefined || n > 10000) c.fail('IPT_BAD_ARG', `bad --limit-burst \`${b}'`);
        m['burst'] = n;
      }
      return;
    case 'physdev':
      if (opt === '--physdev-in') m['in'] = iface(c, c.next(opt), invert);
      else if (opt === '--physdev-out') m['out'] = iface(c, c.next(opt), invert);
      else m[opt === '--physdev-is-in' ? 'isIn' : opt === '--physdev-is-out' ? 'isOut' : 'isBridged'] = { invert };
      return;
  }
}

function newMatch(c: Cursor, name: string): MatchBuilder {
  switch (name) {
    case 'comment': return { kind: 'comment' } as MatchBuilder;
    case 'tcp': return { kind: 'tcp' };
    case 'udp': return { kind: 'udp' };
    case 'sctp': return { kind: 'sctp' };
    case 'nfacct': return { kind: 'nfacct', name: '' };
    case 'icmp': return { kind: 'icmp', type: 255, invert: false };
    case 'multiport': return { kind: 'multiport', dir: 'ports', ports: [], invert: false };
    case 'mark': return { kind: 'mark', value: -1, mask: 0xffffffff, invert: false };
    case 'addrtype': return { kind: 'addrtype' };
    case 'conntrack': return { kind: 'conntrack', states: 0, invert: false, names: [] };
    case 'state': return { kind: 'state', states: 0, invert: false, names: [] };
    case 'statistic': return { kind: 'statistic', mode: 'random', probability: 0, invert: false };
    case 'recent': return { kind: 'recent', action: 'rcheck', name: 'DEFAULT', reap: false, rttl: false, mask: 0xffffffff, side: 'rsource', invert: false };
    case 'set': return { kind: 'set', name: '', dirs: [], invert: false };
    case 'physdev': return { kind: 'physdev' };
    // libxt_limit's defaults: 3/hour, burst 5.
    case 'limit': return { kind: 'limit', avg: (XT_LIMIT_SCALE * 3600) / 3, burst: 5 };
    default: return c.fail('IPT_UNKNOWN_MATCH', `Couldn't load match \`${name}':No such file or directory`);
  }
}

/** Checks a match's options once the rule is read (libxtables' x6_fcheck); drops parse-only fields. */
function finishMatch(c: Cursor, m: MatchBuilder, proto: string | undefined): Match {
  if ((m.kind === 'tcp' || m.kind === 'udp' || m.kind === 'sctp' || m.kind === 'icmp') && proto !== m.kind) {
    // `-m tcp` without `-p tcp`: iptables-nft refuses it (the kernel match needs the protocol).
    c.fail('IPT_BAD_ARG', `${m.kind.toUpperCase()} match requires '-p ${m.kind}'`);
  }
  if (m.kind === 'multiport' && proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp' && proto !== 'udplite' && proto !== 'dccp') {
    c.fail('IPT_BAD_ARG', 'multiport needs `-p tcp\', `-p udp\', `-p udplite\', `-p sctp\' or `-p dccp\'');
  }
  if (m.kind === 'nfacct' && m.name === '') c.fail('IPT_BAD_ARG', 'nfacct: missing --nfacct-name');
  if (m.kind === 'tcp' || m.kind === 'udp' || m.kind === 'sctp') {
    for (const k of ['sport', 'dport'] as const) {
      const r = m[k];
      if (r !== undefined && r.min === 0 && r.max === 65535 && !r.invert) delete m[k];
    }
  }
  if (m.kind === 'multiport' && m.ports.length === 0) c.fail('IPT_BAD_ARG', 'multiport expects an option');
  if (m.kind === 'statistic') {
    if (m.mode === 'nth' && m['every'] === undefined) c.fail('IPT_BAD_ARG', 'no --every specified with --mode nth');
    if (m['every'] !== undefined && m['packet'] === undefined) c.fail('IPT_BAD_ARG', 'statistic: option "--every" also requires "--packet".');
    if (m['every'] !== undefined && m.mode !== 'nth') c.fail('IPT_BAD_ARG', '--every can only be used with --mode nth');
    if (m.mode === 'nth') {
      const every = m['every'] as number;
      const pkt = m['packet'] as number;
      if (pkt >= every) c.fail('IPT_BAD_ARG', '--packet must be between 0 and every - 1');
      return { kind: 'statistic', mode: 'nth', every, packet: pkt, invert: m['invert'] === true };
    }
  }
  if (m.kind === 'comment' && m['comment'] === undefined) c.fail('IPT_BAD_ARG', 'comment: option "--comment" must be specified');
  if (m.kind === 'set' && m.name === '') c.fail('IPT_BAD_ARG', 'You must specify `--match-set\' with proper arguments');
  if (m.kind === 'conntrack' && m.names.length === 0) c.fail('IPT_BAD_ARG', 'conntrack: At least one option is required');
  if (m.kind === 'state' && m.names.length === 0) c.fail('IPT_BAD_ARG', 'state match: option "--state" must be specified');
  if (m.kind === 'mark' && m.value === -1) c.fail('IPT_BAD_ARG', 'mark match: option "--mark" must be specified');
  if (m.kind === 'recent') {
    if (m['actionSet'] !== true) c.fail('IPT_BAD_ARG', 'recent: you must specify one of `--set\', `--rcheck\' `--update\' or `--remove\'');
    delete m['actionSet'];
  }
  if (m.kind === 'physdev' && m.in === undefined && m.out === undefined && m.isIn === undefined && m.isOut === undefined && m.isBridged === undefined) {
    c.fail('IPT_BAD_ARG', 'PHYSDEV: no physdev option specified');
  }
  if (m.kind === 'addrtype' && m.src === undefined && m.dst === undefined && m.limitIfaceIn !== true && m.limitIfaceOut !== true) {
    c.fail('IPT_BAD_ARG', 'addrtype: you must specify --src-type or --dst-type');
  }
  if (m.kind === 'addrtype' && m.limitIfaceIn === true && m.limitIfaceOut === true) c.fail('IPT_BAD_ARG', 'addrtype: you can\'t specify both --limit-iface-in and --limit-iface-out');
  return m as Match;
}

/**
 * iptables-nft keeps tcp/udp port and flag tests as native nf_tables expressions and
 * rebuilds one `-m tcp`/`-m udp` from them (at the first one's place), so `-p tcp
 * --sport 1 -m tcp --dport 2` is one match. Fields given twice stay separate matches.
 */
function mergeProtoMatches(ms: MatchBuilder[]): MatchBuilder[] {
  const out: MatchBuilder[] = [];
  for (const m of ms) {
    if (m.kind === 'tcp' || m.kind === 'udp') {
      const first = out.find((x) => x.kind === m.kind);
      const fields = ['sport', 'dport', 'tcpFlags'].filter((f) => m[f] !== undefined);
      if (first !== undefined && fields.every((f) => first[f] === undefined)) {
        for (const f of fields) first[f] = m[f];
        continue;
      }
    }
    out.push(m);
  }
  return out;
}

/** A target being read: its name and the options given so far. */
interface TargetBuilder {
  readonly name: string;
  readonly chain: 'jump' | 'goto' | undefined;
  readonly opts: Map<string, { value: string | undefined; invert: boolean }>;
}

const optStr = (t: TargetBuilder, k: string): string | undefined => t.opts.get(k)?.value;
const optHas = (t: TargetBuilder, k: string): boolean => t.opts.has(k);

function finishTarget(c: Cursor, t: TargetBuilder): Target {
  if (t.chain !== undefined) return { kind: t.chain, chain: t.name };
  for (const [k, v] of t.opts) if (v.invert) c.fail('IPT_BAD_ARG', `${t.name}: unexpected \`!' before ${k}`);
  switch (t.name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
    case 'TRACE':
      return { kind: t.name };
    case 'NOTRACK':
      return { kind: 'NOTRACK', ct: false };
    case 'CT':
      if (!optHas(t, '--notrack')) c.fail('IPT_UNKNOWN_OPTION', 'CT: only --notrack is modelled');
      return { kind: 'NOTRACK', ct: true };
    case 'REJECT': {
      const w = optStr(t, '--reject-with') ?? 'icmp-port-unreachable';
      const canon = REJECT_ALIASES[w] ?? w;
      if (!REJECT_WITH.has(canon)) c.fail('IPT_BAD_ARG', `unknown reject type "${w}"`);
      return { kind: 'REJECT', with: canon };
    }
    case 'DNAT':
    case 'SNAT': {
      const key = t.name === 'DNAT' ? '--to-destination' : '--to-source';
      const text = optStr(t, key);
      if (text === undefined) c.fail('IPT_BAD_ARG', `${t.name}: option "${key}" must be specified`);
      return { kind: t.name, ...natRange(c, text), random: optHas(t, '--random'), randomFully: optHas(t, '--random-fully'), persistent: optHas(t, '--persistent'), text };
    }
    case 'MASQUERADE': {
      const p = optStr(t, '--to-ports');
      return { kind: 'MASQUERADE', ...(p !== undefined ? ports(c, p) : {}), random: optHas(t, '--random'), randomFully: optHas(t, '--random-fully') };
    }
    case 'REDIRECT': {
      const p = optStr(t, '--to-ports');
      return { kind: 'REDIRECT', ...(p !== undefined ? ports(c, p) : {}), random: optHas(t, '--random') };
    }
    case 'MARK': {
      if (t.opts.size !== 1) c.fail('IPT_BAD_ARG', 'MARK target: Parameter --set/and/or/xor-mark is required');
      const [k, v] = [...t.opts.entries()][0] as [string, { value: string }];
      const { value, mask } = markMask(c, v.value, 'MARK');
      // Canonical --set-xmark value/mask, as the kernel stores it (libxt_MARK).
      if (k === '--set-xmark') return { kind: 'MARK', op: 'xset', value, mask: mask ?? 0xffffffff };
      if (k === '--set-mark') return { kind: 'MARK', op: 'xset', value, mask: mask !== undefined ? (mask | value) >>> 0 : 0xffffffff };
      if (k === '--or-mark') return { kind: 'MARK', op: 'xset', value, mask: value };
      if (k === '--and-mark') return { kind: 'MARK', op: 'xset', value: 0, mask: ~value >>> 0 };
      return { kind: 'MARK', op: 'xset', value, mask: 0 };
    }
    case 'CONNMARK': {
      const set = optStr(t, '--set-xmark') ?? optStr(t, '--set-mark');
      const mode = optHas(t, '--save-mark') ? 'save' : optHas(t, '--restore-mark') ? 'restore' : undefined;
      if ((set !== undefined ? 1 : 0) + (mode !== undefined ? 1 : 0) !== 1 || (optHas(t, '--set-xmark') && optHas(t, '--set-mark'))) {
        c.fail('IPT_BAD_ARG', 'CONNMARK target: Parameter --set-xmark/--save-mark/--restore-mark is required');
      }
      if (set !== undefined) {
        const { value, mask } = markMask(c, set, 'CONNMARK');
        if (optHas(t, '--set-xmark')) return { kind: 'CONNMARK', mode: 'set', value, mask: mask ?? 0xffffffff };
        return { kind: 'CONNMARK', mode: 'set', value, mask: mask !== undefined ? (mask | value) >>> 0 : 0xffffffff };
      }
      const both = optStr(t, '--mask');
      const nf = optStr(t, '--nfmask') ?? both;
      const ct = optStr(t, '--ctmask') ?? both;
      return { kind: 'CONNMARK', mode: mode as 'save' | 'restore', nfmask: nf !== undefined ? num(c, nf, 'nfmask') : 0xffffffff, ctmask: ct !== undefined ? num(c, ct, 'ctmask') : 0xffffffff };
    }
    case 'NFLOG': {
      const g = optStr(t, '--nflog-group');
      const group = g === undefined ? 0 : dec(g, 65535);
      if (group === undefined) c.fail('IPT_BAD_ARG', `NFLOG: bad value for option "--nflog-group", or out of range (0-65535)`);
      const prefix = optStr(t, '--nflog-prefix');
      if (prefix !== undefined && prefix.length > 63) c.fail('IPT_BAD_ARG', 'NFLOG: Maximum prefix length 63 for --nflog-prefix');
      return { kind: 'NFLOG', group, ...(prefix !== undefined && prefix !== '' ? { prefix } : {}) };
    }
    case 'LOG': {
      const prefix = optStr(t, '--log-prefix');
      if (prefix !== undefined && prefix.length > 29) c.fail('IPT_BAD_ARG', 'Maximum prefix length 29 for --log-prefix');
      const lv = optStr(t, '--log-level');
      let level = 4;
      if (lv !== undefined) {
        const n = LOG_LEVELS[lv.toLowerCase()] ?? dec(lv, 7);
        if (n === undefined) c.fail('IPT_BAD_ARG', `log-level \`${lv}' unknown`);
        level = n;
      }
      let flags = 0;
      for (const [o, bit] of LOG_FLAGS) if (optHas(t, o)) flags |= bit;
      return { kind: 'LOG', ...(prefix !== undefined ? { prefix } : {}), level, flags };
    }
  }
  return c.fail('IPT_UNKNOWN_TARGET', `Couldn't load target \`${t.name}':No such file or directory`);
}

/** What the parser needs to know about the table the rule goes into. */
export interface RuleContext {
  /** Whether a user chain of this name exists (for `-j NAME` / `-g NAME`). */
  userChain(name: string): boolean;
}

/**
 * A rule whose `-j`/`-g` names neither a target nor an existing chain. iptables-nft
 * reports it when the table is committed ("Chain 'X' does not exist"), so the restore
 * keeps reading and fails at the COMMIT line.
 */
export class MissingChain {
  constructor(readonly chain: string) {}
}

/** A loaded module in getopt's merged option table (the latest first when resolving). */
type Loaded = { readonly kind: 'match'; readonly m: MatchBuilder; readonly spec: OptionSpec } | { readonly kind: 'target'; readonly t: TargetBuilder; readonly spec: OptionSpec };

/** getopt_long: an exact name, else a unique prefix among every known long option. */
function resolve(loaded: readonly Loaded[], opt: string): { mod: Loaded; name: string } | 'core' | undefined {
  for (let k = loaded.length - 1; k >= 0; k--) {
    const l = loaded[k] as Loaded;
    if (l.spec[opt] !== undefined) return { mod: l, name: opt };
  }
  if (CORE_OPTIONS.includes(opt)) return 'core';
  const hits: Array<{ mod: Loaded; name: string } | 'core'> = [];
  const names = new Set<string>();
  for (let k = loaded.length - 1; k >= 0; k--) {
    const l = loaded[k] as Loaded;
    for (const n of Object.keys(l.spec)) {
      if (n.startsWith(opt) && !names.has(n)) {
        names.add(n);
        hits.push({ mod: l, name: n });
      }
    }
  }
  for (const n of CORE_OPTIONS) if (n.startsWith(opt)) hits.push('core');
  return hits.length === 1 ? hits[0] : undefined;
}

function once(c: Cursor, flag: string, present: boolean): void {
  if (present) c.fail('IPT_BAD_ARG', `multiple ${flag} flags not allowed`);
}

function loadMatch(c: Cursor, name: string, matches: MatchBuilder[], loaded: Loaded[]): void {
  const m = newMatch(c, name);
  matches.push(m);
  loaded.push({ kind: 'match', m, spec: MATCH_OPTIONS[name] as OptionSpec });
}

/** Parse rule arguments (everything after `-A CHAIN`). */
export function parseRuleSpec(args: readonly string[], ctx: RuleContext, line?: number): Rule | MissingChain {
  const r = parseRuleArgs(args, ctx, line);
  return r instanceof MissingChain ? r : r.rule;
}

/** A parsed rule and the counters its `-c PKTS BYTES` gave. */
export interface ParsedRule {
  readonly rule: Rule;
  readonly counters: readonly [number, number] | undefined;
}

/** {@link parseRuleSpec}, with the rule's `-c` counters. */
export function parseRuleArgs(args: readonly string[], ctx: RuleContext, line?: number): ParsedRule | MissingChain {
  const c = new Cursor(args, line);
  const rule: Mutable<Rule> = { matches: [], target: { kind: 'none' } };
  const matches: MatchBuilder[] = [];
  const loaded: Loaded[] = [];
  let target: TargetBuilder | undefined;
  let invert = false;
  let counters: [number, number] | undefined;
  let protoUsed = false;
  while (!c.done()) {
    let a = c.next('rule');
    if (a === '!') {
      if (invert) c.fail('IPT_BAD_ARG', 'multiple consecutive ! not allowed');
      invert = true;
      continue;
    }
    if (a.startsWith('--')) {
      const r = resolve(loaded, a);
      if (r === 'core') {
        const given = a;
        a = CORE_SHORT[given] ?? CORE_SHORT[CORE_OPTIONS.find((n) => n.startsWith(given)) ?? ''] ?? c.fail('IPT_BAD_ARG', `Illegal option \`${given}' with this command`);
      } else if (r !== undefined) {
        if (r.mod.kind === 'match') matchOption(c, r.mod.m, r.name, invert);
        else {
          const n = r.mod.spec[r.name] as number;
          r.mod.t.opts.set(r.name, { value: n > 0 ? c.next(r.name) : undefined, invert });
        }
        invert = false;
        continue;
      } else {
        // Implicit protocol match: `-p tcp --dport 80` loads `-m tcp` here (once), then getopt runs again.
        const implicit = rule.proto !== undefined && !rule.proto.invert ? rule.proto.name : undefined;
        if (!protoUsed && (implicit === 'tcp' || implicit === 'udp' || implicit === 'sctp' || implicit === 'icmp')) {
          protoUsed = true;
          loadMatch(c, implicit, matches, loaded);
          c.i--;
          continue;
        }
        c.fail('IPT_UNKNOWN_OPTION', `unknown option "${a}"`);
      }
    }
    switch (a) {
      case '-s': once(c, '-s', rule.src !== undefined); rule.src = addr(c, c.next(a), invert); break;
      case '-d': once(c, '-d', rule.dst !== undefined); rule.dst = addr(c, c.next(a), invert); break;
      case '-i': once(c, '-i', rule.inIface !== undefined); rule.inIface = iface(c, c.next(a), invert); break;
      case '-o': once(c, '-o', rule.outIface !== undefined); rule.outIface = iface(c, c.next(a), invert); break;
      case '-p': {
        once(c, '-p', rule.proto !== undefined);
        const v = c.next(a).toLowerCase();
        const n = PROTOCOLS[v] ?? (/^\d+$/.test(v) ? dec(v, 255) : undefined) ?? c.fail('IPT_BAD_ARG', `unknown protocol "${v}" specified`);
        if (n === 0 && invert) c.fail('IPT_BAD_ARG', 'rule would never match protocol');
        rule.proto = { num: n, name: n === 0 ? 'all' : protoName(n), invert };
        break;
      }
      case '-m': {
        if (invert) c.fail('IPT_BAD_ARG', 'unexpected ! flag before --match');
        loadMatch(c, c.next(a), matches, loaded);
        break;
      }
      case '-j':
      case '-g': {
        if (invert) c.fail('IPT_BAD_ARG', `cannot have ! before ${a}`);
        once(c, '-j', target !== undefined);
        const name = c.next(a);
        const builtin = a === '-j' && TARGET_OPTIONS[name] !== undefined;
        if (!builtin && !ctx.userChain(name)) {
          // Keep reading (later options can still fail now); the missing chain is reported at COMMIT.
          target = { name, chain: a === '-g' ? 'goto' : 'jump', opts: new Map() };
          loaded.push({ kind: 'target', t: target, spec: {} });
          (rule as { missing?: string }).missing = name;
          break;
        }
        target = { name, chain: builtin ? undefined : a === '-g' ? 'goto' : 'jump', opts: new Map() };
        loaded.push({ kind: 'target', t: target, spec: builtin ? (TARGET_OPTIONS[name] as OptionSpec) : {} });
        break;
      }
      case '-c': {
        const p = c.next(a);
        const b = c.next(a);
        if (!/^\d+$/.test(p) || !/^\d+$/.test(b)) c.fail('IPT_BAD_ARG', `-c packet counter not numeric`);
        counters = [Number(p), Number(b)];
        break;
      }
      case '-f': c.fail('IPT_UNKNOWN_OPTION', 'fragment matching (-f) is not modelled'); break;
      default:
        c.fail('IPT_BAD_ARG', `Bad argument \`${a}'`);
    }
    invert = false;
  }
  if (invert) c.fail('IPT_BAD_ARG', 'trailing !');
  const protoText = rule.proto !== undefined && !rule.proto.invert ? rule.proto.name : undefined;
  rule.matches = mergeProtoMatches(matches).map((m) => finishMatch(c, m, protoText));
  // What the kernel cannot tell from "any": 0.0.0.0/0 and the full port range are dropped.
  if (rule.src !== undefined && rule.src.mask === 0 && !rule.src.invert) delete rule.src;
  if (rule.dst !== undefined && rule.dst.mask === 0 && !rule.dst.invert) delete rule.dst;
  const missing = (rule as { missing?: string }).missing;
  if (missing !== undefined) return new MissingChain(missing);
  if (target !== undefined) rule.target = finishTarget(c, target);
  return { rule, counters };
}

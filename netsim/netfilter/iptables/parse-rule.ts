/**
 * Parse a rule specification (the arguments after `-A CHAIN`) into a {@link Rule},
 * the way iptables does: core fields anywhere, `-m MODULE` loads a match whose
 * options follow, `-p tcp|udp|icmp` implicitly loads that protocol's match when one
 * of its options appears, `!` inverts the next option, `-j`/`-g` names the target.
 * Values are normalised to what the kernel stores (see model.ts).
 */
import { IptablesError } from './errors.ts';
import type { AddrMatch, IfaceMatch, Match, PortRange, Rule, Target } from './model.ts';
import { tryParseIpv4, maskOf } from '../../wire/addr.ts';
import type { Ipv4Addr } from '../../wire/addr.ts';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT, CT_UNTRACKED } from '../eval-types.ts';

export const PROTOCOLS: Record<string, number> = { all: 0, icmp: 1, tcp: 6, udp: 17, sctp: 132 };

/** Conntrack state names in the order iptables prints them. */
export const CT_STATE_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['INVALID', CT_INVALID], ['NEW', CT_NEW], ['RELATED', CT_RELATED], ['ESTABLISHED', CT_ESTABLISHED],
  ['UNTRACKED', CT_UNTRACKED], ['SNAT', CT_SNAT], ['DNAT', CT_DNAT],
];

const ICMP_TYPES: Record<string, [number, number?]> = {
  'echo-reply': [0], 'destination-unreachable': [3], 'network-unreachable': [3, 0], 'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2], 'port-unreachable': [3, 3], 'fragmentation-needed': [3, 4], 'echo-request': [8],
  'time-exceeded': [11], 'ttl-zero-during-transit': [11, 0], any: [255],
};

export const REJECT_WITH = new Set([
  'icmp-net-unreachable', 'icmp-host-unreachable', 'icmp-port-unreachable', 'icmp-proto-unreachable',
  'icmp-net-prohibited', 'icmp-host-prohibited', 'icmp-admin-prohibited', 'tcp-reset',
]);
const REJECT_ALIASES: Record<string, string> = { 'tcp-rst': 'tcp-reset', 'net-unreach': 'icmp-net-unreachable', 'host-unreach': 'icmp-host-unreachable', 'port-unreach': 'icmp-port-unreachable', 'proto-unreach': 'icmp-proto-unreachable', 'net-prohib': 'icmp-net-prohibited', 'host-prohib': 'icmp-host-prohibited', 'admin-prohib': 'icmp-admin-prohibited' };

const BUILTIN_TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'MARK', 'LOG', 'TRACE', 'NOTRACK']);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

class Cursor {
  i = 0;
  constructor(readonly args: readonly string[], readonly line: number | undefined) {}
  done(): boolean {
    return this.i >= this.args.length;
  }
  peek(): string | undefined {
    return this.args[this.i];
  }
  next(what: string): string {
    const v = this.args[this.i++];
    if (v === undefined) throw new IptablesError('IPT_BAD_ARG', `option ${what} requires an argument`, this.line);
    return v;
  }
  fail(code: 'IPT_BAD_ARG' | 'IPT_UNKNOWN_OPTION' | 'IPT_UNKNOWN_MATCH' | 'IPT_UNKNOWN_TARGET' | 'IPT_PARSE', msg: string): never {
    throw new IptablesError(code, msg, this.line);
  }
}

function num(c: Cursor, s: string, what: string, max = 0xffffffff): number {
  const n = /^0x[0-9a-fA-F]+$/.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n) || n > max) c.fail('IPT_BAD_ARG', `bad value for ${what}: "${s}"`);
  return n;
}

function addr(c: Cursor, s: string, invert: boolean): AddrMatch {
  const [a, len] = s.split('/');
  const ip = tryParseIpv4(a ?? '');
  if (ip === undefined) c.fail('IPT_BAD_ARG', `host/network "${s}" not found`);
  let prefixLen = 32;
  if (len !== undefined) {
    const dotted = tryParseIpv4(len);
    if (dotted !== undefined) {
      let bits = 0;
      let m = dotted >>> 0;
      while (m & 0x80000000) {
        bits++;
        m = (m << 1) >>> 0;
      }
      if (m !== 0) c.fail('IPT_BAD_ARG', `invalid mask "${len}"`);
      prefixLen = bits;
    } else prefixLen = num(c, len, 'prefix length', 32);
  }
  return { addr: (ip & maskOf(prefixLen)) >>> 0, prefixLen, invert };
}

function iface(c: Cursor, s: string, invert: boolean): IfaceMatch {
  if (s.length === 0 || s.length > 15) c.fail('IPT_BAD_ARG', `interface name "${s}" must be 1-15 characters`);
  return { name: s, invert };
}

function portRange(c: Cursor, s: string, invert: boolean): PortRange {
  const [a, b] = s.split(':');
  const min = a === '' || a === undefined ? 0 : num(c, a, 'port', 65535);
  const max = b === undefined ? min : b === '' ? 65535 : num(c, b, 'port', 65535);
  if (min > max) c.fail('IPT_BAD_ARG', `invalid port range "${s}"`);
  return { min, max, invert };
}

function states(c: Cursor, s: string): { states: number; names: string[] } {
  let bits = 0;
  for (const n of s.split(',')) {
    const e = CT_STATE_NAMES.find(([name]) => name === n.toUpperCase());
    if (e === undefined) c.fail('IPT_BAD_ARG', `bad ctstate "${n}"`);
    bits |= e[1];
  }
  return { states: bits, names: CT_STATE_NAMES.filter(([, b]) => (bits & b) !== 0).map(([n]) => n) };
}

/** `IP[-IP][:PORT[-PORT]]` for DNAT/SNAT. */
function natRange(c: Cursor, s: string): { addrMin: Ipv4Addr; addrMax: Ipv4Addr; portMin?: number; portMax?: number } {
  const m = /^([0-9.]+)(?:-([0-9.]+))?(?::(\d+)(?:-(\d+))?)?$/.exec(s);
  if (m === null) c.fail('IPT_BAD_ARG', `bad IP address range "${s}"`);
  const a1 = tryParseIpv4(m[1] as string);
  const a2 = m[2] !== undefined ? tryParseIpv4(m[2]) : a1;
  if (a1 === undefined || a2 === undefined) c.fail('IPT_BAD_ARG', `bad IP address "${s}"`);
  const out: { addrMin: Ipv4Addr; addrMax: Ipv4Addr; portMin?: number; portMax?: number } = { addrMin: a1, addrMax: a2 };
  if (m[3] !== undefined) {
    out.portMin = num(c, m[3], 'port', 65535);
    out.portMax = m[4] !== undefined ? num(c, m[4], 'port', 65535) : out.portMin;
  }
  return out;
}

function ports(c: Cursor, s: string): { portMin: number; portMax: number } {
  const [a, b] = s.split('-');
  const portMin = num(c, a ?? '', 'port', 65535);
  return { portMin, portMax: b !== undefined ? num(c, b, 'port', 65535) : portMin };
}

/** Options a match module accepts; returns false when `opt` is not one of them. */
function matchOption(c: Cursor, m: Mutable<Match> & Record<string, unknown>, opt: string, invert: boolean): boolean {
  switch (m.kind) {
    case 'comment':
      if (opt !== '--comment') return false;
      m['comment'] = c.next(opt);
      if ((m['comment'] as string).length > 255) c.fail('IPT_BAD_ARG', 'comment may not exceed 255 characters');
      return true;
    case 'tcp':
    case 'udp':
      if (opt === '--sport' || opt === '--source-port') m['sport'] = portRange(c, c.next(opt), invert);
      else if (opt === '--dport' || opt === '--destination-port') m['dport'] = portRange(c, c.next(opt), invert);
      else if (m.kind === 'tcp' && opt === '--syn') m['tcpFlags'] = { mask: 0x17, cmp: 0x02, invert };
      else if (m.kind === 'tcp' && opt === '--tcp-flags') {
        const flag = (list: string): number => list.split(',').reduce((acc, f) => acc | (({ FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ALL: 63, NONE: 0 } as Record<string, number>)[f] ?? c.fail('IPT_BAD_ARG', `unknown TCP flag "${f}"`)), 0);
        m['tcpFlags'] = { mask: flag(c.next(opt)), cmp: flag(c.next(opt)), invert };
      } else return false;
      return true;
    case 'icmp': {
      if (opt !== '--icmp-type') return false;
      const v = c.next(opt);
      const named = ICMP_TYPES[v];
      if (named !== undefined) {
        m['type'] = named[0];
        if (named[1] !== undefined) m['code'] = named[1];
      } else {
        const [t, code] = v.split('/');
        m['type'] = num(c, t ?? '', 'icmp type', 255);
        if (code !== undefined) m['code'] = num(c, code, 'icmp code', 255);
      }
      m['invert'] = invert;
      return true;
    }
    case 'multiport': {
      const dir = opt === '--dports' || opt === '--destination-ports' ? 'dports' : opt === '--sports' || opt === '--source-ports' ? 'sports' : opt === '--ports' ? 'ports' : undefined;
      if (dir === undefined) return false;
      const list = c.next(opt).split(',').map((p) => {
        const r = portRange(c, p, false);
        return [r.min, r.max] as const;
      });
      if (list.length > 15) c.fail('IPT_BAD_ARG', 'too many ports specified (multiport takes at most 15)');
      m['dir'] = dir;
      m['ports'] = list;
      m['invert'] = invert;
      return true;
    }
    case 'mark': {
      if (opt !== '--mark') return false;
      const [v, mask] = c.next(opt).split('/');
      m['value'] = num(c, v ?? '', 'mark');
      m['mask'] = mask !== undefined ? num(c, mask, 'mark mask') : 0xffffffff;
      m['invert'] = invert;
      return true;
    }
    case 'addrtype': {
      const types = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'];
      if (opt === '--src-type' || opt === '--dst-type') {
        const t = c.next(opt).toUpperCase();
        if (!types.includes(t)) c.fail('IPT_BAD_ARG', `addrtype: unknown type "${t}"`);
        m[opt === '--src-type' ? 'src' : 'dst'] = { type: t, invert };
      } else if (opt === '--limit-iface-in') m['limitIfaceIn'] = true;
      else if (opt === '--limit-iface-out') m['limitIfaceOut'] = true;
      else return false;
      return true;
    }
    case 'conntrack':
    case 'state': {
      if ((m.kind === 'conntrack' && opt !== '--ctstate') || (m.kind === 'state' && opt !== '--state')) return false;
      const s = states(c, c.next(opt));
      m['states'] = s.states;
      m['names'] = s.names;
      m['invert'] = invert;
      return true;
    }
    case 'statistic': {
      if (opt === '--mode') {
        const mode = c.next(opt);
        if (mode !== 'random' && mode !== 'nth') c.fail('IPT_BAD_ARG', `statistic: bad mode "${mode}"`);
        m['mode'] = mode;
      } else if (opt === '--probability') {
        const p = Number(c.next(opt));
        if (!(p >= 0 && p <= 1)) c.fail('IPT_BAD_ARG', 'statistic: --probability must be between 0 and 1');
        // xt_statistic keeps the probability as a 31-bit fixed-point number (libxt_statistic: lround(0x80000000 * p)).
        m['probability'] = Math.round(0x80000000 * p);
        m['invert'] = invert;
      } else if (opt === '--every') m['every'] = num(c, c.next(opt), 'every');
      else if (opt === '--packet') m['packet'] = num(c, c.next(opt), 'packet');
      else return false;
      return true;
    }
    case 'recent': {
      if (opt === '--set' || opt === '--rcheck' || opt === '--update' || opt === '--remove') {
        m['action'] = opt.slice(2) as 'set' | 'rcheck' | 'update' | 'remove';
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
      } else if (opt === '--rsource') m['side'] = 'rsource';
      else if (opt === '--rdest') m['side'] = 'rdest';
      else return false;
      return true;
    }
    case 'set': {
      if (opt !== '--match-set') return false;
      m['name'] = c.next(opt);
      const dirs = c.next(opt).split(',');
      if (dirs.length === 0 || dirs.length > 6 || dirs.some((d) => d !== 'src' && d !== 'dst')) c.fail('IPT_BAD_ARG', `set: bad direction flags "${dirs.join(',')}"`);
      m['dirs'] = dirs as Array<'src' | 'dst'>;
      m['invert'] = invert;
      return true;
    }
    case 'physdev': {
      if (opt === '--physdev-in') m['in'] = iface(c, c.next(opt), invert);
      else if (opt === '--physdev-out') m['out'] = iface(c, c.next(opt), invert);
      else if (opt === '--physdev-is-bridged') m['isBridged'] = true;
      else if (opt === '--physdev-is-in') m['isIn'] = true;
      else if (opt === '--physdev-is-out') m['isOut'] = true;
      else return false;
      return true;
    }
  }
}

function newMatch(c: Cursor, name: string): Mutable<Match> & Record<string, unknown> {
  switch (name) {
    case 'comment': return { kind: 'comment', comment: '' };
    case 'tcp': return { kind: 'tcp' };
    case 'udp': return { kind: 'udp' };
    case 'icmp': return { kind: 'icmp', type: 255, invert: false };
    case 'multiport': return { kind: 'multiport', dir: 'ports', ports: [], invert: false };
    case 'mark': return { kind: 'mark', value: 0, mask: 0xffffffff, invert: false };
    case 'addrtype': return { kind: 'addrtype' };
    case 'conntrack': return { kind: 'conntrack', states: 0, invert: false, names: [] };
    case 'state': return { kind: 'state', states: 0, invert: false, names: [] };
    case 'statistic': return { kind: 'statistic', mode: 'random', probability: 0, invert: false };
    case 'recent': return { kind: 'recent', action: 'rcheck', name: 'DEFAULT', reap: false, rttl: false, mask: 0xffffffff, side: 'rsource', invert: false };
    case 'set': return { kind: 'set', name: '', dirs: [], invert: false };
    case 'physdev': return { kind: 'physdev' };
    default: return c.fail('IPT_UNKNOWN_MATCH', `Couldn't load match \`${name}':No such file or directory`);
  }
}

function parseTarget(c: Cursor, name: string, jump: 'jump' | 'goto', userChain: (n: string) => boolean): Target {
  if (jump === 'goto' || !BUILTIN_TARGETS.has(name)) {
    if (!userChain(name)) {
      return c.fail('IPT_UNKNOWN_TARGET', jump === 'goto' ? `goto '${name}' is not a chain` : `Couldn't load target \`${name}':No such file or directory`);
    }
    return { kind: jump, chain: name };
  }
  const opts = new Map<string, string | true>();
  while (!c.done()) {
    const o = c.peek() as string;
    if (!o.startsWith('--')) break;
    c.i++;
    const flag = o === '--random' || o === '--random-fully' || o === '--persistent' || o === '--log-tcp-sequence' || o === '--log-ip-options' || o === '--notrack';
    opts.set(o, flag ? true : c.next(o));
  }
  const str = (k: string): string | undefined => {
    const v = opts.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const known = (allowed: string[]): void => {
    for (const k of opts.keys()) if (!allowed.includes(k)) c.fail('IPT_UNKNOWN_OPTION', `${name}: unknown option "${k}"`);
  };
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      known([]);
      return { kind: name };
    case 'TRACE':
    case 'NOTRACK':
      known([]);
      return { kind: name };
    case 'REJECT': {
      known(['--reject-with']);
      const w = str('--reject-with') ?? 'icmp-port-unreachable';
      const canon = REJECT_ALIASES[w] ?? w;
      if (!REJECT_WITH.has(canon)) c.fail('IPT_BAD_ARG', `REJECT: unknown reject type "${w}"`);
      return { kind: 'REJECT', with: canon };
    }
    case 'DNAT':
    case 'SNAT': {
      const key = name === 'DNAT' ? '--to-destination' : '--to-source';
      known([key, '--random', '--random-fully', '--persistent']);
      const text = str(key);
      if (text === undefined) c.fail('IPT_BAD_ARG', `${name}: ${key} is required`);
      return { kind: name, ...natRange(c, text), random: opts.has('--random'), randomFully: opts.has('--random-fully'), persistent: opts.has('--persistent'), text };
    }
    case 'MASQUERADE': {
      known(['--to-ports', '--random', '--random-fully']);
      const p = str('--to-ports');
      return { kind: 'MASQUERADE', ...(p !== undefined ? ports(c, p) : {}), random: opts.has('--random'), randomFully: opts.has('--random-fully') };
    }
    case 'REDIRECT': {
      known(['--to-ports', '--random']);
      const p = str('--to-ports');
      return { kind: 'REDIRECT', ...(p !== undefined ? ports(c, p) : {}), random: opts.has('--random') };
    }
    case 'MARK': {
      known(['--set-mark', '--set-xmark', '--or-mark', '--and-mark', '--xor-mark']);
      if (opts.size !== 1) c.fail('IPT_BAD_ARG', 'MARK target: exactly one of --set-mark, --set-xmark, --or-mark, --and-mark, --xor-mark');
      const [k, v] = [...opts.entries()][0] as [string, string];
      const [a, b] = v.split('/');
      const value = num(c, a ?? '', 'mark');
      const mask = b !== undefined ? num(c, b, 'mark mask') : undefined;
      // Canonical --set-xmark value/mask, as the kernel stores it (libxt_MARK).
      if (k === '--set-xmark') return { kind: 'MARK', op: 'xset', value, mask: mask ?? 0xffffffff };
      if (k === '--set-mark') return { kind: 'MARK', op: 'xset', value, mask: mask !== undefined ? (mask | value) >>> 0 : 0xffffffff };
      if (k === '--or-mark') return { kind: 'MARK', op: 'xset', value, mask: value };
      if (k === '--and-mark') return { kind: 'MARK', op: 'xset', value: 0, mask: ~value >>> 0 };
      return { kind: 'MARK', op: 'xset', value, mask: 0 };
    }
    case 'LOG': {
      known(['--log-prefix', '--log-level', '--log-tcp-sequence', '--log-ip-options']);
      const prefix = str('--log-prefix');
      if (prefix !== undefined && prefix.length > 29) c.fail('IPT_BAD_ARG', 'LOG: --log-prefix is longer than 29 characters');
      const level = str('--log-level');
      return { kind: 'LOG', ...(prefix !== undefined ? { prefix } : {}), ...(level !== undefined ? { level } : {}) };
    }
  }
  return c.fail('IPT_UNKNOWN_TARGET', `Couldn't load target \`${name}'`);
}

/**
 * Parse rule arguments. `userChain(name)` says whether a user chain exists in the
 * table (for `-j NAME`/`-g NAME`).
 */
export function parseRuleSpec(args: readonly string[], userChain: (name: string) => boolean, line?: number): Rule {
  const c = new Cursor(args, line);
  const rule: Mutable<Rule> & { matches: Array<Mutable<Match> & Record<string, unknown>> } = { matches: [], target: { kind: 'none' }, packets: 0, bytes: 0 };
  let current: (Mutable<Match> & Record<string, unknown>) | undefined;
  let invert = false;
  let haveTarget = false;
  while (!c.done()) {
    const a = c.next('rule');
    if (a === '!') {
      if (invert) c.fail('IPT_PARSE', 'multiple consecutive ! not allowed');
      invert = true;
      continue;
    }
    if (haveTarget) c.fail('IPT_PARSE', `unexpected "${a}" after the target`);
    switch (a) {
      case '-s': case '--source': rule.src = addr(c, c.next(a), invert); break;
      case '-d': case '--destination': rule.dst = addr(c, c.next(a), invert); break;
      case '-i': case '--in-interface': rule.inIface = iface(c, c.next(a), invert); break;
      case '-o': case '--out-interface': rule.outIface = iface(c, c.next(a), invert); break;
      case '-p': case '--protocol': {
        const v = c.next(a).toLowerCase();
        const n = PROTOCOLS[v] ?? (/^\d+$/.test(v) ? num(c, v, 'protocol', 255) : c.fail('IPT_BAD_ARG', `unknown protocol "${v}" specified`));
        rule.proto = { num: n, name: v, invert };
        break;
      }
      case '-m': case '--match': {
        const name = c.next(a);
        if (invert) c.fail('IPT_PARSE', 'unexpected ! before -m');
        current = newMatch(c, name);
        rule.matches.push(current);
        break;
      }
      case '-j': case '--jump':
      case '-g': case '--goto': {
        if (invert) c.fail('IPT_PARSE', `cannot invert ${a}`);
        rule.target = parseTarget(c, c.next(a), a === '-g' || a === '--goto' ? 'goto' : 'jump', userChain);
        haveTarget = true;
        break;
      }
      default: {
        if (!a.startsWith('--')) c.fail('IPT_PARSE', `Bad argument \`${a}'`);
        let taken = current !== undefined && matchOption(c, current, a, invert);
        if (!taken) {
          // Implicit protocol match: `-p tcp --dport 80` loads `-m tcp` at this point.
          const p = rule.proto?.name;
          if (p === 'tcp' || p === 'udp' || p === 'icmp') {
            let m = rule.matches.find((x) => x.kind === p);
            if (m === undefined) {
              m = newMatch(c, p);
              rule.matches.push(m);
            }
            taken = matchOption(c, m, a, invert);
          }
        }
        if (!taken) c.fail('IPT_UNKNOWN_OPTION', `unknown option "${a}"`);
      }
    }
    invert = false;
  }
  if (invert) c.fail('IPT_PARSE', 'trailing !');
  for (const m of rule.matches) {
    if ((m.kind === 'tcp' || m.kind === 'udp') && rule.proto?.name !== m.kind) c.fail('IPT_BAD_ARG', `-m ${m.kind} needs \`-p ${m.kind}'`);
    if (m.kind === 'statistic' && m.mode === 'nth' && m['every'] === undefined) c.fail('IPT_BAD_ARG', 'statistic: --every is required with --mode nth');
    if (m.kind === 'comment' && m.comment === '') c.fail('IPT_BAD_ARG', 'comment: --comment is required');
    if (m.kind === 'set' && m.name === '') c.fail('IPT_BAD_ARG', 'set: --match-set is required');
  }
  return rule;
}

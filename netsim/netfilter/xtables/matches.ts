/**
 * The `-m` match modules the emulator knows: their options, the defaults iptables
 * fills in, and the checks libxtables makes. Each module turns its options into
 * one typed {@link Match}; rendering lives in render-rule.ts, evaluation in
 * compile.ts.
 */
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT, CT_UNTRACKED } from '../eval-types.ts';
import { argError } from './errors.ts';
import type { IfaceMatch, Match, PortRange, RecentCommand } from './model.ts';
import { parseAddrMask, parseDec, parseIface, parseMarkMask, parsePortRange } from './values.ts';

/** Reads the arguments of the option being parsed. */
export interface ArgReader {
  /** The next argument; throws `option "--x" requires an argument` when there is none. */
  next(opt: string): string;
}

/** What a module may know about the rule it sits in. */
export interface RuleFacts {
  readonly proto: number;
  readonly protoInvert: boolean;
  /** Whether ipset NAME exists (undefined: no ipset attached, every name is accepted). */
  readonly setExists: ((name: string) => boolean) | undefined;
}

export interface MatchDraft {
  /** Consume one option (already known to be accepted); `invert` when `!` preceded it. */
  option(opt: string, invert: boolean, args: ArgReader): void;
  /** Check and build the match. */
  finish(facts: RuleFacts): Match;
}

export interface MatchModule {
  readonly name: string;
  readonly options: ReadonlySet<string>;
  create(): MatchDraft;
}

function noInvert(mod: string, opt: string, invert: boolean): void {
  if (invert) throw argError('IPT_BAD_ARG', `${mod}: option "${opt}" cannot be inverted.`);
}

function once(seen: Set<string>, mod: string, opt: string): void {
  if (seen.has(opt)) throw argError('IPT_BAD_ARG', `${mod}: option "${opt}" can only be used once.`);
  seen.add(opt);
}

// ---------------------------------------------------------------- tcp / udp

const TCP_FLAG_BITS: Record<string, number> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ALL: 0x3f, NONE: 0 };

function parseTcpFlags(s: string): number {
  let v = 0;
  for (const f of s.split(',')) {
    const b = TCP_FLAG_BITS[f.toUpperCase()];
    if (b === undefined) throw argError('IPT_BAD_ARG', `Unknown TCP flag \`${f}'`);
    v |= b;
  }
  return v;
}

const PORT_ALIASES: Record<string, string> = {
  '--sport': '--sport', '--source-port': '--sport', '--dport': '--dport', '--destination-port': '--dport',
};

function tcpUdpModule(kind: 'tcp' | 'udp'): MatchModule {
  const options = new Set(Object.keys(PORT_ALIASES));
  if (kind === 'tcp') {
    options.add('--tcp-flags');
    options.add('--syn');
  }
  return {
    name: kind,
    options,
    create() {
      let sport: PortRange | undefined;
      let dport: PortRange | undefined;
      let sportInvert = false;
      let dportInvert = false;
      let flags: { mask: number; comp: number; invert: boolean } | undefined;
      const seen = new Set<string>();
      return {
        option(opt, invert, args) {
          const canon = PORT_ALIASES[opt] ?? opt;
          if (canon === '--syn' || canon === '--tcp-flags') {
            once(seen, kind, '--tcp-flags');
            if (canon === '--syn') flags = { mask: 0x17, comp: 0x02, invert };
            else flags = { mask: parseTcpFlags(args.next(opt)), comp: parseTcpFlags(args.next(opt)), invert };
            return;
          }
          once(seen, kind, canon);
          const r = parsePortRange(args.next(opt));
          if (canon === '--sport') { sport = r; sportInvert = invert; } else { dport = r; dportInvert = invert; }
        },
        finish(facts) {
          const want = kind === 'tcp' ? 6 : 17;
          if (facts.proto !== want || facts.protoInvert) {
            throw argError('IPT_BAD_ARG', `${kind} match: requires \`-p ${kind}'`);
          }
          // iptables-nft drops a full range: it matches every packet.
          const full = (r: PortRange | undefined, inv: boolean) => r !== undefined && r.min === 0 && r.max === 65535 && !inv;
          if (full(sport, sportInvert)) sport = undefined;
          if (full(dport, dportInvert)) dport = undefined;
          return { kind, ...(sport ? { sport } : {}), sportInvert, ...(dport ? { dport } : {}), dportInvert, ...(flags ? { flags } : {}) };
        },
      };
    },
  };
}

// ---------------------------------------------------------------- icmp

/** Named ICMP types as libxt_icmp knows them: [type, codeMin, codeMax]. */
const ICMP_NAMES: Record<string, readonly [number, number, number]> = {
  'any': [0xff, 0, 0xff], 'echo-reply': [0, 0, 0xff], 'destination-unreachable': [3, 0, 0xff],
  'network-unreachable': [3, 0, 0], 'host-unreachable': [3, 1, 1], 'protocol-unreachable': [3, 2, 2],
  'port-unreachable': [3, 3, 3], 'fragmentation-needed': [3, 4, 4], 'source-route-failed': [3, 5, 5],
  'network-unknown': [3, 6, 6], 'host-unknown': [3, 7, 7], 'network-prohibited': [3, 9, 9],
  'host-prohibited': [3, 10, 10], 'TOS-network-unreachable': [3, 11, 11], 'TOS-host-unreachable': [3, 12, 12],
  'communication-prohibited': [3, 13, 13], 'host-precedence-violation': [3, 14, 14], 'precedence-cutoff': [3, 15, 15],
  'source-quench': [4, 0, 0xff], 'redirect': [5, 0, 0xff], 'network-redirect': [5, 0, 0], 'host-redirect': [5, 1, 1],
  'TOS-network-redirect': [5, 2, 2], 'TOS-host-redirect': [5, 3, 3], 'echo-request': [8, 0, 0xff],
  'router-advertisement': [9, 0, 0xff], 'router-solicitation': [10, 0, 0xff], 'time-exceeded': [11, 0, 0xff],
  'ttl-zero-during-transit': [11, 0, 0], 'ttl-zero-during-reassembly': [11, 1, 1], 'parameter-problem': [12, 0, 0xff],
  'ip-header-bad': [12, 0, 0], 'required-option-missing': [12, 1, 1], 'timestamp-request': [13, 0, 0xff],
  'timestamp-reply': [14, 0, 0xff], 'address-mask-request': [17, 0, 0xff], 'address-mask-reply': [18, 0, 0xff],
};

function parseIcmpType(s: string): readonly [number, number, number] {
  const named = ICMP_NAMES[s];
  if (named) return named;
  const m = /^([0-9]+)(?:\/([0-9]+))?$/.exec(s);
  const type = m ? parseDec(m[1] as string, 255) : undefined;
  const code = m?.[2] !== undefined ? parseDec(m[2], 255) : undefined;
  if (type === undefined || (m?.[2] !== undefined && code === undefined)) {
    throw argError('IPT_BAD_ARG', `Invalid ICMP type \`${s}'`);
  }
  return code === undefined ? [type, 0, 0xff] : [type, code, code];
}

const icmpModule: MatchModule = {
  name: 'icmp',
  options: new Set(['--icmp-type']),
  create() {
    let t: readonly [number, number, number] = [0xff, 0, 0xff];
    let inv = false;
    return {
      option(opt, invert, args) {
        t = parseIcmpType(args.next(opt));
        inv = invert;
      },
      finish(facts) {
        if (facts.proto !== 1 || facts.protoInvert) throw argError('IPT_BAD_ARG', 'icmp match: requires `-p icmp\'');
        return { kind: 'icmp', type: t[0], codeMin: t[1], codeMax: t[2], invert: inv };
      },
    };
  },
};

// ---------------------------------------------------------------- multiport

const MULTIPORT_OPTS: Record<string, 'src' | 'dst' | 'any'> = {
  '--sports': 'src', '--source-ports': 'src', '--dports': 'dst', '--destination-ports': 'dst', '--ports': 'any',
};

/** XT_MULTI_PORTS: a range counts as two. */
const MULTIPORT_MAX = 15;

const multiportModule: MatchModule = {
  name: 'multiport',
  options: new Set(Object.keys(MULTIPORT_OPTS)),
  create() {
    let dir: 'src' | 'dst' | 'any' | undefined;
    let ports: PortRange[] = [];
    let inv = false;
    return {
      option(opt, invert, args) {
        if (dir !== undefined) throw argError('IPT_BAD_ARG', 'multiport can only have one option');
        dir = MULTIPORT_OPTS[opt] as 'src' | 'dst' | 'any';
        inv = invert;
        ports = args.next(opt).split(',').map((p) => parsePortRange(p));
        const slots = ports.reduce((n, r) => n + (r.min === r.max ? 1 : 2), 0);
        if (slots > MULTIPORT_MAX) throw argError('IPT_BAD_ARG', 'too many ports specified');
      },
      finish(facts) {
        if (dir === undefined) throw argError('IPT_BAD_ARG', 'multiport expects an option');
        if (facts.protoInvert || ![6, 17, 132, 33, 136].includes(facts.proto)) {
          throw argError('IPT_BAD_ARG', "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'");
        }
        return { kind: 'multiport', dir, ports, invert: inv };
      },
    };
  },
};

// ---------------------------------------------------------------- comment

const commentModule: MatchModule = {
  name: 'comment',
  options: new Set(['--comment']),
  create() {
    let text: string | undefined;
    return {
      option(opt, invert, args) {
        noInvert('comment', opt, invert);
        text = args.next(opt);
        if (text.length > 255) throw argError('IPT_BAD_ARG', `comment: option "--comment" must be no more than 255 characters`);
      },
      finish() {
        if (text === undefined) throw argError('IPT_BAD_ARG', 'comment: option "--comment" must be specified');
        return { kind: 'comment', text };
      },
    };
  },
};

// ---------------------------------------------------------------- mark

const markModule: MatchModule = {
  name: 'mark',
  options: new Set(['--mark']),
  create() {
    let v: { value: number; mask: number } | undefined;
    let inv = false;
    return {
      option(opt, invert, args) {
        v = parseMarkMask(args.next(opt));
        inv = invert;
      },
      finish() {
        if (v === undefined) throw argError('IPT_BAD_ARG', 'mark: option "--mark" must be specified');
        return { kind: 'mark', value: (v.value & v.mask) >>> 0, mask: v.mask, invert: inv };
      },
    };
  },
};

// ---------------------------------------------------------------- addrtype

/** rtn types as xt_addrtype bits, in the order libxt_addrtype prints them. */
export const ADDRTYPE_NAMES = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'] as const;

function parseAddrTypes(s: string): number {
  let bits = 0;
  for (const n of s.split(',')) {
    const i = ADDRTYPE_NAMES.indexOf(n.toUpperCase() as (typeof ADDRTYPE_NAMES)[number]);
    if (i < 0) throw argError('IPT_BAD_ARG', `addrtype: bad type "${n}"`);
    bits |= 1 << i;
  }
  return bits;
}

const addrtypeModule: MatchModule = {
  name: 'addrtype',
  options: new Set(['--src-type', '--dst-type', '--limit-iface-in', '--limit-iface-out']),
  create() {
    let srcTypes = 0, dstTypes = 0, srcInvert = false, dstInvert = false, limitIfaceIn = false, limitIfaceOut = false;
    return {
      option(opt, invert, args) {
        if (opt === '--src-type') { srcTypes = parseAddrTypes(args.next(opt)); srcInvert = invert; }
        else if (opt === '--dst-type') { dstTypes = parseAddrTypes(args.next(opt)); dstInvert = invert; }
        else {
          noInvert('addrtype', opt, invert);
          if (opt === '--limit-iface-in') limitIfaceIn = true; else limitIfaceOut = true;
        }
      },
      finish() {
        if (srcTypes === 0 && dstTypes === 0) throw argError('IPT_BAD_ARG', 'addrtype: you must specify --src-type or --dst-type');
        if (limitIfaceIn && limitIfaceOut) throw argError('IPT_BAD_ARG', 'addrtype: you can\'t specify both --limit-iface-in and --limit-iface-out');
        return { kind: 'addrtype', srcTypes, srcInvert, dstTypes, dstInvert, limitIfaceIn, limitIfaceOut };
      },
    };
  },
};

// ---------------------------------------------------------------- conntrack / state

/** Conntrack states in the order libxt_conntrack prints them. */
export const CT_STATE_ORDER: readonly (readonly [string, number])[] = [
  ['INVALID', CT_INVALID], ['NEW', CT_NEW], ['RELATED', CT_RELATED], ['ESTABLISHED', CT_ESTABLISHED],
  ['UNTRACKED', CT_UNTRACKED], ['SNAT', CT_SNAT], ['DNAT', CT_DNAT],
];

function parseStates(s: string, mod: string, allowNat: boolean): number {
  let bits = 0;
  for (const n of s.split(',')) {
    const e = CT_STATE_ORDER.find(([name]) => name === n.toUpperCase());
    if (!e || (!allowNat && (e[1] === CT_SNAT || e[1] === CT_DNAT))) throw argError('IPT_BAD_ARG', `${mod}: Bad ctstate "${n}"`);
    bits |= e[1];
  }
  return bits;
}

function stateModule(kind: 'conntrack' | 'state'): MatchModule {
  const opt0 = kind === 'conntrack' ? '--ctstate' : '--state';
  return {
    name: kind,
    options: new Set([opt0]),
    create() {
      let states: number | undefined;
      let inv = false;
      return {
        option(opt, invert, args) {
          states = parseStates(args.next(opt), kind, kind === 'conntrack');
          inv = invert;
        },
        finish() {
          if (states === undefined) throw argError('IPT_BAD_ARG', `${kind}: At least one option is required`);
          return { kind, states, invert: inv };
        },
      };
    },
  };
}

// ---------------------------------------------------------------- statistic

/** xt_statistic keeps the probability as round(p × 2^31) (libxt_statistic uses lround). */
export function probabilityToFixed(p: number): number {
  return Math.round(0x80000000 * p);
}

const statisticModule: MatchModule = {
  name: 'statistic',
  options: new Set(['--mode', '--probability', '--every', '--packet']),
  create() {
    let mode: 'random' | 'nth' | undefined;
    let probability: number | undefined;
    let every: number | undefined;
    let packet: number | undefined;
    let inv = false;
    return {
      option(opt, invert, args) {
        const a = args.next(opt);
        if (opt === '--mode') {
          noInvert('statistic', opt, invert);
          if (a !== 'random' && a !== 'nth') throw argError('IPT_BAD_ARG', `statistic: Bad mode "${a}"`);
          mode = a;
        } else if (opt === '--probability') {
          const p = /^[0-9]*\.?[0-9]*(?:[eE][-+]?[0-9]+)?$/.test(a) && a !== '' && a !== '.' ? Number(a) : NaN;
          if (!(p >= 0 && p <= 1)) throw argError('IPT_BAD_ARG', `statistic: option "--probability" must be between 0 and 1`);
          probability = probabilityToFixed(p);
          if (invert) inv = true;
        } else if (opt === '--every') {
          const v = parseDec(a, 0xffffffff);
          if (v === undefined || v === 0) throw argError('IPT_BAD_ARG', `statistic: Bad value for option "--every"`);
          every = v;
          if (invert) inv = true;
        } else {
          noInvert('statistic', opt, invert);
          const v = parseDec(a, 0xffffffff);
          if (v === undefined) throw argError('IPT_BAD_ARG', `statistic: Bad value for option "--packet"`);
          packet = v;
        }
      },
      finish() {
        if (mode === undefined) throw argError('IPT_BAD_ARG', 'statistic: option "--mode" must be specified');
        if (mode === 'random') {
          if (probability === undefined) throw argError('IPT_BAD_ARG', 'statistic: option "--mode random" also requires "--probability".');
          if (every !== undefined || packet !== undefined) throw argError('IPT_BAD_ARG', 'statistic: "--every" and "--packet" need "--mode nth"');
          return { kind: 'statistic', mode, probability, every: 0, packet: 0, invert: inv };
        }
        if (every === undefined) throw argError('IPT_BAD_ARG', 'statistic: option "--mode nth" also requires "--every".');
        if (packet === undefined) throw argError('IPT_BAD_ARG', 'statistic: option "--every" also requires "--packet".');
        if (probability !== undefined) throw argError('IPT_BAD_ARG', 'statistic: "--probability" needs "--mode random"');
        if (packet >= every) throw argError('IPT_BAD_ARG', 'statistic: the --packet p must be 0 <= p <= n-1');
        return { kind: 'statistic', mode, probability: 0, every, packet, invert: inv };
      },
    };
  },
};

// ---------------------------------------------------------------- recent

/** xt_recent's name limit (XT_RECENT_NAME_LEN − 1). */
const RECENT_NAME_MAX = 199;
/** ip_pkt_list_tot: timestamps kept per address. */
export const RECENT_PKT_LIST_TOT = 20;

const recentModule: MatchModule = {
  name: 'recent',
  options: new Set(['--set', '--rcheck', '--update', '--remove', '--seconds', '--reap', '--hitcount', '--rttl', '--name', '--rsource', '--rdest', '--mask']),
  create() {
    let command: RecentCommand | undefined;
    let inv = false;
    let seconds = 0, hitcount = 0, reap = false, rttl = false, name = 'DEFAULT', mask = 0xffffffff;
    let side: 'src' | 'dst' = 'src';
    return {
      option(opt, invert, args) {
        switch (opt) {
          case '--set': case '--rcheck': case '--update': case '--remove':
            if (command !== undefined) throw argError('IPT_BAD_ARG', 'recent: only one of `--set\', `--rcheck\' `--update\' or `--remove\' may be set');
            command = opt.slice(2) as RecentCommand;
            inv = invert;
            return;
          case '--seconds': {
            const v = parseDec(args.next(opt), 0xffffffff);
            if (v === undefined) throw argError('IPT_BAD_ARG', 'recent: Bad value for option "--seconds"');
            seconds = v;
            break;
          }
          case '--hitcount': {
            const v = parseDec(args.next(opt), 0xffffffff);
            if (v === undefined) throw argError('IPT_BAD_ARG', 'recent: Bad value for option "--hitcount"');
            if (v > RECENT_PKT_LIST_TOT) throw argError('IPT_BAD_ARG', `recent: hitcount (${v}) is larger than packets to be remembered (${RECENT_PKT_LIST_TOT})`);
            hitcount = v;
            break;
          }
          case '--reap': reap = true; break;
          case '--rttl': rttl = true; break;
          case '--name':
            name = args.next(opt);
            if (name.length === 0 || name.length > RECENT_NAME_MAX) throw argError('IPT_BAD_ARG', 'recent: Bad value for option "--name"');
            break;
          case '--rsource': side = 'src'; break;
          case '--rdest': side = 'dst'; break;
          case '--mask': {
            const a = args.next(opt);
            const m = parseAddrMask(a);
            if (a.includes('/')) throw argError('IPT_BAD_ARG', `recent: Bad value for option "--mask"`);
            mask = m.addr;
            break;
          }
        }
        noInvert('recent', opt, invert);
      },
      finish() {
        if (command === undefined) throw argError('IPT_BAD_ARG', 'recent: you must specify one of `--set\', `--rcheck\' `--update\' or `--remove\'');
        if (reap && seconds === 0) throw argError('IPT_BAD_ARG', 'recent: --reap requires --seconds');
        if (command === 'set' || command === 'remove') {
          if (seconds !== 0 || hitcount !== 0 || reap) throw argError('IPT_BAD_ARG', 'recent: --seconds, --hitcount and --reap need --rcheck or --update');
        }
        return { kind: 'recent', command, invert: inv, seconds, reap, hitcount, rttl, name, mask, side };
      },
    };
  },
};

// ---------------------------------------------------------------- set

const setModule: MatchModule = {
  name: 'set',
  options: new Set(['--match-set', '--set']),
  create() {
    let name: string | undefined;
    let dirs: ('src' | 'dst')[] = [];
    let inv = false;
    return {
      option(opt, invert, args) {
        if (name !== undefined) throw argError('IPT_BAD_ARG', 'set: --match-set can be specified only once');
        name = args.next(opt);
        const flags = args.next(opt).split(',');
        if (flags.length > 6 || flags.some((f) => f !== 'src' && f !== 'dst')) {
          throw argError('IPT_BAD_ARG', `set: You must specify (the comma separated list of) 'src' or 'dst'`);
        }
        dirs = flags as ('src' | 'dst')[];
        inv = invert;
      },
      finish(facts) {
        if (name === undefined) throw argError('IPT_BAD_ARG', 'set: You must specify `--match-set\' with proper arguments');
        if (facts.setExists && !facts.setExists(name)) throw argError('IPT_NO_SET', `Set ${name} doesn't exist.`);
        return { kind: 'set', name, dirs, invert: inv };
      },
    };
  },
};

// ---------------------------------------------------------------- physdev

const physdevModule: MatchModule = {
  name: 'physdev',
  options: new Set(['--physdev-in', '--physdev-out', '--physdev-is-in', '--physdev-is-out', '--physdev-is-bridged']),
  create() {
    let physIn: IfaceMatch | undefined, physOut: IfaceMatch | undefined;
    let isIn: boolean | undefined, isOut: boolean | undefined, isBridged: boolean | undefined;
    let isInInvert = false, isOutInvert = false, isBridgedInvert = false;
    return {
      option(opt, invert, args) {
        switch (opt) {
          case '--physdev-in': physIn = { name: parseIface(args.next(opt)), invert }; break;
          case '--physdev-out': physOut = { name: parseIface(args.next(opt)), invert }; break;
          case '--physdev-is-in': isIn = true; isInInvert = invert; break;
          case '--physdev-is-out': isOut = true; isOutInvert = invert; break;
          default: isBridged = true; isBridgedInvert = invert;
        }
      },
      finish() {
        if (!physIn && !physOut && !isIn && !isOut && !isBridged) throw argError('IPT_BAD_ARG', 'PHYSDEV: no physdev option specified');
        return {
          kind: 'physdev', ...(physIn ? { physIn } : {}), ...(physOut ? { physOut } : {}),
          ...(isIn ? { isIn } : {}), ...(isOut ? { isOut } : {}), ...(isBridged ? { isBridged } : {}),
          isInInvert, isOutInvert, isBridgedInvert,
        };
      },
    };
  },
};

/** Explicit registry of the match modules (`-m NAME`). */
export const MATCH_MODULES: ReadonlyMap<string, MatchModule> = new Map(
  [tcpUdpModule('tcp'), tcpUdpModule('udp'), icmpModule, multiportModule, commentModule, markModule, addrtypeModule,
    stateModule('conntrack'), stateModule('state'), statisticModule, recentModule, setModule, physdevModule].map((m) => [m.name, m]),
);

/** The protocol match `-p NAME` loads implicitly for an option it knows (libxtables' proto fallback). */
export function implicitProtoModule(proto: number): MatchModule | undefined {
  return proto === 6 ? MATCH_MODULES.get('tcp') : proto === 17 ? MATCH_MODULES.get('udp') : proto === 1 ? MATCH_MODULES.get('icmp') : undefined;
}

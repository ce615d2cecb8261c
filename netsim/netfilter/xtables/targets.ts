/**
 * The `-j` targets the emulator knows: their options, defaults and checks. A name
 * that is neither a known target nor a chain is an error: real targets the
 * emulator does not model (TPROXY, NFQUEUE, …) give IPT_UNKNOWN_TARGET, anything
 * else is taken as a chain name and must exist by COMMIT.
 */
import { tryParseIpv4 } from '../../wire/addr.ts';
import { argError } from './errors.ts';
import type { ArgReader } from './matches.ts';
import type { NatRange, RejectWith, TableName, Target } from './model.ts';
import { LOG_IPOPT, LOG_MACDECODE, LOG_TCPOPT, LOG_TCPSEQ, LOG_UID } from './model.ts';
import { parseMarkMask, parsePort, parseUInt } from './values.ts';

export interface TargetFacts {
  readonly table: TableName;
  readonly proto: number;
  readonly protoInvert: boolean;
}

export interface TargetDraft {
  option(opt: string, invert: boolean, args: ArgReader): void;
  finish(facts: TargetFacts): Target;
}

export interface TargetModule {
  readonly name: string;
  readonly options: ReadonlySet<string>;
  create(): TargetDraft;
}

function noOptions(name: string, build: (f: TargetFacts) => Target): TargetModule {
  return { name, options: new Set(), create: () => ({ option() {}, finish: build }) };
}

function onlyTable(target: string, table: TableName, f: TargetFacts): void {
  if (f.table !== table) throw argError('IPT_BAD_ARG', `${target} target: only valid in ${table} table, not ${f.table}`);
}

function notNatTable(target: string, f: TargetFacts): void {
  if (f.table === 'nat') {
    throw argError('IPT_BAD_ARG', `\nThe "nat" table is not intended for filtering, the use of ${target} is therefore inhibited.\n`);
  }
}

// ---------------------------------------------------------------- REJECT

const REJECT_TYPES: Record<string, RejectWith> = {
  'icmp-net-unreachable': 'icmp-net-unreachable', 'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable', 'host-unreach': 'icmp-host-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable', 'proto-unreach': 'icmp-proto-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable', 'port-unreach': 'icmp-port-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited', 'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited', 'host-prohib': 'icmp-host-prohibited',
  'icmp-admin-prohibited': 'icmp-admin-prohibited', 'admin-prohib': 'icmp-admin-prohibited',
  'tcp-reset': 'tcp-reset', 'tcp-rst': 'tcp-reset',
};

const rejectTarget: TargetModule = {
  name: 'REJECT',
  options: new Set(['--reject-with']),
  create() {
    let w: RejectWith = 'icmp-port-unreachable';
    return {
      option(opt, _invert, args) {
        const a = args.next(opt);
        const t = REJECT_TYPES[a];
        if (!t) throw argError('IPT_BAD_ARG', `unknown reject type "${a}"`);
        w = t;
      },
      finish(f) {
        notNatTable('REJECT', f);
        if (w === 'tcp-reset' && (f.proto !== 6 || f.protoInvert)) throw argError('IPT_BAD_ARG', 'REJECT: TCP RST can only be used with -p tcp');
        return { kind: 'REJECT', with: w };
      },
    };
  },
};

// ---------------------------------------------------------------- DNAT / SNAT / MASQUERADE / REDIRECT

const PORT_PROTOS = [6, 17, 132, 33, 136];

function needPortProto(f: TargetFacts): void {
  if (f.protoInvert || !PORT_PROTOS.includes(f.proto)) throw argError('IPT_BAD_ARG', 'Need TCP, UDP, SCTP or DCCP with port specification');
}

/** `ip[-ip][:port[-port]]`. */
function parseNatRange(s: string): NatRange {
  const colon = s.indexOf(':');
  const addrs = colon < 0 ? s : s.slice(0, colon);
  const bad = () => argError('IPT_BAD_ARG', `Bad IP address "${addrs}"`);
  let r: { addrMin?: number; addrMax?: number; portMin?: number; portMax?: number } = {};
  if (addrs !== '') {
    const dash = addrs.indexOf('-');
    const lo = tryParseIpv4(dash < 0 ? addrs : addrs.slice(0, dash));
    const hi = dash < 0 ? lo : tryParseIpv4(addrs.slice(dash + 1));
    if (lo === undefined || hi === undefined) throw bad();
    if (hi < lo) throw argError('IPT_BAD_ARG', `Bad IP range "${addrs}"`);
    r = { addrMin: lo, addrMax: hi };
  }
  if (colon >= 0) {
    const ps = s.slice(colon + 1);
    const dash = ps.indexOf('-');
    const lo = parsePort(dash < 0 ? ps : ps.slice(0, dash));
    const hi = dash < 0 ? lo : parsePort(ps.slice(dash + 1));
    if (hi < lo) throw argError('IPT_BAD_ARG', `Invalid port range "${ps}"`);
    r = { ...r, portMin: lo, portMax: hi };
  }
  return r;
}

function natTarget(kind: 'DNAT' | 'SNAT'): TargetModule {
  const toOpt = kind === 'DNAT' ? '--to-destination' : '--to-source';
  const opts = [toOpt, '--to', '--random', '--persistent'];
  if (kind === 'SNAT') opts.push('--random-fully');
  return {
    name: kind,
    options: new Set(opts),
    create() {
      let range: NatRange | undefined;
      let random = false, randomFully = false, persistent = false;
      return {
        option(opt, _invert, args) {
          if (opt === toOpt || opt === '--to') {
            if (range !== undefined) throw argError('IPT_BAD_ARG', `${kind}: Multiple --${kind === 'DNAT' ? 'to-destination' : 'to-source'} not supported`);
            range = parseNatRange(args.next(opt));
          } else if (opt === '--random') random = true;
          else if (opt === '--random-fully') randomFully = true;
          else persistent = true;
        },
        finish(f) {
          onlyTable(kind, 'nat', f);
          if (range === undefined) throw argError('IPT_BAD_ARG', `${kind}: option "${toOpt}" must be specified`);
          if (range.portMin !== undefined) needPortProto(f);
          return { kind, range, random, randomFully, persistent };
        },
      };
    },
  };
}

function portsTarget(kind: 'MASQUERADE' | 'REDIRECT'): TargetModule {
  const opts = ['--to-ports', '--random'];
  if (kind === 'MASQUERADE') opts.push('--random-fully');
  return {
    name: kind,
    options: new Set(opts),
    create() {
      let portMin: number | undefined, portMax: number | undefined;
      let random = false, randomFully = false;
      return {
        option(opt, _invert, args) {
          if (opt === '--to-ports') {
            const r = parseNatRange(`:${args.next(opt)}`);
            portMin = r.portMin;
            portMax = r.portMax;
          } else if (opt === '--random') random = true;
          else randomFully = true;
        },
        finish(f) {
          onlyTable(kind, 'nat', f);
          if (portMin !== undefined) needPortProto(f);
          return { kind, ...(portMin !== undefined ? { portMin, portMax: portMax as number } : {}), random, randomFully };
        },
      };
    },
  };
}

// ---------------------------------------------------------------- MARK / CONNMARK

/** libxt_MARK revision 2: every form becomes --set-xmark value/mask. */
function markForm(opt: string, arg: string): { value: number; mask: number } | undefined {
  const vm = parseMarkMask(arg);
  switch (opt) {
    case '--set-xmark': return vm;
    case '--set-mark': return { value: vm.value, mask: (vm.mask | vm.value) >>> 0 };
    case '--and-mark': return { value: 0, mask: ~vm.value >>> 0 };
    case '--or-mark': return { value: vm.value, mask: vm.value };
    case '--xor-mark': return { value: vm.value, mask: 0 };
    default: return undefined;
  }
}

const markTarget: TargetModule = {
  name: 'MARK',
  options: new Set(['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark']),
  create() {
    let v: { value: number; mask: number } | undefined;
    return {
      option(opt, _invert, args) {
        if (v !== undefined) throw argError('IPT_BAD_ARG', 'MARK target: Can specify only one action');
        v = markForm(opt, args.next(opt));
      },
      finish() {
        if (v === undefined) throw argError('IPT_BAD_ARG', 'MARK target: Parameter --set/and/or/xor-mark is required');
        return { kind: 'MARK', value: v.value, mask: v.mask };
      },
    };
  },
};

const connmarkTarget: TargetModule = {
  name: 'CONNMARK',
  options: new Set(['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark', '--save-mark', '--restore-mark', '--nfmask', '--ctmask', '--mask']),
  create() {
    let set: { value: number; mask: number } | undefined;
    let mode: 'save' | 'restore' | undefined;
    let nfmask = 0xffffffff, ctmask = 0xffffffff;
    return {
      option(opt, _invert, args) {
        if (opt === '--save-mark' || opt === '--restore-mark') mode = opt === '--save-mark' ? 'save' : 'restore';
        else if (opt === '--nfmask' || opt === '--ctmask' || opt === '--mask') {
          const v = parseUInt(args.next(opt));
          if (v === undefined) throw argError('IPT_BAD_ARG', `CONNMARK: Bad value for option "${opt}"`);
          if (opt !== '--ctmask') nfmask = v;
          if (opt !== '--nfmask') ctmask = v;
        } else set = markForm(opt, args.next(opt));
      },
      finish() {
        if (set !== undefined && mode === undefined) return { kind: 'CONNMARK', mode: 'set', value: set.value, mask: set.mask };
        if (mode !== undefined && set === undefined) return { kind: 'CONNMARK', mode, nfmask, ctmask };
        throw argError('IPT_BAD_ARG', 'CONNMARK target: No operation specified');
      },
    };
  },
};

// ---------------------------------------------------------------- LOG

const LOG_LEVELS: Record<string, number> = { emerg: 0, alert: 1, crit: 2, err: 3, error: 3, warning: 4, warn: 4, notice: 5, info: 6, debug: 7, panic: 0 };
const LOG_FLAG_OPTS: Record<string, number> = {
  '--log-tcp-sequence': LOG_TCPSEQ, '--log-tcp-options': LOG_TCPOPT, '--log-ip-options': LOG_IPOPT, '--log-uid': LOG_UID, '--log-macdecode': LOG_MACDECODE,
};

const logTarget: TargetModule = {
  name: 'LOG',
  options: new Set(['--log-prefix', '--log-level', ...Object.keys(LOG_FLAG_OPTS)]),
  create() {
    let prefix = '', level = 4, flags = 0;
    return {
      option(opt, _invert, args) {
        if (opt === '--log-prefix') {
          prefix = args.next(opt);
          if (prefix.length > 29) throw argError('IPT_BAD_ARG', 'Maximum prefix length 29 for --log-prefix');
        } else if (opt === '--log-level') {
          const a = args.next(opt);
          const n = /^[0-7]$/.test(a) ? Number(a) : LOG_LEVELS[a.toLowerCase()];
          if (n === undefined) throw argError('IPT_BAD_ARG', `log-level \`${a}' unknown`);
          level = n;
        } else flags |= LOG_FLAG_OPTS[opt] as number;
      },
      finish: () => ({ kind: 'LOG', prefix, level, flags }),
    };
  },
};

// ---------------------------------------------------------------- raw-table targets

const ctTarget: TargetModule = {
  name: 'CT',
  options: new Set(['--notrack']),
  create() {
    let notrack = false;
    return {
      option() { notrack = true; },
      finish(f) {
        onlyTable('CT', 'raw', f);
        if (!notrack) throw argError('IPT_UNKNOWN_TARGET', 'CT: only --notrack is modelled');
        return { kind: 'CT', notrack: true };
      },
    };
  },
};

/** Explicit registry of the targets (`-j NAME`). */
export const TARGET_MODULES: ReadonlyMap<string, TargetModule> = new Map(
  [
    noOptions('ACCEPT', () => ({ kind: 'ACCEPT' })),
    noOptions('DROP', (f) => { notNatTable('DROP', f); return { kind: 'DROP' }; }),
    noOptions('RETURN', () => ({ kind: 'RETURN' })),
    noOptions('TRACE', (f) => { onlyTable('TRACE', 'raw', f); return { kind: 'TRACE' }; }),
    noOptions('NOTRACK', (f) => { onlyTable('NOTRACK', 'raw', f); return { kind: 'NOTRACK' }; }),
    rejectTarget, natTarget('DNAT'), natTarget('SNAT'), portsTarget('MASQUERADE'), portsTarget('REDIRECT'),
    markTarget, connmarkTarget, logTarget, ctTarget,
  ].map((t) => [t.name, t]),
);

/** Real xtables targets the emulator does not model (an error, never taken for a chain name). */
export const UNMODELLED_TARGETS: ReadonlySet<string> = new Set([
  'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CLUSTERIP', 'CONNSECMARK', 'DSCP', 'ECN', 'HMARK', 'IDLETIMER', 'LED', 'NETMAP',
  'NFLOG', 'NFQUEUE', 'QUEUE', 'RATEEST', 'SECMARK', 'SET', 'SYNPROXY', 'TCPMSS', 'TCPOPTSTRIP', 'TEE', 'TOS', 'TPROXY', 'TTL', 'ULOG',
]);

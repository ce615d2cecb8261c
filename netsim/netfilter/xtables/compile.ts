/**
 * Chains compiled for evaluation. Each rule becomes a CompiledRule (core fields as
 * numbers, extension matches as small predicates, the target as a code plus
 * pre-built data), and each chain gets indexed dispatch: a run of consecutive rules
 * whose only tests are `-d ADDR/32 -p P --dport N` (plus comments) — or only
 * `-p P --dport N` — becomes a hash lookup from (dst, proto, dport) to the first
 * rule of the run that matches, so KUBE-SERVICES and KUBE-NODEPORTS cost O(1)
 * while the evaluator still counts every rule a kernel would have walked.
 */
import type { Packet } from '../../packet/packet.ts';
import type { AddrType, EvalContext, NatRequest, TableName } from '../eval-types.ts';
import { ADDRTYPE_NAMES } from './matches.ts';
import type { Chain, IfaceMatch, Match, Rule, Table } from './model.ts';
import type { PacketFields } from './packet-fields.ts';
import type { RecentState } from './recent.ts';

export type Pred = (pf: PacketFields, pkt: Packet, ctx: EvalContext) => boolean;

export const T_NONE = 0;
export const T_ACCEPT = 1;
export const T_DROP = 2;
export const T_RETURN = 3;
export const T_JUMP = 4;
export const T_GOTO = 5;
export const T_REJECT = 6;
export const T_NAT = 7;
export const T_MARK = 8;
export const T_CONNMARK_SET = 9;
export const T_CONNMARK_SAVE = 10;
export const T_CONNMARK_RESTORE = 11;
export const T_LOG = 12;
export const T_NOTRACK = 13;
export const T_TRACE = 14;

const EMPTY_PREDS: Pred[] = [];

export class CompiledRule {
  /** Core tests: -s/-d as (addr, mask) with invert; -p. */
  hasSrc = false; srcAddr = 0; srcMask = 0; srcInv = false;
  hasDst = false; dstAddr = 0; dstMask = 0; dstInv = false;
  proto = 0; protoInv = false;
  inIf: IfaceMatch | undefined = undefined;
  outIf: IfaceMatch | undefined = undefined;
  /**
   * One tcp/udp match hoisted into fields (0 = none): checked with the core tests,
   * which is safe because every match before it in the rule is free of side effects.
   */
  l4Proto = 0;
  sMin = 0; sMax = 65535; sInv = false;
  dMin = 0; dMax = 65535; dInv = false;
  flOn = false; flMask = 0; flComp = 0; flInv = false;
  preds: Pred[] = EMPTY_PREDS;
  tcode = T_NONE;
  /** Jump/goto destination (resolved after all chains are compiled). */
  dest: CompiledChain | undefined = undefined;
  /** The name onRuleHit reports ('ACCEPT', 'KUBE-SVC-…', 'DNAT', …). */
  tname: string;
  nat: NatRequest | undefined = undefined;
  rejectWith: string | undefined = undefined;
  markValue = 0;
  markMask = 0;
  logPrefix = '';
  logLevel = 4;

  constructor(readonly rule: Rule, readonly num: number) {
    this.tname = '';
  }
}

/** One indexed run [start, end) of a chain's rules. */
export class DispatchRun {
  readonly capMask: number;
  readonly keyDst: Int32Array;
  readonly keyPd: Int32Array;
  /** First rule index (absolute) with the key, or -1 for an empty slot. */
  readonly first: Int32Array;
  constructor(readonly start: number, readonly end: number, readonly withDst: boolean, n: number) {
    let cap = 8;
    while (cap < n * 2) cap <<= 1;
    this.capMask = cap - 1;
    this.keyDst = new Int32Array(cap);
    this.keyPd = new Int32Array(cap);
    this.first = new Int32Array(cap).fill(-1);
  }

  slot(dst: number, pd: number): number {
    let h = Math.imul(dst ^ Math.imul(pd, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    let s = h & this.capMask;
    for (;;) {
      const f = this.first[s] as number;
      if (f < 0 || (this.keyDst[s] === dst && this.keyPd[s] === pd)) return s;
      s = (s + 1) & this.capMask;
    }
  }
}

export class CompiledChain {
  readonly name: string;
  /** Whether any rule is in a DispatchRun (skips the runOf lookup otherwise). */
  hasRuns = false;
  rules: CompiledRule[] = [];
  /** For each rule index: the DispatchRun covering it, or undefined. */
  runOf: (DispatchRun | undefined)[] = [];
  /** For each rule index inside a run: the next rule index of the run with the same key, or -1. */
  nextSame: Int32Array = new Int32Array(0);
  constructor(readonly chain: Chain, readonly builtin: boolean) {
    this.name = chain.name;
  }
}

export interface CompiledTable {
  readonly name: TableName;
  readonly chains: Map<string, CompiledChain>;
  /** Whether any chain has rules or a non-ACCEPT policy. */
  readonly active: boolean;
}

/** Runs shorter than this are walked linearly (a hash lookup costs about 4 rule tests). */
export const MIN_RUN = 4;

// ------------------------------------------------------------------ matches

function ifaceTest(m: IfaceMatch, dev: string | undefined): boolean {
  const name = dev ?? '';
  const n = m.name;
  const eq = n.endsWith('+') ? name.startsWith(n.slice(0, -1)) : name === n;
  return eq !== m.invert;
}

export { ifaceTest };

const ADDRTYPE_BIT: Record<AddrType, number> = Object.fromEntries(ADDRTYPE_NAMES.map((n, i) => [n, 1 << i])) as Record<AddrType, number>;

function inRange(v: number, min: number, max: number): boolean {
  return v >= min && v <= max;
}

function compileMatch(m: Match, recent: RecentState): Pred | undefined {
  switch (m.kind) {
    case 'comment':
      return undefined;
    case 'tcp': case 'udp': {
      const proto = m.kind === 'tcp' ? 6 : 17;
      const sp = m.sport, dp = m.dport, fl = m.flags;
      const sInv = m.sportInvert, dInv = m.dportInvert;
      return (pf) => {
        if (!pf.hasL4 || pf.proto !== proto) return false;
        if (sp !== undefined && inRange(pf.sport, sp.min, sp.max) === sInv) return false;
        if (dp !== undefined && inRange(pf.dport, dp.min, dp.max) === dInv) return false;
        if (fl !== undefined && ((pf.tcpFlags & fl.mask) === fl.comp) === fl.invert) return false;
        return true;
      };
    }
    case 'icmp': {
      const { type, codeMin, codeMax, invert } = m;
      return (pf) => pf.hasL4 && pf.proto === 1 && (type === 0xff || (pf.icmpType === type && inRange(pf.icmpCode, codeMin, codeMax))) !== invert;
    }
    case 'multiport': {
      const lo = Int32Array.from(m.ports.map((p) => p.min));
      const hi = Int32Array.from(m.ports.map((p) => p.max));
      const dir = m.dir, invert = m.invert;
      return (pf) => {
        if (!pf.hasL4) return false;
        for (let i = 0; i < lo.length; i++) {
          const a = lo[i] as number, b = hi[i] as number;
          if ((dir !== 'dst' && pf.sport >= a && pf.sport <= b) || (dir !== 'src' && pf.dport >= a && pf.dport <= b)) return !invert;
        }
        return invert;
      };
    }
    case 'mark': {
      const { value, mask, invert } = m;
      return (_pf, pkt) => (((pkt.mark & mask) >>> 0) === value) !== invert;
    }
    case 'addrtype': {
      const { srcTypes, dstTypes, srcInvert, dstInvert } = m;
      return (pf, _pkt, ctx) => {
        if (srcTypes !== 0 && ((ADDRTYPE_BIT[ctx.addrType(pf.src)] & srcTypes) !== 0) === srcInvert) return false;
        if (dstTypes !== 0 && ((ADDRTYPE_BIT[ctx.addrType(pf.dst)] & dstTypes) !== 0) === dstInvert) return false;
        return true;
      };
    }
    case 'conntrack': case 'state': {
      const { states, invert } = m;
      return (_pf, _pkt, ctx) => ((ctx.ctState & states) !== 0) !== invert;
    }
    case 'statistic': {
      const invert = m.invert;
      if (m.mode === 'random') {
        const p = m.probability;
        // xt_statistic: (get_random_u32() & 0x7FFFFFFF) < probability — one draw per evaluation.
        return (_pf, _pkt, ctx) => ((ctx.rng.nextU32() & 0x7fffffff) < p) !== invert;
      }
      const last = m.every - 1;
      let count = m.packet;
      return () => {
        count = count === last ? 0 : count + 1;
        return (count === 0) !== invert;
      };
    }
    case 'recent': {
      const mask = m.mask, src = m.side === 'src';
      return (pf, _pkt, ctx) => recent.match(m, ((src ? pf.src : pf.dst) & mask) >>> 0, m.rttl ? pf.ttl : 0, ctx.now);
    }
    case 'set': {
      const { name, dirs, invert } = m;
      return (_pf, pkt, ctx) => (ctx.ipsets !== undefined && ctx.ipsets.test(name, pkt, dirs)) !== invert;
    }
    case 'physdev': {
      const mm = m;
      return (_pf, _pkt, ctx) => {
        const pin = ctx.physIn, pout = ctx.physOut;
        if (pin === undefined && pout === undefined) {
          // No bridge information: only inverted tests match (xt_physdev).
          return !((mm.isBridged && !mm.isBridgedInvert) || (mm.isIn && !mm.isInInvert) || (mm.isOut && !mm.isOutInvert) ||
            (mm.physIn && !mm.physIn.invert) || (mm.physOut && !mm.physOut.invert));
        }
        if (mm.isBridged && (pout !== undefined) === mm.isBridgedInvert) return false;
        if (mm.isIn && (pin !== undefined) === mm.isInInvert) return false;
        if (mm.isOut && (pout !== undefined) === mm.isOutInvert) return false;
        if (mm.physIn && pin !== undefined && !ifaceTest(mm.physIn, pin)) return false;
        if (mm.physOut && pout !== undefined && !ifaceTest(mm.physOut, pout)) return false;
        return true;
      };
    }
  }
}

// ------------------------------------------------------------------ rules

function compileRule(r: Rule, num: number, recent: RecentState): CompiledRule {
  const c = new CompiledRule(r, num);
  if (r.src) { c.hasSrc = true; c.srcAddr = r.src.addr; c.srcMask = r.src.mask; c.srcInv = r.src.invert; }
  if (r.dst) { c.hasDst = true; c.dstAddr = r.dst.addr; c.dstMask = r.dst.mask; c.dstInv = r.dst.invert; }
  c.proto = r.proto;
  c.protoInv = r.protoInvert;
  c.inIf = r.inIface;
  c.outIf = r.outIface;
  const preds: Pred[] = [];
  let pure = true;
  for (const m of r.matches) {
    if ((m.kind === 'tcp' || m.kind === 'udp') && pure && c.l4Proto === 0) {
      c.l4Proto = m.kind === 'tcp' ? 6 : 17;
      if (m.sport) { c.sMin = m.sport.min; c.sMax = m.sport.max; c.sInv = m.sportInvert; }
      if (m.dport) { c.dMin = m.dport.min; c.dMax = m.dport.max; c.dInv = m.dportInvert; }
      if (m.flags) { c.flOn = true; c.flMask = m.flags.mask; c.flComp = m.flags.comp; c.flInv = m.flags.invert; }
      continue;
    }
    if (m.kind === 'statistic' || m.kind === 'recent') pure = false;
    const p = compileMatch(m, recent);
    if (p) preds.push(p);
  }
  if (preds.length > 0) c.preds = preds;
  const t = r.target;
  switch (t.kind) {
    case 'none': c.tcode = T_NONE; c.tname = ''; break;
    case 'ACCEPT': c.tcode = T_ACCEPT; c.tname = 'ACCEPT'; break;
    case 'DROP': c.tcode = T_DROP; c.tname = 'DROP'; break;
    case 'RETURN': c.tcode = T_RETURN; c.tname = 'RETURN'; break;
    case 'TRACE': c.tcode = T_TRACE; c.tname = 'TRACE'; break;
    case 'NOTRACK': case 'CT': c.tcode = T_NOTRACK; c.tname = t.kind; break;
    case 'jump': case 'goto': c.tcode = t.kind === 'jump' ? T_JUMP : T_GOTO; c.tname = t.chain; break;
    case 'REJECT': c.tcode = T_REJECT; c.tname = 'REJECT'; c.rejectWith = t.with; break;
    case 'DNAT': case 'SNAT':
      c.tcode = T_NAT; c.tname = t.kind;
      c.nat = {
        kind: t.kind, ...t.range,
        ...(t.random ? { random: true } : {}), ...(t.randomFully ? { randomFully: true } : {}), ...(t.persistent ? { persistent: true } : {}),
      };
      break;
    case 'MASQUERADE': case 'REDIRECT':
      c.tcode = T_NAT; c.tname = t.kind;
      c.nat = {
        kind: t.kind, ...(t.portMin !== undefined ? { portMin: t.portMin, portMax: t.portMax ?? t.portMin } : {}),
        ...(t.random ? { random: true } : {}), ...(t.randomFully ? { randomFully: true } : {}),
      };
      break;
    case 'MARK': c.tcode = T_MARK; c.tname = 'MARK'; c.markValue = t.value; c.markMask = t.mask; break;
    case 'CONNMARK':
      c.tname = 'CONNMARK';
      if (t.mode === 'set') { c.tcode = T_CONNMARK_SET; c.markValue = t.value; c.markMask = t.mask; }
      else { c.tcode = t.mode === 'save' ? T_CONNMARK_SAVE : T_CONNMARK_RESTORE; c.markValue = t.nfmask; c.markMask = t.ctmask; }
      break;
    case 'LOG': c.tcode = T_LOG; c.tname = 'LOG'; c.logPrefix = t.prefix; c.logLevel = t.level; break;
  }
  return c;
}

/** Indexable: only `-d ADDR/32` (or no -d), `-p tcp|udp|sctp`, one single --dport, comments. */
function dispatchKey(r: Rule): { withDst: boolean; dst: number; pd: number } | undefined {
  if (r.src || r.inIface || r.outIface || r.protoInvert) return undefined;
  if (r.proto !== 6 && r.proto !== 17 && r.proto !== 132) return undefined;
  if (r.dst && (r.dst.invert || r.dst.mask !== 0xffffffff)) return undefined;
  let port = -1;
  for (const m of r.matches) {
    if (m.kind === 'comment') continue;
    if ((m.kind === 'tcp' || m.kind === 'udp') && port < 0 && !m.sport && !m.flags && m.dport && !m.dportInvert && m.dport.min === m.dport.max) {
      port = m.dport.min;
      continue;
    }
    return undefined;
  }
  if (port < 0) return undefined;
  return { withDst: r.dst !== undefined, dst: r.dst ? r.dst.addr | 0 : 0, pd: (r.proto << 16) | port };
}

function buildRuns(cc: CompiledChain): void {
  const rules = cc.chain.rules;
  const n = rules.length;
  cc.runOf = new Array<DispatchRun | undefined>(n).fill(undefined);
  cc.nextSame = new Int32Array(n).fill(-1);
  const keys = rules.map(dispatchKey);
  let i = 0;
  while (i < n) {
    const k0 = keys[i];
    if (!k0) { i++; continue; }
    let j = i + 1;
    while (j < n && keys[j] !== undefined && (keys[j] as { withDst: boolean }).withDst === k0.withDst) j++;
    if (j - i >= MIN_RUN) {
      const run = new DispatchRun(i, j, k0.withDst, j - i);
      const lastOf = new Int32Array(run.first.length).fill(-1);
      for (let k = i; k < j; k++) {
        const key = keys[k] as { dst: number; pd: number };
        const s = run.slot(key.dst, key.pd);
        if ((run.first[s] as number) < 0) {
          run.first[s] = k;
          run.keyDst[s] = key.dst;
          run.keyPd[s] = key.pd;
        } else {
          cc.nextSame[lastOf[s] as number] = k;
        }
        lastOf[s] = k;
        cc.runOf[k] = run;
      }
      cc.hasRuns = true;
    }
    i = j;
  }
}

/** `indexed: false` compiles plain linear chains (the reference the dispatch is tested against). */
export function compileTable(t: Table, recent: RecentState, indexed = true): CompiledTable {
  const chains = new Map<string, CompiledChain>();
  let active = false;
  for (const c of t.chains.values()) {
    const cc = new CompiledChain(c, c.builtin);
    cc.rules = c.rules.map((r, i) => compileRule(r, i + 1, recent));
    if (indexed) buildRuns(cc);
    else cc.runOf = new Array<DispatchRun | undefined>(c.rules.length).fill(undefined);
    chains.set(c.name, cc);
    if (c.rules.length > 0 || (c.builtin && c.policy !== 'ACCEPT')) active = true;
  }
  for (const cc of chains.values()) {
    for (const r of cc.rules) if (r.tcode === T_JUMP || r.tcode === T_GOTO) r.dest = chains.get(r.tname);
  }
  return { name: t.name, chains, active };
}

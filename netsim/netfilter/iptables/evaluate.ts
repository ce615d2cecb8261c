/**
 * First-match evaluation of one table at one hook, with the kernel's semantics:
 * jump pushes a return point, goto does not, RETURN (or the end of a user chain)
 * pops, the end of a built-in chain applies its policy; ACCEPT/DROP/REJECT and the
 * NAT targets end the table; MARK, CONNMARK, LOG, NOTRACK and TRACE continue (LOG
 * calls ctx.onLog; NOTRACK and a changed connection mark are reported in the
 * result). Counters are exact.
 *
 * Speed: each rule list is compiled once (per rules array: across ruleset generations
 * that leave the chain alone, and across namespaces that share it). A run of consecutive
 * rules that match only a destination /32, a protocol and a destination port — the
 * shape of kube-proxy's KUBE-SERVICES and KUBE-NODEPORTS chains — becomes one Map
 * lookup that yields the first rule of the run that would match, so a first packet
 * to a ClusterIP costs the same with 10 or 20 000 services. The evaluator still
 * reports how many rules a real kernel would have evaluated (`rulesEvaluated`).
 */
import type { Packet } from '../../packet/packet.ts';
import { Ipv4, L4 } from '../../wire/ipv4.ts';
import type { Chain, IfaceMatch, Match, Rule, Table, TableName, Target } from './model.ts';
import { RuleCounter, XT_LIMIT_SCALE } from './model.ts';
import type { EvalContext, EvalResult, NatRequest } from '../eval-types.ts';
import { F_ALL, F_DADDR, F_DPORT, F_SADDR, F_SPORT } from '../flow-classes.ts';

interface Run {
  readonly start: number;
  readonly end: number;
  /**
   * Destination (as a signed 32-bit integer, so V8 keys it as a small integer) →
   * flat pairs [protoPort, ruleIndex, …]: the first rule of the run for each port.
   */
  readonly index: Map<number, number[]>;
}

/**
 * A rule's tests in one fixed shape. Rules come out of the parser with whichever
 * optional fields they use, so reading `r.src`, `r.proto`… across a chain's rules
 * would go through megamorphic property loads on every packet; this is what
 * `matches` reads instead (absent tests are 0 / undefined); comments are skipped
 * without a call.
 */
class FastRule {
  /** 0: no `-s`; 1: must match; 2: `! -s`. Same for dst. */
  readonly srcTest: number;
  readonly srcAddr: number;
  readonly srcMask: number;
  readonly dstTest: number;
  readonly dstAddr: number;
  readonly dstMask: number;
  readonly inIface: IfaceMatch | undefined;
  readonly outIface: IfaceMatch | undefined;
  /** 0: any protocol; otherwise the number, with protoInvert. */
  readonly protoNum: number;
  readonly protoInvert: boolean;
  readonly matches: readonly Match[];
  /** Per match: false for comments (nothing to test). */
  readonly tested: readonly boolean[];
  /**
   * Whether every test of the rule (and its target) depends only on what is fixed for
   * one conntrack direction at one hook — addresses, ports, protocol, ICMP type,
   * devices, the connection state, the mark the walk starts with, ipset contents of
   * one generation — so a walk through it can be replayed (WalkRecord).
   */
  readonly flowInvariant: boolean;
  /**
   * Index of the first test in `matches` that is not flow-invariant (matches.length when
   * only the target is not): a walk where the rule failed an earlier test never reached it
   * — the failure is fixed for the flow — so that walk stays replayable (kube-proxy's
   * `--ctstate INVALID -m nfacct …` rule, which every valid packet fails at --ctstate).
   */
  readonly firstVariant: number;
  readonly usesSet: boolean;
  /** Whether a test asks the namespace's routes and addresses (addrtype). */
  readonly usesRoutes: boolean;
  /** The header fields any of the rule's tests can read (F_* of flow-classes.ts; the protocol is always keyed there). */
  readonly fields: number;
  /**
   * The fields read when the rule fails: [0] at the address, device or protocol tests
   * (the addresses it tests), [k + 1] at `matches[k]` (those and the matches up to k).
   */
  readonly failFields: readonly number[];

  constructor(r: Rule) {
    this.srcTest = r.src === undefined ? 0 : r.src.invert ? 2 : 1;
    this.srcAddr = r.src?.addr ?? 0;
    this.srcMask = r.src?.mask ?? 0;
    this.dstTest = r.dst === undefined ? 0 : r.dst.invert ? 2 : 1;
    this.dstAddr = r.dst?.addr ?? 0;
    this.dstMask = r.dst?.mask ?? 0;
    this.inIface = r.inIface;
    this.outIface = r.outIface;
    this.protoNum = r.proto?.num ?? 0;
    this.protoInvert = r.proto?.invert ?? false;
    this.matches = r.matches;
    this.tested = r.matches.map((m) => m.kind !== 'comment');
    this.flowInvariant = r.matches.every(flowInvariantMatch) && flowInvariantTarget(r.target);
    const v = r.matches.findIndex((m) => !flowInvariantMatch(m));
    this.firstVariant = v < 0 ? r.matches.length : v;
    this.usesSet = r.matches.some((m) => m.kind === 'set');
    this.usesRoutes = r.matches.some((m) => m.kind === 'addrtype');
    let fields = (r.src !== undefined ? F_SADDR : 0) | (r.dst !== undefined ? F_DADDR : 0);
    const failFields = [fields];
    for (const m of r.matches) failFields.push(fields |= matchFields(m));
    this.fields = fields;
    this.failFields = failFields;
  }
}

/**
 * Tests whose outcome is fixed for a conntrack direction at a hook (given the walk's
 * devices, state, starting mark, ipset generation and — for address types — the
 * namespace's route generation, which moves with every address or route change): not
 * TCP flags, not the random or nth statistic, not `recent` lists, not nfacct (it counts).
 */
function flowInvariantMatch(m: Match): boolean {
  switch (m.kind) {
    case 'tcp':
      return m.tcpFlags === undefined;
    case 'statistic':
    case 'recent':
    case 'nfacct':
    case 'limit':
      return false;
    default:
      return true;
  }
}

/**
 * The header fields a test can read besides the protocol (flow-classes.ts keys shared
 * walks by them): ports of port matches, both addresses and ports of a set (its type
 * decides), addresses of the address-type and recent tests. Marks, conntrack states and
 * devices are conditions of every remembered walk already; ICMP tests read the protocol
 * first and never match the TCP and UDP packets classes serve.
 */
function matchFields(m: Match): number {
  switch (m.kind) {
    case 'tcp':
    case 'udp':
    case 'sctp':
      return (m.sport !== undefined ? F_SPORT : 0) | (m.dport !== undefined ? F_DPORT : 0);
    case 'multiport':
      return m.dir === 'dports' ? F_DPORT : m.dir === 'sports' ? F_SPORT : F_SPORT | F_DPORT;
    case 'set':
      return F_ALL;
    case 'addrtype':
    case 'recent':
      return F_SADDR | F_DADDR;
    default:
      return 0;
  }
}

/** Targets with effects beyond the verdict, the counters and the packet mark end a replayable walk. */
function flowInvariantTarget(t: Target): boolean {
  return t.kind !== 'CONNMARK' && t.kind !== 'LOG' && t.kind !== 'NFLOG' && t.kind !== 'NOTRACK';
}

/**
 * What one evaluation did, for replaying it (the exact fast path of established
 * flows, ops/ipt-do-table.ts): the rules it counted in order, the policy it applied,
 * and whether every test it evaluated was flow-invariant.
 */
export class WalkRecord {
  cacheable = true;
  usesSets = false;
  /** Whether it evaluated a rule with an address-type test (its replay needs the same route generation). */
  usesRoutes = false;
  /** The header fields its evaluated tests can read (F_* of flow-classes.ts). */
  fields = 0;
  /** The counters of the rules it counted (a rule's counter is its own in this namespace, even when the rule is shared). */
  readonly rules: RuleCounter[] = [];
  policy: Chain | undefined = undefined;

  reset(): void {
    this.cacheable = true;
    this.usesSets = false;
    this.usesRoutes = false;
    this.fields = 0;
    this.rules.length = 0;
    this.policy = undefined;
  }
}

/**
 * What compiling a chain's rules gives: it depends on the rules alone, so it is kept per
 * rules array (bodiesOf) and serves every namespace whose chain holds that array — a
 * ruleset shared between nodes (share.ts) is compiled once — and outlives restores
 * that leave the chain alone.
 */
interface CompiledBody {
  readonly rules: readonly Rule[];
  /** fast[i]: rule i's tests (see FastRule). */
  readonly fast: readonly FastRule[];
  /** runAt[i] is the run that starts at rule i (undefined elsewhere). */
  readonly runAt: ReadonlyArray<Run | undefined>;
}

/** A namespace's chain with its compiled body (one ruleset generation). */
interface CompiledChain extends CompiledBody {
  readonly chain: Chain;
  /** For jump/goto rules, the compiled target chain in this namespace's table (resolved on first use). */
  readonly jumps: Array<CompiledChain | undefined>;
}

/** Compiled bodies per `minRun`, by rules array (weak: a body goes with the last chain that holds its rules). */
const BODIES = new Map<number, WeakMap<readonly Rule[], CompiledBody>>();

function bodyOf(rules: readonly Rule[], minRun: number): CompiledBody {
  let bodies = BODIES.get(minRun);
  if (bodies === undefined) {
    bodies = new WeakMap();
    BODIES.set(minRun, bodies);
  }
  let body = bodies.get(rules);
  if (body === undefined) {
    body = compileRules(rules, minRun);
    bodies.set(rules, body);
  }
  return body;
}

const protoPort = (proto: number, dport: number): number => (proto === 6 ? 0 : 65536) + dport;

function runLookup(run: Run, dst: number, pp: number): number | undefined {
  const list = run.index.get(dst | 0);
  if (list === undefined) return undefined;
  for (let k = 0; k < list.length; k += 2) if (list[k] === pp) return list[k + 1];
  return undefined;
}

/** For a rule that is only `-d X/32 -p tcp|udp --dport N [-m comment]`: [dst, protoPort]; else undefined. */
function indexable(r: Rule): [number, number] | undefined {
  if (r.src !== undefined || r.inIface !== undefined || r.outIface !== undefined) return undefined;
  if (r.dst === undefined || r.dst.invert || r.dst.prefixLen !== 32) return undefined;
  if (r.proto === undefined || r.proto.invert || (r.proto.num !== 6 && r.proto.num !== 17)) return undefined;
  let dport: number | undefined;
  for (const m of r.matches) {
    if (m.kind === 'comment') continue;
    if ((m.kind === 'tcp' || m.kind === 'udp') && m.sport === undefined && (m.kind !== 'tcp' || m.tcpFlags === undefined) && m.dport !== undefined && !m.dport.invert && m.dport.min === m.dport.max) {
      if (dport !== undefined) return undefined;
      dport = m.dport.min;
      continue;
    }
    return undefined;
  }
  if (dport === undefined) return undefined;
  return [r.dst.addr | 0, protoPort(r.proto.num, dport)];
}

/** Runs shorter than this are evaluated linearly (a Map probe costs more). */
const MIN_RUN = 8;

function compileRules(rules: readonly Rule[], minRun: number): CompiledBody {
  const runAt: Array<Run | undefined> = new Array(rules.length).fill(undefined);
  let i = 0;
  while (i < rules.length) {
    if (indexable(rules[i] as Rule) === undefined) {
      i++;
      continue;
    }
    let j = i;
    const index = new Map<number, number[]>();
    while (j < rules.length) {
      const k = indexable(rules[j] as Rule);
      if (k === undefined) break;
      let list = index.get(k[0]);
      if (list === undefined) {
        list = [];
        index.set(k[0], list);
      }
      let seen = false;
      for (let x = 0; x < list.length; x += 2) if (list[x] === k[1]) seen = true;
      if (!seen) list.push(k[1], j);
      j++;
    }
    if (j - i >= minRun) runAt[i] = { start: i, end: j, index };
    i = j;
  }
  return { rules, fast: rules.map((r) => new FastRule(r)), runAt };
}

/** Per-namespace state of `-m recent` lists: name → masked address → hit times. */
export type RecentTables = Map<string, Map<number, number[]>>;

/** nfnetlink_acct objects (`nfacct add NAME`): name → packet and byte counts. */
export type NfacctObjects = Map<string, { pkts: number; bytes: number }>;

export class TableEvaluator {
  // Keyed by the chain object (no per-lookup key string).
  private compiled = new Map<Chain, CompiledChain>();
  private compiledGen = -1;
  private readonly nth = new WeakMap<Match, number>();
  /** xt_limit's per-rule bucket: credit (ns of allowance) and the time it was last topped up. */
  private readonly limits = new WeakMap<Match, { credit: number; prev: number }>();
  // Return stack reused across evaluations (no allocation per packet).
  private readonly stackChains: CompiledChain[] = [];
  private readonly stackIdx: number[] = [];

  /** `minRun`: shortest run of indexable rules worth a lookup (Infinity disables indexing). */
  /** Index in `matches` of the test the last `matches` call failed at (-1: the address, device or protocol tests). */
  private failedAt = -1;

  constructor(private readonly recent: RecentTables, private readonly minRun: number = MIN_RUN, private readonly nfacct: NfacctObjects = new Map()) {}

  private compiledOf(chain: Chain, gen: number): CompiledChain {
    if (gen !== this.compiledGen) {
      this.compiled = new Map();
      this.compiledGen = gen;
    }
    let c = this.compiled.get(chain);
    if (c === undefined) {
      const body = bodyOf(chain.rules, this.minRun);
      c = { chain, rules: body.rules, fast: body.fast, runAt: body.runAt, jumps: [] };
      this.compiled.set(chain, c);
    }
    return c;
  }

  private chainOf(table: Table, name: string, gen: number): CompiledChain | undefined {
    const chain = table.chains.get(name);
    return chain === undefined ? undefined : this.compiledOf(chain, gen);
  }

  /** Evaluate `table` from its hook chain (looked up by the caller; the compiled form is cached per generation). */
  evaluateFrom(table: Table, gen: number, hookChain: Chain, pkt: Packet, ctx: EvalContext, rec?: WalkRecord): EvalResult {
    const b = pkt.buf;
    const o = pkt.off;
    const hl = Ipv4.headerLen(b, o);
    const proto = Ipv4.protocol(b, o);
    const hasPorts = (proto === 6 || proto === 17) && Ipv4.fragOffset(b, o) === 0 && pkt.len >= hl + 4;
    const dst = Ipv4.dst(b, o);
    const pp = hasPorts ? protoPort(proto, L4.dstPort(b, o + hl)) : -1;
    let depth = 0;
    const stackChains = this.stackChains;
    const stackIdx = this.stackIdx;
    const hook = this.compiledOf(hookChain, gen);
    let cur = hook;
    let i = 0;
    let evaluated = 0;
    const name = table.name;
    // Side effects that do not end the walk, reported with the verdict (rarely set).
    let notrack = false;
    let ctMark = -1;
    for (;;) {
      if (i >= cur.rules.length) {
        if (depth === 0) return this.underflow(hook.chain, name, pkt, ctx, evaluated, notrack, ctMark, rec);
        depth--;
        cur = stackChains[depth] as CompiledChain;
        i = stackIdx[depth] as number;
        continue;
      }
      const run = cur.runAt[i];
      if (run !== undefined) {
        if (rec !== undefined) rec.fields |= F_DADDR | F_DPORT;
        const hit = hasPorts ? runLookup(run, dst, pp) : undefined;
        if (hit === undefined) {
          evaluated += run.end - run.start;
          i = run.end;
          continue;
        }
        evaluated += hit - run.start + 1;
        i = hit;
      } else {
        evaluated++;
        const f = cur.fast[i] as FastRule;
        if (rec !== undefined) {
          if (f.usesSet) rec.usesSets = true;
          if (f.usesRoutes) rec.usesRoutes = true;
        }
        if (!this.matches(f, pkt, ctx, b, o, hl, proto, hasPorts)) {
          if (rec !== undefined) {
            rec.fields |= f.failFields[this.failedAt + 1] as number;
            if (!f.flowInvariant && this.failedAt >= f.firstVariant) rec.cacheable = false;
          }
          i++;
          continue;
        }
        if (rec !== undefined) {
          rec.fields |= f.fields;
          if (!f.flowInvariant) rec.cacheable = false;
        }
      }
      const r = cur.rules[i] as Rule;
      const hits = (cur.chain.hits ??= []);
      let counter = hits[i];
      if (counter === undefined) {
        counter = new RuleCounter();
        hits[i] = counter;
      }
      counter.packets++;
      counter.bytes += pkt.len;
      if (rec !== undefined) rec.rules.push(counter);
      const t = r.target;
      const ruleNum = i + 1;
      ctx.onRuleHit?.(name, cur.chain.name, ruleNum, t.kind === 'jump' || t.kind === 'goto' ? t.chain : t.kind === 'NOTRACK' ? 'CT' : t.kind);
      switch (t.kind) {
        case 'ACCEPT':
        case 'DROP':
          return withEffects(notrack, ctMark, { verdict: t.kind, chain: cur.chain.name, rule: ruleNum, rulesEvaluated: evaluated });
        case 'REJECT':
          return withEffects(notrack, ctMark, { verdict: 'DROP', rejectWith: t.with, chain: cur.chain.name, rule: ruleNum, rulesEvaluated: evaluated });
        case 'RETURN': {
          if (depth === 0) return this.underflow(hook.chain, name, pkt, ctx, evaluated, notrack, ctMark, rec);
          depth--;
          cur = stackChains[depth] as CompiledChain;
          i = stackIdx[depth] as number;
          continue;
        }
        case 'jump':
        case 'goto': {
          let next = cur.jumps[i];
          if (next === undefined) {
            next = this.chainOf(table, t.chain, gen);
            if (next === undefined) return withEffects(notrack, ctMark, { verdict: 'DROP', chain: cur.chain.name, rule: ruleNum, rulesEvaluated: evaluated });
            cur.jumps[i] = next;
          }
          if (t.kind === 'jump') {
            stackChains[depth] = cur;
            stackIdx[depth] = i + 1;
            depth++;
          }
          cur = next;
          i = 0;
          continue;
        }
        case 'DNAT':
        case 'SNAT': {
          const nat: NatRequest = {
            kind: t.kind, addrMin: t.addrMin, addrMax: t.addrMax, ...(t.portMin !== undefined ? { portMin: t.portMin, portMax: t.portMax ?? t.portMin } : {}),
            random: t.random, randomFully: t.randomFully, persistent: t.persistent,
          };
          return withEffects(notrack, ctMark, { verdict: 'ACCEPT', nat, chain: cur.chain.name, rule: ruleNum, rulesEvaluated: evaluated });
        }
        case 'MASQUERADE':
        case 'REDIRECT': {
          const nat: NatRequest = { kind: t.kind, ...(t.portMin !== undefined ? { portMin: t.portMin, portMax: t.portMax ?? t.portMin } : {}), random: t.random, randomFully: t.kind === 'MASQUERADE' && t.randomFully };
          return withEffects(notrack, ctMark, { verdict: 'ACCEPT', nat, chain: cur.chain.name, rule: ruleNum, rulesEvaluated: evaluated });
        }
        case 'MARK':
          pkt.mark = ((pkt.mark & ~t.mask) ^ t.value) >>> 0;
          i++;
          continue;
        case 'CONNMARK': {
          // xt_connmark: set: ct = (ct & ~mask) ^ value; save: ct = (ct & ~ctmask) ^ (mark & nfmask);
          // restore: mark = (mark & ~nfmask) ^ (ct & ctmask).
          const ct = ctMark >= 0 ? ctMark : (ctx.ctMark ?? 0);
          if (t.mode === 'set') ctMark = ((ct & ~t.mask) ^ t.value) >>> 0;
          else if (t.mode === 'save') ctMark = ((ct & ~t.ctmask) ^ (pkt.mark & t.nfmask)) >>> 0;
          else pkt.mark = ((pkt.mark & ~t.nfmask) ^ (ct & t.ctmask)) >>> 0;
          i++;
          continue;
        }
        case 'LOG':
          ctx.onLog?.(name, cur.chain.name, ruleNum, t.prefix ?? '', t.level);
          i++;
          continue;
        case 'NFLOG':
          // Nothing reads nfnetlink_log groups here (the rule hit is traced); the walk goes on.
          i++;
          continue;
        case 'NOTRACK':
          notrack = true;
          i++;
          continue;
        default:
          // TRACE and rules without a target continue with the next rule.
          i++;
          continue;
      }
    }
  }

  /**
   * The kernel's underflow: the end of the hook's chain, or a RETURN / end of chain with
   * nothing to return to (after -g), applies the hook chain's policy and counts it.
   */
  private underflow(hook: Chain, table: TableName, pkt: Packet, ctx: EvalContext, evaluated: number, notrack: boolean, ctMark: number, rec: WalkRecord | undefined): EvalResult {
    const verdict = hook.policy ?? 'ACCEPT';
    hook.packets++;
    hook.bytes += pkt.len;
    if (rec !== undefined) rec.policy = hook;
    ctx.onRuleHit?.(table, hook.name, 0, verdict);
    return withEffects(notrack, ctMark, { verdict, chain: hook.name, rule: 0, rulesEvaluated: evaluated });
  }

  private matches(r: FastRule, pkt: Packet, ctx: EvalContext, b: Uint8Array, o: number, hl: number, proto: number, hasPorts: boolean): boolean {
    this.failedAt = -1;
    if (r.srcTest !== 0 && (((Ipv4.src(b, o) & r.srcMask) >>> 0) === r.srcAddr) === (r.srcTest === 2)) return false;
    if (r.dstTest !== 0 && (((Ipv4.dst(b, o) & r.dstMask) >>> 0) === r.dstAddr) === (r.dstTest === 2)) return false;
    if (r.inIface !== undefined && ifaceMatches(r.inIface.name, ctx.inDev) === r.inIface.invert) return false;
    if (r.outIface !== undefined && ifaceMatches(r.outIface.name, ctx.outDev) === r.outIface.invert) return false;
    if (r.protoNum !== 0 && (proto === r.protoNum) === r.protoInvert) return false;
    const ms = r.matches;
    const tested = r.tested;
    for (let k = 0; k < ms.length; k++) {
      if (tested[k] !== true) continue;
      if (!this.match(ms[k] as Match, pkt, ctx, b, o, hl, proto, hasPorts)) {
        this.failedAt = k;
        return false;
      }
    }
    return true;
  }

  private match(m: Match, pkt: Packet, ctx: EvalContext, b: Uint8Array, o: number, hl: number, proto: number, hasPorts: boolean): boolean {
    // --ctstate first: the most common test in kube-proxy's filter chains.
    switch (m.kind) {
      case 'conntrack':
      case 'state':
        return ((ctx.ctState & m.states) !== 0) !== m.invert;
      case 'comment':
        return true;
      case 'nfacct': {
        const acct = this.nfacct.get(m.name);
        if (acct !== undefined) {
          acct.pkts++;
          acct.bytes += pkt.len;
        }
        return true;
      }
      case 'tcp':
      case 'udp':
      case 'sctp': {
        // SCTP is not emulated on the wire: an sctp match never sees its packets.
        if (!hasPorts || m.kind === 'sctp') return false;
        const sp = L4.srcPort(b, o + hl);
        const dp = L4.dstPort(b, o + hl);
        if (m.sport !== undefined && (sp >= m.sport.min && sp <= m.sport.max) === m.sport.invert) return false;
        if (m.dport !== undefined && (dp >= m.dport.min && dp <= m.dport.max) === m.dport.invert) return false;
        if (m.kind === 'tcp' && m.tcpFlags !== undefined) {
          if (pkt.len < hl + 14) return false;
          const flags = L4.tcpFlags(b, o + hl);
          if (((flags & m.tcpFlags.mask) === m.tcpFlags.cmp) === m.tcpFlags.invert) return false;
        }
        return true;
      }
      case 'icmp': {
        if (proto !== 1 || pkt.len < hl + 2) return false;
        const ok = m.type === 255 || (L4.icmpType(b, o + hl) === m.type && (m.code === undefined || L4.icmpCode(b, o + hl) === m.code));
        return ok !== m.invert;
      }
      case 'multiport': {
        if (!hasPorts) return false;
        const sp = L4.srcPort(b, o + hl);
        const dp = L4.dstPort(b, o + hl);
        const ok = m.dir === 'dports' ? inPorts(m.ports, dp) : m.dir === 'sports' ? inPorts(m.ports, sp) : inPorts(m.ports, sp) || inPorts(m.ports, dp);
        return ok !== m.invert;
      }
      case 'mark':
        return (((pkt.mark & m.mask) >>> 0) === m.value) !== m.invert;
      case 'addrtype': {
        if (m.src !== undefined && m.src.types.includes(ctx.addrType(Ipv4.src(b, o))) === m.src.invert) return false;
        if (m.dst !== undefined && m.dst.types.includes(ctx.addrType(Ipv4.dst(b, o))) === m.dst.invert) return false;
        return true;
      }
      case 'statistic': {
        if (m.mode === 'random') return ((ctx.rng.nextU32() & 0x7fffffff) < m.probability) !== m.invert;
        // xt_statistic: the counter advances first (0 → 1 … every-1 → 0), then is compared with --packet.
        const n = ((this.nth.get(m) ?? 0) + 1) % m.every;
        this.nth.set(m, n);
        return (n === m.packet) !== m.invert;
      }
      case 'recent':
        return this.recentMatch(m, b, o, ctx) !== m.invert;
      case 'limit':
        return this.limitMatch(m, ctx.now);
      case 'set':
        return (ctx.ipsets !== undefined && ctx.ipsets.test(m.name, pkt, m.dirs)) !== m.invert;
      case 'physdev': {
        if (m.isBridged !== undefined && (ctx.physOut !== undefined) === m.isBridged.invert) return false;
        if (m.isIn !== undefined && (ctx.physIn !== undefined) === m.isIn.invert) return false;
        if (m.isOut !== undefined && (ctx.physOut !== undefined) === m.isOut.invert) return false;
        if (m.in !== undefined && ifaceMatches(m.in.name, ctx.physIn) === m.in.invert) return false;
        if (m.out !== undefined && ifaceMatches(m.out.name, ctx.physOut) === m.out.invert) return false;
        return true;
      }
    }
  }

  /**
   * xt_limit limit_mt: a token bucket on the virtual clock — credit grows with elapsed
   * time up to `burst` intervals and each match spends one interval (the bucket starts full).
   */
  private limitMatch(m: Extract<Match, { kind: 'limit' }>, now: number): boolean {
    const interval = (m.avg * 1e9) / XT_LIMIT_SCALE;
    const cap = interval * m.burst;
    let st = this.limits.get(m);
    if (st === undefined) {
      st = { credit: cap, prev: now };
      this.limits.set(m, st);
    }
    st.credit = Math.min(cap, st.credit + Math.max(0, now - st.prev));
    st.prev = now;
    if (st.credit < interval) return false;
    st.credit -= interval;
    return true;
  }

  /** xt_recent: lists keyed by masked source (or destination) address, hit times on the virtual clock. */
  private recentMatch(m: Extract<Match, { kind: 'recent' }>, b: Uint8Array, o: number, ctx: EvalContext): boolean {
    const addr = ((m.side === 'rsource' ? Ipv4.src(b, o) : Ipv4.dst(b, o)) & m.mask) >>> 0;
    let list = this.recent.get(m.name);
    if (list === undefined) {
      list = new Map();
      this.recent.set(m.name, list);
    }
    const now = ctx.now;
    if (m.action === 'set') {
      const hits = list.get(addr) ?? [];
      hits.push(now);
      if (hits.length > 20) hits.shift(); // ip_pkt_list_tot default 20
      list.set(addr, hits);
      return true;
    }
    const hits = list.get(addr);
    if (hits === undefined) return false;
    if (m.action === 'remove') {
      list.delete(addr);
      return true;
    }
    const window = m.seconds !== undefined ? m.seconds * 1e9 : undefined;
    if (m.reap === true && window !== undefined) {
      const kept = hits.filter((t) => now - t <= window);
      if (kept.length === 0) list.delete(addr);
      else list.set(addr, kept);
    }
    const recent = window === undefined ? hits.length : hits.filter((t) => now - t <= window).length;
    const ok = recent >= (m.hitcount ?? 1) && recent > 0;
    if (ok && m.action === 'update') hits.push(now);
    return ok;
  }
}

/**
 * Whether a port is in one of multiport's ranges. A top-level function: a closure over
 * the match inside `match` would make V8 allocate a context on every call of it.
 */
function inPorts(ports: readonly (readonly [number, number])[], p: number): boolean {
  for (const [a, z] of ports) if (p >= a && p <= z) return true;
  return false;
}

/** A verdict with the walk's side effects that did not end it (NOTRACK, a new connection mark). */
function withEffects(notrack: boolean, ctMark: number, r: EvalResult): EvalResult {
  if (!notrack && ctMark < 0) return r;
  return { ...r, ...(notrack ? { notrack: true as const } : {}), ...(ctMark >= 0 ? { ctMark } : {}) };
}

/** `-i eth+` matches any name starting with `eth`; an absent device never matches a name. */
function ifaceMatches(pattern: string, dev: string | undefined): boolean {
  if (dev === undefined) return false;
  return pattern.endsWith('+') ? dev.startsWith(pattern.slice(0, -1)) : dev === pattern;
}

export type { TableName };

/**
 * First-match evaluation of one table at one hook, with the kernel's semantics
 * (ipt_do_table): rules in order, a rule matches when its core tests and every
 * match pass; a jump pushes the return position, a goto does not, RETURN or the
 * end of a user chain pops, the end of a built-in chain applies its policy.
 * Non-terminal targets (MARK, CONNMARK, LOG, TRACE, NOTRACK) continue with the
 * next rule. Counters are updated on every rule that matches and on policies.
 *
 * Indexed runs (compile.ts) are skipped with one lookup: the rules before the
 * first match in the run cannot match, so they are only counted in
 * `rulesEvaluated`. No allocation on this path except the result object.
 */
import type { Packet } from '../../packet/packet.ts';
import type { EvalContext, EvalResult, NatRequest, TableName } from '../eval-types.ts';
import type { CompiledChain, CompiledRule, CompiledTable } from './compile.ts';
import {
  T_ACCEPT, T_CONNMARK_RESTORE, T_CONNMARK_SAVE, T_CONNMARK_SET, T_DROP, T_GOTO, T_JUMP, T_LOG, T_MARK, T_NAT, T_NOTRACK,
  T_REJECT, T_RETURN, ifaceTest,
} from './compile.ts';
import { PacketFields } from './packet-fields.ts';

/** Kernel limit on nested jumps (XT_MAX_TABLE_DEPTH… ip_tables allows 1024 via its jumpstack). */
const MAX_DEPTH = 1024;

export class Evaluator {
  private readonly pf = new PacketFields();
  private readonly stackChain: (CompiledChain | undefined)[] = new Array<CompiledChain | undefined>(MAX_DEPTH).fill(undefined);
  private readonly stackIdx = new Int32Array(MAX_DEPTH);

  run(ct: CompiledTable | undefined, table: TableName, pkt: Packet, ctx: EvalContext): EvalResult {
    const hook = ctx.hook;
    const start = ct?.chains.get(hook);
    if (start === undefined || !start.builtin) return { verdict: 'ACCEPT', chain: hook, rule: 0, rulesEvaluated: 0 };
    const pf = this.pf;
    pf.load(pkt);
    const len = pkt.len;
    const onHit = ctx.onRuleHit;
    let chain: CompiledChain = start;
    let rules = chain.rules;
    let sp = 0;
    let i = 0;
    let evaluated = 0;
    let notrack = false;
    let ctMark = ctx.ctMark ?? 0;
    let ctMarkSet = false;
    for (;;) {
      if (i >= rules.length) {
        if (sp === 0) {
          // Nothing to return to (end of the built-in chain, or of a chain reached by
          // goto from it): the built-in chain's policy decides, as the kernel's underflow.
          const c = start.chain;
          c.packets += 1;
          c.bytes += len;
          if (onHit) onHit(table, c.name, 0, c.policy);
          return result(c.policy, undefined, undefined, c.name, 0, evaluated, notrack, ctMarkSet ? ctMark : undefined);
        }
        sp--;
        chain = this.stackChain[sp] as CompiledChain;
        rules = chain.rules;
        i = this.stackIdx[sp] as number;
        continue;
      }
      const run = chain.hasRuns ? chain.runOf[i] : undefined;
      if (run !== undefined) {
        let k = -1;
        if (pf.hasL4) {
          const s = run.slot(run.withDst ? pf.dst | 0 : 0, (pf.proto << 16) | pf.dport);
          k = run.first[s] as number;
          while (k >= 0 && k < i) k = chain.nextSame[k] as number;
        }
        if (k < 0) {
          evaluated += run.end - i;
          i = run.end;
          continue;
        }
        evaluated += k - i;
        i = k;
      }
      const r = rules[i] as CompiledRule;
      evaluated++;
      if (!matches(r, pf, pkt, ctx)) {
        i++;
        continue;
      }
      const rule = r.rule;
      rule.packets += 1;
      rule.bytes += len;
      if (onHit) onHit(table, chain.name, r.num, r.tname);
      switch (r.tcode) {
        case T_ACCEPT:
          return result('ACCEPT', undefined, undefined, chain.name, r.num, evaluated, notrack, ctMarkSet ? ctMark : undefined);
        case T_DROP:
          return result('DROP', undefined, undefined, chain.name, r.num, evaluated, notrack, ctMarkSet ? ctMark : undefined);
        case T_REJECT:
          return result('DROP', r.rejectWith, undefined, chain.name, r.num, evaluated, notrack, ctMarkSet ? ctMark : undefined);
        case T_NAT:
          return result('ACCEPT', undefined, r.nat, chain.name, r.num, evaluated, notrack, ctMarkSet ? ctMark : undefined);
        case T_JUMP:
          if (sp >= MAX_DEPTH) return result('DROP', undefined, undefined, chain.name, r.num, evaluated, notrack, undefined);
          this.stackChain[sp] = chain;
          this.stackIdx[sp] = i + 1;
          sp++;
          chain = r.dest as CompiledChain;
          rules = chain.rules;
          i = 0;
          continue;
        case T_GOTO:
          chain = r.dest as CompiledChain;
          rules = chain.rules;
          i = 0;
          continue;
        case T_RETURN:
          // RETURN in a built-in chain applies the policy.
          i = rules.length;
          continue;
        case T_MARK:
          pkt.mark = ((pkt.mark & ~r.markMask) ^ r.markValue) >>> 0;
          break;
        case T_CONNMARK_SET:
          ctMark = ((ctMark & ~r.markMask) ^ r.markValue) >>> 0;
          ctMarkSet = true;
          break;
        case T_CONNMARK_SAVE:
          // ct->mark = (ct->mark & ~ctmask) ^ (skb->mark & nfmask)
          ctMark = ((ctMark & ~r.markMask) ^ (pkt.mark & r.markValue)) >>> 0;
          ctMarkSet = true;
          break;
        case T_CONNMARK_RESTORE:
          // skb->mark = (skb->mark & ~nfmask) ^ (ct->mark & ctmask)
          pkt.mark = ((pkt.mark & ~r.markValue) ^ (ctMark & r.markMask)) >>> 0;
          break;
        case T_LOG:
          if (ctx.onLog) ctx.onLog(table, chain.name, r.num, r.logPrefix, r.logLevel);
          break;
        case T_NOTRACK:
          notrack = true;
          break;
        default:
          // T_NONE, T_TRACE: continue with the next rule.
          break;
      }
      i++;
    }
  }
}

function matches(r: CompiledRule, pf: PacketFields, pkt: Packet, ctx: EvalContext): boolean {
  if (r.hasSrc && (((pf.src & r.srcMask) >>> 0) === r.srcAddr) === r.srcInv) return false;
  if (r.hasDst && (((pf.dst & r.dstMask) >>> 0) === r.dstAddr) === r.dstInv) return false;
  if (r.proto !== 0 && (pf.proto === r.proto) === r.protoInv) return false;
  if (r.inIf !== undefined && !ifaceTest(r.inIf, ctx.inDev)) return false;
  if (r.outIf !== undefined && !ifaceTest(r.outIf, ctx.outDev)) return false;
  if (r.l4Proto !== 0) {
    if (!pf.hasL4 || pf.proto !== r.l4Proto) return false;
    if ((pf.sport >= r.sMin && pf.sport <= r.sMax) === r.sInv) return false;
    if ((pf.dport >= r.dMin && pf.dport <= r.dMax) === r.dInv) return false;
    if (r.flOn && ((pf.tcpFlags & r.flMask) === r.flComp) === r.flInv) return false;
  }
  const preds = r.preds;
  for (let k = 0; k < preds.length; k++) if (!(preds[k] as (typeof preds)[number])(pf, pkt, ctx)) return false;
  return true;
}

function result(
  verdict: 'ACCEPT' | 'DROP', rejectWith: string | undefined, nat: NatRequest | undefined, chain: string, rule: number,
  rulesEvaluated: number, notrack: boolean, ctMark: number | undefined,
): EvalResult {
  const r: { -readonly [K in keyof EvalResult]: EvalResult[K] } = { verdict, chain, rule, rulesEvaluated };
  if (rejectWith !== undefined) r.rejectWith = rejectWith;
  if (nat !== undefined) r.nat = nat;
  if (notrack) r.notrack = true;
  if (ctMark !== undefined) r.ctMark = ctMark;
  return r;
}

/**
 * ipt_do_table as a hook operation: one loaded iptables table at one hook. The three
 * table modules (iptable-raw.ts, iptable-mangle.ts, iptable-filter.ts) register one of
 * these per hook they serve; the nat table is walked by NAT itself (nf-nat-ipv4.ts).
 * The hook chain is looked up once per ruleset generation; an empty ACCEPT chain is
 * counted without building an evaluation when nobody traces, and an established
 * flow's walk is replayed when it provably cannot differ (flow-walks.ts), and a flow's
 * first packet here replays another flow's walk that read the same header fields
 * (flow-classes.ts). A DROP is
 * traced, a REJECT answered (ipt_REJECT: an ICMP error or a TCP reset) and traced.
 */
import type { Packet } from '../../packet/packet.ts';
import { NF_ACCEPT, NF_DROP } from '../../stack/netfilter-hooks.ts';
import type { NfContext, NfHook, NfVerdict } from '../../stack/netfilter-hooks.ts';
import { CT_RELATED } from '../eval-types.ts';
import type { TableName } from '../eval-types.ts';
import { WalkRecord } from '../iptables/evaluate.ts';
import { FlowWalks } from '../flow-walks.ts';
import { holdsNow } from '../flow-slots.ts';
import { FlowClasses, classifiable } from '../flow-classes.ts';
import { Ipv4 } from '../../wire/ipv4.ts';
import type { FlowWalk } from '../flow-walks.ts';
import { NO_CHAIN } from '../hook-plans.ts';
import type { TableOutcome } from '../hook-plans.ts';
import { CTINFO_DIR_REPLY, CTINFO_STATE_MASK } from '../netfilter-stack.ts';
import { countEmptyAccept } from '../iptables/iptables.ts';
import type { Chain } from '../iptables/model.ts';
import type { NfHookOps } from '../hook-ops.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';
import { sendReject } from './send-reject.ts';

export class IptDoTable implements NfHookOps {
  private chain: Chain | undefined = undefined;
  private chainGen = -1;
  /** Whether {@link chain} has no rule and policy ACCEPT (countEmptyAccept's test), kept with it per generation. */
  private chainEmpty = false;
  /** Remembered walks of established flows (flow-walks.ts) and the recorder of the current walk. */
  private readonly walks = new FlowWalks();
  private readonly rec = new WalkRecord();
  /** The same walks shared across flows by the header fields they read (flow-classes.ts). */
  private readonly classes = new FlowClasses<FlowWalk>();
  /**
   * What the last run did, for the hook's plan (hook-plans.ts): the walk it replayed or
   * remembered, the empty chain whose policy it counted, NO_CHAIN, or undefined when
   * it walked without remembering (or dropped).
   */
  outcome: TableOutcome = undefined;

  constructor(
    private readonly nf: NetfilterStack,
    readonly table: TableName,
    readonly hook: NfHook,
    readonly priority: number,
    readonly name: string,
    readonly ipvsProperty = false,
  ) {}

  /** The table's chain for this hook, refreshed when the ruleset changes. */
  hookChain(): Chain | undefined {
    const ipt = this.nf.iptables;
    if (this.chainGen !== ipt.generation) {
      const c = ipt.hookChain(this.table, this.hook);
      this.chain = c;
      this.chainEmpty = c !== undefined && c.rules.length === 0 && (c.policy ?? 'ACCEPT') === 'ACCEPT';
      this.chainGen = ipt.generation;
    }
    return this.chain;
  }

  run(pkt: Packet, state: NfContext): NfVerdict {
    const chain = this.hookChain();
    if (chain === undefined) {
      this.outcome = NO_CHAIN;
      return NF_ACCEPT;
    }
    const nf = this.nf;
    let key = -1;
    let rec: WalkRecord | undefined;
    if (!nf.tracing) {
      // Rules and policies change only by a restore, which moves the generation (chains are of several shapes: one test per generation, not per packet).
      if (this.chainEmpty && countEmptyAccept(chain, pkt.len)) {
        this.outcome = chain;
        nf.onRulesEvaluated?.(pkt, this.table, 0);
        return NF_ACCEPT;
      }
      key = nf.fastPath ? this.flowKey(pkt) : -1;
      if (key >= 0) {
        const id = nf.conntrack.idOf(pkt.ct as number);
        let w = this.walks.get(key, id);
        if (w === undefined || !this.replayable(w, pkt, state)) {
          // This flow's first packet here (or its state moved on): another flow's walk, if it read the same fields.
          w = classifiable(pkt.buf, pkt.off, pkt.len) ? this.sharedWalk(pkt, state) : undefined;
          if (w !== undefined) {
            this.walks.adopt(key, id, w);
            nf.classReplays++;
          }
        }
        if (w !== undefined) {
          FlowWalks.replay(w, pkt.len);
          pkt.mark = w.markOut;
          nf.fastPathReplays++;
          this.outcome = w;
          nf.onRulesEvaluated?.(pkt, this.table, w.evaluated);
          return NF_ACCEPT;
        }
        rec = this.rec;
        rec.reset();
      }
    }
    this.outcome = undefined;
    const markIn = pkt.mark;
    const r = nf.iptables.evaluateChain(this.table, chain, pkt, nf.evalCtx(this.hook, pkt, state), rec);
    nf.onRulesEvaluated?.(pkt, this.table, r.rulesEvaluated);
    if (r.notrack === true && r.verdict === 'ACCEPT') {
      this.untrack(pkt);
      return NF_ACCEPT;
    }
    if (rec !== undefined && rec.cacheable && r.verdict === 'ACCEPT') {
      const w = this.remember(key, rec, pkt, state, markIn, r.rulesEvaluated);
      this.outcome = w;
      if (w !== undefined && classifiable(pkt.buf, pkt.off, pkt.len)) this.classes.add(pkt.buf, pkt.off, Ipv4.headerLen(pkt.buf, pkt.off), Ipv4.protocol(pkt.buf, pkt.off), nf.iptables.generation, rec.fields, w);
    }
    if (r.verdict === 'ACCEPT') return NF_ACCEPT;
    const dev = state.inDev?.name ?? state.outDev?.name;
    // Whoever wrote the rule may say what it stands for (a policy denial): its reason and words go with the drop.
    const why = nf.tracing ? nf.explainRule(this.table, this.hook, r.chain, r.rule, pkt) : undefined;
    const said = why !== undefined ? `: ${why.text}` : '';
    if (r.rejectWith !== undefined) {
      sendReject(nf.ns, pkt, r.rejectWith);
      nf.ns.traceDrop(pkt, why?.dropReason ?? 'nf-reject', `${this.table} ${r.chain}:${r.rule} REJECT --reject-with ${r.rejectWith}${said}`, dev);
    } else {
      nf.ns.traceDrop(pkt, why?.dropReason ?? 'nf-drop', `${this.table} ${r.chain}:${r.rule} ${r.rule === 0 ? 'policy DROP' : 'DROP'}${said}`, dev);
    }
    return NF_DROP;
  }

  /**
   * NOTRACK / CT --notrack (xt_CT's notrack_tg): a packet without an entry is marked
   * untracked (nf_ct_set(skb, NULL, IP_CT_UNTRACKED)), so conntrack ignores it, NAT never
   * sees it and `--ctstate UNTRACKED` matches; one that already has an entry (looped
   * back) keeps it. Its walk is never remembered: the replay would lose the mark.
   */
  private untrack(pkt: Packet): void {
    const nf = this.nf;
    if (nf.slotOf(pkt) >= 0) return;
    nf.untrack(pkt);
    if (nf.tracing) nf.traceCt(pkt, `untracked: ${this.table} ${this.hook} NOTRACK, no conntrack entry (and no NAT) for this packet`);
  }

  /** The packet's walk key (`slot * 2 + direction`), or -1 when its walk is never replayed. */
  private flowKey(pkt: Packet): number {
    if (pkt.ipvs || (pkt.ctInfo & CT_RELATED) !== 0) return -1;
    const slot = this.nf.slotOf(pkt);
    if (slot < 0) return -1;
    return slot * 2 + ((pkt.ctInfo & CTINFO_DIR_REPLY) !== 0 ? 1 : 0);
  }

  /** The walk another flow took that this packet would take too (flow-classes.ts), when it is replayable now. */
  private sharedWalk(pkt: Packet, state: NfContext): FlowWalk | undefined {
    const nf = this.nf;
    const b = pkt.buf;
    const o = pkt.off;
    return this.classes.find(b, o, Ipv4.headerLen(b, o), Ipv4.protocol(b, o), nf.iptables.generation, nf.ipsets?.generation, nf.ns.routeGeneration, pkt.ctInfo & CTINFO_STATE_MASK, pkt.mark, state);
  }

  private replayable(w: FlowWalk, pkt: Packet, state: NfContext): boolean {
    const nf = this.nf;
    return holdsNow(w, nf.iptables.generation, nf.ipsets?.generation, nf.ns.routeGeneration, pkt.ctInfo & CTINFO_STATE_MASK, pkt.mark, state);
  }

  private remember(key: number, rec: WalkRecord, pkt: Packet, state: NfContext, markIn: number, evaluated: number): FlowWalk | undefined {
    const nf = this.nf;
    let setGen = -1;
    if (rec.usesSets) {
      const g = nf.ipsets?.generation;
      if (g === undefined) return undefined;
      setGen = g;
    }
    return this.walks.remember(key, nf.conntrack.idOf(pkt.ct as number), rec, evaluated, {
      gen: nf.iptables.generation, setGen, routeGen: rec.usesRoutes ? nf.ns.routeGeneration : -1, ctState: pkt.ctInfo & CTINFO_STATE_MASK, markIn, markOut: pkt.mark,
      inDev: state.inDev, outDev: state.outDev, physIn: state.physIn, physOut: state.physOut,
    });
  }
}

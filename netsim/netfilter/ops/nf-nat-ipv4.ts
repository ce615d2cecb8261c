/**
 * NAT at its hooks (net/netfilter/nf_nat_proto.c): destination NAT at PREROUTING
 * (nf_nat_ipv4_pre_routing) and OUTPUT (nf_nat_ipv4_local_fn) at NF_IP_PRI_NAT_DST,
 * source NAT at POSTROUTING (nf_nat_ipv4_out) and INPUT (nf_nat_ipv4_local_in) at
 * NF_IP_PRI_NAT_SRC. A connection's first packet asks the nat table for this hook's
 * mapping (nf_nat_inet_fn → iptable_nat_do_chain; a walk another first packet took is
 * replayed when this one agrees on every header field it read, flow-classes.ts), without a rule a source "null
 * binding" still avoids a clashing reply tuple; every packet is then rewritten from
 * the entry (nf_nat_packet), ICMP errors inside and out.
 */
import type { Packet } from '../../packet/packet.ts';
import { NF_ACCEPT, NF_DROP } from '../../stack/netfilter-hooks.ts';
import type { NfContext, NfHook, NfVerdict } from '../../stack/netfilter-hooks.ts';
import { formatIpv4 } from '../../wire/addr.ts';
import type { Ipv4Addr } from '../../wire/addr.ts';
import { Ipv4 } from '../../wire/ipv4.ts';
import { DIR_ORIGINAL, DIR_REPLY, IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SRC_NAT, IPS_SRC_NAT_DONE } from '../conntrack/conntrack.ts';
import { IPPROTO_ICMP, describeTuple } from '../conntrack/tuple.ts';
import { CT_DNAT, CT_RELATED, CT_SNAT } from '../eval-types.ts';
import type { Chain } from '../iptables/model.ts';
import { MANIP_DST, MANIP_SRC, natIcmpError, natNullBinding, natPacket, natSetup, resolveNatRequest } from '../nat.ts';
import type { Manip } from '../nat.ts';
import { NF_IP_PRI_NAT_DST, NF_IP_PRI_NAT_SRC } from '../hook-ops.ts';
import type { NfHookOps } from '../hook-ops.ts';
import { CTINFO_DIR_REPLY, CTINFO_STATE_MASK, describePacket } from '../netfilter-stack.ts';
import { FlowWalk } from '../flow-walks.ts';
import { countAgain } from '../flow-slots.ts';
import type { FlowConditions } from '../flow-slots.ts';
import { FlowClasses, classifiable } from '../flow-classes.ts';
import { WalkRecord } from '../iptables/evaluate.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';
import type { EvalResult, NatRequest } from '../eval-types.ts';
import { evaluateBaseChain } from '../nftables/evaluate.ts';
import type { Chain as NftChain, Table } from '../nftables/model.ts';
import type { NftResult } from '../nftables/evaluate.ts';
import { NFT_HOOK, nftDrop, nftEnv } from './nft-do-chain.ts';

/** What one nat chain said about a first packet (an iptables or nftables evaluation's result). */
interface NatAnswer {
  readonly verdict: 'ACCEPT' | 'DROP';
  readonly nat?: NatRequest;
}

/**
 * One nat chain a first packet consults. Built once per ruleset generation, so that a
 * first packet allocates no closures: the answer is the evaluation's own result, and
 * the lookup says where it was decided and traces (and answers, for a reject) a drop.
 */
interface NatLookup {
  run(pkt: Packet, state: NfContext): NatAnswer | undefined;
  /** Where `a` was decided (traces). */
  where(a: NatAnswer): string;
  drop(a: NatAnswer, pkt: Packet, state: NfContext): NfVerdict;
}

/** A nat walk another first packet took, with the answer it gave (flow-classes.ts). */
class NatWalk extends FlowWalk {
  constructor(c: FlowConditions, rec: WalkRecord, evaluated: number, readonly result: EvalResult) {
    super(c.gen, c.setGen, c.routeGen, c.ctState, c.markIn, c.markOut, c.inDev, c.outDev, c.physIn, c.physOut, rec.rules.slice(), rec.policy, evaluated);
  }
}

/** The iptables nat table's chain at this hook. */
class IptablesNatLookup implements NatLookup {
  /** First packets' walks shared across connections by the header fields they read. */
  private readonly classes = new FlowClasses<NatWalk>();
  private readonly rec = new WalkRecord();

  constructor(private readonly op: NfNatIpv4, private readonly nf: NetfilterStack) {}

  run(pkt: Packet, state: NfContext): EvalResult | undefined {
    const nf = this.nf;
    const chain = this.op.natChain();
    if (chain === undefined) {
      nf.onRulesEvaluated?.(pkt, 'nat', 0);
      return undefined;
    }
    const b = pkt.buf;
    const o = pkt.off;
    const shared = nf.fastPath && !nf.tracing && classifiable(b, o, pkt.len);
    const gen = nf.iptables.generation;
    const ctState = pkt.ctInfo & CTINFO_STATE_MASK;
    const markIn = pkt.mark;
    if (shared) {
      const w = this.classes.find(b, o, Ipv4.headerLen(b, o), Ipv4.protocol(b, o), gen, nf.ipsets?.generation, nf.ns.routeGeneration, ctState, markIn, state);
      if (w !== undefined) {
        countAgain(w.rules, w.policy, pkt.len);
        pkt.mark = w.markOut;
        nf.fastPathReplays++;
        nf.classReplays++;
        nf.onRulesEvaluated?.(pkt, 'nat', w.evaluated);
        return w.result;
      }
      this.rec.reset();
    }
    const rec = shared ? this.rec : undefined;
    const r = nf.iptables.evaluateChain('nat', chain, pkt, nf.evalCtx(this.op.hook, pkt, state), rec);
    nf.onRulesEvaluated?.(pkt, 'nat', r.rulesEvaluated);
    if (rec !== undefined && rec.cacheable && r.verdict === 'ACCEPT' && r.notrack !== true && r.ctMark === undefined) {
      const setGen = rec.usesSets ? nf.ipsets?.generation : -1;
      if (setGen !== undefined) {
        const c = { gen, setGen, routeGen: rec.usesRoutes ? nf.ns.routeGeneration : -1, ctState, markIn, markOut: pkt.mark, inDev: state.inDev, outDev: state.outDev, physIn: state.physIn, physOut: state.physOut };
        this.classes.add(b, o, Ipv4.headerLen(b, o), Ipv4.protocol(b, o), gen, rec.fields, new NatWalk(c, rec, r.rulesEvaluated, r));
      }
    }
    return r;
  }

  where(a: NatAnswer): string {
    const r = a as EvalResult;
    return `nat ${r.chain}:${r.rule}`;
  }

  drop(a: NatAnswer, pkt: Packet, state: NfContext): NfVerdict {
    this.nf.ns.traceDrop(pkt, 'nf-drop', `${this.where(a)} DROP`, state.inDev?.name ?? state.outDev?.name);
    return NF_DROP;
  }
}

/** An nftables nat base chain at this hook. */
class NftNatLookup implements NatLookup {
  constructor(private readonly op: NfNatIpv4, private readonly nf: NetfilterStack, private readonly table: Table, private readonly chain: NftChain) {}

  run(pkt: Packet, state: NfContext): NftResult {
    const nf = this.nf;
    const r = evaluateBaseChain(this.table, this.chain, pkt, nftEnv(nf, this.op.hook, pkt, state, this.table));
    nf.onRulesEvaluated?.(pkt, 'nat', r.rulesEvaluated);
    return r;
  }

  where(a: NatAnswer): string {
    const r = a as NftResult;
    return `${this.table.family} ${this.table.name} ${r.chain} handle ${r.handle}`;
  }

  drop(a: NatAnswer, pkt: Packet, state: NfContext): NfVerdict {
    return nftDrop(this.nf, pkt, state, this.table, a as NftResult);
  }
}

const NAMES: Record<NfHook, string> = {
  PREROUTING: 'nf_nat_ipv4_pre_routing', OUTPUT: 'nf_nat_ipv4_local_fn', POSTROUTING: 'nf_nat_ipv4_out', INPUT: 'nf_nat_ipv4_local_in', FORWARD: 'nf_nat_ipv4_fn',
};

export class NfNatIpv4 implements NfHookOps {
  readonly priority: number;
  readonly name: string;
  /** IPVS's re-sent packets get source NAT at POSTROUTING (where kube-proxy's IPVS mode masquerades). */
  readonly ipvsProperty: boolean;
  /** The nat table's chain for this hook, kept per ruleset generation. */
  private chain: Chain | undefined = undefined;
  private chainGen = -1;

  constructor(private readonly nf: NetfilterStack, readonly hook: NfHook, readonly manip: Manip) {
    this.priority = manip === MANIP_DST ? NF_IP_PRI_NAT_DST : NF_IP_PRI_NAT_SRC;
    this.name = NAMES[hook];
    this.ipvsProperty = hook === 'POSTROUTING';
  }

  run(pkt: Packet, state: NfContext): NfVerdict {
    const nf = this.nf;
    const slot = nf.slotOf(pkt);
    if (slot < 0) return NF_ACCEPT;
    const ct = nf.conntrack;
    const manip = this.manip;
    const dir = (pkt.ctInfo & CTINFO_DIR_REPLY) !== 0 ? DIR_REPLY : DIR_ORIGINAL;
    const tracing = nf.tracing;
    const b = pkt.buf;
    const o = pkt.nh;
    if ((pkt.ctInfo & CT_RELATED) !== 0) {
      const before = tracing ? describeIcmpError(b, o) : '';
      if (natIcmpError(ct, slot, dir, manip, b, o, pkt.len) && tracing) nf.traceNat(pkt, `ICMP error ${manip === MANIP_DST ? 'destination' : 'source'} un-NAT: ${before} → ${describeIcmpError(b, o)}`);
      return NF_ACCEPT;
    }
    const done = manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE;
    if (!ct.isConfirmed(slot) && dir === DIR_ORIGINAL && (ct.statusOf(slot) & done) === 0) {
      ct.setStatus(slot, done);
      const v = this.firstPacket(pkt, state, slot);
      if (v !== NF_ACCEPT) return v;
      const status = ct.statusOf(slot);
      pkt.ctInfo |= ((status & IPS_DST_NAT) !== 0 ? CT_DNAT : 0) | ((status & IPS_SRC_NAT) !== 0 ? CT_SNAT : 0);
    }
    const before = tracing ? describePacket(b, o) : '';
    if (natPacket(ct, slot, dir, manip, b, o) && tracing) {
      nf.traceNat(pkt, `${manip === MANIP_DST ? 'destination' : 'source'} ${dir === DIR_ORIGINAL ? '' : 'un-'}NAT: ${before} → ${describePacket(b, o)}`);
    }
    return NF_ACCEPT;
  }

  /** The nat table's chain for this hook, kept per ruleset generation. */
  natChain(): Chain | undefined {
    const ipt = this.nf.iptables;
    if (this.chainGen !== ipt.generation) {
      this.chain = ipt.hookChain('nat', this.hook);
      this.chainGen = ipt.generation;
    }
    return this.chain;
  }

  /**
   * The nat chains this hook consults for a first packet, by priority (nf_nat_inet_fn
   * walks the lookup entries nf_nat_register_fn sorted): the iptables nat table at this
   * operation's priority and every nftables nat base chain at this hook at its own. The
   * first that sets up a mapping ends the walk; one that drops ends the packet.
   */
  private lookups(): NatLookup[] {
    const nf = this.nf;
    if (this.lookupGen === nf.nft.generation && this.lookupIpt === nf.iptables.generation && this.natLookups !== undefined) return this.natLookups;
    const out: Array<{ prio: number; l: NatLookup }> = [];
    if (nf.iptables.hasTable('nat')) out.push({ prio: this.priority, l: new IptablesNatLookup(this, nf) });
    for (const { table, chain } of nf.nft.baseChains(NFT_HOOK[this.hook])) {
      if (chain.base?.type !== 'nat') continue;
      out.push({ prio: chain.base.priority, l: new NftNatLookup(this, nf, table, chain) });
    }
    // Stable: equal priorities keep registration order, iptables' table first.
    out.sort((a, b) => a.prio - b.prio);
    this.natLookups = out.map((x) => x.l);
    this.lookupGen = nf.nft.generation;
    this.lookupIpt = nf.iptables.generation;
    return this.natLookups;
  }

  private natLookups: NatLookup[] | undefined = undefined;
  private lookupGen = -1;
  private lookupIpt = -1;

  /** The connection's first packet at this hook: the nat chains decide the mapping. */
  private firstPacket(pkt: Packet, state: NfContext, slot: number): NfVerdict {
    const nf = this.nf;
    const ct = nf.conntrack;
    const manip = this.manip;
    const tracing = nf.tracing;
    let mapped = false;
    const lookups = this.lookups();
    for (let i = 0; i < lookups.length; i++) {
      const lookup = lookups[i] as NatLookup;
      const r = lookup.run(pkt, state);
      if (r === undefined) continue;
      if (r.verdict === 'DROP') return lookup.drop(r, pkt, state);
      if (r.nat === undefined) continue;
      const range = resolveNatRequest(r.nat, nf.ns, state.inDev?.name, state.outDev?.name, Ipv4.dst(pkt.buf, pkt.nh));
      if (range === undefined) {
        nf.ns.traceDrop(pkt, 'nf-drop', `${lookup.where(r)}: no address for ${r.nat.kind} on ${state.outDev?.name ?? state.inDev?.name ?? 'no device'}`, state.outDev?.name ?? state.inDev?.name);
        return NF_DROP;
      }
      const unique = natSetup(ct, slot, manip, range, nf.rng);
      if (!unique && tracing) nf.traceCt(pkt, `${r.nat.kind}: no free tuple in the range; the entry will clash`);
      mapped = true;
      if (tracing) {
        const t = ct.tuple(slot, 1);
        const to = manip === MANIP_DST ? endpoint(t.proto, t.src, t.sport) : endpoint(t.proto, t.dst, t.proto === IPPROTO_ICMP ? t.sport : t.dport);
        nf.traceNat(pkt, `${r.nat.kind}${r.nat.randomFully === true ? ' --random-fully' : ''}: ${describeTuple(ct.tuple(slot, 0))} → ${manip === MANIP_DST ? 'destination' : 'source'} ${to}`);
      }
      break;
    }
    if (!mapped && manip === MANIP_SRC) {
      const before = ct.field(slot, 1, 2);
      natNullBinding(ct, slot, nf.rng);
      if (tracing && ct.field(slot, 1, 2) !== before) nf.traceNat(pkt, `source port clash: ${describeTuple(ct.tuple(slot, 0))} → source port ${ct.field(slot, 1, 2) & 0xffff}`);
    }
    return NF_ACCEPT;
  }
}

function endpoint(proto: number, addr: Ipv4Addr, port: number): string {
  return proto === IPPROTO_ICMP ? formatIpv4(addr) : `${formatIpv4(addr)}:${port}`;
}

function describeIcmpError(b: Uint8Array, o: number): string {
  return `${formatIpv4(Ipv4.src(b, o))} → ${formatIpv4(Ipv4.dst(b, o))} quoting ${describePacket(b, o + Ipv4.headerLen(b, o) + 8)}`;
}

/**
 * nf_tables base chains as hook operations (net/netfilter/nft_chain_filter.c
 * nft_do_chain_ipv4 / nft_do_chain_inet): every filter or route chain registers at its
 * hook with its own priority, so it runs among iptables' tables and conntrack exactly
 * where the priority puts it. NAT chains do not register here: the NAT core runs them
 * for a connection's first packet (nf-nat-ipv4.ts, as nf_nat_inet_fn walks the nat
 * chains registered with nf_nat_register_fn).
 *
 * A traced packet gets one `nf` event per rule whose statements all ran (table
 * `ip kube-proxy`, chain, rule handle; the text of the rule as `nft list` prints it),
 * and one for a base chain's policy (handle 0). Not modelled: a route chain's
 * re-routing after a mark or address change (it filters like a filter chain).
 */
import type { Packet } from '../../packet/packet.ts';
import { NF_ACCEPT, NF_DROP } from '../../stack/netfilter-hooks.ts';
import type { NfContext, NfHook, NfVerdict } from '../../stack/netfilter-hooks.ts';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT, CT_UNTRACKED } from '../eval-types.ts';
import type { NfHookOps } from '../hook-ops.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';
import { evaluateBaseChain } from '../nftables/evaluate.ts';
import type { NftEnv, NftResult } from '../nftables/evaluate.ts';
import type { Chain, HookName, Rule, Table } from '../nftables/model.ts';
import { renderRule } from '../nftables/render.ts';
import { sendReject } from './send-reject.ts';

export const NFT_HOOK: Record<NfHook, HookName> = {
  PREROUTING: 'prerouting', INPUT: 'input', FORWARD: 'forward', OUTPUT: 'output', POSTROUTING: 'postrouting',
};

/** The environment of nft evaluations, one per stack, refilled for every evaluation (they do not nest). */
type StackEnv = NftEnv & { slot: number; hook: NfHook; pktId: number; table: Table | undefined; trace: NftEnv['onRule'] };
const envs = new WeakMap<NetfilterStack, StackEnv>();

/** The environment of an nft evaluation of `pkt` at `hook` (conntrack state in nft's bit encoding). */
export function nftEnv(nf: NetfilterStack, hook: NfHook, pkt: Packet, state: NfContext, table: Table): NftEnv {
  let env = envs.get(nf);
  if (env === undefined) {
    const made: StackEnv = {
      inDev: undefined, outDev: undefined, ctState: 0, ctStatus: 0, ctMark: 0, now: 0, rng: nf.rng, addrType: () => 'UNSPEC',
      slot: -1, hook: 'PREROUTING', pktId: 0, table: undefined, onRule: undefined, onLog: undefined, trace: undefined,
      setCtMark: (m: number) => { if (made.slot >= 0) nf.conntrack.setMark(made.slot, m); },
      // nft_notrack_eval: "Previously seen (loopback or untracked)? Ignore." — only a packet without an entry is marked.
      untrack: (p: Packet) => {
        if (nf.slotOf(p) >= 0 || nf.isUntracked(p)) return;
        nf.untrack(p);
        if (nf.tracing) nf.traceCt(p, `untracked: ${made.table?.family ?? 'ip'} ${made.table?.name ?? ''} notrack, no conntrack entry (and no NAT) for this packet`);
      },
    };
    const trace = (chain: Chain, rule: Rule | undefined, verdict: string): void => {
      const t = made.table as Table;
      nf.ns.sim.tracer.emit({
        kind: 'nf', t: nf.ns.sim.clock.now(), node: nf.ns.node, netns: nf.ns.name, pkt: made.pktId, hook: made.hook, table: `${t.family} ${t.name}`,
        chain: chain.name, rule: rule?.handle ?? 0, verdict, detail: rule === undefined ? `policy ${verdict}` : `handle ${rule.handle}: ${renderRule(rule)}`,
      });
    };
    made.trace = trace;
    envs.set(nf, made);
    env = made;
  }
  const e = nf.evalCtx(hook, pkt, state);
  const ct = e.ctState;
  const slot = nf.slotOf(pkt);
  env.inDev = e.inDev;
  env.outDev = e.outDev;
  env.ctState = ((ct & CT_INVALID) !== 0 ? 1 : 0) | ((ct & CT_ESTABLISHED) !== 0 ? 2 : 0) | ((ct & CT_RELATED) !== 0 ? 4 : 0) | ((ct & CT_NEW) !== 0 ? 8 : 0) | ((ct & CT_UNTRACKED) !== 0 ? 64 : 0);
  env.ctStatus = ((ct & CT_SNAT) !== 0 ? 16 : 0) | ((ct & CT_DNAT) !== 0 ? 32 : 0);
  env.slot = slot;
  env.ctMark = slot >= 0 ? nf.conntrack.markOf(slot) : 0;
  env.now = e.now;
  env.rng = e.rng;
  env.addrType = e.addrType;
  env.hook = hook;
  env.pktId = pkt.id;
  env.table = table;
  // Rules are reported only while someone listens.
  env.onRule = nf.tracing ? env.trace : undefined;
  return env;
}

/** Drop (traced) or reject (answered, traced) after an nft verdict of DROP. */
export function nftDrop(nf: NetfilterStack, pkt: Packet, state: NfContext, table: Table, r: NftResult): NfVerdict {
  const dev = state.inDev?.name ?? state.outDev?.name;
  const where = `${table.family} ${table.name} ${r.chain} ${r.handle === 0 ? 'policy' : `handle ${r.handle}`}`;
  if (r.rejectWith !== undefined) {
    sendReject(nf.ns, pkt, r.rejectWith);
    nf.ns.traceDrop(pkt, 'nf-reject', `${where} reject (${r.rejectWith})`, dev);
  } else {
    nf.ns.traceDrop(pkt, 'nf-drop', `${where} drop`, dev);
  }
  return NF_DROP;
}

export class NftDoChain implements NfHookOps {
  readonly name: string;
  private table: Table | undefined;
  private chain: Chain | undefined;
  private gen = -1;

  constructor(
    private readonly nf: NetfilterStack,
    private readonly tableKey: string,
    private readonly chainName: string,
    readonly hook: NfHook,
    readonly priority: number,
    family: string,
  ) {
    this.name = `nft_do_chain_${family === 'inet' ? 'inet' : 'ipv4'} ${tableKey} ${chainName}`;
  }

  run(pkt: Packet, state: NfContext): NfVerdict {
    const nft = this.nf.nft;
    if (this.gen !== nft.generation) {
      this.table = nft.ruleset.tables.get(this.tableKey);
      this.chain = this.table?.chains.get(this.chainName);
      this.gen = nft.generation;
    }
    const table = this.table;
    const chain = this.chain;
    if (table === undefined || chain === undefined) return NF_ACCEPT;
    const r = evaluateBaseChain(table, chain, pkt, nftEnv(this.nf, this.hook, pkt, state, table));
    this.nf.onRulesEvaluated?.(pkt, 'filter', r.rulesEvaluated);
    return r.verdict === 'ACCEPT' ? NF_ACCEPT : nftDrop(this.nf, pkt, state, table, r);
  }
}

/** Hook operations for every filter and route base chain of the ruleset. */
export function nftChainOps(nf: NetfilterStack): NfHookOps[] {
  const out: NfHookOps[] = [];
  for (const [key, table] of nf.nft.ruleset.tables) {
    for (const chain of table.chains.values()) {
      const b = chain.base;
      if (b === undefined || b.type === 'nat') continue;
      const hook = (Object.keys(NFT_HOOK) as NfHook[]).find((h) => NFT_HOOK[h] === b.hook) as NfHook;
      out.push(new NftDoChain(nf, key, chain.name, hook, b.priority, table.family));
    }
  }
  return out;
}

/**
 * ipt_do_table as a hook operation: one loaded iptables table at one hook. The three
 * table modules (iptable-raw.ts, iptable-mangle.ts, iptable-filter.ts) register one of
 * these per hook they serve; the nat table is walked by NAT itself (nf-nat-ipv4.ts).
 * The hook chain is looked up once per ruleset generation; an empty ACCEPT chain is
 * counted without building an evaluation when nobody traces. A DROP is traced, a
 * REJECT answered (ipt_REJECT: an ICMP error or a TCP reset) and traced.
 */
import type { Packet } from '../../packet/packet.ts';
import { NF_ACCEPT, NF_DROP } from '../../stack/netfilter-hooks.ts';
import type { NfContext, NfHook, NfVerdict } from '../../stack/netfilter-hooks.ts';
import { Ipv4, L4 } from '../../wire/ipv4.ts';
import type { TableName } from '../eval-types.ts';
import { countEmptyAccept } from '../iptables/iptables.ts';
import type { Chain } from '../iptables/model.ts';
import type { NfHookOps } from '../hook-ops.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';

/** `--reject-with` ICMP types' codes (destination unreachable, RFC 792 / RFC 1812). */
const REJECT_ICMP: Record<string, number> = {
  'icmp-net-unreachable': 0, 'icmp-host-unreachable': 1, 'icmp-proto-unreachable': 2, 'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9, 'icmp-host-prohibited': 10, 'icmp-admin-prohibited': 13,
};

export class IptDoTable implements NfHookOps {
  private chain: Chain | undefined = undefined;
  private chainGen = -1;

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
      this.chain = ipt.hookChain(this.table, this.hook);
      this.chainGen = ipt.generation;
    }
    return this.chain;
  }

  run(pkt: Packet, state: NfContext): NfVerdict {
    const chain = this.hookChain();
    if (chain === undefined) return NF_ACCEPT;
    const nf = this.nf;
    if (!nf.tracing && countEmptyAccept(chain, pkt.len)) {
      nf.onRulesEvaluated?.(pkt, this.table, 0);
      return NF_ACCEPT;
    }
    const r = nf.iptables.evaluateChain(this.table, chain, pkt, nf.evalCtx(this.hook, pkt, state));
    nf.onRulesEvaluated?.(pkt, this.table, r.rulesEvaluated);
    if (r.verdict === 'ACCEPT') return NF_ACCEPT;
    const dev = state.inDev?.name ?? state.outDev?.name;
    if (r.rejectWith !== undefined) {
      this.reject(pkt, r.rejectWith);
      nf.ns.traceDrop(pkt, 'nf-reject', `${this.table} ${r.chain}:${r.rule} REJECT --reject-with ${r.rejectWith}`, dev);
    } else {
      nf.ns.traceDrop(pkt, 'nf-drop', `${this.table} ${r.chain}:${r.rule} ${r.rule === 0 ? 'policy DROP' : 'DROP'}`, dev);
    }
    return NF_DROP;
  }

  /** ipt_REJECT: send_reset (tcp-reset) or an ICMP destination unreachable with the named code. */
  private reject(pkt: Packet, how: string): void {
    const ns = this.nf.ns;
    const b = pkt.buf;
    const o = pkt.nh;
    const th = pkt.th;
    if (how === 'tcp-reset') {
      if (pkt.l4proto !== 6) return;
      const flags = L4.tcpFlags(b, th);
      if ((flags & 0x04) !== 0) return;
      const src = Ipv4.src(b, o);
      const dst = Ipv4.dst(b, o);
      const sport = L4.srcPort(b, th);
      const dport = L4.dstPort(b, th);
      const len = pkt.len - (th - o) - L4.tcpHeaderLen(b, th) + ((flags & 0x02) !== 0 ? 1 : 0) + ((flags & 0x01) !== 0 ? 1 : 0);
      if ((flags & 0x10) !== 0) ns.tcp.sendReset(dst, dport, src, sport, L4.tcpAck(b, th), 0, false);
      else ns.tcp.sendReset(dst, dport, src, sport, 0, (L4.tcpSeq(b, th) + len) >>> 0, true);
      return;
    }
    ns.icmp.sendError(pkt, 3, REJECT_ICMP[how] ?? 3, 0);
  }
}

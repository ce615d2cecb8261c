/**
 * ipv4_confirm (INPUT and POSTROUTING, NF_IP_PRI_CONNTRACK_CONFIRM: last): a new
 * entry enters the conntrack table once its first packet has passed every hook
 * (__nf_conntrack_confirm); a clash with an entry confirmed meanwhile is resolved
 * or dropped as the kernel era says (nf_ct_resolve_clash, Conntrack.resolveClash).
 */
import type { Packet } from '../../packet/packet.ts';
import { NF_ACCEPT, NF_DROP } from '../../stack/netfilter-hooks.ts';
import type { NfContext, NfHook, NfVerdict } from '../../stack/netfilter-hooks.ts';
import { describeTuple } from '../conntrack/tuple.ts';
import { CT_RELATED } from '../eval-types.ts';
import { NF_IP_PRI_CONNTRACK_CONFIRM } from '../hook-ops.ts';
import type { NfHookOps } from '../hook-ops.ts';
import { CTINFO_STATE_MASK } from '../netfilter-stack.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';

export class NfConntrackConfirm implements NfHookOps {
  readonly priority = NF_IP_PRI_CONNTRACK_CONFIRM;
  readonly name = 'ipv4_confirm';
  /** IPVS's re-sent packets are confirmed at POSTROUTING (net.ipv4.vs.conntrack=1). */
  readonly ipvsProperty: boolean;

  constructor(private readonly nf: NetfilterStack, readonly hook: NfHook) {
    this.ipvsProperty = hook === 'POSTROUTING';
  }

  run(pkt: Packet, state: NfContext): NfVerdict {
    const nf = this.nf;
    const slot = nf.slotOf(pkt);
    if (slot < 0 || (pkt.ctInfo & CT_RELATED) !== 0 || nf.conntrack.isConfirmed(slot)) return NF_ACCEPT;
    if (!nf.conntrack.confirm(slot)) {
      // The clash path: insert_failed, then nf_ct_resolve_clash (conntrack.ts, resolveClash).
      const winner = nf.conntrack.resolveClash(slot);
      if (winner < 0) {
        nf.ns.traceDrop(pkt, 'nf-drop', `conntrack: ${describeTuple(nf.conntrack.tuple(slot, 0))} clashes with an existing entry (insert_failed)`, state.outDev?.name ?? state.inDev?.name);
        return NF_DROP;
      }
      // Resolved: the packet takes the winner's entry (nf_ct_set) and its own goes.
      nf.conntrack.kill(slot);
      nf.attach(pkt, winner, 0, pkt.ctInfo & CTINFO_STATE_MASK);
      if (nf.tracing) nf.traceCt(pkt, `clash with ${describeTuple(nf.conntrack.tuple(winner, 0))} resolved: the same mapping both ways, the packet joins the existing entry`);
      return NF_ACCEPT;
    }
    if (nf.tracing) nf.traceCt(pkt, `confirmed ${describeTuple(nf.conntrack.tuple(slot, 0))} reply ${describeTuple(nf.conntrack.tuple(slot, 1))}`);
    return NF_ACCEPT;
  }
}

/**
 * Netfilter hook operations (include/linux/netfilter.h `struct nf_hook_ops`): what a
 * module registers at a hook, with the priority that orders it among the others.
 * At each hook the stack runs the registered operations in ascending priority until
 * one returns something other than NF_ACCEPT (nf_hook_slow).
 *
 * This is the place to plug in: iptables tables, conntrack, NAT and IPVS register
 * here (netfilter-stack.ts), and so will nftables base chains or a NetworkPolicy
 * enforcer — `NetfilterStack.registerOps` / `unregisterOps`. The per-hook arrays are
 * built once and rebuilt only when an operation, a table or IPVS appears or goes
 * (nf_register_net_hook swaps the hook's entries the same way), so a table that is
 * not loaded costs nothing: it is not in the array.
 */
import type { Packet } from '../packet/packet.ts';
import type { NfContext, NfHook, NfVerdict } from '../stack/netfilter-hooks.ts';

/** include/uapi/linux/netfilter_ipv4.h `enum nf_ip_hook_priorities` (the ones modelled). */
export const NF_IP_PRI_RAW = -300;
export const NF_IP_PRI_CONNTRACK = -200;
export const NF_IP_PRI_MANGLE = -150;
export const NF_IP_PRI_NAT_DST = -100;
export const NF_IP_PRI_FILTER = 0;
export const NF_IP_PRI_NAT_SRC = 100;
export const NF_IP_PRI_CONNTRACK_CONFIRM = 2147483647;

export const NF_HOOKS: readonly NfHook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

export interface NfHookOps {
  readonly hook: NfHook;
  readonly priority: number;
  /** The kernel function this models (`ipv4_conntrack_in`, `iptable_filter_hook`, …): traces and docs. */
  readonly name: string;
  /**
   * Whether the operation still sees packets IPVS has already handled
   * (skb->ipvs_property): IPVS's own re-sent packets skip conntrack lookup, NAT and
   * the tables except where the kernel lets them through (the filter table at
   * LOCAL_OUT; source NAT and confirmation at POST_ROUTING with net.ipv4.vs.conntrack=1).
   */
  readonly ipvsProperty?: boolean;
  /** Returns NF_ACCEPT to go on to the next operation; NF_DROP / NF_STOLEN end the hook. */
  run(pkt: Packet, state: NfContext): NfVerdict;
}

/** Operations sorted by priority; equal priorities keep registration order (as nf_hook_entries_grow does). */
export function sortOps(ops: readonly NfHookOps[]): NfHookOps[] {
  return ops.map((op, i) => ({ op, i })).sort((a, b) => a.op.priority - b.op.priority || a.i - b.i).map((x) => x.op);
}

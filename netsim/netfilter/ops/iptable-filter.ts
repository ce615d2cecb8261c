/**
 * iptable_filter: the filter table at INPUT, FORWARD and OUTPUT, NF_IP_PRI_FILTER (0).
 * At OUTPUT it also sees the packets IPVS re-sends (skb->ipvs_property), which is
 * where the kernel filters IPVS's own transmissions.
 */
import { NF_IP_PRI_FILTER } from '../hook-ops.ts';
import type { NfHookOps } from '../hook-ops.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';
import { IptDoTable } from './ipt-do-table.ts';

/** The filter table's operations, when the table is loaded. */
export function iptableFilterOps(nf: NetfilterStack): NfHookOps[] {
  if (!nf.iptables.hasTable('filter')) return [];
  return (['INPUT', 'FORWARD', 'OUTPUT'] as const).map((h) => new IptDoTable(nf, 'filter', h, NF_IP_PRI_FILTER, 'iptable_filter_hook', h === 'OUTPUT'));
}

/**
 * iptable_raw: the raw table at PREROUTING and OUTPUT, NF_IP_PRI_RAW (-300) — before
 * conntrack, which is what lets NOTRACK keep packets out of it (ipt-do-table.ts marks
 * them untracked).
 */
import { NF_IP_PRI_RAW } from '../hook-ops.ts';
import type { NfHookOps } from '../hook-ops.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';
import { IptDoTable } from './ipt-do-table.ts';

/** The raw table's operations, when the table is loaded. */
export function iptableRawOps(nf: NetfilterStack): NfHookOps[] {
  if (!nf.iptables.hasTable('raw')) return [];
  return (['PREROUTING', 'OUTPUT'] as const).map((h) => new IptDoTable(nf, 'raw', h, NF_IP_PRI_RAW, 'iptable_raw_hook'));
}

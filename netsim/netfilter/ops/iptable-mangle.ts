/**
 * iptable_mangle: the mangle table at every hook, NF_IP_PRI_MANGLE (-150) — after
 * conntrack, before destination NAT.
 */
import { NF_HOOKS, NF_IP_PRI_MANGLE } from '../hook-ops.ts';
import type { NfHookOps } from '../hook-ops.ts';
import type { NetfilterStack } from '../netfilter-stack.ts';
import { IptDoTable } from './ipt-do-table.ts';

/** The mangle table's operations, when the table is loaded. */
export function iptableMangleOps(nf: NetfilterStack): NfHookOps[] {
  if (!nf.iptables.hasTable('mangle')) return [];
  return NF_HOOKS.map((h) => new IptDoTable(nf, 'mangle', h, NF_IP_PRI_MANGLE, h === 'OUTPUT' ? 'iptable_mangle_out' : 'iptable_mangle_hook'));
}

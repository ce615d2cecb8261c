/**
 * The emulated kernel's iptables (netsim Iptables, the xtables rule engine) as
 * kube-proxy's IptablesBackend.
 */
import type { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import type { TableName } from '../../netsim/netfilter/iptables/model.ts';
import { renderRuleSpec } from '../../netsim/netfilter/iptables/render.ts';
import type { IptablesBackend } from './proxier.ts';

export function netsimIptablesBackend(ipt: Iptables): IptablesBackend {
  return {
    restore: (text, opts) => ipt.restore(text, { noflush: opts.noflush, ...(opts.counters !== undefined ? { counters: opts.counters } : {}) }),
    save: () => ipt.save(),
    generation: () => ipt.generation,
    // What iptables-save would print of them, read without printing every rule of the table.
    chainNames: (table) => (ipt.hasTable(table as TableName) ? [...ipt.table(table as TableName).chains.keys()] : []),
    hasRule: (table, chain, spec) => {
      const want = `-A ${chain} ${spec}`;
      return ipt.chain(table as TableName, chain)?.rules.some((r) => `-A ${chain} ${renderRuleSpec(r)}`.trimEnd() === want) ?? false;
    },
    ensureNfacct: (name) => {
      if (!ipt.nfacct.has(name)) ipt.nfacct.set(name, { pkts: 0, bytes: 0 });
      return true;
    },
  };
}

/** A backend that records every restore (tests, benchmarks, dry runs). */
export class RecordingIptablesBackend implements IptablesBackend {
  readonly calls: Array<{ text: string; noflush: boolean; counters: boolean }> = [];
  restore(text: string, opts: { noflush: boolean; counters?: boolean }): void {
    this.calls.push({ text, noflush: opts.noflush, counters: opts.counters ?? false });
  }
  ensureNfacct(): boolean {
    return true;
  }
}

/**
 * A netsim namespace's netfilter and ipsets as the node the policy controller
 * programs: go-iptables' commands become one-line `iptables-restore --noflush`
 * transactions on the emulated kernel (`-C` compares rules in their canonical
 * iptables-save form, as the kernel compares them), `iptables-save -t filter` and
 * `iptables-restore -T filter` are the emulator's own, and the ipset commands go to
 * the namespace's Ipsets (attached to its netfilter, so `-m set` sees them).
 */
import type { NetfilterStack } from '../netsim/netfilter/netfilter-stack.ts';
import type { Ipsets } from '../netsim/ipset/ipset.ts';
import type { TableName } from '../netsim/netfilter/eval-types.ts';
import { MissingChain, parseRuleSpec } from '../netsim/netfilter/iptables/parse-rule.ts';
import { quote, renderRuleSpec, renderTable } from '../netsim/netfilter/iptables/render.ts';
import { isBuiltin } from '../netsim/netfilter/iptables/model.ts';
import type { IptablesCommands } from './top-level.ts';
import type { IpsetCommands } from './ipset-handler.ts';

const args = (spec: readonly string[]): string => spec.map(quote).join(' ');

export function netsimIptablesCommands(nf: NetfilterStack): IptablesCommands {
  const ipt = nf.iptables;
  const tbl = (t: string) => ipt.table(t as TableName);
  const run = (t: string, line: string): void => ipt.restore(`*${t}\n${line}\nCOMMIT\n`, { noflush: true });
  const canonical = (t: string, spec: readonly string[]): string | undefined => {
    const table = tbl(t);
    const r = parseRuleSpec([...spec], { userChain: (n) => table.chains.has(n) && !isBuiltin(table.name, n) });
    return r instanceof MissingChain ? undefined : renderRuleSpec(r);
  };
  const exists = (t: string, chain: string, spec: readonly string[]): boolean => {
    const c = tbl(t).chains.get(chain);
    const want = canonical(t, spec);
    return c !== undefined && want !== undefined && c.rules.some((r) => renderRuleSpec(r) === want);
  };
  return {
    chainExists: (t, chain) => tbl(t).chains.has(chain),
    newChain: (t, chain) => run(t, `:${chain} - [0:0]`),
    listChains: (t) => [...tbl(t).chains.keys()],
    exists,
    insert: (t, chain, pos, spec) => run(t, `-I ${chain} ${pos} ${args(spec)}`),
    deleteNum: (t, chain, num) => run(t, `-D ${chain} ${num}`),
    appendUnique: (t, chain, spec) => {
      if (!exists(t, chain, spec)) run(t, `-A ${chain} ${args(spec)}`);
    },
    list: (t, chain) => {
      const c = tbl(t).chains.get(chain);
      if (c === undefined) return [];
      return [c.policy !== undefined ? `-P ${chain} ${c.policy}` : `-N ${chain}`, ...c.rules.map((r) => `-A ${chain} ${renderRuleSpec(r)}`)];
    },
    save: (t) => renderTable(tbl(t)),
    restore: (t, text) => {
      if (!text.startsWith(`*${t}\n`)) throw new Error(`iptables-restore -T ${t}: the input holds another table`);
      ipt.restore(text);
    },
  };
}

/** The namespace's ipsets for the controller; attaches them to its netfilter (`-m set`) when they are not yet. */
export function netsimIpsetCommands(nf: NetfilterStack, sets: Ipsets): IpsetCommands {
  if (nf.ipsets !== sets) nf.ipsets = sets;
  sets.references = (name) => nf.iptables.setReferences(name);
  return {
    save: () => sets.save(),
    restore: (text) => sets.restore(text, { exist: true }),
    destroy: (name) => sets.destroy(name),
  };
}

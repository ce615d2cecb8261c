/**
 * The emulated kernel's iptables (netsim Iptables) as kube-proxy's IptablesBackend.
 */
import type { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { parseRuleSpec } from '../../netsim/netfilter/iptables/parse-rule.ts';
import { renderRuleSpec } from '../../netsim/netfilter/iptables/render.ts';
import { tokenize } from '../../netsim/netfilter/iptables/tokenize.ts';
import type { IptablesBackend } from './proxier.ts';

export function netsimIptablesBackend(ipt: Iptables): IptablesBackend {
  return {
    restore: (text, opts) => ipt.restore(text, opts),
    hasChain: (table, chain) => ipt.chain(table, chain) !== undefined,
    hasRule: (table, chain, spec) => {
      const c = ipt.chain(table, chain);
      if (c === undefined) return false;
      const want = renderRuleSpec(parseRuleSpec(tokenize(spec), (n) => ipt.chain(table, n) !== undefined));
      return c.rules.some((r) => renderRuleSpec(r) === want);
    },
  };
}

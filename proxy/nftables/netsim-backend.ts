/**
 * The emulated kernel's nf_tables (netsim Nftables) as kube-proxy's NftablesBackend:
 * a transaction is `nft -f -` of its text; `list` reads the table's chain and set names
 * (maps are not sets there, as `nft list sets` shows).
 */
import type { Nftables } from '../../netsim/netfilter/nftables/nftables.ts';
import { tableKey } from '../../netsim/netfilter/nftables/model.ts';
import type { NftablesBackend } from './backend.ts';
import { KUBE_PROXY_TABLE } from './proxier.ts';

export function netsimNftablesBackend(nft: Nftables): NftablesBackend {
  return {
    run: (tx) => nft.apply(tx.toString()),
    list: (kind) => {
      const t = nft.ruleset.tables.get(tableKey(KUBE_PROXY_TABLE.family, KUBE_PROXY_TABLE.table));
      if (t === undefined) return undefined;
      // `nft list sets` leaves maps out (the kernel keeps both as sets).
      return kind === 'chains' ? [...t.chains.keys()] : [...t.sets.values()].filter((s) => !s.map).map((s) => s.name);
    },
  };
}

/**
 * How kube-proxy's nftables mode reaches the node (upstream knftables.Interface,
 * reduced to what the proxier calls): run one transaction — the node reads its
 * `nft -f` text (NftTransaction.toString()) and applies it whole or not at all,
 * throwing nft's error otherwise — and list the names of the table's chains or
 * sets (`nft list chains ip kube-proxy`), undefined when the table does not exist.
 */
import type { NftTransaction } from './transaction.ts';

export interface NftablesBackend {
  run(tx: NftTransaction): void;
  list(kind: 'chains' | 'sets'): string[] | undefined;
}

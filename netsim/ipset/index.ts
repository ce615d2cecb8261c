/**
 * netsim/ipset — named IP sets for `-m set --match-set` (see ipset.ts for the
 * contract and what is not modelled).
 */
export * from './ipset.ts';

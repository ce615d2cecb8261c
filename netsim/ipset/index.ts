/**
 * netsim/ipset — named IP sets for `-m set --match-set NAME dirs`.
 *
 * Contract: {@link Ipsets} implements eval-types.ts's IpsetLookup for the rule
 * engine (a packet test is a few integer hash probes) and the `ipset` command set
 * kube-proxy's IPVS mode uses: create/add/del/test/flush/destroy/swap for hash:ip,
 * hash:net, hash:ip,port, hash:ip,port,ip, hash:ip,port,net and bitmap:port, with
 * `-exist` and comments; `ipset restore` is atomic and its errors carry stable
 * codes and the line number; `ipset save` and `ipset list` print the sets back.
 * With an {@link IpsetShare}, namespaces that restore the same lines into the same
 * sets hold one copy of them (share.ts; what a namespace shows is unchanged).
 *
 * Not modelled: per-element timeouts, counters and skbinfo, `nomatch` entries,
 * hash sizing and the kernel's bucketsize/initval/"Size in memory" details (the
 * header prints the defaults), IPv6 (family inet6), list:set.
 */
export * from './ipset.ts';
export { IpsetShare } from './share.ts';

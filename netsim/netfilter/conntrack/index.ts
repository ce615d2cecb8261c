/**
 * netsim/netfilter/conntrack — connection tracking as nf_conntrack does it.
 *
 * Contract: {@link Conntrack.packetIn} takes a packet's tuple (TCP/UDP ports, or the
 * ICMP echo identifier and type/code) and returns the entry and direction it
 * belongs to, creating an unconfirmed entry for a first packet, running the
 * protocol's state machine (tcp-state.ts: Linux's TCP transition table; UDP with
 * the 30 s / 120 s stream timeouts; ICMP 30 s) and refreshing the timeout on the
 * virtual clock; packets invalid for conntrack get no entry. NAT changes an entry's
 * reply tuple before {@link Conntrack.confirm} inserts it. Entries are deleted by
 * filter (what kube-proxy's UDP cleanup runs), counted, and listed exactly as
 * `conntrack -L` prints them (format.ts), with the stderr summary line.
 *
 * Memory: entries live in typed arrays (about 70 bytes each at the default load),
 * hashed by number — a million tracked connections fit in well under 100 MB.
 *
 * Not modelled: expectations and helpers (FTP, SIP), zones, labels, accounting
 * counters, TCP window tracking (behaves as nf_conntrack_tcp_be_liberal=1), the
 * RETRANS/UNACK timeouts, nf_conntrack_max and early drop, the generic protocol
 * tracker (other IP protocols are untracked), events (`conntrack -E`).
 */
export * from './conntrack.ts';
export * from './tcp-state.ts';
export * from './tuple.ts';
export * from './format.ts';

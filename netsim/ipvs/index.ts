/**
 * netsim/ipvs — the in-kernel load balancer of kube-proxy's IPVS mode.
 *
 * Contract: {@link Ipvs} holds virtual services (TCP/UDP VIP:port) with a scheduler
 * (rr, wrr, lc, wlc, sed, nq, sh, dh, mh) and real servers with weights, a
 * connection table with ActiveConn/InActConn, state timeouts (ipvsadm --set
 * defaults 900/120/300 s) and persistence templates (-p); weight 0 quiesces a
 * server (no new connections, existing ones continue). The namespace's
 * NetfilterStack consults it at INPUT for packets to a local VIP (kube-ipvs0):
 * the packet is DNATed to the chosen real server and re-sent through the output
 * path (the hook returns NF_STOLEN; no change to netsim/stack was needed), replies
 * are un-DNATed at FORWARD/INPUT, and with conntrack the connection's entry
 * follows the real server so POSTROUTING masquerade (KUBE-LOOP-BACK) applies.
 * Views print as `ipvsadm -Ln`, `-Ln --stats`, `-Lnc`, `-Sn` and `--timeout`.
 *
 * Not modelled: DR and tunnel forwarding, fwmark services, one-packet scheduling,
 * lblc/lblcr, the sh-fallback/sh-port flags, the sync daemon, IPVS's own TCP state
 * table in full (states advance on SYN/ACK/FIN/RST only), rate counters (--rate).
 */
export * from './ipvs.ts';

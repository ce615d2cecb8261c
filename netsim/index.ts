/**
 * netsim — the emulated kernel: real packet bytes through Linux-like devices,
 * namespaces, routing, ARP, ICMP, UDP and a minimal TCP, on a virtual clock.
 *
 * Contract:
 * - Packets are byte arrays with correct checksums (wire/); every decision emits a
 *   structured trace event (trace/) tagged with a packet id that survives hops, NAT
 *   and encapsulation.
 * - Time is virtual (time/Scheduler, integer ns) and randomness is one seeded Rng per
 *   run; nothing here reads the wall clock or Math.random() (lint enforces it).
 * - Network outcomes are values (drop reasons in trace events, send results);
 *   exceptions are for configuration mistakes (NetsimError with a stable code) and
 *   malformed input at API boundaries (WireError).
 * - The netfilter hook points are called at the kernel's places through the
 *   NetfilterHooks interface; iptables, conntrack, NAT and IPVS plug in there.
 * - Imports nothing else of the project (ARCHITECTURE.md layers; lint enforces it).
 *
 * Deliberately not modelled: IPv6; IP fragmentation/reassembly; ICMP redirects and
 * rate limits; TCP congestion control, SACK, timestamps, window scaling; multicast
 * delivery; STP and VLANs on bridges; policy routing beyond the local and main
 * tables; per-CPU concurrency (one event runs at a time).
 */
export * from './errors.ts';
export * from './sim.ts';
export * from './time/index.ts';
export * from './trace/index.ts';
export * from './packet/packet.ts';
export * from './link/net-device.ts';
export * from './link/veth.ts';
export * from './link/bridge.ts';
export * from './link/fdb.ts';
export * from './link/tun.ts';
export * from './link/dummy.ts';
export * from './link/loopback.ts';
export * from './link/segment.ts';
export * from './overlay/index.ts';
export * from './stack/net-namespace.ts';
export * from './stack/routing-table.ts';
export * from './stack/neighbor-table.ts';
export * from './stack/netfilter-hooks.ts';
export * from './stack/udp.ts';
export * from './stack/tcp.ts';
export * from './stack/icmp.ts';
export * from './netfilter/index.ts';
export * from './ipset/index.ts';
export * from './ipvs/index.ts';
export * from './tools/ip.ts';
export * from './apps/http.ts';
export * from './apps/echo.ts';
export * from './apps/ping.ts';
export * from './topology.ts';

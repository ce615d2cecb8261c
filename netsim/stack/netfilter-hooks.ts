/**
 * The five IPv4 netfilter hook points, called by the stack at the kernel's places.
 * The netfilter layer (iptables tables, conntrack, NAT, IPVS) implements
 * {@link NetfilterHooks}; the stack only knows this shape.
 *
 * ```
 *  wire ──► PREROUTING ──► routing ──► FORWARD ──► POSTROUTING ──► wire
 *                             │                         ▲
 *                             ▼                         │
 *                           INPUT                     OUTPUT ◄── routing ◄── local process
 *                             │
 *                             ▼
 *                       local process
 * ```
 * IPv4 frames entering a bridge port (bridge-nf-call-iptables=1) traverse PREROUTING
 * in the bridge with `physIn` set, before the bridge decides where they go; those
 * bridged between ports then traverse FORWARD and POSTROUTING with `physIn`/`physOut`
 * set to the bridge ports (in/out = the bridge).
 */
import type { Packet } from '../packet/packet.ts';
import type { NetDevice } from '../link/net-device.ts';

export type NfHook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** What a hook decided. DROP and STOLEN end the packet's walk in the stack. */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
/** The hook took the packet (e.g. IPVS re-sent it, or a REJECT answered it). */
export const NF_STOLEN = 2;
export type NfVerdict = typeof NF_DROP | typeof NF_ACCEPT | typeof NF_STOLEN;

/**
 * Where a hook runs (the kernel's `struct nf_hook_state`). Valid only during the
 * `run` call it is passed to: the stack refills the same object for the next call at
 * that nesting depth (nf-hook-call.ts), so an operation copies what it keeps.
 */
export interface NfContext {
  readonly hook: NfHook;
  /** Ingress device (PREROUTING, INPUT, FORWARD). */
  readonly inDev: NetDevice | undefined;
  /** Egress device (FORWARD, OUTPUT, POSTROUTING). */
  readonly outDev: NetDevice | undefined;
  /** Bridge ports for bridged frames (iptables `-m physdev`). */
  readonly physIn?: NetDevice;
  readonly physOut?: NetDevice;
}

/**
 * Implemented by the netfilter layer. `pkt.off` points at the IPv4 header. A hook may
 * rewrite the packet in place (NAT) with checksums fixed; the stack re-routes after a
 * destination change. On DROP the implementation has already emitted the trace event.
 */
export interface NetfilterHooks {
  run(hook: NfHook, pkt: Packet, ctx: NfContext): NfVerdict;
  /**
   * nf_ct_attach: the stack is about to send `err`, an ICMP error it generated about
   * `orig` (still in this namespace); the error belongs to `orig`'s connection as
   * RELATED, even when that entry is not confirmed yet (a first packet DNATed and then
   * dropped by the TTL or MTU check), so NAT can translate it back.
   */
  attachRelated?(err: Packet, orig: Packet): void;
}

/**
 * Trace events: every decision the emulated kernel and its userspace daemons make
 * about a packet, as data. Traces, pcapng captures, `hubble observe`-style
 * streams and experiment statistics are all derived from these events.
 *
 * Every event names where it happened (`node`, `netns`), when (`t`, virtual ns)
 * and which packet (`pkt`, stable across hops, NAT and encapsulation: an
 * encapsulated packet keeps its inner packet's id).
 */
import type { Instant } from '../time/scheduler.ts';

/** Why a packet was dropped. Stable strings: tests, filters and JSON output use them. */
export type DropReason =
  | 'malformed'          // bytes failed validation (truncated header, bad version, bad length)
  | 'bad-checksum'       // IPv4 header checksum wrong (Linux: InHdrErrors)
  | 'not-for-us'         // unicast frame for another MAC on a non-promiscuous device
  | 'no-route'           // route lookup failed (ENETUNREACH)
  | 'unreachable'        // `unreachable` route type
  | 'prohibit'           // `prohibit` route type
  | 'blackhole'          // `blackhole` route type
  | 'not-forwarding'     // not local and ip_forward=0
  | 'martian'            // source or destination not allowed (e.g. 127/8 from the wire without route_localnet)
  | 'ttl-exceeded'       // TTL reached 0 while forwarding
  | 'mtu-exceeded'       // larger than the egress MTU with DF set (ICMP frag-needed sent)
  | 'fragmentation-unsupported' // larger than MTU without DF: the emulator does not fragment
  | 'neigh-failed'       // ARP resolution failed (ICMP host unreachable sent for forwarded packets)
  | 'neigh-queue-full'   // too many packets waiting for ARP resolution (unres_qlen)
  | 'nf-drop'            // netfilter DROP
  | 'nf-reject'          // netfilter REJECT (an ICMP error or TCP RST was sent)
  | 'policy-denied'      // a netfilter DROP/REJECT that the ruleset's writer explains as a NetworkPolicy denial (rule-explain.ts)
  | 'no-socket'          // no socket for the destination port (ICMP port unreachable / RST sent)
  | 'link-down'          // device administratively down or without carrier
  | 'link-loss'          // lost on an underlay link (configured loss)
  | 'queue-overflow'     // an underlay link's transmit queue was full
  | 'tun-no-reader'      // a TUN device with no userspace reader attached
  | 'vxlan-no-fdb'       // VXLAN: no FDB entry for the destination MAC
  | 'vxlan-bad-vni'      // VXLAN: packet for a VNI no device serves
  | 'flannel-no-lease'   // flanneld: no lease covers the destination (ICMP net unreachable written back)
  | 'flannel-ttl'        // flanneld: inner TTL expired
  | 'tcp-invalid'        // TCP segment that fits no connection state (answered with RST when appropriate)
  | 'unsupported-protocol' // an EtherType or IP protocol nothing handles
  | 'app-drop';          // a userspace app discarded it

interface Base {
  readonly t: Instant;
  /** Node (host) name the namespace belongs to, e.g. 'node01'. */
  readonly node: string;
  /** Namespace name, e.g. 'node01' for the root namespace or 'default/webapp01' for a pod. */
  readonly netns: string;
  /** Packet id (0 for events about no particular packet). */
  readonly pkt: number;
}

export type LinkType = 'ether' | 'raw-ip';

export type TraceEvent =
  | (Base & {
      readonly kind: 'rx' | 'tx';
      readonly dev: string;
      readonly linkType: LinkType;
      /** tcpdump-style one-line summary of the bytes at this point. */
      readonly summary: string;
      /** A copy of the bytes (present when a subscriber asked for bytes, e.g. a capture). */
      readonly data?: Uint8Array;
    })
  | (Base & {
      readonly kind: 'bridge';
      readonly bridge: string;
      readonly action: 'learn' | 'forward' | 'flood' | 'local' | 'no-reflect' | 'nf-call' | 'bridged-dnat';
      readonly port?: string;
      readonly mac?: string;
      readonly detail: string;
    })
  | (Base & { readonly kind: 'route'; readonly dst: string; readonly table: string; readonly result: string })
  | (Base & {
      readonly kind: 'neigh';
      readonly action: 'hit' | 'request' | 'reply' | 'resolved' | 'queued' | 'failed' | 'learned';
      readonly dev: string;
      readonly ip: string;
      readonly mac?: string;
    })
  | (Base & { readonly kind: 'ttl'; readonly from: number; readonly to: number; readonly by: string })
  | (Base & { readonly kind: 'encap' | 'decap'; readonly dev: string; readonly detail: string })
  | (Base & {
      readonly kind: 'nf';
      readonly hook: string;
      readonly table: string;
      readonly chain: string;
      /** 1-based rule number within the chain, or 0 for the chain policy. */
      readonly rule: number;
      readonly verdict: string;
      readonly detail: string;
      /** What the rule stands for, from the explainer of whoever wrote it (netfilter/rule-explain.ts). */
      readonly explanation?: string;
      /** The IPv4 packet as the hook sees it (a copy, when a subscriber asked for bytes). */
      readonly data?: Uint8Array;
    })
  | (Base & { readonly kind: 'nat'; readonly detail: string; /** The IPv4 packet after the rewrite (when bytes were asked for). */ readonly data?: Uint8Array })
  | (Base & { readonly kind: 'ct'; readonly detail: string })
  | (Base & { readonly kind: 'deliver'; readonly to: string; readonly detail: string })
  | (Base & { readonly kind: 'icmp-error'; readonly detail: string })
  | (Base & { readonly kind: 'drop'; readonly reason: DropReason; readonly detail: string; readonly dev?: string })
  | (Base & { readonly kind: 'app'; readonly app: string; readonly detail: string });

export type TraceKind = TraceEvent['kind'];

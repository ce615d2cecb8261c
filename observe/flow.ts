/**
 * A flow: one packet's fate summarised as Hubble summarises it (`hubble observe`),
 * or, with `hops`, one hop of it. Plain JSON data: the ring, the stream, the CLI and
 * the web UI all carry exactly this shape.
 */
import type { DropReason } from '../netsim/trace/trace-event.ts';

/** Who an address belongs to, as far as the cluster knows. */
export interface FlowEndpoint {
  readonly ip: string;
  readonly port?: number;
  readonly kind: 'pod' | 'node' | 'external' | 'service' | 'world';
  /** Pod namespace (pods and Services). */
  readonly namespace?: string;
  /** Pod, node, outside host or Service name. */
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** The node a pod runs on. */
  readonly node?: string;
}

/** Hubble's verdicts that this emulator produces. */
export type FlowVerdict = 'FORWARDED' | 'DROPPED' | 'REJECTED';

export interface FlowHop {
  readonly node: string;
  readonly netns: string;
  readonly kind: string;
  readonly detail: string;
}

export interface Flow {
  /** Position in the ring (monotonic for one server). */
  readonly seq: number;
  /** Virtual time of the verdict, ns. */
  readonly t: number;
  /** Wall-clock time (ISO 8601) in a live cluster; absent in a batch run. */
  readonly time?: string;
  /** The packet id: every hop of this packet in a trace carries it. */
  readonly traceId: number;
  /** Where the verdict happened. */
  readonly node: string;
  readonly source: FlowEndpoint;
  /** The destination as delivered (after DNAT). */
  readonly destination: FlowEndpoint;
  /** The Service whose VIP (ClusterIP, NodePort, external or LB IP) the packet was sent to. */
  readonly service?: string;
  /** The destination the sender used, when NAT changed it. */
  readonly originalDestination?: { readonly ip: string; readonly port?: number };
  readonly protocol: 'TCP' | 'UDP' | 'ICMP' | string;
  /** TCP flags as Hubble names them (SYN, ACK, FIN, RST, PSH, URG). */
  readonly tcpFlags?: readonly string[];
  /** ICMP type/code in words (`echo request`, `port unreachable`). */
  readonly icmp?: string;
  readonly verdict: FlowVerdict;
  readonly dropReason?: DropReason;
  /** The netfilter rule or IPVS decision that decided (`nat KUBE-SEP-…:2 DNAT`, `filter KUBE-SERVICES:4 REJECT`). */
  readonly decidedBy?: string;
  /**
   * What the rules that decided mean, in the words of whoever wrote them (a NetworkPolicy
   * enforcer's explainer): for a drop, the denial (`dropped by NetworkPolicy shop/deny-all
   * (ingress, default deny)`); for a forwarded packet, every allow on the way, `; `-separated.
   */
  readonly policy?: string;
  /** NAT applied on the way, in order. */
  readonly nat?: readonly string[];
  /** With hops: the one hop this record is about. */
  readonly hop?: FlowHop;
}

/**
 * Trace events in, flows out: follows each packet id across hops, NAT and
 * encapsulation, and emits one flow when the packet's fate is known (delivered to a
 * socket or a stack, or dropped), as Hubble emits one per verdict. With `hops`, every
 * event of the packet becomes its own record as well.
 *
 * What it does not model: Hubble's L7 records and its flow aggregation; a packet
 * that is lost without a drop event (none in this emulator) would linger until
 * evicted by the bound on tracked packets.
 */
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import type { Flow, FlowEndpoint, FlowHop } from './flow.ts';
import type { IdentityResolver } from './identity.ts';
import type { PacketSummary } from './packet-summary.ts';
import { summarisePacket } from './packet-summary.ts';
import { UPLINK } from '../netsim/link/remote-port.ts';

export interface FlowBuilderOptions {
  readonly identity: IdentityResolver;
  /** Asked per event: emit one record per hop as well as the verdict record (someone wants hops). */
  readonly hops?: () => boolean;
  /** Wall-clock ISO time of a virtual instant (live clusters). */
  readonly timeOf?: (t: number) => string;
  /** Packets followed at once; the oldest is forgotten past this (default 65 536). */
  readonly maxTracked?: number;
}

interface Tracked {
  first?: PacketSummary;
  last?: PacketSummary;
  /** The bytes last seen were an encapsulation (flanneld's or VXLAN's outer packet). */
  lastEncapsulated: boolean;
  /** The node of the last rx/tx (a frame leaving for another partition names no node of its own). */
  lastNode: string;
  nat: string[];
  /** The decision that picked a backend (a DNAT rule or IPVS), and the one that dropped. */
  balancedBy?: string;
  droppedBy?: string;
  /** Explanations of the rules hit (nf events' `explanation`), in order, without repeats. */
  explained: string[];
}

const TERMINAL_RULE = new Set(['DROP', 'REJECT']);

export class FlowBuilder {
  private readonly tracked = new Map<number, Tracked>();
  private seq = 0;
  private readonly maxTracked: number;

  constructor(private readonly opts: FlowBuilderOptions, private readonly emit: (flow: Flow) => void) {
    this.maxTracked = opts.maxTracked ?? 65_536;
  }

  /** Feed one trace event (subscribe with `{ bytes: true }`: flows are read from the bytes). */
  onEvent(e: TraceEvent): void {
    if (e.pkt === 0) return;
    let st = this.tracked.get(e.pkt);
    if (st === undefined) {
      if (e.kind !== 'rx' && e.kind !== 'tx') return;
      st = { lastEncapsulated: false, lastNode: e.node, nat: [], explained: [] };
      this.track(e.pkt, st);
    }
    switch (e.kind) {
      case 'rx':
      case 'tx': {
        if (e.data === undefined) break;
        const s = summarisePacket(e.data, e.linkType);
        if (s === undefined) break;
        st.first ??= s;
        st.last = s;
        st.lastEncapsulated = s.encapsulated;
        st.lastNode = e.node;
        break;
      }
      case 'nat':
        st.nat.push(e.detail);
        if (e.detail.startsWith('IPVS ') && !e.detail.includes('un-DNAT')) st.balancedBy = `ipvs ${e.detail.slice(5)}`;
        break;
      case 'nf':
        if (e.verdict === 'DNAT') st.balancedBy = `${e.table} ${e.chain}:${e.rule} DNAT`;
        else if (TERMINAL_RULE.has(e.verdict)) st.droppedBy = `${e.table} ${e.chain}:${e.rule} ${e.verdict}`;
        if (e.explanation !== undefined && !st.explained.includes(e.explanation)) st.explained.push(e.explanation);
        break;
      default:
        break;
    }
    if (st.last !== undefined && this.opts.hops?.() === true) this.emit(this.flow(e, st, hopOf(e)));
    if (e.kind === 'deliver') {
      // flanneld's outer datagram is delivered to flanneld on the sending side's peer: not the packet's end —
      // unless it leaves for another partition (node partitions), whose own flows tell the rest.
      if (st.lastEncapsulated && e.to !== UPLINK) return;
      this.tracked.delete(e.pkt);
      if (st.last !== undefined) this.emit(this.flow(e, st));
    } else if (e.kind === 'drop') {
      this.tracked.delete(e.pkt);
      if (st.last !== undefined) this.emit(this.flow(e, st));
    }
  }

  private track(pkt: number, st: Tracked): void {
    if (this.tracked.size >= this.maxTracked) {
      const oldest = this.tracked.keys().next().value;
      if (oldest !== undefined) this.tracked.delete(oldest);
    }
    this.tracked.set(pkt, st);
  }

  private endpoint(ip: string, port: number | undefined): FlowEndpoint {
    return { ip, ...(port !== undefined ? { port } : {}), ...this.opts.identity.identify(ip) };
  }

  private flow(e: TraceEvent, st: Tracked, hop?: FlowHop): Flow {
    const first = st.first as PacketSummary;
    const last = st.last as PacketSummary;
    const dropped = e.kind === 'drop';
    const verdict = dropped ? (e.reason === 'nf-reject' ? 'REJECTED' : 'DROPPED') : 'FORWARDED';
    const natted = first.dst !== last.dst || first.dstPort !== last.dstPort;
    const service = this.opts.identity.serviceAt(first.dst, first.dstPort, first.protocol);
    const decidedBy = dropped ? st.droppedBy : st.balancedBy;
    const policy = dropped ? st.explained.at(-1) : st.explained.length > 0 ? st.explained.join('; ') : undefined;
    return {
      seq: ++this.seq,
      t: e.t,
      ...(this.opts.timeOf !== undefined ? { time: this.opts.timeOf(e.t) } : {}),
      traceId: e.pkt,
      node: e.node !== '' ? e.node : st.lastNode,
      source: this.endpoint(first.src, first.srcPort),
      destination: this.endpoint(last.dst, last.dstPort),
      ...(service !== undefined ? { service } : {}),
      ...(natted ? { originalDestination: { ip: first.dst, ...(first.dstPort !== undefined ? { port: first.dstPort } : {}) } } : {}),
      protocol: last.protocol,
      ...(last.tcpFlags !== undefined ? { tcpFlags: last.tcpFlags } : {}),
      ...(last.icmp !== undefined ? { icmp: last.icmp } : {}),
      verdict,
      ...(e.kind === 'drop' ? { dropReason: e.reason } : {}),
      ...(decidedBy !== undefined ? { decidedBy } : {}),
      ...(policy !== undefined ? { policy } : {}),
      ...(st.nat.length > 0 ? { nat: [...st.nat] } : {}),
      ...(hop !== undefined ? { hop } : {}),
    };
  }
}

function hopOf(e: TraceEvent): FlowHop {
  const detail = 'detail' in e ? e.detail : 'summary' in e ? e.summary : e.kind === 'route' ? `${e.dst}: ${e.result}` : e.kind === 'neigh' ? `${e.action} ${e.ip}` : e.kind === 'ttl' ? `ttl ${e.from} → ${e.to}` : '';
  return { node: e.node, netns: e.netns, kind: e.kind, detail };
}


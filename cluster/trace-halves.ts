/**
 * The far half of a trace that crosses partitions. A live `netsim trace` in one
 * partition marks its probe's frames with a trace id (netsim/wire/underlay-datagram.ts
 * FLAG_TRACE); when such a frame arrives here, this records every hop of the packet it
 * became and of this side's answer (the first packet leaving for the other partitions
 * with the addresses swapped), for one trace window. The originating partition fetches
 * the report (`GET /netsim/v1/trace-half?id=N`, cli/up/live-trace.ts) and prints it
 * between its own request and reply hops.
 *
 * Not modelled: an answer that leaves by another way than the uplink (it would not
 * reach the tracing partition anyway); a trace id seen again (a retransmission) adds
 * nothing to the half already recording. The last {@link KEPT} halves are kept.
 */
import type { Sim } from '../netsim/sim.ts';
import type { Packet } from '../netsim/packet/packet.ts';
import type { RemotePort } from '../netsim/link/remote-port.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { buildTraceReport } from '../netsim/trace/report.ts';
import type { TraceReport } from '../netsim/trace/report.ts';
import { ETHERNET_HEADER_LEN, EtherType } from '../netsim/wire/ethernet.ts';
import { IPV4_FIELD } from '../netsim/wire/ipv4.ts';
import { readU16, readU32 } from '../netsim/wire/field.ts';
import { nameUplinkSenders, TRACE_WINDOW_NS } from './trace-runner.ts';

const KEPT = 32;

interface Half {
  readonly request: number;
  readonly src: number;
  readonly dst: number;
  reply: number | undefined;
  readonly events: TraceEvent[];
  recording: boolean;
}

/** IPv4 source and destination of an Ethernet frame, or undefined for anything else. */
function addresses(frame: Uint8Array): { src: number; dst: number } | undefined {
  if (frame.length < ETHERNET_HEADER_LEN + IPV4_FIELD.OPTIONS || readU16(frame, 12) !== EtherType.IPV4) return undefined;
  return { src: readU32(frame, ETHERNET_HEADER_LEN + IPV4_FIELD.SRC), dst: readU32(frame, ETHERNET_HEADER_LEN + IPV4_FIELD.DST) };
}

export class TraceHalves {
  private readonly halves = new Map<number, Half>();

  constructor(private readonly sim: Sim, port: RemotePort) {
    port.watcher = { arrive: (pkt, id) => this.arrive(pkt, id), leave: (pkt) => this.leave(pkt) };
  }

  /** What this partition saw of trace `traceId` so far; undefined: no frame of it arrived. */
  report(traceId: number): TraceReport | undefined {
    const h = this.halves.get(traceId);
    if (h === undefined) return undefined;
    const events = [...h.events];
    nameUplinkSenders(events);
    return buildTraceReport(events, h.request, h.reply);
  }

  private arrive(pkt: Packet, traceId: number): void {
    const a = addresses(pkt.bytes());
    if (this.halves.has(traceId) || a === undefined) return;
    const h: Half = { request: pkt.id, ...a, reply: undefined, events: [], recording: true };
    const stop = this.sim.tracer.subscribe((e) => h.events.push(e));
    this.sim.clock.after(TRACE_WINDOW_NS, () => { stop(); h.recording = false; });
    this.halves.set(traceId, h);
    if (this.halves.size > KEPT) this.halves.delete(this.halves.keys().next().value as number);
  }

  private leave(pkt: Packet): void {
    let a: { src: number; dst: number } | undefined;
    for (const h of this.halves.values()) {
      if (!h.recording || h.reply !== undefined) continue;
      a ??= addresses(pkt.bytes());
      if (a === undefined) return;
      if (a.src === h.dst && a.dst === h.src) h.reply = pkt.id;
    }
  }
}

/**
 * A port of the underlay {@link Segment} that stands for every NIC living in another
 * process (a node partition): frames the segment switches to it — unicast to a MAC it
 * learned on this port, broadcast, unknown unicast — leave through `send`; frames
 * from the other side enter the segment through {@link RemotePort.inject} and are
 * switched as if this port had sent them, so the segment learns the remote MACs here.
 * Split horizon follows from the segment's own rule: a frame is never sent back out
 * of the port it came in on.
 *
 * The port has no latency, bandwidth or loss of its own (the real network between
 * the processes has them), and no namespace: it is the switch's uplink, not a host.
 * What crosses is the frame's bytes only (no conntrack state, mark or packet id —
 * as between two real hosts), plus a trace id for a packet that `netsim trace` follows
 * (set with {@link RemotePort.trace}; the other side's {@link RemotePort.watcher} hears of it). Not modelled: flow control; a frame the transport
 * cannot send is simply gone, as on a congested link.
 */
import type { Sim } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import { packetFromBytes } from '../packet/packet.ts';
import { EtherDevice } from './segment.ts';
import type { Segment } from './segment.ts';

/** Locally administered, never a NIC's (those are derived from their addresses). */
const UPLINK_MAC = 0x02_6e_73_75_70_6c;

/** The `to` of the trace's deliver event when a frame leaves for another partition. */
export const UPLINK = 'uplink';

export class RemotePort extends EtherDevice {
  /** Packets being traced here (packet id → trace id): their frames leave with the id. */
  private readonly traced = new Map<number, number>();
  /** Told of every frame that leaves, and of every traced frame that arrives (cluster/trace-halves.ts). */
  watcher: { leave(pkt: Packet): void; arrive(pkt: Packet, traceId: number): void } | undefined;

  constructor(sim: Sim, segment: Segment, private readonly send: (frame: Uint8Array, traceId: number | undefined) => void, name = 'uplink') {
    super(sim, name, UPLINK_MAC);
    segment.attach(this, { latencyNs: 0, bandwidthBps: 0, loss: 0 });
    this.up = true;
  }

  /**
   * The segment switched a frame to this port: it leaves the process. The packet's
   * story ends here for this process's trace (a `deliver` to `uplink`, node unnamed:
   * the frame's sender is whoever last transmitted it); the other partition's trace
   * tells the rest under its own packet id.
   */
  override receive(pkt: Packet): void {
    this.stats.txPackets++;
    this.stats.txBytes += pkt.len;
    const tracer = this.sim.tracer;
    if (tracer.enabled) tracer.emit({ kind: 'deliver', t: this.sim.clock.now(), node: '', netns: this.name, pkt: pkt.id, to: UPLINK, detail: `${pkt.len} bytes to another partition` });
    this.watcher?.leave(pkt);
    this.send(pkt.bytes(), this.traced.get(pkt.id));
  }

  /** Frames of packet `pkt` leave carrying `traceId`, until {@link untrace}. */
  trace(pkt: number, traceId: number): void {
    this.traced.set(pkt, traceId);
  }

  untrace(pkt: number): void {
    this.traced.delete(pkt);
  }

  /** A frame from another partition enters the segment (`traceId`: its packet is traced there). */
  inject(frame: Uint8Array, traceId?: number): void {
    const seg = this.segment;
    if (seg === undefined) return;
    this.stats.rxPackets++;
    this.stats.rxBytes += frame.length;
    const pkt = packetFromBytes(this.sim.nextPacketId(), frame);
    if (traceId !== undefined) this.watcher?.arrive(pkt, traceId);
    seg.carry(this, pkt);
  }
}

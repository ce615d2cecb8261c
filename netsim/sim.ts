/**
 * The per-run context shared by every device and namespace: the virtual clock,
 * the seeded RNG, the trace bus, packet ids, and the receive backlog.
 */
import { eventKey, Scheduler } from './time/scheduler.ts';
import { Rng } from './time/rng.ts';
import { Tracer } from './trace/tracer.ts';
import type { Packet } from './packet/packet.ts';

/** Something that can take a packet arriving from its medium (a device's receive side). */
export interface PacketSink {
  receive(pkt: Packet): void;
}

export class Sim {
  readonly clock: Scheduler;
  readonly rng: Rng;
  readonly tracer: Tracer;
  /** Packet ids handed out per host (index = the scheduler's host key). */
  private readonly packetIds: number[] = [0];
  // The backlog (Linux: per-CPU input_pkt_queue, drained in NET_RX softirq): devices that
  // hand a packet to a peer queue it here instead of calling the peer, so a pod-to-pod
  // exchange never recurses and packets keep FIFO order. Parallel arrays that keep their
  // capacity between drains (no allocation once grown).
  private readonly backlogSinks: PacketSink[] = [];
  private readonly backlogPkts: Array<Packet | undefined> = [];
  private backlogHead = 0;
  private backlogLen = 0;
  private draining = false;
  private readonly drain = (): void => this.drainBacklog();

  constructor(opts: { seed?: number | string; clock?: Scheduler; tracer?: Tracer } = {}) {
    this.clock = opts.clock ?? new Scheduler();
    this.rng = new Rng(opts.seed ?? 1);
    this.tracer = opts.tracer ?? new Tracer();
  }

  /**
   * A new packet id (trace id), unique in the run: 1, 2, 3… for the driver's packets,
   * host × 2^32 + n for the packets a host makes in its own events — so a host numbers
   * its packets the same whether or not other hosts run in other workers.
   */
  nextPacketId(): number {
    const h = this.clock.currentHost();
    const n = (this.packetIds[h] ?? 0) + 1;
    this.packetIds[h] = n;
    return eventKey(h, n);
  }

  /** Queue `pkt` for `sink.receive` at the current instant (netif_rx). */
  enqueue(sink: PacketSink, pkt: Packet): void {
    this.backlogSinks[this.backlogLen] = sink;
    this.backlogPkts[this.backlogLen] = pkt;
    this.backlogLen++;
    if (!this.draining) {
      this.draining = true;
      this.clock.soonest(this.drain);
    }
  }

  private drainBacklog(): void {
    while (this.backlogHead < this.backlogLen) {
      const i = this.backlogHead++;
      const sink = this.backlogSinks[i] as PacketSink;
      const pkt = this.backlogPkts[i] as Packet;
      this.backlogPkts[i] = undefined;
      sink.receive(pkt);
    }
    this.backlogLen = 0;
    this.backlogHead = 0;
    this.draining = false;
  }
}

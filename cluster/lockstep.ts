/**
 * Lockstep partitions: the exact way to split a cluster's hosts over workers (issue 23)
 * — the serial run's traces, captures and numbers, bit for bit. cluster/partition.ts
 * says which nodes a partition runs ({@link Partition}, blockPartition); this module
 * adds the conservative synchronisation that keeps the split exact.
 *
 * Contract
 * - Hosts: each node with its pods goes where its {@link Partition} says; the outside
 *   router and outside hosts go with partition 0.
 * - Hosts talk only over underlay segments, and a segment's frame takes at least the
 *   link latency to arrive: that latency is the lookahead ({@link lookaheadNs}). A
 *   worker may run every event before T + lookahead once it holds every frame sent
 *   before T (conservative, lower-bound time windows; Chandy–Misra–Bryant without
 *   null messages).
 * - {@link LockstepPartition} is the worker's side: the scheduler drops the events of hosts
 *   other workers run (netsim/time: Scheduler.setForeignHosts), a segment hands frames
 *   for their ports to {@link Partition.send} as {@link UnderlayFrame}s (arrival time,
 *   order key, the bytes and the packet's metadata), and {@link Partition.receive}
 *   queues frames from other workers with their sender's order key — so each host sees
 *   its events in the serial run's order (Scheduler: time, origin host, origin seq).
 * - Determinism needs no global counters in the data path: packet ids and every random
 *   stream are per host or per namespace (Sim.nextPacketId, NetNamespace.userRng,
 *   the segment's per-port loss streams).
 * - The switch learns a source address when its frame reaches it (link latency after
 *   sending), so a learning is exchanged like a frame: every worker queues every
 *   learning before it is due ({@link Learning}).
 *
 * What is and is not partitioned
 * - Partitioned: the data plane — events that run on a host (packets through its
 *   namespaces, its sockets' timers, apps started on it with Scheduler.atOn).
 * - Not partitioned: the control plane (API server, controllers, node agents,
 *   informers) and settle. They are in-process calls on the driver host, not packets:
 *   every worker builds an identical replica from the same spec and seed and settles
 *   it serially; then only the data plane is split. Driver events keep running in
 *   every worker on its replica; a replica of another worker's host sends nothing
 *   (its owner sends). So the control plane must stay quiet in the partitioned phase:
 *   work it would do there (a write, a controller wake-up) is refused.
 * - Refused up front ({@link lockstepRefusal}): zero underlay latency (no lookahead); at
 *   the split ({@link LockstepPartition.enter}): a port whose own link latency is below the
 *   lookahead (PartitionError, NETSIM_ERR_PARTITION: exit 2).
 */
import { Packet } from '../netsim/packet/packet.ts';
import type { WireContext } from '../netsim/packet/packet.ts';
import type { Sim } from '../netsim/sim.ts';
import type { EtherDevice, Segment, SegmentBoundary } from '../netsim/link/segment.ts';
import type { MacAddr } from '../netsim/wire/addr.ts';
import type { ClusterSpec } from './spec.ts';
import { PartitionError } from './partition.ts';
import type { Partition } from './partition.ts';

/** Why `spec` cannot be split exactly over more than one worker, or undefined when it can. */
export function lockstepRefusal(spec: ClusterSpec): string | undefined {
  if (spec.underlay.latencyNs <= 0) return 'the underlay latency is 0: a lockstep run needs a latency as its lookahead';
  return undefined;
}

/** The lookahead: no frame sent at T arrives before T + this (the underlay's latency; the outside segment's is 10×). */
export function lookaheadNs(spec: ClusterSpec): number {
  return spec.underlay.latencyNs;
}

/** An underlay frame on its way to a port of another worker: the packet's id, bytes and {@link WireContext}. */
export interface UnderlayFrame extends WireContext {
  readonly segment: string;
  /** The receiving port: its host and device name. */
  readonly host: string;
  readonly dev: string;
  /** Arrival time (virtual ns) and the order key the sender's host gave it. */
  readonly at: number;
  readonly key: number;
  /** The packet: id and bytes from `off`. */
  readonly id: number;
  readonly off: number;
  readonly bytes: Uint8Array;
}

/** A source address the switch learns at `at`: sent to every other worker. */
export interface Learning {
  readonly segment: string;
  readonly mac: number;
  readonly host: string;
  readonly dev: string;
  readonly at: number;
  readonly key: number;
}

/** One worker's side of a partitioned run (a {@link SegmentBoundary} for every segment of its replica). */
export class LockstepPartition implements SegmentBoundary {
  private readonly outbox: UnderlayFrame[] = [];
  private readonly learnings: Learning[] = [];
  private readonly ports = new Map<string, EtherDevice>();
  private readonly segments = new Map<string, Segment>();

  /** `nodes`: the cluster's node names; any other host (router, outside hosts) is partition 0's. */
  constructor(readonly partition: Partition, private readonly nodes: ReadonlySet<string>, private readonly sim: Sim) {}

  /** Whether this worker runs host `name`. */
  owns(name: string): boolean {
    return this.nodes.has(name) ? this.partition.owns(name) : this.partition.index === 0;
  }

  /**
   * Split `segments` of this replica: from now on, only this worker's hosts run here.
   * Refuses (PartitionError) a port whose link is faster than `lookahead`: its frames
   * could arrive inside a window another worker has already run.
   */
  enter(segments: readonly Segment[], lookahead: number): void {
    for (const s of segments) {
      for (const p of s.portList()) {
        const latency = p.link.latencyNs ?? s.props.latencyNs;
        if (latency < lookahead) throw new PartitionError(`lockstep: port ${this.hostOf(p)}/${p.name} on ${s.name} has a latency of ${latency} ns, below the lookahead of ${lookahead} ns: its frames could arrive inside a window another worker already ran; give it at least the underlay latency, or run with one worker`);
      }
    }
    for (const s of segments) {
      this.segments.set(s.name, s);
      for (const p of s.portList()) this.ports.set(`${s.name}|${this.hostOf(p)}|${p.name}`, p);
      s.boundary = this;
    }
    const clock = this.sim.clock;
    clock.setForeignHosts((h) => !this.owns(clock.hostName(h)));
  }

  /** Back to one worker running everything (the replica is no longer exact for other workers' hosts). */
  leave(): void {
    for (const s of this.segments.values()) s.boundary = undefined;
    this.sim.clock.setForeignHosts(undefined);
  }

  local(port: EtherDevice): boolean {
    return this.owns(this.hostOf(port));
  }

  send(segment: Segment, port: EtherDevice, at: number, key: number, pkt: Packet): void {
    const bytes = pkt.buf.slice(pkt.off, pkt.off + pkt.len);
    this.outbox.push({
      segment: segment.name, host: this.hostOf(port), dev: port.name, at, key,
      id: pkt.id, off: pkt.off, bytes, ...pkt.wireContext(),
    });
  }

  learned(segment: Segment, mac: MacAddr, port: EtherDevice, at: number, key: number): void {
    this.learnings.push({ segment: segment.name, mac, host: this.hostOf(port), dev: port.name, at, key });
  }

  /** Frames sent to other workers' ports (each for its port's owner) and learnings (for every other worker) since the last call. */
  takeOutbox(): { frames: UnderlayFrame[]; learnings: Learning[] } {
    return { frames: this.outbox.splice(0), learnings: this.learnings.splice(0) };
  }

  /** Queue frames for this worker's ports at their arrival, and other workers' learnings. */
  receive(frames: readonly UnderlayFrame[], learnings: readonly Learning[] = []): void {
    for (const l of learnings) {
      const segment = this.segments.get(l.segment);
      const port = this.ports.get(`${l.segment}|${l.host}|${l.dev}`);
      if (segment === undefined || port === undefined) throw new Error(`partition ${this.partition.index}: learning for an unknown port ${l.host}/${l.dev} on ${l.segment}`);
      segment.queueLearn(l.mac, port, l.at, l.key);
    }
    for (const f of frames) {
      const port = this.ports.get(`${f.segment}|${f.host}|${f.dev}`);
      if (port === undefined || !this.owns(f.host)) throw new Error(`partition ${this.partition.index}: frame for ${f.host}/${f.dev} on ${f.segment}, not a port of this worker`);
      const pkt = packetOfFrame(f);
      this.sim.clock.atKey(f.at, f.key, port.host, () => port.receive(pkt));
    }
  }

  private hostOf(port: EtherDevice): string {
    return this.sim.clock.hostName(port.host);
  }
}

/** The packet a frame carries, as the serial run's receiver would get it (the same bytes at the same offset, the same metadata). */
function packetOfFrame(f: UnderlayFrame): Packet {
  const buf = new Uint8Array(f.off + f.bytes.length);
  buf.set(f.bytes, f.off);
  const pkt = new Packet(f.id, buf, f.off, f.bytes.length);
  pkt.setWireContext(f);
  return pkt;
}

/** One partition of a lockstep run in this thread: its replica's scheduler and its boundary. */
export interface LockstepMember {
  readonly sim: Sim;
  readonly partition: LockstepPartition;
}

/**
 * Step the members in lower-bound windows until `until`: each window starts at the
 * earliest event of any member, T, and every member runs what is due before
 * T + lookahead; then frames go to their ports' owners and learnings to everyone.
 * Returns the number of windows. (lockstep-run.ts does the same across worker threads.)
 */
export function runLockstepInProcess(members: readonly LockstepMember[], until: number, lookahead: number): number {
  if (!(lookahead > 0)) throw new PartitionError(`lockstep: lookahead must be positive, got ${lookahead}`);
  let windows = 0;
  for (;;) {
    const t = Math.min(...members.map((m) => m.sim.clock.nextTime()));
    if (t > until) break;
    const end = Math.min(until, t + lookahead - 1);
    for (const m of members) m.sim.clock.run(end);
    const out = members.map((m) => m.partition.takeOutbox());
    members.forEach((m, i) => m.partition.receive(
      out.flatMap((o) => o.frames.filter((f) => m.partition.owns(f.host))),
      out.flatMap((o, j) => (j === i ? [] : o.learnings)),
    ));
    windows++;
  }
  for (const m of members) m.sim.clock.run(until);
  return windows;
}

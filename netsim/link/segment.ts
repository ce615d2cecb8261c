/**
 * The underlay: nodes' physical NICs (`eth0`) on a shared L2 segment — in effect a
 * learning switch with wires that have latency, bandwidth and loss.
 *
 * A frame transmitted by a NIC is serialised at the sending port's bandwidth (one
 * frame at a time: a port busy sending queues the next, up to `queueLimit` frames,
 * beyond which frames are dropped, like a full txqueue), then arrives after the
 * link latency at the switch's chosen port(s): the port that learned the destination
 * MAC, or every other port for broadcast and unknown unicast. Loss is drawn from the
 * sending port's own seeded stream, so the same seed loses the same frames whatever
 * the other ports send. A frame arrives as an event on the receiving port's host
 * (Scheduler.atOnWith, the frame as the entry's argument for the port's `fromWire`): the
 * underlay is where one host's work becomes another's.
 *
 * A {@link SegmentBoundary} (set by cluster/lockstep.ts) splits the ports over
 * workers: frames for ports of other workers leave through it with their arrival time
 * and order key, and the ports of other workers send nothing here.
 *
 * An "outside" network is another Segment; a router between them is a namespace
 * with two NICs and ip_forward=1 (built by the layers above). Not modelled: the
 * switch's own ageing (learned entries never expire), duplex collisions, jitter.
 */
import type { Sim } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import { clonePacket } from '../packet/packet.ts';
import type { MacAddr } from '../wire/addr.ts';
import { Ether } from '../wire/ethernet.ts';
import type { Rng } from '../time/rng.ts';
import { NetDevice } from './net-device.ts';

export interface LinkProps {
  /** One-way latency in virtual nanoseconds. */
  latencyNs: number;
  /** Bits per second; 0 means unlimited (no serialisation delay). */
  bandwidthBps: number;
  /** Probability in [0, 1] that a frame is lost. */
  loss: number;
  /** Frames that may wait behind the one being serialised before tail drop. */
  queueLimit: number;
}

/**
 * Switch for queuing an arriving frame as the scheduler entry's argument to the port's
 * prebuilt handler (on) or in a closure per frame (off, as before): for the differential
 * tests that prove it exact (tests/scenarios/event-shortcuts.test.ts).
 */
export const frameAsArgument = { on: true };

export const DEFAULT_LINK: LinkProps = { latencyNs: 0, bandwidthBps: 0, loss: 0, queueLimit: 1000 };

/** A NIC attached to a {@link Segment} (the node's `eth0`). */
export class EtherDevice extends NetDevice {
  segment: Segment | undefined = undefined;
  /** Per-port overrides of the segment's link properties. */
  link: Partial<LinkProps> = {};
  /** The scheduler's key of the host this port belongs to (set on attach). */
  host = 0;
  /** This port's loss draws (set on attach). */
  lossRng: Rng | undefined = undefined;
  /** Virtual time at which this port finishes serialising what it has queued. */
  busyUntil = 0;
  /** A frame arriving off the wire (the scheduler's entry calls it with the frame: no closure per frame). */
  readonly fromWire = (pkt: Packet): void => this.receive(pkt);
  /**
   * Departure times of the frames still on this port (non-decreasing: one frame at a
   * time): `departures[departHead, departLen)`. Read lazily — a frame whose time has come
   * is gone — so the queue costs no scheduler event per frame. Emptied by resetting the
   * indices, not `length = 0`, which frees the backing store (a new one per frame).
   */
  private readonly departures: number[] = [];
  private departHead = 0;
  private departLen = 0;

  /** Frames being serialised or waiting at `now`. */
  queuedAt(now: number): number {
    const d = this.departures;
    const n = this.departLen;
    let h = this.departHead;
    while (h < n && (d[h] as number) <= now) h++;
    if (h === n) {
      this.departLen = 0;
      h = 0;
    } else if (h > 1024 && h * 2 > n) {
      d.copyWithin(0, h, n);
      this.departLen = n - h;
      h = 0;
    }
    this.departHead = h;
    return this.departLen - h;
  }

  /** A frame leaves the port at `t`. */
  departsAt(t: number): void {
    this.departures[this.departLen++] = t;
  }

  constructor(sim: Sim, name: string, mac: MacAddr, mtu = 1500) {
    super(sim, name, 'ether', 'ether', mac, mtu);
  }

  override carrier(): boolean {
    return this.segment !== undefined;
  }

  protected xmit(pkt: Packet): void {
    (this.segment as Segment).carry(this, pkt);
  }
}

/**
 * Where a segment's ports are split over workers (cluster/lockstep.ts implements it):
 * which ports run here, and how a frame reaches a port that runs elsewhere.
 */
export interface SegmentBoundary {
  /** Whether `port`'s host runs in this worker. */
  local(port: EtherDevice): boolean;
  /** Carry `pkt` to `port` (of another worker), arriving at `at` with order key `key`. */
  send(segment: Segment, port: EtherDevice, at: number, key: number, pkt: Packet): void;
  /**
   * The switch will learn `mac` on `port` at `at` (order key `key`). Every port's
   * lookups depend on it, so every other worker must queue it too ({@link Segment.queueLearn}).
   */
  learned(segment: Segment, mac: MacAddr, port: EtherDevice, at: number, key: number): void;
}

export class Segment {
  private readonly ports: EtherDevice[] = [];
  private readonly table = new Map<MacAddr, EtherDevice>();
  /**
   * The last two MACs found in {@link table} and their ports (a frame's source and
   * destination in turn; a MAC is a 48-bit number, which a Map hashes as a heap
   * number). Forgotten whenever the table changes.
   */
  private recentMacA = NaN;
  private recentPortA: EtherDevice | undefined = undefined;
  private recentMacB = NaN;
  private recentPortB: EtherDevice | undefined = undefined;
  /**
   * Addresses the switch learns when their frames reach it (arrival time, the sending
   * event's order key): parallel arrays, applied in (time, key) order once due.
   */
  private learnAt: number[] = [];
  private learnKey: number[] = [];
  private learnMac: MacAddr[] = [];
  private learnPort: EtherDevice[] = [];
  /** The earliest time in learnAt (+Infinity when none). */
  private learnNext = Number.POSITIVE_INFINITY;
  /** Set by a partitioned run; undefined: every port runs here. */
  boundary: SegmentBoundary | undefined = undefined;

  constructor(readonly sim: Sim, readonly name: string, public props: LinkProps = { ...DEFAULT_LINK }) {}

  attach(nic: EtherDevice, link: Partial<LinkProps> = {}): void {
    if (nic.segment !== undefined) throw new Error(`${nic.name} is already attached to ${nic.segment.name}`);
    nic.segment = this;
    nic.link = link;
    const host = nic.owner?.node ?? nic.name;
    nic.host = this.sim.clock.hostKey(host);
    nic.lossRng = this.sim.rng.fork(`segment:${this.name}:${host}/${nic.name}`);
    this.ports.push(nic);
  }

  detach(nic: EtherDevice): void {
    const i = this.ports.indexOf(nic);
    if (i >= 0) this.ports.splice(i, 1);
    for (const [mac, p] of this.table) if (p === nic) this.table.delete(mac);
    this.forgetRecent();
    nic.segment = undefined;
  }

  /** Carry a frame sent by `from` to its destination port(s). */
  carry(from: EtherDevice, pkt: Packet): void {
    // Another host: no conntrack state or mark crosses the wire.
    pkt.ct = undefined;
    pkt.ctInfo = 0;
    pkt.mark = 0;
    pkt.ipvs = false;
    const boundary = this.boundary;
    // A replica of another worker's host (driven by replicated driver work): its owner sends.
    if (boundary !== undefined && !boundary.local(from)) return;
    const clock = this.sim.clock;
    const now = clock.now();
    const latency = from.link.latencyNs ?? this.props.latencyNs;
    const bw = from.link.bandwidthBps ?? this.props.bandwidthBps;
    const loss = from.link.loss ?? this.props.loss;
    const qlimit = from.link.queueLimit ?? this.props.queueLimit;
    const b = pkt.buf;
    const o = pkt.off;
    let departs = now;
    if (bw > 0) {
      if (from.queuedAt(now) > qlimit) {
        this.dropOnWire(from, pkt, 'queue-overflow', `${this.name}: ${from.name} transmit queue full (${qlimit} frames)`);
        return;
      }
      const start = Math.max(now, from.busyUntil);
      departs = start + Math.ceil((pkt.len * 8 * 1e9) / bw);
      from.busyUntil = departs;
      from.departsAt(departs);
    }
    if (loss > 0 && (from.lossRng as Rng).next() < loss) {
      this.dropOnWire(from, pkt, 'link-loss', `${this.name}: frame lost on the wire (loss ${loss})`);
      return;
    }
    const arrives = departs + latency;
    // The switch learns the source when the frame reaches it: a learning that no port can
    // see before the link latency has passed, which is what keeps it exact in partitioned runs.
    if (!Ether.srcIsGroup(b, o)) {
      const src = Ether.src(b, o);
      if (this.portOf(src) !== from) {
        const key = clock.currentKey();
        this.queueLearn(src, from, arrives, key);
        boundary?.learned(this, src, from, arrives, key);
      }
    }
    if (this.learnNext <= now) this.applyLearns(now);
    const dst = Ether.dst(b, o);
    const known = Ether.dstIsGroup(b, o) ? undefined : this.portOf(dst);
    if (known !== undefined) {
      if (known !== from) this.deliver(known, arrives, pkt);
      return;
    }
    const targets = this.ports.filter((p) => p !== from);
    targets.forEach((t, i) => this.deliver(t, arrives, i === targets.length - 1 ? pkt : clonePacket(pkt)));
  }

  private deliver(port: EtherDevice, at: number, pkt: Packet): void {
    const boundary = this.boundary;
    if (boundary !== undefined && !boundary.local(port)) boundary.send(this, port, at, this.sim.clock.nextKey(), pkt);
    else if (frameAsArgument.on) this.sim.clock.atOnWith(at, port.host, port.fromWire, pkt);
    else this.sim.clock.atOn(at, port.host, () => port.receive(pkt));
  }

  /** The port the switch has learned `mac` on (table.get, through the last two found). */
  private portOf(mac: MacAddr): EtherDevice | undefined {
    if (mac === this.recentMacA) return this.recentPortA;
    if (mac === this.recentMacB) return this.recentPortB;
    const p = this.table.get(mac);
    if (p !== undefined) {
      this.recentMacB = this.recentMacA;
      this.recentPortB = this.recentPortA;
      this.recentMacA = mac;
      this.recentPortA = p;
    }
    return p;
  }

  private forgetRecent(): void {
    this.recentMacA = NaN;
    this.recentPortA = undefined;
    this.recentMacB = NaN;
    this.recentPortB = undefined;
  }

  /** Learn `mac` on `port` at `at` (a partitioned run: what another worker's frame taught the switch). */
  queueLearn(mac: MacAddr, port: EtherDevice, at: number, key: number): void {
    this.learnAt.push(at);
    this.learnKey.push(key);
    this.learnMac.push(mac);
    this.learnPort.push(port);
    if (at < this.learnNext) this.learnNext = at;
  }

  /** Apply the learnings due by `now`, in (time, key) order. */
  private applyLearns(now: number): void {
    const n = this.learnAt.length;
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => (this.learnAt[x] as number) - (this.learnAt[y] as number) || (this.learnKey[x] as number) - (this.learnKey[y] as number) || x - y);
    const keep: number[] = [];
    for (const i of order) {
      if ((this.learnAt[i] as number) > now) keep.push(i);
      else if ((this.learnPort[i] as EtherDevice).segment === this) {
        this.table.set(this.learnMac[i] as MacAddr, this.learnPort[i] as EtherDevice);
        this.forgetRecent();
      }
    }
    this.learnNext = keep.reduce((m, i) => Math.min(m, this.learnAt[i] as number), Number.POSITIVE_INFINITY);
    this.learnAt = keep.map((i) => this.learnAt[i] as number);
    this.learnKey = keep.map((i) => this.learnKey[i] as number);
    this.learnMac = keep.map((i) => this.learnMac[i] as MacAddr);
    this.learnPort = keep.map((i) => this.learnPort[i] as EtherDevice);
  }

  portList(): readonly EtherDevice[] {
    return this.ports;
  }

  private dropOnWire(from: EtherDevice, pkt: Packet, reason: 'link-loss' | 'queue-overflow', detail: string): void {
    if (from.owner !== undefined) from.owner.traceDrop(pkt, reason, detail, from.name);
  }
}

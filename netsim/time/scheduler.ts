/**
 * Discrete-event scheduler on a virtual clock.
 *
 * Time is an integer number of nanoseconds held in a JS number: exact up to
 * 2^53 ns (about 104 days of virtual time), which is far beyond any run, and
 * much cheaper than bigint on the per-packet path.
 *
 * Hosts and the order of simultaneous events. Every event runs on a host (a key from
 * {@link Scheduler.hostKey}: a node with its pods, the router, an outside host; 0 is
 * the driver — work started outside any event, the control plane's ticks). An event
 * scheduled with `at`/`after` runs on the host that scheduled it; `atOn` hands work to
 * another host (the underlay delivering a frame). Events at the same instant run by
 * (origin host, that host's own sequence number), not by one global sequence: the
 * order of the events on a host then depends only on what that host and its peers
 * scheduled, never on how the other hosts' work happened to interleave. That is what
 * lets cluster/lockstep.ts run hosts in separate workers with the result of the
 * serial run, bit for bit. Simultaneous events on different hosts are independent,
 * so any fixed order among them is as valid as scheduling order was.
 *
 * The event queue is a binary min-heap over parallel arrays (times, sequence
 * numbers, callbacks, arguments) rather than an array of objects: push/pop allocate
 * nothing once the arrays have grown (see shared/reference/performance.md §7.5). An
 * entry may carry one argument for its callback ({@link Scheduler.atOnWith}: the
 * underlay's frame for the receiving port's prebuilt handler), so a frame in flight
 * costs no closure.
 *
 * Immediate work ({@link Scheduler.soonest}, the receive backlog's drain) is a FIFO run
 * before the next timed event. The first such entry a timed event queues is held in a
 * field and run as soon as that event returns, the way the kernel runs pending softirqs
 * on the way out of an interrupt (irq_exit → invoke_softirq), instead of going through
 * the queue: it is the queue's head either way, so the order is the same, and it still
 * counts as an event (budgets, {@link Scheduler.eventsRun}).
 *
 * Moving deadlines ({@link Timer}: a socket's retransmission timer) live in a second,
 * small heap of their own, merged with the first by (time, key) when popping. A timer
 * runs exactly where the one re-checked event it stands for would (same instant, order
 * key and host), but stopping it or moving it earlier leaves no cancelled entry behind
 * in the event heap (a TCP connection used to leave four, queued up to a second each).
 */

/** Virtual time in nanoseconds since the start of the run. */
export type Instant = number;
/** A span of virtual time in nanoseconds. */
export type Duration = number;

export const NS = 1;
export const US = 1_000;
export const MS = 1_000_000;
export const SECOND = 1_000_000_000;

export type EventCallback = () => void;
/** A callback that takes the argument its entry was queued with ({@link Scheduler.atOnWith}). */
export type ArgCallback<T> = (arg: T) => void;

/** Handle of a scheduled event; pass to {@link Scheduler.cancel}. It is also the event's order key (see {@link eventKey}). */
export type TimerId = number;

/**
 * Switch for the held head of the immediate queue (see the file's comment), for the
 * differential tests that prove it exact (tests/scenarios/event-shortcuts.test.ts):
 * off, every immediate entry goes through the queue as before.
 */
export const heldSoonest = { on: true };

/** The driver's host key: work started outside any event (top-level calls, the control plane's ticks). */
export const DRIVER_HOST = 0;
/** Keys are `origin host × 2^32 + the origin's sequence number`: exact in a double for 2^21 hosts. */
const HOST_STRIDE = 4294967296;
/** The most hosts one scheduler can key. */
export const MAX_HOSTS = 2 ** 21;

/** The order key of the `seq`-th event scheduled by host `origin`. */
export function eventKey(origin: number, seq: number): number {
  return origin * HOST_STRIDE + seq;
}

/** {@link Timer.pos} of a timer whose entry a partitioned run dropped (it belonged to a foreign host). */
const DROPPED = -2;

/**
 * A deadline that moves (the kernel's timer_list: sk_reset_timer for a socket's
 * retransmission timer), run exactly as one queued event that is re-checked when it
 * comes up: {@link Scheduler.arm} moving the deadline later only writes it; when the
 * queued entry's instant comes, the entry passes (the clock moves to it, as an event
 * would) and is queued again at the deadline with the order key an event scheduled
 * then would get; moving it earlier re-queues it at once with a new key, on the arming
 * host. {@link Scheduler.disarm} clears the deadline and leaves the entry to pass;
 * {@link Scheduler.stop} removes it (a cancelled event). The difference from events
 * and `cancel`: nothing cancelled stays queued — {@link Scheduler.pending} and
 * {@link Scheduler.nextTime} see only the live entry.
 */
export class Timer {
  /** When the queued entry comes up (meaningful while queued). */
  at: Instant = 0;
  /** The deadline; 0: disarmed. */
  deadline: Instant = 0;
  /** Order key of the queued entry. */
  key = 0;
  /** The host the entry runs on. */
  host = DRIVER_HOST;
  /** Slot in the scheduler's timer heap; -1 when not queued; {@link DROPPED} when its entry was a foreign host's. */
  pos = -1;
  constructor(readonly fn: EventCallback) {}

  /** Whether a deadline is set (the timer will fire unless moved, disarmed or stopped). */
  get armed(): boolean {
    return this.deadline !== 0;
  }
}

export class Scheduler {
  private nowNs: Instant = 0;
  /** Events scheduled so far by each origin host (index = host key). */
  private readonly hostSeqs: number[] = [0];
  private readonly hostNames = new Map<string, number>();
  private readonly hostList: string[] = [''];
  /** The host of the event running now ({@link DRIVER_HOST} between runs). */
  private host = DRIVER_HOST;
  /** Order key of the event running now (-1 outside an event). */
  private runningKey = -1;
  /** Partitioned runs: hosts whose events this scheduler leaves to another worker. */
  private foreign: ((host: number) => boolean) | undefined = undefined;
  // Heap stored as parallel arrays indexed by heap slot: time, order key, executing host,
  // callback and its argument (undefined for a plain EventCallback, which ignores it).
  private times: number[] = [];
  private seqs: number[] = [];
  private hosts: number[] = [];
  private fns: Array<ArgCallback<unknown>> = [];
  private args: unknown[] = [];
  private cancelled = new Set<number>();
  /**
   * Cancelled ids per bucket (id & 0xffff): a popped event whose bucket is 0 was not
   * cancelled, so the common pop needs no Set lookup. Collisions only fall through
   * to the Set.
   */
  private readonly cancelMarks = new Uint32Array(65536);
  private executed = 0;
  /**
   * Work to run at the current instant before any timed event (the "softirq" queue):
   * `soon[soonHead, soonLen)`. Emptied by resetting the indices, not `length = 0`, which
   * frees the backing store so that every burst would grow a new one.
   */
  private readonly soon: EventCallback[] = [];
  /** Queued {@link Timer}s, a binary min-heap by (at, key); each knows its slot. */
  private readonly timers: Timer[] = [];
  private readonly soonHosts: number[] = [];
  private soonHead = 0;
  private soonLen = 0;
  /**
   * The head of the immediate queue while it is held out of `soon` (see the file's
   * comment): set when a timed event queues immediate work into an empty queue, run when
   * that event returns. Anything queued behind it first moves it into `soon`.
   */
  private heldFn: EventCallback | undefined = undefined;
  private heldHost = DRIVER_HOST;
  /** A timed event is running (its first immediate work may be held). */
  private inTimed = false;

  /** The current virtual time. */
  now(): Instant {
    return this.nowNs;
  }

  /** How many events (timed and immediate) have run. */
  eventsRun(): number {
    return this.executed;
  }

  /** Number of timed events still queued (cancelled ones included until they surface; a Timer's entry counts once). */
  pending(): number {
    return this.times.length + this.timers.length + (this.soonLen - this.soonHead) + (this.heldFn === undefined ? 0 : 1);
  }

  /**
   * The key of host `name` (a node's name for its root and pod namespaces), given in
   * order of first request — the same build gives every host the same key.
   */
  hostKey(name: string): number {
    let k = this.hostNames.get(name);
    if (k === undefined) {
      k = this.hostList.length;
      if (k >= MAX_HOSTS) throw new RangeError(`scheduler: more than ${MAX_HOSTS - 1} hosts`);
      this.hostNames.set(name, k);
      this.hostList.push(name);
      this.hostSeqs.push(0);
    }
    return k;
  }

  /** The name of host `key` ('' for the driver). */
  hostName(key: number): string {
    return this.hostList[key] ?? '';
  }

  /** How many events host `host` has scheduled (a partitioned run compares the driver's across workers). */
  scheduledBy(host: number): number {
    return this.hostSeqs[host] ?? 0;
  }

  /**
   * Order keys given out so far by all hosts: every timed event and timer entry queued
   * (immediate work takes none). The datapath bench divides it by the packets delivered.
   */
  keysGiven(): number {
    let n = 0;
    for (const k of this.hostSeqs) n += k;
    return n;
  }

  /** The host whose event is running now ({@link DRIVER_HOST} outside events). */
  currentHost(): number {
    return this.host;
  }

  /** The order key of the event running now, -1 outside events. */
  currentKey(): number {
    return this.runningKey;
  }

  /**
   * Partitioned runs (cluster/lockstep.ts): events on a host for which `isForeign`
   * says true are dropped when due — another worker runs that host. Driver events
   * run everywhere. `undefined` (the default) runs everything.
   */
  setForeignHosts(isForeign: ((host: number) => boolean) | undefined): void {
    this.foreign = isForeign;
  }

  /** Run `fn` at absolute virtual time `t` (clamped to now), on the current host. */
  at(t: Instant, fn: EventCallback): TimerId {
    return this.atOn(t, this.host, fn);
  }

  /** Run `fn` at `t` on host `host` (the underlay handing a frame to another node). */
  atOn(t: Instant, host: number, fn: EventCallback): TimerId {
    return this.atOnWith(t, host, fn, undefined);
  }

  /** Run `fn(arg)` at `t` on host `host`: {@link atOn} without a closure to carry `arg`. */
  atOnWith<T>(t: Instant, host: number, fn: ArgCallback<T>, arg: T): TimerId {
    if (!Number.isFinite(t)) throw new RangeError(`scheduler: time must be finite, got ${t}`);
    const when = Math.max(Math.round(t), this.nowNs);
    const origin = this.host;
    const seq = ++(this.hostSeqs[origin] as number);
    const id = origin * HOST_STRIDE + seq;
    this.push(when, id, host, fn as ArgCallback<unknown>, arg);
    return id;
  }

  /**
   * The next key host `origin` would give an event, consumed (a partitioned run keys a
   * frame it sends to another worker with it, as {@link atOn} would have).
   */
  nextKey(): number {
    const origin = this.host;
    return origin * HOST_STRIDE + ++(this.hostSeqs[origin] as number);
  }

  /** Queue `fn` at `t` on `host` with an order key made by another worker's {@link nextKey}. */
  atKey(t: Instant, key: number, host: number, fn: EventCallback): void {
    if (!Number.isFinite(t) || t < this.nowNs) throw new RangeError(`scheduler: keyed event at ${t} is in the past (now ${this.nowNs})`);
    this.push(t, key, host, fn, undefined);
  }

  /** The earliest time of a queued event (+Infinity when none; immediate work counts as now). */
  nextTime(): Instant {
    if (this.soonHead < this.soonLen || this.heldFn !== undefined) return this.nowNs;
    const t = this.times.length === 0 ? Number.POSITIVE_INFINITY : (this.times[0] as number);
    const tm = this.timers[0];
    return tm !== undefined && tm.at < t ? tm.at : t;
  }

  /** Run `fn` after `dt` nanoseconds of virtual time. */
  after(dt: Duration, fn: EventCallback): TimerId {
    return this.at(this.nowNs + dt, fn);
  }

  /**
   * Run `fn` at the current instant, after the callbacks already queued this way and before
   * any timed event. This is how devices hand packets on without recursion (Linux: the
   * per-CPU backlog processed in softirq context).
   */
  soonest(fn: EventCallback): void {
    if (this.heldFn !== undefined) this.unhold();
    else if (this.inTimed && this.soonHead >= this.soonLen && heldSoonest.on) {
      this.heldFn = fn;
      this.heldHost = this.host;
      return;
    }
    this.soonHosts[this.soonLen] = this.host;
    this.soon[this.soonLen++] = fn;
  }

  /** The held head of the immediate queue goes into the queue (ahead of everything, which is behind it). */
  private unhold(): void {
    const fn = this.heldFn as EventCallback;
    this.heldFn = undefined;
    // The queue is empty whenever an entry is held: nothing was queued after it without this.
    this.soonHosts[this.soonLen] = this.heldHost;
    this.soon[this.soonLen++] = fn;
  }

  /**
   * A timed event returned: run its held immediate work, as the queue's head would run
   * next (or leave it queued when the budget is spent).
   */
  private runHeld(budget: number): void {
    const fn = this.heldFn as EventCallback;
    if (budget <= 0) {
      this.unhold();
      return;
    }
    this.heldFn = undefined;
    this.host = this.heldHost;
    this.executed++;
    try {
      fn();
    } finally {
      this.host = DRIVER_HOST;
    }
  }

  cancel(id: TimerId): void {
    if (this.cancelled.has(id)) return;
    this.cancelled.add(id);
    (this.cancelMarks[id & 0xffff] as number)++;
  }

  /**
   * Set `tm`'s deadline to `t` (rounded, clamped to now; must be > 0). Not queued: queued
   * at `t` on the current host with the next key, as `at` would. Queued at or before `t`:
   * only the deadline moves. Queued after `t`: re-queued at `t` as cancel + `at` would.
   */
  arm(tm: Timer, t: Instant): void {
    if (!Number.isFinite(t)) throw new RangeError(`scheduler: time must be finite, got ${t}`);
    const when = Math.max(Math.round(t), this.nowNs);
    tm.deadline = when;
    if (tm.pos !== -1 && when >= tm.at) return;
    const origin = this.host;
    tm.key = origin * HOST_STRIDE + ++(this.hostSeqs[origin] as number);
    tm.host = origin;
    tm.at = when;
    if (tm.pos < 0) {
      tm.pos = this.timers.length;
      this.timers.push(tm);
    }
    this.timerUp(tm.pos);
  }

  /** Clear `tm`'s deadline; its queued entry stays and passes when it comes up (an event that finds nothing to do). */
  disarm(tm: Timer): void {
    tm.deadline = 0;
  }

  /** Clear `tm`'s deadline and remove its queued entry (`cancel`). */
  stop(tm: Timer): void {
    tm.deadline = 0;
    this.unqueue(tm);
  }

  private unqueue(tm: Timer): void {
    const i = tm.pos;
    tm.pos = -1;
    if (i < 0) return;
    const last = this.timers.pop() as Timer;
    if (last === tm) return;
    this.timers[i] = last;
    last.pos = i;
    this.timerUp(i);
    this.timerDown(last.pos);
  }

  /**
   * The timer at the top comes up (it is due and first in (time, key) order): what its
   * queued event would do — drop it for a foreign host; otherwise the clock moves to
   * it, then it fires, passes (disarmed) or is queued again at its later deadline.
   */
  private timerDue(tm: Timer): void {
    if (this.foreign !== undefined && tm.host !== DRIVER_HOST && this.foreign(tm.host)) {
      // The event is dropped, not run: nothing re-queues it, and until an earlier arming
      // or a stop the timer counts as still queued at its instant, as that event's owner would.
      this.unqueue(tm);
      tm.pos = DROPPED;
      return;
    }
    this.nowNs = tm.at;
    this.executed++;
    if (tm.deadline > tm.at) {
      tm.key = tm.host * HOST_STRIDE + ++(this.hostSeqs[tm.host] as number);
      tm.at = tm.deadline;
      this.timerDown(tm.pos);
      return;
    }
    this.unqueue(tm);
    if (tm.deadline === 0) return;
    tm.deadline = 0;
    this.host = tm.host;
    this.runningKey = tm.key;
    this.inTimed = true;
    try {
      tm.fn();
    } finally {
      this.host = DRIVER_HOST;
      this.inTimed = false;
    }
  }

  /** Run until no events remain or virtual time would pass `until`. Returns events run. */
  run(until: Instant = Number.POSITIVE_INFINITY, maxEvents = Number.POSITIVE_INFINITY): number {
    const start = this.executed;
    for (;;) {
      if (this.executed - start >= maxEvents) break;
      if (this.drainSoon(maxEvents - (this.executed - start))) continue;
      const tm = this.timers[0];
      if (tm !== undefined && (this.times.length === 0 || tm.at < (this.times[0] as number) || (tm.at === this.times[0] && tm.key < (this.seqs[0] as number)))) {
        if (tm.at > until) break;
        this.timerDue(tm);
        if (this.heldFn !== undefined) this.runHeld(maxEvents - (this.executed - start));
        continue;
      }
      if (this.times.length === 0) break;
      const t = this.times[0] as number;
      if (t > until) break;
      const id = this.seqs[0] as number;
      const host = this.hosts[0] as number;
      const fn = this.fns[0] as ArgCallback<unknown>;
      const arg = this.args[0];
      this.popTop();
      if (this.cancelMarks[id & 0xffff] !== 0 && this.cancelled.delete(id)) {
        (this.cancelMarks[id & 0xffff] as number)--;
        continue;
      }
      if (this.foreign !== undefined && host !== DRIVER_HOST && this.foreign(host)) continue;
      this.nowNs = t;
      this.executed++;
      this.host = host;
      this.runningKey = id;
      this.inTimed = true;
      try {
        fn(arg);
      } finally {
        this.host = DRIVER_HOST;
        this.inTimed = false;
      }
      if (this.heldFn !== undefined) this.runHeld(maxEvents - (this.executed - start));
    }
    this.runningKey = -1;
    // Time passes to `until` only when nothing due before it is left (not when maxEvents cut the run).
    const tm = this.timers[0];
    const idle = this.soonHead >= this.soonLen && this.heldFn === undefined && (this.times.length === 0 || (this.times[0] as number) > until) && (tm === undefined || tm.at > until);
    if (idle && Number.isFinite(until) && until > this.nowNs) this.nowNs = until;
    return this.executed - start;
  }

  /** Advance virtual time by `dt`, running everything due on the way. */
  runFor(dt: Duration): number {
    return this.run(this.nowNs + dt);
  }

  /** Run only what is due at the current instant. */
  runNow(): number {
    return this.run(this.nowNs);
  }

  /** Returns true if it ran anything. */
  private drainSoon(budget: number): boolean {
    // Held work left by an event that threw is still the queue's head.
    if (this.heldFn !== undefined) this.unhold();
    if (this.soonHead >= this.soonLen) return false;
    let n = 0;
    const outer = this.host;
    while (this.soonHead < this.soonLen && n < budget) {
      const fn = this.soon[this.soonHead] as EventCallback;
      this.host = this.soonHosts[this.soonHead] as number;
      this.soon[this.soonHead] = noop;
      this.soonHead++;
      this.executed++;
      n++;
      try {
        fn();
      } finally {
        this.host = outer;
      }
    }
    if (this.soonHead >= this.soonLen) {
      this.soonLen = 0;
      this.soonHead = 0;
    }
    return n > 0;
  }

  // Sift with a hole (each level moves one entry instead of swapping two). Pop order is
  // fixed by the (time, sequence) total order, whatever the heap's internal layout.
  private push(t: number, id: number, host: number, fn: ArgCallback<unknown>, arg: unknown): void {
    const times = this.times;
    const seqs = this.seqs;
    const hosts = this.hosts;
    const fns = this.fns;
    const args = this.args;
    let i = times.length;
    times.push(t);
    seqs.push(id);
    hosts.push(host);
    fns.push(fn);
    args.push(arg);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = times[p] as number;
      if (tp < t || (tp === t && (seqs[p] as number) < id)) break;
      times[i] = tp;
      seqs[i] = seqs[p] as number;
      hosts[i] = hosts[p] as number;
      fns[i] = fns[p] as ArgCallback<unknown>;
      args[i] = args[p];
      i = p;
    }
    times[i] = t;
    seqs[i] = id;
    hosts[i] = host;
    fns[i] = fn;
    args[i] = arg;
  }

  private timerUp(i: number): void {
    const h = this.timers;
    const tm = h[i] as Timer;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = h[p] as Timer;
      if (!timerBefore(tm, tp)) break;
      h[i] = tp;
      tp.pos = i;
      i = p;
    }
    h[i] = tm;
    tm.pos = i;
  }

  private timerDown(i: number): void {
    const h = this.timers;
    const n = h.length;
    const tm = h[i] as Timer;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let m = l;
      const r = l + 1;
      if (r < n && timerBefore(h[r] as Timer, h[l] as Timer)) m = r;
      const tmm = h[m] as Timer;
      if (!timerBefore(tmm, tm)) break;
      h[i] = tmm;
      tmm.pos = i;
      i = m;
    }
    h[i] = tm;
    tm.pos = i;
  }

  private popTop(): void {
    const times = this.times;
    const seqs = this.seqs;
    const hosts = this.hosts;
    const fns = this.fns;
    const args = this.args;
    const t = times.pop() as number;
    const id = seqs.pop() as number;
    const host = hosts.pop() as number;
    const fn = fns.pop() as ArgCallback<unknown>;
    const arg = args.pop();
    const n = times.length;
    if (n === 0) return;
    // Re-insert the former last entry from the root down.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let m = l;
      let tm = times[l] as number;
      const r = l + 1;
      if (r < n) {
        const tr = times[r] as number;
        if (tr < tm || (tr === tm && (seqs[r] as number) < (seqs[l] as number))) {
          m = r;
          tm = tr;
        }
      }
      if (t < tm || (t === tm && id < (seqs[m] as number))) break;
      times[i] = tm;
      seqs[i] = seqs[m] as number;
      hosts[i] = hosts[m] as number;
      fns[i] = fns[m] as ArgCallback<unknown>;
      args[i] = args[m];
      i = m;
    }
    times[i] = t;
    seqs[i] = id;
    hosts[i] = host;
    fns[i] = fn;
    args[i] = arg;
  }
}

function timerBefore(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.key < b.key);
}

function noop(): void {}

/** Format a virtual instant as seconds with nanosecond precision: `12.000034500`. */
export function formatInstant(t: Instant): string {
  const s = Math.floor(t / SECOND);
  const ns = t - s * SECOND;
  return `${s}.${String(ns).padStart(9, '0')}`;
}

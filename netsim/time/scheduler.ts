/**
 * Discrete-event scheduler on a virtual clock.
 *
 * Time is an integer number of nanoseconds held in a JS number: exact up to
 * 2^53 ns (about 104 days of virtual time), which is far beyond any run, and
 * much cheaper than bigint on the per-packet path. Events at the same instant
 * run in the order they were scheduled (a sequence number breaks ties), so a
 * run is a pure function of its inputs and seed.
 *
 * The event queue is a binary min-heap over parallel arrays (times, sequence
 * numbers, callbacks) rather than an array of objects: push/pop allocate
 * nothing once the arrays have grown (see shared/reference/performance.md §7.5).
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

/** Handle of a scheduled event; pass to {@link Scheduler.cancel}. */
export type TimerId = number;

export class Scheduler {
  private nowNs: Instant = 0;
  private seq = 0;
  // Heap stored as parallel arrays indexed by heap slot.
  private times: number[] = [];
  private seqs: number[] = [];
  private fns: EventCallback[] = [];
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
  private soonHead = 0;
  private soonLen = 0;

  /** The current virtual time. */
  now(): Instant {
    return this.nowNs;
  }

  /** How many events (timed and immediate) have run. */
  eventsRun(): number {
    return this.executed;
  }

  /** Number of timed events still queued (cancelled ones included until they surface). */
  pending(): number {
    return this.times.length + (this.soonLen - this.soonHead);
  }

  /** Run `fn` at absolute virtual time `t` (clamped to now). */
  at(t: Instant, fn: EventCallback): TimerId {
    if (!Number.isFinite(t)) throw new RangeError(`scheduler: time must be finite, got ${t}`);
    const when = Math.max(Math.round(t), this.nowNs);
    const id = ++this.seq;
    this.push(when, id, fn);
    return id;
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
    this.soon[this.soonLen++] = fn;
  }

  cancel(id: TimerId): void {
    if (this.cancelled.has(id)) return;
    this.cancelled.add(id);
    (this.cancelMarks[id & 0xffff] as number)++;
  }

  /** Run until no events remain or virtual time would pass `until`. Returns events run. */
  run(until: Instant = Number.POSITIVE_INFINITY, maxEvents = Number.POSITIVE_INFINITY): number {
    const start = this.executed;
    for (;;) {
      if (this.executed - start >= maxEvents) break;
      if (this.drainSoon(maxEvents - (this.executed - start))) continue;
      if (this.times.length === 0) break;
      const t = this.times[0] as number;
      if (t > until) break;
      const id = this.seqs[0] as number;
      const fn = this.fns[0] as EventCallback;
      this.popTop();
      if (this.cancelMarks[id & 0xffff] !== 0 && this.cancelled.delete(id)) {
        (this.cancelMarks[id & 0xffff] as number)--;
        continue;
      }
      this.nowNs = t;
      this.executed++;
      fn();
    }
    // Time passes to `until` only when nothing due before it is left (not when maxEvents cut the run).
    const idle = this.soonHead >= this.soonLen && (this.times.length === 0 || (this.times[0] as number) > until);
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
    if (this.soonHead >= this.soonLen) return false;
    let n = 0;
    while (this.soonHead < this.soonLen && n < budget) {
      const fn = this.soon[this.soonHead] as EventCallback;
      this.soon[this.soonHead] = noop;
      this.soonHead++;
      this.executed++;
      n++;
      fn();
    }
    if (this.soonHead >= this.soonLen) {
      this.soonLen = 0;
      this.soonHead = 0;
    }
    return n > 0;
  }

  // Sift with a hole (each level moves one entry instead of swapping two). Pop order is
  // fixed by the (time, sequence) total order, whatever the heap's internal layout.
  private push(t: number, id: number, fn: EventCallback): void {
    const times = this.times;
    const seqs = this.seqs;
    const fns = this.fns;
    let i = times.length;
    times.push(t);
    seqs.push(id);
    fns.push(fn);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = times[p] as number;
      if (tp < t || (tp === t && (seqs[p] as number) < id)) break;
      times[i] = tp;
      seqs[i] = seqs[p] as number;
      fns[i] = fns[p] as EventCallback;
      i = p;
    }
    times[i] = t;
    seqs[i] = id;
    fns[i] = fn;
  }

  private popTop(): void {
    const times = this.times;
    const seqs = this.seqs;
    const fns = this.fns;
    const t = times.pop() as number;
    const id = seqs.pop() as number;
    const fn = fns.pop() as EventCallback;
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
      fns[i] = fns[m] as EventCallback;
      i = m;
    }
    times[i] = t;
    seqs[i] = id;
    fns[i] = fn;
  }
}

function noop(): void {}

/** Format a virtual instant as seconds with nanosecond precision: `12.000034500`. */
export function formatInstant(t: Instant): string {
  const s = Math.floor(t / SECOND);
  const ns = t - s * SECOND;
  return `${s}.${String(ns).padStart(9, '0')}`;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DRIVER_HOST, heldSoonest, Scheduler, SECOND, Timer, formatInstant } from './scheduler.ts';
import { Rng } from './rng.ts';

test('events run in time order; ties run in scheduling order', () => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(30, () => log.push('c'));
  s.at(10, () => log.push('a1'));
  s.at(10, () => log.push('a2'));
  s.after(20, () => log.push('b'));
  s.run();
  assert.deepEqual(log, ['a1', 'a2', 'b', 'c']);
  assert.equal(s.now(), 30);
});

test('soonest() work runs before any timed event, FIFO, at the current instant', () => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(0, () => {
    log.push('t0');
    s.soonest(() => log.push('soon1'));
    s.at(0, () => log.push('t0-later'));
    s.soonest(() => log.push('soon2'));
  });
  s.run();
  assert.deepEqual(log, ['t0', 'soon1', 'soon2', 't0-later']);
});

test('cancel, run(until) advances the clock to until, runFor', () => {
  const s = new Scheduler();
  let fired = 0;
  const id = s.after(5, () => fired++);
  s.after(50, () => fired++);
  s.cancel(id);
  s.run(20);
  assert.equal(fired, 0);
  assert.equal(s.now(), 20, 'idle time passes up to `until`');
  s.runFor(100);
  assert.equal(fired, 1);
  assert.equal(s.now(), 120);
  assert.throws(() => s.at(Number.NaN, () => {}), RangeError);
});

test('property: any schedule runs sorted by (time, insertion order)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }), (times) => {
    const s = new Scheduler();
    const ran: Array<[number, number]> = [];
    times.forEach((t, i) => s.at(t, () => ran.push([s.now(), i])));
    s.run();
    const expected = times.map((t, i) => [t, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepEqual(ran, expected);
  }));
});

/**
 * A reference model of the scheduler's contract, written for clarity: immediate work FIFO
 * before timed events, timed events by (time, insertion), cancelled ones skipped.
 */
class ModelScheduler {
  now = 0;
  private seq = 0;
  private readonly timed: Array<{ t: number; id: number; fn: () => void }> = [];
  private readonly soon: Array<() => void> = [];
  private readonly cancelled = new Set<number>();
  at(t: number, fn: () => void): number {
    const id = ++this.seq;
    this.timed.push({ t: Math.max(t, this.now), id, fn });
    return id;
  }
  soonest(fn: () => void): void {
    this.soon.push(fn);
  }
  pending(): number {
    return this.soon.length + this.timed.length;
  }
  nextTime(): number {
    if (this.soon.length > 0) return this.now;
    return this.timed.reduce((m, e) => Math.min(m, e.t), Number.POSITIVE_INFINITY);
  }
  cancel(id: number): void {
    this.cancelled.add(id);
  }
  run(until: number, budget: number): void {
    for (let n = 0; n < budget; n++) {
      const f = this.soon.shift();
      if (f !== undefined) {
        f();
        continue;
      }
      this.timed.sort((a, b) => a.t - b.t || a.id - b.id);
      const e = this.timed[0];
      if (e === undefined || e.t > until) break;
      this.timed.shift();
      if (this.cancelled.delete(e.id)) {
        n--;
        continue;
      }
      this.now = e.t;
      e.fn();
    }
    // Idle time passes to `until` when nothing due before it is left (cancelled events count as due).
    this.timed.sort((a, b) => a.t - b.t || a.id - b.id);
    const first = this.timed[0];
    if (this.soon.length === 0 && (first === undefined || first.t > until) && Number.isFinite(until) && until > this.now) this.now = until;
  }
}

test('property: bursts of immediate work, timed events and cancellations run as the reference model, run after run', () => {
  // Each event, when it runs, does what its op says: schedule immediate work, a timed event
  // a little later, or cancel an earlier event. Several runs with event budgets reuse the queues.
  const op = fc.record({ kind: fc.constantFrom('soon', 'at', 'cancel', 'none'), dt: fc.integer({ min: 0, max: 50 }), pick: fc.nat() });
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), (ops, budgets) => {
    const drive = (s: { at(t: number, fn: () => void): number; soonest(fn: () => void): void; cancel(id: number): void; run(until: number, budget: number): unknown; pending(): number; nextTime(): number }, now: () => number): string[] => {
      const log: string[] = [];
      const ids: number[] = [];
      let next = 0;
      // An event does one to three ops: a timed event's first immediate work is held
      // (Scheduler.soonest), and what it queues after that must still run behind it.
      const ev = (name: number): (() => void) => () => {
        log.push(`${name}@${now()}`);
        const o = ops[next++];
        if (o === undefined) return;
        for (let k = 0; k <= o.pick % 3; k++) {
          if (o.kind === 'soon') s.soonest(ev(next * 10 + k));
          else if (o.kind === 'at') ids.push(s.at(now() + o.dt, ev(next * 10 + k)));
          else if (o.kind === 'cancel' && ids.length > 0) s.cancel(ids[(o.pick + k) % ids.length] as number);
        }
      };
      ids.push(s.at(0, ev(-1)));
      s.soonest(ev(-2));
      for (const b of budgets) {
        s.run(now() + 30, b);
        log.push(`| ${s.pending()} ${s.nextTime()}`);
        ids.push(s.at(now(), ev(-3)));
        s.soonest(ev(-4));
      }
      s.run(Number.POSITIVE_INFINITY, 100_000);
      return log;
    };
    const real = new Scheduler();
    const model = new ModelScheduler();
    const expected = drive(model, () => model.now);
    assert.deepEqual(drive(real, () => real.now()), expected);
    heldSoonest.on = false;
    try {
      const plain = new Scheduler();
      assert.deepEqual(drive(plain, () => plain.now()), expected, 'without the held head');
    } finally {
      heldSoonest.on = true;
    }
  }), { numRuns: 300 });
});

test('property: a Timer runs as one event re-queued at its deadline when it comes up early (instant, order key, host, clock)', () => {
  // Events on three hosts arm, disarm and stop four timers, schedule events (some on
  // another host) and immediate work; timers re-arm themselves when they fire. The
  // reference does what TCP did with plain events: one queued event per timer and a
  // deadline field; arming earlier than the queued event cancels it and queues a new
  // one, a stop cancels it, and an event that comes up before its deadline queues
  // itself again there (or does nothing when disarmed). Both give the same log of
  // (what, instant, order key, host) and the same clock, run after run, with foreign
  // hosts. (Runs are not cut by an event budget: there a cancelled event still queued
  // counts as due and keeps the clock from passing to `until`; a stopped Timer leaves
  // nothing queued.)
  const op = fc.record({
    kind: fc.constantFrom('arm', 'arm', 'arm', 'disarm', 'stop', 'at', 'atOn', 'soon', 'none'),
    dt: fc.integer({ min: 0, max: 40 }),
    pick: fc.nat(),
  });
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 150 }), fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 5 }), fc.boolean(), (ops, spans, foreign) => {
    type Arming = { arm(j: number, t: number): void; disarm(j: number): void; stop(j: number): void };
    const drive = (s: Scheduler, mk: (fire: (j: number) => () => void) => Arming): string[] => {
      const hosts = [s.hostKey('a'), s.hostKey('b'), s.hostKey('c')];
      const log: string[] = [];
      let next = 0;
      const step = (): void => {
        const o = ops[next++];
        if (o === undefined) return;
        const t = s.now() + o.dt + 1;
        if (o.kind === 'arm') timers.arm(o.pick % 4, t);
        else if (o.kind === 'disarm') timers.disarm(o.pick % 4);
        else if (o.kind === 'stop') timers.stop(o.pick % 4);
        else if (o.kind === 'at') s.at(t - 1, ev(next));
        else if (o.kind === 'atOn') s.atOn(t - 1, hosts[o.pick % 3] as number, ev(next));
        else if (o.kind === 'soon') s.soonest(ev(next));
      };
      const note = (what: string): void => { log.push(`${what}@${s.now()} k${s.currentKey()} h${s.currentHost()}`); };
      const ev = (name: number): (() => void) => () => { note(`e${name}`); step(); };
      const timers = mk((j) => () => { note(`t${j}`); step(); });
      s.atOn(0, hosts[0] as number, ev(-1));
      s.atOn(0, hosts[1] as number, ev(-2));
      timers.arm(0, 5);
      for (const span of spans) {
        s.run(s.now() + span);
        log.push(`| ${s.now()}`);
        s.at(s.now(), ev(-3));
      }
      if (foreign) s.setForeignHosts((h) => h === hosts[2]);
      s.run();
      log.push(`end ${s.now()}`);
      return log;
    };
    const real = new Scheduler();
    const got = drive(real, (fire) => {
      const ts = [0, 1, 2, 3].map((j) => new Timer(fire(j)));
      return { arm: (j, t) => real.arm(ts[j] as Timer, t), disarm: (j) => real.disarm(ts[j] as Timer), stop: (j) => real.stop(ts[j] as Timer) };
    });
    const ref = new Scheduler();
    const want = drive(ref, (fire) => {
      const st = [0, 1, 2, 3].map((j) => ({ id: undefined as number | undefined, at: 0, deadline: 0, f: fire(j) }));
      const queue = (x: (typeof st)[number], t: number): void => {
        x.at = t;
        const come = (): void => {
          x.id = undefined;
          if (x.deadline === 0) return;
          if (x.deadline > x.at) {
            queue(x, x.deadline);
            return;
          }
          x.deadline = 0;
          x.f();
        };
        x.id = ref.at(t, come);
      };
      return {
        arm: (j, t) => {
          const x = st[j] as (typeof st)[number];
          x.deadline = t;
          if (x.id !== undefined && t < x.at) {
            ref.cancel(x.id);
            x.id = undefined;
          }
          if (x.id === undefined) queue(x, t);
        },
        disarm: (j) => { (st[j] as (typeof st)[number]).deadline = 0; },
        stop: (j) => {
          const x = st[j] as (typeof st)[number];
          x.deadline = 0;
          if (x.id !== undefined) ref.cancel(x.id);
          x.id = undefined;
        },
      };
    });
    assert.deepEqual(got, want);
  }), { numRuns: 400 });
});

test('a Timer: moved later it comes up and re-queues; earlier, at once; disarmed it only moves the clock; stopped, nothing', () => {
  const s = new Scheduler();
  const log: number[] = [];
  const tm = new Timer(() => log.push(s.now()));
  s.arm(tm, 100);
  assert.equal(tm.armed, true);
  assert.equal(s.nextTime(), 100);
  s.arm(tm, 300);
  assert.equal(s.nextTime(), 100, 'moved later: the entry stays where it was');
  s.arm(tm, 50);
  assert.equal(s.nextTime(), 50);
  assert.equal(s.pending(), 1, 'no cancelled entry left behind');
  s.run(60);
  assert.deepEqual(log, [50]);
  assert.equal(tm.armed, false);
  s.arm(tm, 200);
  s.arm(tm, 400);
  s.run(250);
  assert.deepEqual(log, [50]);
  assert.equal(s.pending(), 1, 're-queued at 400');
  s.disarm(tm);
  s.run();
  assert.equal(s.now(), 400, 'a disarmed entry still comes up (as the event it stands for)');
  assert.deepEqual(log, [50]);
  s.arm(tm, 500);
  s.stop(tm);
  s.stop(tm);
  assert.equal(s.pending(), 0);
  s.run();
  assert.equal(s.now(), 400, 'a stopped timer does not move the clock');
  assert.throws(() => s.arm(tm, Number.POSITIVE_INFINITY), RangeError);
});

test('formatInstant prints seconds with nanoseconds', () => {
  assert.equal(formatInstant(0), '0.000000000');
  assert.equal(formatInstant(12 * SECOND + 34500), '12.000034500');
});

test('Rng: same seed same stream, forks independent of other consumers, int() unbiased range', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 5 }, () => b.nextU32()), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, () => new Rng(43).nextU32()), xs);
  // A fork's stream depends on the parent's state and label only.
  const f1 = new Rng(7).fork('statistic');
  const p = new Rng(7);
  const f2 = p.fork('statistic');
  assert.equal(f1.nextU32(), f2.nextU32());
  assert.notEqual(new Rng(7).fork('ipvs').nextU32(), new Rng(7).fork('statistic').nextU32());
  const r = new Rng(1);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[r.int(3)]!++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `roughly uniform: ${counts.join(',')}`);
  assert.throws(() => r.int(0), RangeError);
  for (let i = 0; i < 1000; i++) {
    const v = r.range(5, 7);
    assert.ok(v >= 5 && v <= 7);
  }
});

test('hosts: ties run by (origin host, its own sequence); atOn hands work to a host; foreign hosts are skipped', () => {
  const s = new Scheduler();
  const a = s.hostKey('a');
  const b = s.hostKey('b');
  assert.equal(s.hostKey('a'), a, 'one key per name');
  assert.equal(s.hostName(b), 'b');
  const log: string[] = [];
  const note = (x: string) => () => log.push(`${x}@${s.hostName(s.currentHost()) || 'driver'}`);
  // Scheduled by host b first, then by host a: at the same instant a's run first (origin order), each in its own order.
  s.atOn(0, b, () => {
    s.at(10, note('b1'));
    s.at(10, note('b2'));
  });
  s.atOn(1, a, () => {
    s.at(10, note('a1'));
    s.atOn(10, b, note('a-to-b'));
  });
  s.run(5);
  assert.equal(s.currentHost(), 0, 'between events the driver runs');
  s.run();
  assert.deepEqual(log, ['a1@a', 'a-to-b@b', 'b1@b', 'b2@b']);
  // A key made by one scheduler (another worker's host) orders an event in another exactly as atOn would have.
  const t1 = new Scheduler();
  const t2 = new Scheduler();
  for (const t of [t1, t2]) { t.hostKey('a'); t.hostKey('b'); }
  const out1: string[] = [];
  const out2: string[] = [];
  t1.atOn(0, a, () => t1.atOn(7, b, () => out1.push('frame')));
  t1.atOn(7, b, () => out1.push('own'));
  let key = 0;
  t2.atOn(0, a, () => { key = t2.nextKey(); });
  t2.atOn(7, b, () => out2.push('own'));
  t2.setForeignHosts((h) => h === b);
  t2.run(1);
  t2.setForeignHosts(undefined);
  t2.atKey(7, key, b, () => out2.push('frame'));
  t1.run();
  t2.run();
  assert.deepEqual(out2, out1);
  assert.deepEqual(out1, ['own', 'frame'], 'at the same instant the driver (origin 0) scheduled first, then a');
  // Foreign hosts' events are dropped, the driver's run.
  const f = new Scheduler();
  const x = f.hostKey('x');
  const ran: string[] = [];
  f.atOn(1, x, () => ran.push('x'));
  f.at(1, () => ran.push('driver'));
  f.setForeignHosts((h) => h === x);
  f.run();
  assert.deepEqual(ran, ['driver']);
  assert.throws(() => f.atKey(0, 5, x, () => {}), RangeError, 'a keyed event may not be in the past');
});

test('keysGiven counts the timed entries queued by every host, not immediate work', () => {
  const s = new Scheduler();
  const h = s.hostKey('node01');
  s.at(10, () => {
    s.soonest(() => {});
    s.atOn(20, h, () => s.after(5, () => {}));
  });
  s.arm(new Timer(() => {}), 50);
  assert.equal(s.keysGiven(), 2);
  s.run();
  assert.equal(s.keysGiven(), 4);
  assert.equal(s.scheduledBy(DRIVER_HOST) + s.scheduledBy(h), 4);
});

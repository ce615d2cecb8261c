import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Scheduler, SECOND, formatInstant } from './scheduler.ts';
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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chiSquareGoodnessOfFit, chiSquareTest, expectedCounts, maxAbsDeviation, maxMinRatio, shares } from './distribution.ts';
import { LatencyHistogram, nearestRankPercentile } from './latency.ts';
import { Tally } from './tally.ts';
import { WindowSeries } from './window-series.ts';

/** A small deterministic PRNG (mulberry32) for simulations inside tests. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('chi-square: worked examples, uniform and weighted', () => {
  const u = chiSquareGoodnessOfFit([10, 20, 30]);
  assert.equal(u.statistic, 10);
  assert.equal(u.df, 2);
  assert.ok(Math.abs(u.pValue - Math.exp(-5)) < 1e-15);
  const w = chiSquareGoodnessOfFit([30, 70], [1, 3]); // expected 25, 75
  assert.ok(Math.abs(w.statistic - (1 + 25 / 75)) < 1e-12);
  assert.equal(w.df, 1);
  assert.ok(Math.abs(w.pValue - 0.2482130789899235) < 1e-9); // scipy chi2.sf(4/3, 1)
  assert.deepEqual(chiSquareGoodnessOfFit([5, 5, 5]), { statistic: 0, df: 2, pValue: 1 });
});

test('chi-square: degenerate cases', () => {
  assert.deepEqual(chiSquareGoodnessOfFit([42]), { statistic: 0, df: 0, pValue: 1 });
  assert.deepEqual(chiSquareGoodnessOfFit([]), { statistic: 0, df: 0, pValue: 1 });
  assert.deepEqual(chiSquareGoodnessOfFit([0, 0, 0]), { statistic: 0, df: 0, pValue: 1 }); // nothing observed: nothing to test
  // A weight-0 endpoint that still got traffic is impossible under the model.
  assert.deepEqual(chiSquareGoodnessOfFit([5, 5, 1], [1, 1, 0]), { statistic: Infinity, df: 1, pValue: 0 });
  // ...and one that got nothing is simply left out.
  assert.deepEqual(chiSquareGoodnessOfFit([5, 5, 0], [1, 1, 0]), { statistic: 0, df: 1, pValue: 1 });
  assert.throws(() => chiSquareTest([1], [1, 2]), RangeError);
  assert.throws(() => expectedCounts(10, [1, -1]), RangeError);
});

test('max/min, shares, deviation', () => {
  assert.equal(maxMinRatio([10, 20, 15]), 2);
  assert.equal(maxMinRatio([10, 0]), Infinity);
  assert.equal(maxMinRatio([7]), 1);
  assert.equal(maxMinRatio([0, 0]), 1);
  assert.equal(maxMinRatio([10, 30], [1, 3]), 1); // weighted: matches the weights exactly
  assert.deepEqual(shares([1, 3]), [0.25, 0.75]);
  assert.deepEqual(shares([0, 0]), [0, 0]);
  assert.equal(maxAbsDeviation([3, 4, 5], [4, 4, 4]), 1);
});

test('property: chi-square is invariant under permutation and weight scaling; p in [0,1]', () => {
  fc.assert(fc.property(fc.array(fc.nat(10000), { minLength: 2, maxLength: 30 }), fc.integer({ min: 1, max: 1000 }), (obs, k) => {
    const weights = obs.map((_, i) => (i % 3) + 1);
    const a = chiSquareGoodnessOfFit(obs, weights);
    const b = chiSquareGoodnessOfFit(obs, weights.map((w) => w * k));
    const c = chiSquareGoodnessOfFit([...obs].reverse(), [...weights].reverse());
    assert.ok(a.pValue >= 0 && a.pValue <= 1);
    assert.ok(Math.abs(a.statistic - b.statistic) <= 1e-9 * Math.max(1, a.statistic));
    assert.ok(Math.abs(a.statistic - c.statistic) <= 1e-9 * Math.max(1, a.statistic));
  }), { numRuns: 200 });
});

test('a fair picker over 7 endpoints passes; a biased one fails (100 000 connections)', () => {
  const r = rng(7);
  const fair = new Array<number>(7).fill(0);
  const biased = new Array<number>(7).fill(0);
  for (let i = 0; i < 100_000; i++) {
    fair[Math.floor(r() * 7)]! += 1;
    const u = r();
    biased[u < 0.16 ? 0 : Math.floor(r() * 7)]! += 1;
  }
  assert.ok(chiSquareGoodnessOfFit(fair).pValue > 0.01);
  assert.ok(chiSquareGoodnessOfFit(biased).pValue < 1e-6);
});

test('property: under the null hypothesis p-values are roughly uniform (deterministic seeds)', () => {
  const ps: number[] = [];
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const c = new Array<number>(10).fill(0);
    for (let i = 0; i < 2000; i++) c[Math.floor(r() * 10)]! += 1;
    ps.push(chiSquareGoodnessOfFit(c).pValue);
  }
  const below = (q: number): number => ps.filter((p) => p < q).length / ps.length;
  assert.ok(Math.abs(below(0.5) - 0.5) < 0.1, `P(p<0.5) = ${below(0.5)}`);
  assert.ok(below(0.05) < 0.12, `P(p<0.05) = ${below(0.05)}`);
});

test('tally: without declarations the expectation is uniform over the endpoints seen', () => {
  const t = new Tally();
  for (const k of ['a', 'b', 'a', 'c', 'a', 'b']) t.record(k, 1, false, false);
  assert.deepEqual(t.observed(), [3, 2, 1]);
  assert.deepEqual(t.expected(), [2, 2, 2]);
});

test('tally: scale-up mid-run gives each phase its own expectation', () => {
  const t = new Tally();
  t.setActive([{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }]);
  for (let i = 0; i < 100; i++) t.record(i % 2 ? 'a' : 'b', 1, false, false);
  t.setActive(['a', 'b', 'c', 'd'].map((key) => ({ key, weight: 1 })));
  for (let i = 0; i < 100; i++) t.record('abcd'[i % 4]!, 1, false, false);
  assert.deepEqual(t.expected().map((v) => Math.round(v * 1e9) / 1e9), [75, 75, 25, 25]);
  assert.deepEqual(t.observed(), [75, 75, 25, 25]);
  // b removed; a stale connection to b does not count towards the test.
  t.setActive([{ key: 'a', weight: 1 }, { key: 'c', weight: 2 }]);
  t.record('b', 1, false, true);
  t.record('c', 1, false, false);
  const b = t.get('b')!;
  assert.equal(b.offActive, 1);
  assert.equal(b.blackholed, 1);
  const e = t.expected();
  assert.ok(Math.abs(e[0]! - 75 - 1 / 3) < 1e-9 && Math.abs(e[2]! - 25 - 2 / 3) < 1e-9);
});

test('property: Σ expected = Σ selected under any sequence of churn and connections', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('conn' as const), ep: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ kind: fc.constant('set' as const), eps: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }), w: fc.integer({ min: 0, max: 3 }) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
    const t = new Tally();
    for (const o of ops) {
      if (o.kind === 'conn') t.record(`e${o.ep}`, 1, false, false);
      else t.setActive(o.eps.map((e, i) => ({ key: `e${e}`, weight: (o.w + i) % 4 })));
    }
    const obs = t.observed().reduce((s, v) => s + v, 0);
    const exp = t.expected().reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(obs - exp) < 1e-6, `observed ${obs}, expected ${exp}`);
    const total = t.endpoints.reduce((s, e) => s + e.connections, 0);
    assert.equal(total, ops.filter((o) => o.kind === 'conn').length);
  }), { numRuns: 200 });
});

test('tally: a fair picker under random churn passes the churn-aware test', () => {
  const r = rng(99);
  const t = new Tally();
  let active = ['p0', 'p1', 'p2'];
  t.setActive(active.map((key) => ({ key, weight: 1 })));
  for (let i = 0; i < 50_000; i++) {
    if (i % 5000 === 4999) {
      active = Array.from({ length: 2 + Math.floor(r() * 6) }, (_, k) => `p${k}`);
      t.setActive(active.map((key) => ({ key, weight: 1 })));
    }
    t.record(active[Math.floor(r() * active.length)]!, 1, false, false);
  }
  const res = chiSquareTest(t.observed(), t.expected());
  assert.ok(res.pValue > 0.01, `p = ${res.pValue}`);
  // The naive uniform test over the whole run rejects it.
  assert.ok(chiSquareGoodnessOfFit(t.observed()).pValue < 1e-6);
});

test('latency: nearest-rank percentiles, exact below 2048 ns', () => {
  const h = new LatencyHistogram();
  for (let v = 1; v <= 100; v++) h.record(v);
  const { histogram, percentiles, ...rest } = h.summary()!;
  assert.deepEqual(rest, { count: 100, min: 1, mean: 50.5, p50: 50, p90: 90, p99: 99, max: 100, method: 'nearest-rank' });
  assert.deepEqual(percentiles, [{ p: 10, ns: 10 }, { p: 25, ns: 25 }, { p: 50, ns: 50 }, { p: 75, ns: 75 }, { p: 90, ns: 90 }, { p: 95, ns: 95 }, { p: 99, ns: 99 }, { p: 99.9, ns: 100 }]);
  // 1-2-5 buckets, each (previous edge, edge]: 1 | 2 | 3..5 | 6..10 | 11..20 | 21..50 | 51..100.
  assert.deepEqual(histogram, [{ le: 1, count: 1 }, { le: 2, count: 1 }, { le: 5, count: 3 }, { le: 10, count: 5 }, { le: 20, count: 10 }, { le: 50, count: 30 }, { le: 100, count: 50 }]);
  assert.equal(h.percentile(0), 1);
  assert.equal(new LatencyHistogram().summary(), undefined);
  assert.throws(() => h.record(-1), RangeError);
  assert.throws(() => h.percentile(101), RangeError);
  assert.equal(nearestRankPercentile([5, 1, 3], 50), 3);
});

test('property: the distribution\'s buckets hold every sample, each within 0.1 % of its bucket', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 300 }), (values) => {
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    const b = h.buckets();
    assert.equal(b.reduce((s, x) => s + x.count, 0), values.length);
    for (const v of values) {
      const i = b.findIndex((x) => x.le * (1 + 1 / 1024) >= v);
      assert.ok(i >= 0 && (i === 0 || b[i - 1]!.le < v * (1 + 1 / 1024)), `${v} has a bucket`);
    }
    assert.ok(b.at(-1)!.count > 0 && b[0]!.count > 0, 'trimmed to the first and last non-empty');
  }), { numRuns: 200 });
});

test('property: histogram percentiles are within 0.1 % of the exact nearest rank; p100 is the max', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 40 })), { minLength: 1, maxLength: 300 }),
    fc.double({ min: 0, max: 100, noNaN: true }),
    (values, p) => {
      const h = new LatencyHistogram();
      for (const v of values) h.record(v);
      const exact = nearestRankPercentile(values, p);
      const got = h.percentile(p);
      if (exact < 2048) assert.equal(got, exact);
      else assert.ok(got >= exact && got <= exact * (1 + 1 / 1024), `p${p}: got ${got}, exact ${exact}`);
      assert.equal(h.percentile(100), Math.max(...values));
    },
  ), { numRuns: 300 });
});

test('latency: a million samples in constant memory, merge adds up', () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const r = rng(3);
  for (let i = 0; i < 1_000_000; i++) (i % 2 ? a : b).record(50_000 + Math.floor(-Math.log(1 - r()) * 20_000));
  a.merge(b);
  const s = a.summary()!;
  assert.equal(s.count, 1_000_000);
  // Exponential tail: p50 ≈ 50 µs + 20 µs·ln 2, p99 ≈ 50 µs + 20 µs·ln 100.
  assert.ok(Math.abs(s.p50 - (50_000 + 20_000 * Math.LN2)) < 200, `p50 ${s.p50}`);
  assert.ok(Math.abs(s.p99 - (50_000 + 20_000 * Math.log(100))) < 1000, `p99 ${s.p99}`);
});

test('window series: counts per endpoint per window, empty windows kept', () => {
  const w = new WindowSeries(1000, 0);
  w.record(10, 'a', false, false);
  w.record(999, 'b', false, false);
  w.record(2500, 'a', true, false);
  w.record(2600, undefined, true, false);
  w.record(2700, 'b', false, true);
  assert.deepEqual(w.rows(), [
    { t: 0, counts: [1, 1], failed: 0, blackholed: 0 },
    { t: 1000, counts: [0, 0], failed: 0, blackholed: 0 },
    { t: 2000, counts: [1, 1], failed: 2, blackholed: 1 },
  ]);
  assert.throws(() => new WindowSeries(0), RangeError);
});

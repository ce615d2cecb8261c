import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chiSquareSurvival, gammaP, gammaQ, lnGamma } from './gamma.ts';

function close(actual: number, expected: number, relTol: number, absTol = 0, msg = ''): void {
  const ok = Math.abs(actual - expected) <= Math.max(absTol, relTol * Math.abs(expected));
  assert.ok(ok, `${msg} got ${actual}, expected ${expected} (rel ${relTol}, abs ${absTol})`);
}

test('chi-square table critical values give their tail probability', () => {
  // [x, df, p] as printed in chi-square tables (x rounded to 3 decimals).
  const table: Array<[number, number, number]> = [
    [3.841, 1, 0.05], [6.635, 1, 0.01], [5.991, 2, 0.05], [11.07, 5, 0.05],
    [18.307, 10, 0.05], [23.209, 10, 0.01], [123.225, 99, 0.05], [124.342, 100, 0.05], [1074.679, 1000, 0.05],
  ];
  for (const [x, df, p] of table) close(chiSquareSurvival(x, df), p, 0, 2e-5, `df=${df} x=${x}:`);
});

test('chi-square upper tail agrees with scipy.stats.chi2.sf to 1e-12 relative, df 1 … 10 000', () => {
  // Generated with scipy 1.17.1: chi2.sf(x, df).
  const ref: Array<[number, number, number]> = [
    [0.1, 1, 0.7518296340458492],
    [3.841459, 1, 0.04999999465319563],
    [6.634897, 1, 0.009999997760282476],
    [10.827566, 1, 0.0010000000921737474],
    [5.991465, 2, 0.04999998867770084],
    [11.070498, 5, 0.04999999407731299],
    [18.307038, 10, 0.050000000824732216],
    [23.209251, 10, 0.010000000547937338],
    [123.225221, 99, 0.050000002873924115],
    [124.342113, 100, 0.0500000025499299],
    [1074.679449, 1000, 0.04999999956791187],
    [10233.748893, 10000, 0.0500000033594044],
    [10000, 10000, 0.49811936596618267],
    [9800, 10000, 0.922055043773486],
    [10500, 10000, 0.00024794736798936033],
    [11000, 10000, 3.6183295580964682e-12],
    [3, 7, 0.8850022316431506],
    [60, 30, 0.0009206823961486636],
    [1e-06, 3, 0.9999999997340385],
    [700, 500, 7.728992111216604e-09],
    [300, 500, 0.9999999999999424],
    [2.5, 3, 0.4752910833430205],
  ];
  for (const [x, df, p] of ref) close(chiSquareSurvival(x, df), p, 1e-12, 0, `df=${df} x=${x}:`);
  assert.equal(chiSquareSurvival(20000, 10000), 0);
  assert.equal(chiSquareSurvival(0, 5), 1);
  assert.equal(chiSquareSurvival(Infinity, 5), 0);
});

test('df = 2 has the closed form exp(−x/2)', () => {
  for (const x of [0.01, 0.5, 1, 2, 5, 10, 40, 200]) close(chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-13);
});

test('ln Γ: integers are log factorials, Γ(½) = √π', () => {
  let f = 0;
  for (let n = 1; n <= 170; n++) {
    close(lnGamma(n), f, 1e-14, 1e-14, `n=${n}`);
    f += Math.log(n);
  }
  close(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
  close(lnGamma(5000), 37582.62631568535, 1e-15);
  assert.throws(() => lnGamma(0), RangeError);
});

/** Q(n, x) for integer n as the Poisson sum e^-x Σ_{i<n} x^i / i!, summed in log space. */
function poissonQ(n: number, x: number): number {
  let lt = -x; // ln of the i-th term
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += Math.exp(lt);
    lt += Math.log(x) - Math.log(i + 1);
  }
  return sum;
}

test('property: even df matches the finite Poisson sum (an independent formula)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0.05, max: 3, noNaN: true }), (n, ratio) => {
    const x = n * ratio;
    const exact = poissonQ(n, x);
    const q = gammaQ(n, x);
    if (exact < 1e-250) return q < 1e-240;
    return Math.abs(q - exact) <= 1e-9 * exact + 1e-15;
  }), { numRuns: 150 });
});

test('property: p in [0,1], P + Q = 1, Q(a+1,x) = Q(a,x) + x^a e^-x / Γ(a+1)', () => {
  fc.assert(fc.property(fc.double({ min: 0.01, max: 5000, noNaN: true }), fc.double({ min: 0, max: 20000, noNaN: true }), (a, x) => {
    const q = gammaQ(a, x);
    const p = gammaP(a, x);
    assert.ok(q >= 0 && q <= 1 && p >= 0 && p <= 1);
    assert.ok(Math.abs(p + q - 1) < 1e-12);
    if (x > 0) {
      const step = Math.exp(a * Math.log(x) - x - lnGamma(a + 1));
      assert.ok(Math.abs(gammaQ(a + 1, x) - (q + step)) < 1e-10, `a=${a} x=${x}`);
    }
  }), { numRuns: 200 });
});

test('property: the p-value decreases as the statistic grows', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 10000 }), fc.double({ min: 0, max: 30000, noNaN: true }), fc.double({ min: 0, max: 1000, noNaN: true }), (df, x, dx) => {
    return chiSquareSurvival(x + dx, df) <= chiSquareSurvival(x, df) + 1e-15;
  }), { numRuns: 300 });
});

test('property: p(df, df) approaches ½ from below for large df (the median is below the mean)', () => {
  fc.assert(fc.property(fc.integer({ min: 100, max: 10000 }), (df) => {
    const p = chiSquareSurvival(df, df);
    // Wilson–Hilferty: P(X > df) ≈ ½ − φ(0)·√(2/(9 df)).
    const approx = 0.5 - 0.3989422804014327 * Math.sqrt(2 / (9 * df));
    return p < 0.5 && p > 0.47 && Math.abs(p - approx) < 1e-3;
  }), { numRuns: 100 });
});

test('bad arguments are RangeErrors', () => {
  assert.throws(() => gammaQ(0, 1), RangeError);
  assert.throws(() => gammaQ(1, -1), RangeError);
  assert.throws(() => chiSquareSurvival(1, 0), RangeError);
  assert.throws(() => chiSquareSurvival(NaN, 3), RangeError);
});

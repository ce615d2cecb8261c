/**
 * Distribution statistics over per-endpoint counts: Pearson's chi-square goodness of
 * fit against expected counts, shares, and the max/min ratio.
 */
import { chiSquareSurvival } from './gamma.ts';

export interface ChiSquareResult {
  /** Σ (observed − expected)² / expected over the cells with expected > 0. */
  readonly statistic: number;
  /** Degrees of freedom: cells with expected > 0, minus one. */
  readonly df: number;
  /** P(χ²(df) ≥ statistic). 1 when df = 0 (nothing to test); 0 when a cell with expected 0 was observed. */
  readonly pValue: number;
}

/**
 * Expected counts for `total` observations spread by `weights` (all 1 = uniform).
 * Weights must be finite and ≥ 0; all-zero weights give all-zero expectations.
 */
export function expectedCounts(total: number, weights: readonly number[]): number[] {
  let sum = 0;
  for (const w of weights) {
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weights must be finite and >= 0, got ${w}`);
    sum += w;
  }
  return weights.map((w) => (sum === 0 ? 0 : (total * w) / sum));
}

/**
 * Pearson's chi-square test of `observed` against `expected` (same length; the
 * expected counts need not be integers). Cells with expected 0 are left out of the
 * statistic and the degrees of freedom; observing anything in one gives
 * statistic = Infinity, p = 0 (the model says it cannot happen). The caller is
 * responsible for Σ expected = Σ observed (use {@link expectedCounts}).
 */
export function chiSquareTest(observed: readonly number[], expected: readonly number[]): ChiSquareResult {
  if (observed.length !== expected.length) throw new RangeError(`observed has ${observed.length} cells, expected ${expected.length}`);
  let stat = 0;
  let cells = 0;
  let impossible = false;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i] as number;
    const e = expected[i] as number;
    if (!(o >= 0) || !(e >= 0)) throw new RangeError(`counts must be >= 0 (cell ${i}: observed ${o}, expected ${e})`);
    if (e === 0) {
      if (o > 0) impossible = true;
      continue;
    }
    cells++;
    const d = o - e;
    stat += (d * d) / e;
  }
  const df = Math.max(0, cells - 1);
  if (impossible) return { statistic: Infinity, df, pValue: 0 };
  if (df === 0) return { statistic: 0, df, pValue: 1 };
  return { statistic: stat, df, pValue: chiSquareSurvival(stat, df) };
}

/** Chi-square test against a uniform (or, with `weights`, weighted) expectation. */
export function chiSquareGoodnessOfFit(observed: readonly number[], weights?: readonly number[]): ChiSquareResult {
  const total = observed.reduce((s, v) => s + v, 0);
  return chiSquareTest(observed, expectedCounts(total, weights ?? observed.map(() => 1)));
}

/** Each count's share of the total (all 0 when the total is 0). */
export function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((s, v) => s + v, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

/**
 * max/min over the cells with expected > 0, each count first divided by its
 * expectation (so weighted distributions that match their weights give 1).
 * Infinity when some such cell got nothing; 1 when there is at most one cell or
 * nothing at all was observed. With no `expected` the counts are compared as they are.
 */
export function maxMinRatio(counts: readonly number[], expected?: readonly number[]): number {
  let max = -Infinity;
  let min = Infinity;
  let n = 0;
  for (let i = 0; i < counts.length; i++) {
    const e = expected === undefined ? 1 : (expected[i] as number);
    if (!(e > 0)) continue;
    const v = (counts[i] as number) / e;
    n++;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  if (n <= 1 || max === 0) return 1;
  return min === 0 ? Infinity : max / min;
}

/** The largest |observed − expected| (how far from exactly even; ≤ 1 for round robin). */
export function maxAbsDeviation(observed: readonly number[], expected: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < observed.length; i++) m = Math.max(m, Math.abs((observed[i] as number) - (expected[i] as number)));
  return m;
}

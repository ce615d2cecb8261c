/**
 * experiments/stats — exact, dependency-free statistics for load-balancing
 * experiments.
 *
 * Contract:
 * - {@link chiSquareSurvival} / {@link gammaQ}: the chi-square upper tail Q(df/2, x/2)
 *   (series + continued fraction, accurate to ~1e-13 relative up to df = 10 000,
 *   checked against scipy and table values in the tests).
 * - {@link chiSquareTest}, {@link chiSquareGoodnessOfFit}: Pearson's test against
 *   expected counts, uniform or weighted (wrr weights).
 * - {@link maxMinRatio}, {@link shares}, {@link maxAbsDeviation}.
 * - {@link Tally}: streaming per-endpoint counters, O(1) per connection and per
 *   endpoint, with the exact expectation when the endpoint set changes mid-run.
 * - {@link WindowSeries}: connections per endpoint per time window.
 * - {@link LatencyHistogram}: constant-memory latency percentiles, nearest-rank
 *   (HdrHistogram's default), exact below 2048 ns and within 0.1 % above.
 *
 * Not modelled: confidence intervals, multiple-testing correction across modes or
 * windows, and tests other than Pearson's (G-test, Kolmogorov–Smirnov).
 */
export { lnGamma, gammaP, gammaQ, chiSquareSurvival } from './gamma.ts';
export { expectedCounts, chiSquareTest, chiSquareGoodnessOfFit, shares, maxMinRatio, maxAbsDeviation } from './distribution.ts';
export type { ChiSquareResult } from './distribution.ts';
export { LatencyHistogram, nearestRankPercentile } from './latency.ts';
export type { LatencySummary } from './latency.ts';
export { Tally } from './tally.ts';
export type { EndpointTally } from './tally.ts';
export { WindowSeries } from './window-series.ts';
export type { WindowRow } from './window-series.ts';

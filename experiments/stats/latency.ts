/**
 * Latency percentiles in constant memory.
 *
 * {@link LatencyHistogram} is a log-linear histogram in the manner of HdrHistogram
 * with 11 sub-bucket bits: integer nanosecond values below 2048 are kept exactly,
 * larger ones in buckets no wider than 1/1024 of their value (≤ 0.1 % error). Memory
 * is a few thousand counters per decade of range whatever the number of samples.
 *
 * Percentiles use the **nearest-rank** method, HdrHistogram's default: the p-th
 * percentile of n samples is the smallest recorded value v such that at least
 * ⌈p/100 · n⌉ samples are ≤ v (rank at least 1). From the histogram the answer is
 * the upper edge of the bucket holding that rank, clamped to the exact min and max,
 * so p100 is the exact maximum and values below 2048 ns are exact.
 */

const SUB_BITS = 11;
const SUB_COUNT = 1 << SUB_BITS; // 2048
const HALF = SUB_COUNT >> 1; // 1024

function indexOf(v: number): number {
  if (v < SUB_COUNT) return v;
  const msb = Math.floor(Math.log2(v));
  // Math.log2 can round up just below a power of two; correct it.
  const e = 2 ** msb > v ? msb - 1 : msb;
  const shift = e - (SUB_BITS - 1);
  const sub = Math.floor(v / 2 ** shift); // in [HALF, SUB_COUNT)
  return shift * HALF + sub;
}

/** Highest value that lands in bucket `i`. */
function upperEdge(i: number): number {
  if (i < SUB_COUNT) return i;
  const shift = Math.floor(i / HALF) - 1;
  const sub = i - shift * HALF;
  return (sub + 1) * 2 ** shift - 1;
}

/** The percentiles a summary lists (nearest rank). */
export const SUMMARY_PERCENTILES = [10, 25, 50, 75, 90, 95, 99, 99.9] as const;

/** One bar of the latency distribution: samples in (previous bucket's `le`, `le`]. */
export interface LatencyBucket {
  /** Upper edge, ns (1, 2, 5 × 10^k; the first bucket holds everything up to it). */
  readonly le: number;
  readonly count: number;
}

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** How the percentiles were computed. */
  readonly method: 'nearest-rank';
  /** Every percentile of {@link SUMMARY_PERCENTILES}, in that order. */
  readonly percentiles: ReadonlyArray<{ readonly p: number; readonly ns: number }>;
  /**
   * The distribution: counts in 1-2-5 buckets from the first non-empty to the last
   * (empty ones between kept, so two modes such as a 5 s DNS retry show apart).
   * Bucketed from the histogram, so a value within 0.1 % of an edge may land on
   * either side of it.
   */
  readonly histogram: readonly LatencyBucket[];
}

/** The 1-2-5 edge at or above `v` (ns, at least 1). */
function edgeAtOrAbove(v: number): number {
  let e = 1;
  for (;;) {
    for (const m of [1, 2, 5]) if (m * e >= v) return m * e;
    e *= 10;
  }
}

export class LatencyHistogram {
  private counts = new Float64Array(SUB_COUNT);
  private n = 0;
  private sum = 0;
  private lo = Infinity;
  private hi = -Infinity;

  /** Record one value (nanoseconds; rounded to an integer, must be ≥ 0 and finite). */
  record(valueNs: number): void {
    if (!(valueNs >= 0) || !Number.isFinite(valueNs)) throw new RangeError(`latency must be a finite number >= 0, got ${valueNs}`);
    const v = Math.round(valueNs);
    const i = indexOf(v);
    if (i >= this.counts.length) {
      let len = this.counts.length;
      while (len <= i) len *= 2;
      const next = new Float64Array(len);
      next.set(this.counts);
      this.counts = next;
    }
    this.counts[i]! += 1;
    this.n++;
    this.sum += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentile, p in [0, 100]; NaN when empty. */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p * this.n) / 100));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.hi, Math.max(this.lo, upperEdge(i)));
    }
    return this.hi;
  }

  /** Fold another histogram into this one. */
  merge(other: LatencyHistogram): void {
    if (other.counts.length > this.counts.length) {
      const next = new Float64Array(other.counts.length);
      next.set(this.counts);
      this.counts = next;
    }
    for (let i = 0; i < other.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    this.sum += other.sum;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
  }

  /** Counts per 1-2-5 bucket (see {@link LatencySummary.histogram}). */
  buckets(): LatencyBucket[] {
    const byEdge = new Map<number, number>();
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c === 0) continue;
      const edge = edgeAtOrAbove(Math.max(1, Math.min(this.hi, Math.max(this.lo, upperEdge(i)))));
      byEdge.set(edge, (byEdge.get(edge) ?? 0) + c);
    }
    if (byEdge.size === 0) return [];
    const edges = [...byEdge.keys()].sort((a, b) => a - b);
    const out: LatencyBucket[] = [];
    for (let e = edges[0]!; e <= edges[edges.length - 1]!; e = edgeAtOrAbove(e + 1)) out.push({ le: e, count: byEdge.get(e) ?? 0 });
    return out;
  }

  /** Percentiles, the distribution and max, or undefined when nothing was recorded. */
  summary(): LatencySummary | undefined {
    if (this.n === 0) return undefined;
    return {
      count: this.n, min: this.lo, mean: this.sum / this.n, p50: this.percentile(50), p90: this.percentile(90), p99: this.percentile(99), max: this.hi, method: 'nearest-rank',
      percentiles: SUMMARY_PERCENTILES.map((p) => ({ p, ns: this.percentile(p) })),
      histogram: this.buckets(),
    };
  }
}

/** Exact nearest-rank percentile of a sample (sorts a copy): the reference for the histogram. */
export function nearestRankPercentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1] as number;
}

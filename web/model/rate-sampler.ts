/**
 * Keeps the page responsive under a flood of flows: past `limit` flows a second the
 * table shows one flow in k (k = ceil(rate / limit), counted, not random, so what is
 * shown is evenly spread). Counts (the load-balancing chart) never sample.
 */
export class RateSampler {
  private windowStart = -Infinity;
  private inWindow = 0;
  private lastRate = 0;
  private n = 0;

  constructor(readonly limit: number) {}

  /** Whether to show this flow, arriving at `nowMs`. */
  keep(nowMs: number): boolean {
    if (nowMs - this.windowStart >= 1000) {
      // A whole silent second since the window ended: the flood is over.
      this.lastRate = nowMs - this.windowStart >= 2000 ? 0 : this.inWindow * 1000 / (nowMs - this.windowStart);
      this.windowStart = nowMs;
      this.inWindow = 0;
    }
    this.inWindow++;
    const k = this.every();
    return k === 1 || this.n++ % k === 0;
  }

  /** 1: everything shown; k: one in k. */
  every(): number {
    return Math.max(1, Math.ceil(Math.max(this.lastRate, this.inWindow) / this.limit));
  }

  /** Flows per second over the last full window. */
  rate(): number {
    return this.lastRate;
  }
}

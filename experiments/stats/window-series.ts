/**
 * Connections per endpoint per time window, streamed: one counter per (window,
 * endpoint) that actually occurs, so memory is windows × endpoints whatever the
 * number of connections. Windows are [start + k·width, start + (k+1)·width) in
 * virtual nanoseconds.
 */

export interface WindowRow {
  /** Window start, virtual ns. */
  readonly t: number;
  /** Connections per endpoint, in the series' endpoint order (missing = 0). */
  readonly counts: readonly number[];
  readonly failed: number;
  readonly blackholed: number;
}

interface MutableWindow {
  counts: number[];
  failed: number;
  blackholed: number;
}

export class WindowSeries {
  private readonly windows = new Map<number, MutableWindow>();
  private readonly index = new Map<string, number>();
  private readonly keys: string[] = [];

  constructor(readonly widthNs: number, readonly startNs = 0) {
    if (!(widthNs > 0) || !Number.isFinite(widthNs)) throw new RangeError(`window width must be > 0, got ${widthNs}`);
  }

  /** Endpoint keys in first-seen order (the column order of `counts`). */
  get endpoints(): readonly string[] {
    return this.keys;
  }

  /** Index of an endpoint, adding it when new. */
  column(key: string): number {
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.keys.length;
      this.index.set(key, i);
      this.keys.push(key);
    }
    return i;
  }

  /** Count one connection at virtual time `t` (to `key`, when it reached an endpoint). */
  record(t: number, key: string | undefined, failed: boolean, blackholed: boolean): void {
    const k = Math.floor((t - this.startNs) / this.widthNs);
    let w = this.windows.get(k);
    if (w === undefined) {
      w = { counts: [], failed: 0, blackholed: 0 };
      this.windows.set(k, w);
    }
    if (key !== undefined) {
      const c = this.column(key);
      while (w.counts.length <= c) w.counts.push(0);
      w.counts[c]! += 1;
    }
    if (failed) w.failed++;
    if (blackholed) w.blackholed++;
  }

  /** Every window from the first to the last seen (empty ones included), in time order. */
  rows(): WindowRow[] {
    if (this.windows.size === 0) return [];
    let first = Infinity;
    let last = -Infinity;
    for (const k of this.windows.keys()) {
      if (k < first) first = k;
      if (k > last) last = k;
    }
    const out: WindowRow[] = [];
    for (let k = first; k <= last; k++) {
      const w = this.windows.get(k);
      const counts = this.keys.map((_, i) => w?.counts[i] ?? 0);
      out.push({ t: this.startNs + k * this.widthNs, counts, failed: w?.failed ?? 0, blackholed: w?.blackholed ?? 0 });
    }
    return out;
  }
}

/** Number formatting shared by the table, CSV and HTML renderers (locale-independent). */

/** p-values: "< 0.001" below a thousandth, "> 0.999" above 0.999 (but exactly 1 as "1"), else two significant digits ("0.42", "0.012"). */
export function formatP(p: number): string {
  if (p < 0.001) return '< 0.001';
  if (p === 1) return '1';
  if (p > 0.999) return '> 0.999';
  if (p >= 0.995) return '0.99';
  return String(Number(p.toPrecision(2)));
}

/** "p = 0.42" or "p < 0.001". */
export function pPhrase(p: number): string {
  const s = formatP(p);
  return s.startsWith('<') || s.startsWith('>') ? `p ${s}` : `p = ${s}`;
}

/** A ratio with two decimals; null (infinite) as "∞". */
export function formatRatio(r: number | null): string {
  return r === null ? '∞' : r.toFixed(2);
}

/** A statistic with up to 2 decimals ("5.01", "144000", null → "∞"). */
export function formatStat(x: number | null): string {
  if (x === null) return '∞';
  return Math.abs(x) >= 1e5 ? x.toFixed(0) : String(Number(x.toFixed(2)));
}

/** A share as a percentage with one decimal. */
export function formatPercent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** Virtual nanoseconds in the largest unit that keeps the number ≥ 1 (3 significant digits). */
export function formatDuration(ns: number): string {
  const a = Math.abs(ns);
  if (a < 1e3) return `${Number(ns.toFixed(0))} ns`;
  if (a < 1e6) return `${Number((ns / 1e3).toPrecision(3))} µs`;
  if (a < 1e9) return `${Number((ns / 1e6).toPrecision(3))} ms`;
  return `${Number((ns / 1e9).toPrecision(3))} s`;
}

/** Small helpers for hand-made SVG: escaping, scales, nice ticks, colours. */

/** Escape text for HTML/SVG text content and attribute values (both quote kinds). */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** Shorten to `max` characters with an ellipsis (by code point). */
export function truncate(s: string, max: number): string {
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/**
 * Shorten to `max` characters by cutting the middle, so names that share a prefix
 * stay distinguishable by their ends (`nginx-deployment-6d7bc6944-547bb` →
 * `nginx-de…4-547bb`: a Deployment's pods differ in the hash suffix).
 */
export function truncateMiddle(s: string, max: number): string {
  const cps = [...s];
  if (cps.length <= max) return s;
  const keep = Math.max(2, max - 1);
  const tail = Math.ceil(keep / 2);
  return cps.slice(0, keep - tail).join('') + '…' + cps.slice(cps.length - tail).join('');
}

/** A coordinate, rounded to 0.1 px to keep the file small. */
export function n(x: number): string {
  return String(Math.round(x * 10) / 10);
}

/** Linear map from [d0, d1] to [r0, r1] (the midpoint of the range for an empty domain). */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Round ticks (1, 2, 5 × 10^k) from 0 covering `max`, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let i = 0; i * step < max + step * 0.999; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/**
 * Okabe–Ito colour-blind-safe palette (yellow left out: too light on white),
 * then two neutral extras.
 */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#332288', '#7F7F7F'];

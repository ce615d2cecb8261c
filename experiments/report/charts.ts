/**
 * The report's charts as inline SVG strings: the distribution per endpoint (one per
 * mode, `data-chart="distribution"`) and the time series across churn events
 * (`data-chart="timeseries"`). Every input string is escaped; charts carry
 * role="img", an aria-label, <title> and <desc>, and a <title> tooltip per mark.
 */
import type { RunResult } from '../results.ts';
import { runLabel } from '../results.ts';
import { formatDuration, formatPercent } from '../format.ts';
import { esc, linear, n, niceTicks, PALETTE, truncate, truncateMiddle } from './svg.ts';

/** viewBox width: about the width a chart gets in the two-column layout, so text stays near its nominal size. */
const W = 600;

/** Standardized residual beyond which a bar is highlighted. */
const SIGMA = 3;

function slug(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]/g, '-');
}

/**
 * Horizontal bars: each endpoint's share of connections, with a marker at its
 * expected share. Bars whose count differs from the expectation by more than 3σ
 * (|o − e| / √e > 3) are drawn in the warning colour.
 */
export function distributionChart(run: RunResult, idPrefix: string): string {
  const eps = run.endpoints;
  const count = Math.max(1, eps.length);
  const rowH = count <= 4 ? 50 : count <= 6 ? 42 : count <= 16 ? 30 : count <= 40 ? 18 : count <= 80 ? 10 : 6;
  const labels = rowH >= 18;
  const fontSize = rowH >= 30 ? 14 : 12;
  const left = labels ? 170 : 24;
  const right = 104;
  const top = 12;
  const plotH = count * rowH;
  const H = top + plotH + 52;
  const maxShare = eps.reduce((m, e) => Math.max(m, e.share, e.expectedShare), 0.01);
  const ticks = niceTicks(maxShare, 5);
  const xMax = ticks[ticks.length - 1] ?? maxShare;
  const x = linear(0, xMax, left, W - right);
  const id = `${idPrefix}-dist`;
  const title = `${runLabel(run)}: share of connections per endpoint`;
  const desc = eps.length === 0
    ? 'No endpoints.'
    : eps.map((e) => `${e.pod} ${formatPercent(e.share)} (expected ${formatPercent(e.expectedShare)})`).join('; ');
  const parts: string[] = [];
  parts.push(`<svg class="chart" data-chart="distribution" data-mode="${esc(run.mode)}"${seedAttr(run)} viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" aria-label="${esc(title)}" preserveAspectRatio="xMinYMin meet">`);
  parts.push(`<title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(desc)}</desc>`);
  // Grid and x axis.
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${n(x(t))}" x2="${n(x(t))}" y1="${top}" y2="${top + plotH}"/>`);
    parts.push(`<text class="tick" x="${n(x(t))}" y="${top + plotH + 16}" text-anchor="middle">${esc(formatPercent(t).replace('.0%', '%'))}</text>`);
  }
  parts.push(`<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}"/>`);
  parts.push(`<text class="axis-label" x="${n((left + W - right) / 2)}" y="${top + plotH + 40}" text-anchor="middle">share of connections (marker: expected share)</text>`);
  eps.forEach((e, i) => {
    const y0 = top + i * rowH;
    const barH = Math.max(2, rowH * 0.6);
    const yb = y0 + (rowH - barH) / 2;
    const z = e.expected > 0 ? Math.abs(e.connections - e.offActive - e.expected) / Math.sqrt(e.expected) : e.connections > 0 ? Infinity : 0;
    const off = z > SIGMA;
    const tip = `${e.pod} (${e.ip}${e.node === null ? '' : `, ${e.node}`}): ${e.connections} connections, ${formatPercent(e.share)}; expected ${formatPercent(e.expectedShare)}${off ? ' — more than 3σ from expected' : ''}`;
    parts.push(`<g class="row"><title>${esc(tip)}</title>`);
    if (labels) parts.push(`<text class="label" x="${left - 8}" y="${n(y0 + rowH / 2)}" dy="0.35em" text-anchor="end" font-size="${fontSize}">${esc(truncateMiddle(e.pod, Math.floor((left - 12) / (0.6 * fontSize))))}</text>`);
    parts.push(`<rect class="${off ? 'bar bar-off' : 'bar'}" x="${left}" y="${n(yb)}" width="${n(Math.max(0, x(e.share) - left))}" height="${n(barH)}" rx="2"/>`);
    parts.push(`<line class="expected" x1="${n(x(e.expectedShare))}" x2="${n(x(e.expectedShare))}" y1="${n(y0 + 2)}" y2="${n(y0 + rowH - 2)}"/>`);
    if (labels) parts.push(`<text class="value" x="${n(Math.max(x(e.share), x(e.expectedShare)) + 6)}" y="${n(y0 + rowH / 2)}" dy="0.35em" font-size="${fontSize - 1}">${esc(`${formatPercent(e.share)} · ${e.connections}`)}</text>`);
    parts.push('</g>');
  });
  parts.push('</svg>');
  return parts.join('');
}

interface Label {
  readonly row: number;
  readonly text: string;
  /** Drawn to the left of its marker (it would run off the right edge otherwise). */
  readonly flip: boolean;
}

/**
 * Put event labels on rows so they do not overlap (estimated text width); a label
 * that would run past `maxX` is drawn to the left of its marker instead.
 */
function layoutLabels(xs: ReadonlyArray<{ x: number; text: string }>, charW: number, maxRows: number, maxX: number): Label[] {
  const rowEnds: number[] = [];
  return xs.map(({ x, text }) => {
    const w = [...text].length * charW + 8;
    const flip = x + w > maxX && x - w >= 0;
    const start = flip ? x - w : x;
    let row = rowEnds.findIndex((end) => end < start);
    if (row < 0) row = rowEnds.length < maxRows ? rowEnds.length : rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = flip ? x : x + w;
    return { row, text, flip };
  });
}

/** Tick labels in one unit chosen from the span (s, ms, µs or ns). */
function timeTickFormatter(span: number): (ns: number) => string {
  const [unit, name] = span >= 2e9 ? [1e9, 's'] : span >= 2e6 ? [1e6, 'ms'] : span >= 2e3 ? [1e3, 'µs'] : [1, 'ns'];
  return (ns) => `${Number((ns / unit).toPrecision(6))} ${name}`;
}

/**
 * Connections per endpoint per window as lines (up to 8 endpoints; beyond that the
 * min, median and max across endpoints), black-holed and failed connections per
 * window in red when there are any, and a dashed vertical marker per churn event.
 */
export function timeSeriesChart(run: RunResult, idPrefix: string): string {
  const rows = run.windows.rows;
  const width = run.windows.widthNs;
  const id = `${idPrefix}-ts`;
  const events = run.events.filter((e) => Number.isFinite(e.t));
  const t0 = rows.length > 0 ? rows[0]!.t : run.windows.startNs;
  const t1 = rows.length > 0 ? rows[rows.length - 1]!.t + width : t0 + width;
  const evTexts = events.map((e) => ({ t: e.t, text: truncate(e.label, 40) }));
  const left = 58;
  const right = 16;
  const x = linear(events.reduce((m, e) => Math.min(m, e.t), t0), events.reduce((m, e) => Math.max(m, e.t), t1), left, W - right);
  const labels = layoutLabels(evTexts.map((e) => ({ x: x(e.t), text: e.text })), 7, 4, W - 2);
  const labelRows = labels.reduce((m, l) => Math.max(m, l.row + 1), 0);
  const top = 14 + labelRows * 18;
  const plotH = 240;
  const H = top + plotH + 50;

  type Series = { name: string; values: number[]; cls: string; colour: string | undefined; dash: boolean };
  const series: Series[] = [];
  const eps = run.endpoints;
  if (eps.length <= PALETTE.length) {
    eps.forEach((e, i) => series.push({ name: e.pod, values: rows.map((r) => r.counts[i] ?? 0), cls: 'line', colour: PALETTE[i], dash: false }));
  } else {
    const stat = (f: (sorted: number[]) => number): number[] => rows.map((r) => f([...r.counts].sort((a, b) => a - b)));
    series.push({ name: 'max over endpoints', values: stat((s) => s[s.length - 1] ?? 0), cls: 'line', colour: PALETTE[5], dash: false });
    series.push({ name: 'median', values: stat((s) => s[Math.floor((s.length - 1) / 2)] ?? 0), cls: 'line', colour: PALETTE[0], dash: false });
    series.push({ name: 'min over endpoints', values: stat((s) => s[0] ?? 0), cls: 'line', colour: PALETTE[4], dash: false });
  }
  if (rows.some((r) => r.blackholed > 0)) series.push({ name: 'black-holed', values: rows.map((r) => r.blackholed), cls: 'line line-bad', colour: undefined, dash: true });
  if (rows.some((r) => r.failed > 0)) series.push({ name: 'failed', values: rows.map((r) => r.failed), cls: 'line line-failed', colour: undefined, dash: true });

  // A loop, not Math.max(...values): there can be 100 000 windows.
  let yMaxRaw = 1;
  for (const s of series) for (const v of s.values) if (v > yMaxRaw) yMaxRaw = v;
  const yTicks = niceTicks(yMaxRaw, 4);
  const yMax = yTicks[yTicks.length - 1] ?? yMaxRaw;
  const y = linear(0, yMax, top + plotH, top);
  const xTicks = niceTicks(t1 - t0, 6).map((v) => v + t0).filter((v) => v <= t1 + 1e-9);
  const title = `${runLabel(run)}: connections per ${formatDuration(width)} window over time${events.length > 0 ? `, with ${events.length} churn event${events.length > 1 ? 's' : ''}` : ''}`;
  const desc = `${rows.length} windows from ${formatDuration(t0)} to ${formatDuration(t1)}. Events: ${events.length === 0 ? 'none' : events.map((e) => `${formatDuration(e.t)} ${e.label}`).join('; ')}.`;
  const p: string[] = [];
  p.push(`<svg class="chart" data-chart="timeseries" data-mode="${esc(run.mode)}"${seedAttr(run)} viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" aria-label="${esc(title)}" preserveAspectRatio="xMinYMin meet">`);
  p.push(`<title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(desc)}</desc>`);
  for (const t of yTicks) {
    p.push(`<line class="grid" x1="${left}" x2="${W - right}" y1="${n(y(t))}" y2="${n(y(t))}"/>`);
    p.push(`<text class="tick" x="${left - 6}" y="${n(y(t))}" dy="0.35em" text-anchor="end">${t}</text>`);
  }
  const tickText = timeTickFormatter(t1 - t0);
  for (const t of xTicks) p.push(`<text class="tick" x="${n(x(t))}" y="${top + plotH + 16}" text-anchor="middle">${esc(tickText(t))}</text>`);
  p.push(`<line class="axis" x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}"/>`);
  p.push(`<text class="axis-label" x="${n((left + W - right) / 2)}" y="${top + plotH + 40}" text-anchor="middle">virtual time</text>`);
  p.push(`<text class="axis-label" transform="translate(14 ${n(top + plotH / 2)}) rotate(-90)" text-anchor="middle">connections per ${esc(formatDuration(width))}</text>`);
  // Event markers under the lines.
  events.forEach((e, i) => {
    const l = labels[i]!;
    const ex = x(e.t);
    p.push(`<g class="event"><title>${esc(`${formatDuration(e.t)}: ${e.label}`)}</title>`);
    p.push(`<line class="event-line" x1="${n(ex)}" x2="${n(ex)}" y1="${n(8 + l.row * 18)}" y2="${top + plotH}"/>`);
    p.push(`<text class="event-label" x="${n(l.flip ? ex - 4 : ex + 4)}" y="${n(8 + l.row * 18 + 11)}"${l.flip ? ' text-anchor="end"' : ''}>${esc(l.text)}</text></g>`);
  });
  const mid = (r: { t: number }): number => x(r.t + width / 2);
  for (const s of series) {
    const pts = s.values.map((v, i) => `${n(mid(rows[i]!))},${n(y(v))}`).join(' ');
    const style = s.colour === undefined ? '' : ` style="stroke:${s.colour}"`;
    p.push(`<g class="series"><title>${esc(s.name)}</title><polyline class="${s.cls}${s.dash ? ' dashed' : ''}"${style} points="${pts}"/>`);
    if (rows.length <= 40) {
      s.values.forEach((v, i) => {
        const fill = s.colour === undefined ? '' : ` style="fill:${s.colour}"`;
        p.push(`<circle class="dot ${s.cls}"${fill} cx="${n(mid(rows[i]!))}" cy="${n(y(v))}" r="2.6"><title>${esc(`${s.name}, ${formatDuration(rows[i]!.t)}–${formatDuration(rows[i]!.t + width)}: ${v}`)}</title></circle>`);
      });
    }
    p.push('</g>');
  }
  p.push('</svg>');
  const legend = series.map((s) => `<li><span class="swatch${s.cls.includes('bad') ? ' swatch-bad' : s.cls.includes('failed') ? ' swatch-failed' : ''}"${s.colour === undefined ? '' : ` style="background:${s.colour}"`}></span>${esc(s.name)}</li>`).join('');
  return `${p.join('')}<ul class="legend" aria-label="legend">${legend}</ul>`;
}

/**
 * The latency distribution (`data-chart="latency"`): one horizontal bar per 1-2-5
 * bucket from the fastest to the slowest connection, its count and share written
 * beside it, so a second mode (a 5 s retry, a black hole's timeout) or a handful
 * of samples behind a percentile is plain to see.
 */
export function latencyChart(run: RunResult, idPrefix: string): string {
  const buckets = run.latency?.histogram ?? [];
  const total = buckets.reduce((s, b) => s + b.count, 0);
  const count = Math.max(1, buckets.length);
  const rowH = count <= 6 ? 30 : count <= 14 ? 22 : 16;
  const left = 90;
  const right = 110;
  const top = 12;
  const plotH = count * rowH;
  const H = top + plotH + 44;
  const maxCount = buckets.reduce((m, b) => Math.max(m, b.count), 1);
  const x = linear(0, maxCount, left, W - right);
  const id = `${idPrefix}-lat`;
  const title = `${runLabel(run)}: latency distribution (${total} connections)`;
  const desc = buckets.length === 0 ? 'No latency samples.' : buckets.filter((b) => b.count > 0).map((b) => `≤ ${formatDuration(b.le)}: ${b.count}`).join('; ');
  const p: string[] = [];
  p.push(`<svg class="chart" data-chart="latency" data-mode="${esc(run.mode)}"${seedAttr(run)} viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" aria-label="${esc(title)}" preserveAspectRatio="xMinYMin meet">`);
  p.push(`<title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(desc)}</desc>`);
  p.push(`<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}"/>`);
  p.push(`<text class="axis-label" x="${n((left + W - right) / 2)}" y="${top + plotH + 30}" text-anchor="middle">connections per latency bucket (≤ upper edge)</text>`);
  buckets.forEach((b, i) => {
    const y0 = top + i * rowH;
    const barH = Math.max(2, rowH * 0.6);
    const share = total === 0 ? 0 : b.count / total;
    p.push(`<g class="row" data-le="${b.le}" data-count="${b.count}"><title>${esc(`≤ ${formatDuration(b.le)}: ${b.count} connections (${formatPercent(share)})`)}</title>`);
    p.push(`<text class="label" x="${left - 8}" y="${n(y0 + rowH / 2)}" dy="0.35em" text-anchor="end" font-size="12">${esc(`≤ ${formatDuration(b.le)}`)}</text>`);
    if (b.count > 0) p.push(`<rect class="bar" x="${left}" y="${n(y0 + (rowH - barH) / 2)}" width="${n(Math.max(1, x(b.count) - left))}" height="${n(barH)}" rx="2"/>`);
    p.push(`<text class="value" x="${n(x(b.count) + 6)}" y="${n(y0 + rowH / 2)}" dy="0.35em" font-size="12">${esc(b.count === 0 ? '0' : `${b.count} · ${formatPercent(share)}`)}</text>`);
    p.push('</g>');
  });
  p.push('</svg>');
  return p.join('');
}

/** The distribution chart's key (HTML, below the chart). */
export function distributionLegend(): string {
  return '<ul class="legend" aria-label="legend"><li><span class="swatch swatch-bar"></span>observed share</li><li><span class="swatch-tick"></span>expected share</li><li><span class="swatch swatch-bar-off"></span>more than 3σ from expected</li></ul>';
}

export { slug };

/** `data-seed` on a run's charts when the runs have seeds of their own. */
function seedAttr(run: RunResult): string {
  return run.seed === undefined ? '' : ` data-seed="${run.seed}"`;
}

/**
 * experiments/report — the self-contained HTML report of an experiment.
 *
 * Contract: `renderHtmlReport(result)` returns one HTML document with inline CSS
 * and inline SVG charts made here; no script, no external resource (a
 * Content-Security-Policy of `default-src 'none'` makes sure of it), so the file
 * opens anywhere, offline. Per mode: a verdict badge and a plain-language
 * conclusion computed from the numbers, key figures, the distribution per endpoint
 * with the expected share marked (`svg[data-chart="distribution"]`, exactly one per
 * mode), the time series across churn events (`svg[data-chart="timeseries"]`), the
 * latency distribution (`svg[data-chart="latency"]`, 1-2-5 buckets, with every
 * percentile and the number of samples behind them), and the per-endpoint and
 * per-node tables. Every string from the input (pod names, event labels, the
 * experiment name) is escaped. Light and dark colour schemes; the charts scale
 * with the page width.
 *
 * Runs repeated over several seeds get a section each (`mode seed N`); there is no
 * chart comparing seeds. Not modelled: interactivity beyond native SVG tooltips (<title>).
 */
import type { ExperimentResult, RunResult, Verdict } from '../results.ts';
import { ALPHA, runLabel } from '../results.ts';
import { formatDuration, formatP, formatPercent, formatRatio, formatStat } from '../format.ts';
import { distributionChart, distributionLegend, latencyChart, slug, timeSeriesChart } from './charts.ts';
import { esc } from './svg.ts';

const VERDICT_LABEL: Record<Verdict, string> = {
  'no-data': 'no data',
  'too-few': 'too few to judge',
  even: 'exactly even',
  'even-per-node': 'even per node only',
  uniform: 'as expected',
  skewed: 'skewed',
};

const CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #ffffff; --fg: #1d2430; --muted: #5b6574; --line: #d9dee5; --grid: #e8ebf0;
  --bar: #0072B2; --bar-off: #D55E00; --expected: #1d2430; --ok: #0b7a4b; --ok-bg: #e3f4ec; --warn: #8a5a00; --warn-bg: #fdf1d8;
  --bad: #b3261e; --bad-bg: #fbe4e2; --na: #5b6574; --na-bg: #eceff3; --event: #6b4fbb; }
@media (prefers-color-scheme: dark) { :root { --bg: #14171c; --card: #1d2128; --fg: #e6e9ef; --muted: #a0a9b8; --line: #323842; --grid: #2a2f37;
  --bar: #56B4E9; --bar-off: #F08A4B; --expected: #e6e9ef; --ok: #6fd3a3; --ok-bg: #163328; --warn: #f2c46b; --warn-bg: #3a2f17;
  --bad: #ff8a80; --bad-bg: #3d1f1d; --na: #a0a9b8; --na-bg: #2a2f37; --event: #b9a6ff; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { font-size: 1.6rem; margin: 0 0 4px; overflow-wrap: anywhere; }
.meta, .note { color: var(--muted); margin: 0; }
.note { font-size: 0.9rem; margin-top: 6px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-top: 20px; }
h2 { font-size: 1.25rem; margin: 0; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
h2 code { font-size: 1.15rem; }
h3 { font-size: 0.95rem; margin: 18px 0 6px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; }
.badge { font-size: 0.8rem; font-weight: 600; padding: 2px 10px; border-radius: 999px; white-space: nowrap; }
.v-even, .v-uniform { color: var(--ok); background: var(--ok-bg); }
.v-even-per-node { color: var(--warn); background: var(--warn-bg); }
.v-skewed { color: var(--bad); background: var(--bad-bg); }
.v-too-few, .v-no-data { color: var(--na); background: var(--na-bg); }
.conclusion { font-size: 1.05rem; margin: 8px 0 12px; overflow-wrap: anywhere; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 8px; margin: 0; }
.figures div { border: 1px solid var(--line); border-radius: 8px; padding: 6px 10px; }
.figures dt { color: var(--muted); font-size: 0.78rem; }
.figures dd { margin: 0; font-size: 1.1rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: 1fr; gap: 8px 24px; }
@media (min-width: 1000px) { .charts { grid-template-columns: 1fr 1fr; } }
figure { margin: 0; min-width: 0; }
figcaption { font-weight: 600; margin: 10px 0 4px; }
svg.chart { width: 100%; height: auto; display: block; font-family: inherit; }
svg .grid { stroke: var(--grid); stroke-width: 1; }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .tick { fill: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
svg .axis-label { fill: var(--muted); font-size: 13px; }
svg .label { fill: var(--fg); }
svg .value { fill: var(--muted); font-variant-numeric: tabular-nums; }
svg .bar { fill: var(--bar); }
svg .bar-off { fill: var(--bar-off); }
svg .expected { stroke: var(--expected); stroke-width: 2.5; }
svg .row:hover .bar { opacity: 0.8; }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg .line.dashed { stroke-dasharray: 5 3; }
svg .line-bad { stroke: var(--bad); }
svg .line-failed { stroke: var(--muted); }
svg circle.line-bad { fill: var(--bad); }
svg circle.line-failed { fill: var(--muted); }
svg circle.line { stroke: none; }
svg .event-line { stroke: var(--event); stroke-width: 1.5; stroke-dasharray: 4 3; }
svg .event-label { fill: var(--event); font-size: 12px; font-weight: 600; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 0; margin: 4px 0 0 8px; font-size: 0.85rem; color: var(--muted); }
.legend li { display: flex; align-items: center; gap: 6px; overflow-wrap: anywhere; }
.swatch { width: 14px; height: 3px; border-radius: 2px; display: inline-block; }
.swatch-bad { background: var(--bad); }
.swatch-failed { background: var(--muted); }
.swatch-bar { background: var(--bar); height: 10px; }
.swatch-bar-off { background: var(--bar-off); height: 10px; }
.swatch-tick { width: 3px; height: 14px; background: var(--expected); display: inline-block; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
thead th { white-space: normal; vertical-align: bottom; }
th { color: var(--muted); font-weight: 600; font-size: 0.8rem; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.name, tbody th { max-width: 18em; overflow: hidden; text-overflow: ellipsis; }
tbody tr:hover { background: var(--bg); }
details summary { cursor: pointer; color: var(--muted); margin-top: 14px; font-weight: 600; }
a { color: var(--bar); }
footer { color: var(--muted); font-size: 0.85rem; margin-top: 28px; }
`;

function badge(v: Verdict): string {
  return `<span class="badge v-${v}">${esc(VERDICT_LABEL[v])}</span>`;
}

function capitalize(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}

function table(head: readonly string[], rows: readonly (readonly string[])[], textCols: readonly number[], caption: string): string {
  const th = head.map((h, i) => `<th scope="col"${textCols.includes(i) ? ' class="text"' : ''}>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row" class="text">${c}</th>` : `<td${textCols.includes(i) ? ' class="text name"' : ''}>${c}</td>`)).join('')}</tr>`).join('');
  return `<div class="table-wrap"><table><caption class="note" style="caption-side:bottom;text-align:left">${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function summaryTable(result: ExperimentResult): string {
  const rows = result.runs.map((r) => [
    `<a href="#${esc(`run-${slug(runLabel(r))}`)}"><code>${esc(runLabel(r))}</code></a>`,
    String(r.connections),
    `${esc(formatStat(r.chiSquare))} <span class="meta">(${r.df})</span>`,
    esc(formatP(r.pValue)),
    esc(formatRatio(r.maxMinRatio)),
    String(r.failed),
    String(r.blackholed),
    r.latency === null ? '–' : esc(formatDuration(r.latency.p50)),
    r.latency === null ? '–' : esc(formatDuration(r.latency.p99)),
    badge(r.verdict),
  ]);
  return table(['Mode', 'Connections', 'χ² (df)', 'p-value', 'max/min', 'Failed', 'Black-holed', 'p50', 'p99', 'Verdict'], rows, [9], 'max/min compares each endpoint’s count with its expected count (1.00 = exactly as expected).');
}

function figures(r: RunResult): string {
  const items: Array<[string, string]> = [
    ['connections', String(r.connections)],
    ['requests', String(r.requests)],
    [`χ² (df ${r.df})`, formatStat(r.chiSquare)],
    ['p-value', formatP(r.pValue)],
    ['max/min', formatRatio(r.maxMinRatio)],
    ['failed', String(r.failed)],
    ['black-holed', String(r.blackholed)],
  ];
  if (r.offActive > 0) items.push(['to unready', String(r.offActive)]);
  if (r.latency !== null) {
    items.push(['latency p50', formatDuration(r.latency.p50)], ['p90', formatDuration(r.latency.p90)], ['p99', formatDuration(r.latency.p99)], ['max', formatDuration(r.latency.max)]);
  }
  return `<dl class="figures">${items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`;
}

function runSection(r: RunResult, index: number): string {
  const id = `run-${slug(runLabel(r))}`;
  const prefix = `r${index}`;
  const endpointRows = r.endpoints.map((e) => [
    esc(e.pod), `<span title="${esc(e.ip)}">${esc(e.ip)}</span>`, esc(e.node ?? '–'), String(e.connections), esc(formatPercent(e.share)), esc(formatPercent(e.expectedShare)),
    String(e.requests), String(e.failed), String(e.blackholed), String(e.offActive),
  ]);
  const nodeRows = r.nodes.map((nd) => [
    esc(nd.node), String(nd.connections), esc(formatStat(nd.chiSquare)), esc(formatP(nd.pValue)), esc(formatRatio(nd.maxMinRatio)), String(nd.failed), String(nd.blackholed),
    esc(nd.endpointConnections.join(' / ')),
  ]);
  const expectation = r.expectation === 'weighted' ? 'the declared weights' : 'a uniform choice';
  const among = r.localTo !== undefined
    ? `the endpoints ready at each connection’s time on the node it entered (Local traffic policy on ${r.localTo.join(', ')}: kube-proxy sends it to that node’s pods only)`
    : 'the endpoints ready at each connection’s time';
  return `<section class="card run" id="${esc(id)}" aria-labelledby="${prefix}-h">
<h2 id="${prefix}-h"><code>${esc(runLabel(r))}</code>${badge(r.verdict)}</h2>
<p class="conclusion">${esc(capitalize(r.conclusion))}.</p>
${figures(r)}
<div class="charts">
<figure><figcaption>Distribution per endpoint</figcaption>${distributionChart(r, prefix)}${distributionLegend()}</figure>
<figure><figcaption>Connections over time${r.events.length > 0 ? ' across churn events' : ''}</figcaption>${timeSeriesChart(r, prefix)}</figure>
${r.latency === null ? '' : `<figure><figcaption>Latency distribution</figcaption>${latencyChart(r, prefix)}<p class="note">${esc(`${r.latency.count} samples (served connections): ${r.latency.percentiles.map((q) => `p${q.p} ${formatDuration(q.ns)}`).join(' · ')} · max ${formatDuration(r.latency.max)}`)}</p></figure>`}
</div>
<details${r.endpoints.length <= 12 ? ' open' : ''}><summary>Endpoints (${r.endpoints.length})</summary>
${table(['Pod', 'IP', 'Node', 'Connections', 'Share', 'Expected', 'Requests', 'Failed', 'Black-holed', 'To unready'], endpointRows, [1, 2], `Expected shares follow ${expectation} among ${among}.`)}
</details>
${r.groups !== undefined ? `<details open><summary>Per client group (${r.groups.length})</summary>
${table(['Group', 'Connections', 'Failed', 'Black-holed', 'p50', 'p90', 'p99', 'max'], r.groups.map((g) => [esc(g.group), String(g.connections), String(g.failed), String(g.blackholed), ...(g.latency === null ? ['–', '–', '–', '–'] : [g.latency.p50, g.latency.p90, g.latency.p99, g.latency.max].map((v) => esc(formatDuration(v))))]), [], 'Latency of each client group’s served connections (nearest rank).')}
</details>` : ''}
${r.nodes.length > 0 ? `<details${r.nodes.length <= 6 ? ' open' : ''}><summary>Per node (${r.nodes.length}) — each node’s kube-proxy decides alone</summary>
${table(['Node', 'Connections', 'χ²', 'p-value', 'max/min', 'Failed', 'Black-holed', 'Per endpoint'], nodeRows, [], 'Per endpoint: connections from this node to each endpoint, in the order of the endpoint table.')}
</details>` : ''}
</section>`;
}

export interface ReportOptions {
  /** Page title (default: "Load-balancing experiment: <name>"). */
  readonly title?: string;
}

/** The whole report as one HTML document. */
export function renderHtmlReport(result: ExperimentResult, opts: ReportOptions = {}): string {
  const title = opts.title ?? `Load-balancing experiment: ${result.experiment}`;
  const modes = new Set(result.runs.map((r) => r.mode)).size;
  const seeds = [...new Set(result.runs.flatMap((r) => (r.seed === undefined ? [] : [r.seed])))];
  const seedText = result.seed !== null ? `seed ${result.seed}` : seeds.length > 0 ? `seeds ${seeds.join(', ')}` : undefined;
  const meta = [`${modes} proxy mode${modes === 1 ? '' : 's'}`, seedText].filter((s) => s !== undefined).join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${esc(title)}</h1>
<p class="meta">${esc(meta)}</p>
<p class="note">Each proxy mode’s connections are tested against the expected spread with Pearson’s chi-square test. The p-value is the chance of a spread at least this uneven if every connection picked an endpoint fairly; below ${ALPHA} the report calls it skewed. Latency percentiles use the nearest-rank method, in virtual time.</p>
</header>
<section class="card" aria-labelledby="summary-h">
<h2 id="summary-h">Summary</h2>
${summaryTable(result)}
</section>
${result.runs.map((r, i) => runSection(r, i)).join('\n')}
<footer>Generated by netsim experiments. Self-contained: no scripts, no network.</footer>
</main>
</body>
</html>
`;
}

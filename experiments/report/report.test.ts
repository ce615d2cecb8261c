import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHtmlReport } from './index.ts';
import { esc, niceTicks, truncate, truncateMiddle } from './svg.ts';
import { sampleResult } from '../testing/sample.ts';
import { ExperimentAccumulator } from '../results.ts';

const XSS = '<script>alert(1)</script>';
const hostile = (): ReturnType<typeof sampleResult> =>
  sampleResult({ pods: [XSS, 'web-"quoted"&amp', "o'neil<img src=x onerror=alert(2)>"], scaleLabel: '<b onmouseover=alert(3)>scale</b>' });

test('esc, truncate, niceTicks', () => {
  assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 4), 'abc');
  // Pod labels keep their distinguishing hash suffix.
  const pods = ['nginx-deployment-6d7bc6944-547bb', 'nginx-deployment-6d7bc6944-695fc', 'nginx-deployment-6d7bc6944-x2x9q'];
  const short = pods.map((p) => truncateMiddle(p, 16));
  assert.equal(new Set(short).size, pods.length, short.join(', '));
  assert.ok(short.every((x) => [...x].length === 16 && x.startsWith('nginx-d') && x.includes('…')));
  assert.equal(truncateMiddle('abc', 4), 'abc');
  assert.deepEqual(niceTicks(0.45, 5), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(niceTicks(7, 4), [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(0), [0, 1]);
});

test('report: every input string is escaped, nothing external, one distribution chart per mode', () => {
  const html = renderHtmlReport(hostile());
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<img/i);
  assert.doesNotMatch(html, /<b onmouseover/i);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i);
  assert.doesNotMatch(html, /url\(/i);
  assert.equal(html.match(/data-chart="distribution"/g)?.length, 3);
  assert.equal(html.match(/data-chart="timeseries"/g)?.length, 3);
  for (const mode of ['iptables', 'ipvs-rr', 'ipvs-sh']) assert.match(html, new RegExp(`data-chart="distribution" data-mode="${mode}"`));
  assert.match(html, /role="img"/);
  // The experiment name is input too.
  const acc = new ExperimentAccumulator({ experiment: `</title>${XSS}`, windowNs: 1e9 });
  acc.declareRun('iptables');
  const empty = renderHtmlReport(acc.result());
  assert.doesNotMatch(empty, /<script/i);
  assert.equal(empty.match(/data-chart="distribution"/g)?.length, 1);
});

test('report: runs repeated over seeds get a section each, with its own id, title and data-seed', () => {
  const a = sampleResult({ connections: 200, modes: ['iptables'], seed: 1 });
  const b = sampleResult({ connections: 200, modes: ['iptables'], seed: 2 });
  const html = renderHtmlReport({ experiment: a.experiment, seed: null, runs: [{ ...a.runs[0]!, seed: 1 }, { ...b.runs[0]!, seed: 2 }] });
  assert.equal(html.match(/data-chart="distribution" data-mode="iptables" data-seed="\d"/g)?.length, 2);
  const ids = [...html.matchAll(/<section[^>]* id="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length, `section ids are unique: ${ids.join(' ')}`);
  assert.match(html, /<code>iptables seed 2<\/code>/);
  assert.match(html, /1 proxy mode · seeds 1, 2/);
});

test('report: many endpoints fall back to min/median/max lines and thin rows', () => {
  const acc = new ExperimentAccumulator({ experiment: 'wide', windowNs: 1e8 });
  const eps = Array.from({ length: 120 }, (_, i) => ({ ip: `10.1.${i >> 8}.${i & 255}`, pod: `web-${i}` }));
  acc.setEndpoints('iptables', 0, eps);
  for (let i = 0; i < 24_000; i++) acc.recordConnection({ mode: 'iptables', node: 'n1', endpointIp: eps[(i * 7919) % 120]!.ip, t: i * 50_000 });
  const html = renderHtmlReport(acc.result());
  assert.match(html, /median/);
  assert.ok(html.length < 400_000, `report is ${html.length} bytes`);
});

/** PNG width/height from the IHDR chunk. */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

const CHROMIUM = '/usr/bin/chromium';

test('report renders in headless Chromium: no errors, one distribution chart per mode, a non-blank screenshot', { timeout: 60_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is missing (install Debian's chromium, see .ci/apt-packages.txt)`);
    console.log(`# skipped: ${CHROMIUM} is missing`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'netsim-report-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, renderHtmlReport(hostile()));
  // A fresh profile: Playwright takes the user data dir as launchPersistentContext's
  // first argument (it refuses --user-data-dir in args).
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
    timeout: 20_000,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 10_000 });
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [pathToFileURL(file).href], 'the report must not load anything else');
    assert.equal(await page.locator('svg[data-chart="distribution"]').count(), 3);
    for (const mode of ['iptables', 'ipvs-rr', 'ipvs-sh']) assert.equal(await page.locator(`svg[data-chart="distribution"][data-mode="${mode}"]`).count(), 1);
    assert.equal(await page.locator('svg[data-chart="timeseries"]').count(), 3);
    // The hostile pod name is shown as text, not run.
    assert.ok((await page.locator('table').first().textContent()) !== null);
    assert.equal(await page.getByText(XSS).count() > 0, true);
    // Charts have a size and an accessible name.
    const box = await page.locator('svg[data-chart="distribution"]').first().boundingBox();
    assert.ok(box !== null && box.width > 300 && box.height > 80, `chart box ${JSON.stringify(box)}`);
    assert.match((await page.locator('svg[data-chart="distribution"]').first().getAttribute('aria-label')) ?? '', /share of connections/);

    const png = join(dir, 'report.png');
    await page.screenshot({ path: png, fullPage: true });
    const size = pngSize(readFileSync(png));
    assert.equal(size.width, 1200);
    assert.ok(size.height > 1500, `screenshot height ${size.height}`);
    // A blank page of the same size compresses to a few kB; the report does not.
    const blank = join(dir, 'blank.png');
    await page.setContent('<html><body style="background:#fff"></body></html>');
    await page.screenshot({ path: blank, fullPage: false });
    assert.ok(statSync(png).size > 10 * statSync(blank).size, `report ${statSync(png).size} B vs blank ${statSync(blank).size} B`);
    if (process.env['KEEP_REPORT'] !== undefined) {
      writeFileSync(process.env['KEEP_REPORT'] + '.png', readFileSync(png));
      writeFileSync(process.env['KEEP_REPORT'] + '.html', readFileSync(file));
    }
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report: 100 000 windows render without blowing the stack', () => {
  const acc = new ExperimentAccumulator({ experiment: 'long', windowNs: 1000 });
  acc.setEndpoints('ipvs-rr', 0, [{ ip: '10.0.0.1', pod: 'a' }, { ip: '10.0.0.2', pod: 'b' }]);
  for (let i = 0; i < 100_000; i++) acc.recordConnection({ mode: 'ipvs-rr', node: 'n', endpointIp: i % 2 ? '10.0.0.1' : '10.0.0.2', t: i * 1000, blackholed: i % 1000 === 0 });
  const html = renderHtmlReport(acc.result());
  assert.equal(html.match(/data-chart="timeseries"/g)?.length, 1);
});

test('report: a latency distribution per mode — a bimodal run (a 5 s retry tail) shows both modes, with every percentile and the sample count', () => {
  const acc = new ExperimentAccumulator({ experiment: 'lat', windowNs: 1e9 });
  acc.setEndpoints('iptables', 0, [{ ip: '10.0.0.1', pod: 'a' }]);
  acc.setEndpoints('ipvs-rr', 0, [{ ip: '10.0.0.1', pod: 'a' }]);
  for (let i = 0; i < 90; i++) acc.recordConnection({ mode: 'iptables', node: 'n', endpointIp: '10.0.0.1', t: i, latencyNs: 300_000 + i });
  for (let i = 0; i < 10; i++) acc.recordConnection({ mode: 'iptables', node: 'n', endpointIp: '10.0.0.1', t: i, latencyNs: 5_000_400_000 });
  for (let i = 0; i < 3; i++) acc.recordConnection({ mode: 'ipvs-rr', node: 'n', endpointIp: '10.0.0.1', t: i, latencyNs: 250_000 });
  const result = acc.result();
  const ipt = result.runs[0]!.latency!;
  assert.deepEqual(ipt.percentiles.map((q) => q.p), [10, 25, 50, 75, 90, 95, 99, 99.9]);
  const p90 = ipt.percentiles.find((q) => q.p === 90)!.ns;
  assert.ok(p90 >= 300_089 && p90 <= 300_089 * (1 + 1 / 1024), `p90 ${p90}`);
  assert.equal(ipt.percentiles.find((q) => q.p === 95)!.ns, 5_000_400_000);
  const h = ipt.histogram;
  assert.deepEqual(h.filter((b) => b.count > 0), [{ le: 500_000, count: 90 }, { le: 10_000_000_000, count: 10 }]);
  assert.equal(h[0]!.le, 500_000);
  assert.equal(h.length, 14, 'the empty buckets between the two modes are kept: 500 µs, 1 ms … 5 s, 10 s');
  const html = renderHtmlReport(result);
  assert.equal(html.match(/data-chart="latency"/g)?.length, 2);
  const chart = /<svg class="chart" data-chart="latency" data-mode="iptables"[\s\S]*?<\/svg>/.exec(html)![0];
  assert.deepEqual([...chart.matchAll(/data-le="(\d+)" data-count="(\d+)"/g)].filter((m) => m[2] !== '0').map((m) => `${m[1]}:${m[2]}`), ['500000:90', '10000000000:10']);
  assert.match(html, /100 samples \(served connections\): p10 300 µs · p25 300 µs · p50 300 µs · p75 300 µs · p90 300 µs · p95 5 s · p99 5 s · p99\.9 5 s · max 5 s/);
  assert.match(html, /3 samples \(served connections\)/);
});

// The web UI in a real browser (Debian's chromium driven by playwright-core) against a
// `netsim up` this test starts: the page loads with no console error or failed request;
// the topology shows exactly the cluster's nodes and pods, and pods a scale through the
// API creates within seconds; a trace run from the page lists the hops `netsim trace
// -o json` gives, in order; the flows table gets the flows of a `kubectl exec … curl`;
// the load-balancing chart counts what the flows count; a bad trace request shows the
// server's message inline. It works at 1280×800 and at a phone's width, and the tabs
// follow the keyboard. NETSIM_UPDATE_SCREENSHOTS=1 rewrites docs/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readKubeconfig } from '../../cli/up/kubeconfig.ts';
import type { KubeconfigEntry } from '../../cli/up/kubeconfig.ts';
import { remoteRequest } from '../../cli/remote.ts';
import type { Flow } from '../../observe/flow.ts';
import type { Hop, TraceReport } from '../../observe/trace-report.ts';

const CHROMIUM = '/usr/bin/chromium';
const KUBECTL = '/usr/bin/kubectl';
const BIN = join(import.meta.dirname, '../../bin/netsim.mjs');
const SHOTS = join(import.meta.dirname, '../../docs/screenshots');
const skip = !existsSync(CHROMIUM) ? `chromium not found at ${CHROMIUM} (.ci/apt-packages.txt installs it)` : !existsSync(KUBECTL) ? `kubectl not found at ${KUBECTL}` : false;
if (skip !== false) console.log(`# web-ui.test: skipped, ${skip}`);
const updateShots = process.env.NETSIM_UPDATE_SCREENSHOTS === '1';

let dir = '';
let proc: ChildProcessWithoutNullStreams | undefined;
let url = '';
let kubeconfig = '';
let remote: KubeconfigEntry;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
/** Console errors, page errors, failed requests and error responses, with whether they were expected (bad input on purpose). */
const problems: Array<{ what: string; expected: boolean }> = [];
let expectingErrors = false;

before(async () => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'netsim-webui-'));
  const p = spawn(process.execPath, [BIN, 'up', '--listen', '127.0.0.1:0', '--state', join(dir, 'state')], { stdio: 'pipe' });
  proc = p;
  let out = '';
  let err = '';
  p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`netsim up printed no Web UI line: ${out} ${err}`)), 120_000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^export KUBECONFIG=(\S+)\nWeb UI: (https:\/\/127\.0\.0\.1:\d+)\/ \(token in (\S+)\)$/m.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        kubeconfig = m[1] as string;
        url = m[2] as string;
        resolve();
      }
    });
    p.on('exit', (code) => reject(new Error(`netsim up exited ${code}: ${err}`)));
  });
  remote = readKubeconfig(kubeconfig);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  // The machine may be busy (CI, parallel tests): waits are long, the claims below carry their own limits.
  page.setDefaultTimeout(60_000);
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push({ what: `console ${m.type()}: ${m.text()} (${m.location().url})`, expected: expectingErrors && m.location().url.endsWith('/netsim/v1/trace') }); });
  page.on('pageerror', (e) => problems.push({ what: `page error: ${e.message}`, expected: false }));
  page.on('requestfailed', (r) => { if (!r.url().startsWith('ws')) problems.push({ what: `request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`, expected: false }); });
  page.on('response', (r) => { if (r.status() >= 400) problems.push({ what: `HTTP ${r.status()} ${r.url()}`, expected: expectingErrors && r.url().endsWith('/netsim/v1/trace') }); });
});

after(async () => {
  await browser?.close();
  if (proc !== undefined && proc.exitCode === null) {
    const exited = new Promise((r) => proc?.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function api<T>(path: string): Promise<T> {
  const res = await remoteRequest(remote, 'GET', path, { accept: 'application/json' });
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as T;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig } }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface PodList { items: Array<{ metadata: { namespace: string; name: string; deletionTimestamp?: string }; spec: { hostNetwork?: boolean; nodeName?: string }; status: { phase?: string; podIP?: string } }> }

/** The pods with their own network namespace that run now, as the API lists them. */
async function apiPods(): Promise<string[]> {
  const pods = await api<PodList>('/api/v1/pods');
  return pods.items.filter((p) => p.spec.hostNetwork !== true && p.metadata.deletionTimestamp === undefined && p.status.phase === 'Running' && p.status.podIP !== undefined)
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
}

/** The pods and nodes the page's graph draws. */
async function drawn(): Promise<{ pods: string[]; nodes: string[] }> {
  return inPage<{ pods: string[]; nodes: string[] }>(`({ pods: netsim.cy.nodes('.pod').map((n) => n.id().slice(4)).sort(), nodes: netsim.cy.nodes('.node').map((n) => n.id().slice(5)).sort() })`);
}

/** An expression evaluated in the page (a string: this file is typed for node, not the DOM). */
function inPage<T>(expr: string): Promise<T> {
  return page.evaluate(expr) as Promise<T>;
}

async function shot(name: string): Promise<void> {
  if (updateShots) await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

const hopKey = (h: Pick<Hop, 'node' | 'netns' | 'component' | 'action'> & { device?: string | undefined; rule?: string | undefined }): string => [h.node, h.netns, h.component, h.action, h.device ?? '', h.rule ?? ''].join(' | ');

test('the page loads without console errors or failed requests and draws exactly the cluster\'s nodes and pods', { skip, timeout: 240_000 }, async () => {
  const token = readFileSync(join(dir, 'state', 'token'), 'utf8').trim();
  const t0 = Date.now();
  await page.goto(`${url}/#token=${token}`, { timeout: 120_000 });
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
  console.log(`# web-ui: interactive ${Date.now() - t0} ms after navigation`);
  assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
  const nodes = (await api<{ items: Array<{ metadata: { name: string } }> }>('/api/v1/nodes')).items.map((n) => n.metadata.name).sort();
  const g = await until('the graph to show the API\'s pods', async () => {
    const d = await drawn();
    return JSON.stringify(d.pods) === JSON.stringify(await apiPods()) ? d : undefined;
  }, 10_000);
  assert.deepEqual(g.nodes, nodes);
  assert.ok(g.pods.includes('default/webapp01') && g.pods.some((p) => p.startsWith('kube-system/coredns-')), g.pods.join(' '));
  // The side list says the same, each pod with its readiness.
  const listed = await page.$$eval('#inventory [data-pod]', (els) => els.map((e) => e.getAttribute('data-pod') ?? '').sort());
  assert.deepEqual(listed, g.pods);
  // A pod's details: `ip addr` inside it and its node's views, from the live cluster.
  await page.click('#inventory [data-pod="default/webapp01"] button');
  await page.waitForFunction(`[...document.querySelectorAll('#details pre')].map((p) => p.textContent).join('\\n').includes('inet 10.244.')`);
  await page.waitForFunction(`[...document.querySelectorAll('#details pre')].some((p) => p.textContent.includes('eth0'))`);
  await page.click('#fit');
  await page.waitForTimeout(300);
  await shot('topology');
  assert.deepEqual(problems.map((p) => p.what), []);
});

test('after a scale through the API the new pods appear on the topology within seconds', { skip, timeout: 60_000 }, async () => {
  const before = (await drawn()).pods.filter((p) => p.startsWith('default/nginx-deployment-'));
  assert.equal(before.length, 2);
  const res = await remoteRequest(remote, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/nginx-deployment/scale', { 'content-type': 'application/merge-patch+json' }, JSON.stringify({ spec: { replicas: 4 } }));
  assert.equal(res.status, 200, res.body);
  const t0 = Date.now();
  const after = await until('four nginx pods on the graph', async () => {
    const now = (await drawn()).pods.filter((p) => p.startsWith('default/nginx-deployment-'));
    return now.length === 4 ? now : undefined;
  }, 10_000);
  console.log(`# web-ui: scaled pods drawn ${Date.now() - t0} ms after the PATCH`);
  assert.ok(before.every((p) => after.includes(p)));
  await until('the graph to match the API again', async () => (JSON.stringify((await drawn()).pods) === JSON.stringify(await apiPods()) ? true : undefined), 10_000);
});

test('a trace run from the page lists the hops of `netsim trace -o json` in the same order and steps over the topology', { skip, timeout: 90_000 }, async () => {
  const topo = await api<{ pods: Array<{ key: string; node: string }> }>('/netsim/v1/topology');
  const target = topo.pods.find((p) => p.key.startsWith('default/nginx-deployment-') && p.node === 'node02');
  assert.ok(target !== undefined);
  const args = ['trace', '--kubeconfig', kubeconfig, '--from', 'pod:default/webapp01', '--to', `pod:${target.key}`, '--proto', 'tcp', '--port', '80', '-o', 'json'];
  // Once first, so neighbour and bridge caches are warm for both the page's trace and the one compared with it.
  assert.equal((await run(process.execPath, [BIN, ...args])).code, 0);
  await page.click('#tab-trace');
  await page.fill('#trace-from', 'pod:default/webapp01');
  await page.fill('#trace-to', `pod:${target.key}`);
  await page.selectOption('#trace-proto', 'tcp');
  await page.fill('#trace-port', '80');
  const answer = page.waitForResponse((r) => r.url().endsWith('/netsim/v1/trace'));
  await page.click('#trace-run');
  const served = (await (await answer).json()) as TraceReport;
  await page.waitForSelector('#hops-request li');
  const cli = await run(process.execPath, [BIN, ...args]);
  assert.equal(cli.code, 0, cli.stderr);
  const report = JSON.parse(cli.stdout) as TraceReport;

  const listed = await page.$$eval('#hops-request li, #hops-reply li', (els) => els.map((e) => ({ leg: e.getAttribute('data-leg'), node: e.getAttribute('data-node') ?? '', netns: e.getAttribute('data-netns') ?? '', component: e.getAttribute('data-component') ?? '', action: e.getAttribute('data-action') ?? '', device: e.getAttribute('data-device') || undefined, rule: e.getAttribute('data-rule') || undefined })));
  const legs = (r: TraceReport): string[] => [...r.hops.map((h) => `request ${hopKey(h)}`), ...(r.reply?.hops ?? []).map((h) => `reply ${hopKey(h)}`)];
  const onPage = listed.map((h) => `${h.leg} ${hopKey(h)}`);
  assert.deepEqual(onPage, legs(served), 'the page lists exactly the hops the server answered, in order');
  assert.deepEqual(onPage, legs(report), 'and they are the hops `netsim trace -o json` gives for the same request');
  assert.ok(report.hops.some((h) => h.component === 'flannel0' && h.action === 'encap'), 'the path crosses nodes through flannel');

  // Stepping moves the marker along the hops: the last request hop is in the target pod, the reply's in webapp01.
  const current = (): Promise<string[]> => inPage(`netsim.cy.elements('.current').map((e) => e.id())`);
  assert.deepEqual(await current(), ['pod:default/webapp01']);
  await page.click('#hop-next');
  await page.click('#hop-next');
  assert.match(await page.textContent('#hop-position') ?? '', /^hop 3 of \d+ \(request\)$/);
  for (let i = 0; i < report.hops.length - 3; i++) await page.click('#hop-next');
  assert.deepEqual(await current(), [`pod:${target.key}`]);
  await page.click('#hop-last');
  assert.deepEqual(await current(), ['pod:default/webapp01']);
  assert.ok(await inPage<boolean>(`netsim.cy.elements('.reply-path').length > 0`));
  await page.click('#hop-first');
  for (let i = 0; i < 12; i++) await page.click('#hop-next');
  await shot('trace');
});

test('the flows table receives the flows of a `kubectl exec … curl` to the Service; selecting one draws its path', { skip, timeout: 60_000 }, async () => {
  const svc = await api<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services/nginx-service');
  await page.click('#tab-flows');
  await page.fill('#flow-filters input[name="from-pod"]', 'default/webapp02');
  await page.click('#flow-filters button[type="submit"]');
  await page.waitForTimeout(500);
  assert.equal(await page.$$eval('#flows-table tbody tr', (r) => r.length), 0, 'webapp02 sent nothing yet');
  const r = await run(KUBECTL, ['exec', 'webapp02', '--', 'curl', '-s', `http://${svc.spec.clusterIP}/`]);
  assert.equal(r.code, 0, r.stderr);
  const served = /from (nginx-deployment-\S+)$/.exec(r.stdout.trim())?.[1];
  assert.ok(served !== undefined, r.stdout);
  const rows = await until('the curl\'s flows in the table', async () => {
    const rs = await page.$$eval('#flows-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    return rs.some((c) => c[4] === 'TCP FIN, ACK') ? rs : undefined;
  }, 10_000);
  const syn = rows.find((c) => c[4] === 'TCP SYN');
  assert.ok(syn !== undefined, JSON.stringify(rows));
  assert.match(syn[1] ?? '', /^default\/webapp02:\d+$/);
  assert.equal(syn[2], `default/${served}:80`, 'the destination is the pod that served the page (after DNAT)');
  assert.equal(syn[3], 'default/nginx-service');
  assert.match(syn[7] ?? '', /KUBE-SEP-\w+:\d+ DNAT/);
  assert.ok(rows.every((c) => c[1]?.startsWith('default/webapp02') || c[2]?.startsWith('default/webapp02')), 'the filter was applied');
  await shot('flows');
  // Selecting the SYN draws its path on the topology: webapp02, the Service it was sent to, the pod that served it.
  const synRow = rows.indexOf(syn);
  await page.click(`#flows-table tbody tr:nth-child(${synRow + 1})`);
  assert.equal(await page.getAttribute('#tab-topology', 'aria-selected'), 'true');
  const path = await inPage<string[]>(`netsim.cy.elements('.path').map((e) => e.id())`);
  for (const id of ['pod:default/webapp02', `pod:default/${served}`, 'svc:default/nginx-service', 'veth:default/webapp02', `veth:default/${served}`]) assert.ok(path.includes(id), `${id} in ${path.join(' ')}`);
  await page.click('#tab-flows');
  await page.fill('#flow-filters input[name="from-pod"]', '');
  await page.click('#flow-filters button[type="submit"]');
  await page.waitForTimeout(500);
});

test('the load-balancing chart counts per endpoint what the flows count for the Service', { skip, timeout: 90_000 }, async () => {
  const svc = await api<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services/nginx-service');
  const r = await run(KUBECTL, ['exec', 'webapp03', '--', 'sh', '-c', Array.from({ length: 12 }, () => `curl -s -o /dev/null http://${svc.spec.clusterIP}/`).join(' && ')]);
  assert.equal(r.code, 0, r.stderr);
  await page.click('#tab-lb');
  // The flows the server kept for the Service, counted independently: forwarded SYNs by destination.
  const expected = async (): Promise<Record<string, number>> => {
    const res = await remoteRequest(remote, 'GET', '/netsim/v1/flows?to-service=default/nginx-service&last=100000', {});
    const counts: Record<string, number> = {};
    for (const line of res.body.split('\n')) {
      if (line === '') continue;
      const f = JSON.parse(line) as Flow;
      if (f.verdict === 'FORWARDED' && f.service === 'default/nginx-service' && JSON.stringify(f.tcpFlags) === '["SYN"]') counts[f.destination.ip] = (counts[f.destination.ip] ?? 0) + 1;
    }
    return counts;
  };
  const chart = (): Promise<Record<string, number>> => page.$$eval('[data-service="default/nginx-service"] .bar-row', (rows) => Object.fromEntries(rows.map((r) => [r.getAttribute('data-endpoint') ?? '', Number(r.getAttribute('data-count'))]).filter(([, n]) => (n as number) > 0)));
  const both = await until('the chart to count what the flows count', async () => {
    const [a, b] = [await chart(), await expected()];
    return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort()) ? b : undefined;
  }, 10_000);
  const total = Object.values(both).reduce((a, b) => a + b, 0);
  assert.ok(total >= 13, `the exec'd curls (12) and the earlier one are counted: ${JSON.stringify(both)}`);
  assert.ok(Object.keys(both).length >= 2, 'spread over more than one endpoint');
  // Four ready endpoints: each expected share is 25%.
  const marks = await page.$$eval('[data-service="default/nginx-service"] .bar .expected', (els) => els.map((e) => e.getAttribute('data-expected')));
  assert.deepEqual(marks, ['25.0%', '25.0%', '25.0%', '25.0%']);
  await shot('load-balancing');
});

test('bad trace input shows the server\'s message inline, no stack trace, and the page keeps working', { skip, timeout: 60_000 }, async () => {
  await page.click('#tab-trace');
  expectingErrors = true;
  const cases: Array<[string, string, string, RegExp]> = [
    ['pod:default/nope', 'service:default/nginx-service:80', '', /unknown pod "default\/nope"/],
    ['pod:default/webapp01', 'service:default/nginx-service', '70000', /port: Invalid value: 70000: must be between 1 and 65535, inclusive/],
    ['pod:default/webapp01', 'service:default/nginx-service', 'eighty', /port: Invalid value: "eighty"/],
    ['pod:default/webapp01', 'bogus:thing', '', /.+/],
  ];
  for (const [from, to, port, message] of cases) {
    await page.fill('#trace-from', from);
    await page.fill('#trace-to', to);
    await page.selectOption('#trace-proto', '');
    await page.fill('#trace-port', port);
    await page.click('#trace-run');
    await page.waitForSelector('#trace-error:not([hidden])');
    const text = await page.textContent('#trace-error') ?? '';
    assert.match(text, message, `${from} → ${to} :${port}`);
    assert.doesNotMatch(text, /\bat .+\.(ts|js):\d+|Error:|\{/, 'a message, not a stack trace or raw JSON');
  }
  await shot('trace-error');
  expectingErrors = false;
  await page.fill('#trace-from', 'pod:default/webapp01');
  await page.fill('#trace-to', 'service:default/nginx-service:80');
  await page.fill('#trace-port', '');
  await page.click('#trace-run');
  await page.waitForSelector('#trace-error', { state: 'hidden' });
  await page.waitForFunction(`document.querySelector('#trace-summary').textContent.startsWith('pod:default/webapp01 → service:default/nginx-service')`);
  assert.match(await page.textContent('#trace-summary') ?? '', /delivered; reply delivered/);
});

test('keyboard: the tabs follow the arrow keys, every control has a label; the theme follows the system; at a phone\'s width nothing overflows sideways', { skip, timeout: 60_000 }, async () => {
  await page.focus('#tab-topology');
  await page.click('#tab-topology');
  await page.keyboard.press('ArrowRight');
  assert.equal(await inPage('document.activeElement.id'), 'tab-flows');
  assert.equal(await page.getAttribute('#tab-flows', 'aria-selected'), 'true');
  assert.equal(await page.isHidden('#view-topology'), true);
  await page.keyboard.press('End');
  assert.equal(await inPage('document.activeElement.id'), 'tab-lb');
  const unlabelled = await inPage<string[]>(`[...document.querySelectorAll('input, select, button')]
    .filter((el) => el.closest('[hidden]') === null && (el.labels === null || el.labels.length === 0) && !el.getAttribute('aria-label') && el.textContent.trim() === '')
    .map((el) => el.outerHTML)`);
  assert.deepEqual(unlabelled, []);
  // The theme follows the system's: dark when it is dark.
  const background = (): Promise<string> => inPage('getComputedStyle(document.body).backgroundColor');
  const light = await background();
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.notEqual(await background(), light);
  assert.equal(await background(), 'rgb(18, 22, 28)');
  await page.setViewportSize({ width: 390, height: 844 });
  for (const tab of ['topology', 'flows', 'trace', 'lb']) {
    await page.click(`#tab-${tab}`);
    await page.waitForTimeout(200);
    const [scroll, width] = await inPage<[number, number]>('[document.documentElement.scrollWidth, window.innerWidth]');
    assert.ok(scroll <= width + 1, `${tab}: the page is ${scroll}px wide in a ${width}px window`);
  }
  await page.click('#tab-topology');
  await page.waitForTimeout(300);
  await shot('phone-topology');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(problems.filter((p) => !p.expected).map((p) => p.what), [], 'no console error, failed request or error response beyond the bad input sent on purpose');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { ExperimentAccumulator, PROXY_MODES, bar, csvField, renderCsv, renderJson, renderTable, renderWindowsCsv, runLabel } from './results.ts';
import type { ExperimentResult, ProxyModeName } from './results.ts';
import { sampleResult } from './testing/sample.ts';

/** Compare with a golden file; UPDATE_GOLDEN=1 rewrites it (then review the diff by eye). */
function golden(name: string, actual: string): void {
  const url = new URL(`./testing/golden/${name}`, import.meta.url);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(url, actual);
  assert.equal(actual, readFileSync(url, 'utf8'));
}

const small = (): ReturnType<typeof sampleResult> => sampleResult({ connections: 60, modes: ['iptables', 'ipvs-rr'] });

test('golden: terminal table of a small fixed result', () => {
  golden('sample-table.txt', renderTable(small()));
  golden('sample-table-ascii.txt', renderTable(small(), { ascii: true, barWidth: 10 }));
});

test('golden: CSV (per endpoint) and windows CSV, RFC 4180 line ends', () => {
  const csv = renderCsv(small());
  golden('sample.csv', csv);
  assert.ok(csv.endsWith('\r\n') && !/[^\r]\n/.test(csv));
  golden('sample-windows.csv', renderWindowsCsv(small()));
});

test('runs repeated over seeds: labelled "mode seed N" in the table, a seed column in both CSVs (none without seeds)', () => {
  const one = small();
  const two = sampleResult({ connections: 60, modes: ['iptables'], seed: 2 });
  const seeded: ExperimentResult = { experiment: one.experiment, seed: null, runs: [{ ...(one.runs[0] as ExperimentResult['runs'][number]), seed: 1 }, { ...(two.runs[0] as ExperimentResult['runs'][number]), seed: 2 }] };
  assert.deepEqual(seeded.runs.map(runLabel), ['iptables seed 1', 'iptables seed 2']);
  const table = renderTable(seeded);
  assert.match(table, /^experiment .* \(seeds 1, 2\)$/m);
  assert.match(table, /^iptables seed 2 — \d+ connections/m);
  const csv = renderCsv(seeded).split('\r\n');
  assert.equal(csv[0]?.startsWith('mode,seed,pod,'), true);
  assert.ok(csv.slice(1).some((l) => l.startsWith('iptables,2,')));
  assert.equal(renderWindowsCsv(seeded).split('\r\n')[0]?.startsWith('mode,seed,window_start_ns,'), true);
  assert.equal(renderCsv(one).split('\r\n')[0]?.startsWith('mode,pod,'), true);
});

test('JSON follows the Contract and holds only finite numbers', () => {
  const j = JSON.parse(renderJson(small())) as { runs: Array<Record<string, unknown>> };
  const run = j.runs[0]!;
  for (const k of ['mode', 'connections', 'failed', 'blackholed', 'endpoints', 'chiSquare', 'pValue', 'maxMinRatio', 'nodes', 'windows', 'events', 'latency', 'conclusion']) assert.ok(k in run, k);
  assert.equal(run['mode'], 'iptables');
  const ep = (run['endpoints'] as Array<Record<string, unknown>>)[0]!;
  for (const k of ['pod', 'ip', 'connections', 'requests']) assert.ok(k in ep, k);
  assert.doesNotMatch(renderJson(small()), /Infinity|NaN/);
  // An endpoint expected to get traffic that got none: max/min is infinite → null.
  const acc = new ExperimentAccumulator({ experiment: 'x', windowNs: 1e9 });
  acc.setEndpoints('iptables', 0, [{ ip: '10.0.0.1', pod: 'a' }, { ip: '10.0.0.2', pod: 'b' }]);
  for (let i = 0; i < 20; i++) acc.recordConnection({ mode: 'iptables', node: 'n1', endpointIp: '10.0.0.1', t: i });
  const r = acc.result().runs[0]!;
  assert.equal(r.maxMinRatio, null);
  assert.equal(r.verdict, 'skewed');
  assert.match(r.conclusion, /^skewed: an endpoint got no connections/);
  assert.doesNotMatch(renderJson(acc.result()), /Infinity|NaN/);
});

test('csvField quotes commas, quotes and line breaks (RFC 4180)', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(null), '');
  assert.equal(csvField(0.5), '0.5');
});

test('bars: eighths, ascii, empty for zero', () => {
  assert.equal(bar(1, 1, 4), '████');
  assert.equal(bar(1, 2, 3), '█▌');
  assert.equal(bar(0, 2, 3), '');
  assert.equal(bar(1, 2, 4, true), '##');
});

test('verdicts: even, even per node but not across, weighted, too few', () => {
  const rr = new ExperimentAccumulator({ experiment: 'rr', windowNs: 1e9 });
  const eps = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip, i) => ({ ip, pod: `p${i}` }));
  rr.setEndpoints('ipvs-rr', 0, eps);
  // node a sends 30 (10 each): exactly even.
  for (let i = 0; i < 30; i++) rr.recordConnection({ mode: 'ipvs-rr', node: 'a', endpointIp: eps[i % 3]!.ip, t: i });
  let r = rr.result().runs[0]!;
  assert.equal(r.verdict, 'even');
  assert.equal(r.conclusion, 'exactly even: every endpoint within one connection of its share');
  // 1000 more nodes send two connections each; each node's rr starts at the same endpoint, so every node
  // is within one of even but the third endpoint gets nothing from them.
  for (let i = 0; i < 2000; i++) rr.recordConnection({ mode: 'ipvs-rr', node: `b${Math.floor(i / 2)}`, endpointIp: eps[i % 2]!.ip, t: i });
  r = rr.result().runs[0]!;
  assert.equal(r.verdict, 'even-per-node');
  assert.match(r.conclusion, /^even within each node, but not across nodes: max\/min ∞|^even within each node/);

  const w = new ExperimentAccumulator({ experiment: 'wrr', windowNs: 1e9 });
  w.setEndpoints('ipvs-wrr', 0, [{ ip: '10.0.0.1', pod: 'a', weight: 1 }, { ip: '10.0.0.2', pod: 'b', weight: 3 }]);
  for (let i = 0; i < 400; i++) w.recordConnection({ mode: 'ipvs-wrr', node: 'n', endpointIp: i % 4 === 0 ? '10.0.0.1' : '10.0.0.2', t: i });
  r = w.result().runs[0]!;
  assert.equal(r.expectation, 'weighted');
  assert.equal(r.conclusion, 'exactly as weighted: every endpoint within one connection of its share');
  assert.deepEqual(r.endpoints.map((e) => e.expectedShare), [0.25, 0.75]);

  const few = new ExperimentAccumulator({ experiment: 'few', windowNs: 1e9 });
  few.recordConnection({ mode: 'iptables', node: 'n', endpointIp: '10.0.0.1', t: 0 });
  few.recordConnection({ mode: 'iptables', node: 'n', endpointIp: '10.0.0.2', t: 0 });
  few.recordConnection({ mode: 'iptables', node: 'n', endpointIp: '10.0.0.2', t: 0 });
  assert.equal(few.result().runs[0]!.verdict, 'too-few');
  const none = new ExperimentAccumulator({ experiment: 'none', windowNs: 1e9 });
  none.declareRun('ipvs-mh');
  assert.equal(none.result().runs[0]!.conclusion, 'no connections recorded');
});

test('accumulator: failures, black holes, latency, windows and events', () => {
  const acc = new ExperimentAccumulator({ experiment: 'e', seed: 3, windowNs: 100 });
  acc.setEndpoints('iptables', 0, [{ ip: '10.0.0.1', pod: 'a', node: 'n1' }, { ip: '10.0.0.2', pod: 'b', node: 'n2' }]);
  acc.recordConnection({ mode: 'iptables', node: 'n1', endpointIp: '10.0.0.1', t: 5, latencyNs: 1000, requests: 3 });
  acc.recordConnection({ mode: 'iptables', node: 'n1', t: 150, failed: true });
  acc.setEndpoints('iptables', 160, [{ ip: '10.0.0.2', pod: 'b' }], 'a unready');
  acc.recordConnection({ mode: 'iptables', node: 'n2', endpointIp: '10.0.0.1', t: 170, blackholed: true, latencyNs: 5 });
  acc.recordEvent(undefined, 180, 'node n3 down');
  const res = acc.result();
  assert.equal(res.seed, 3);
  const r = res.runs[0]!;
  assert.deepEqual([r.connections, r.requests, r.failed, r.blackholed, r.offActive], [3, 3, 1, 1, 1]);
  assert.deepEqual(r.events, [{ t: 160, label: 'a unready' }, { t: 180, label: 'node n3 down' }]);
  assert.equal(r.latency?.count, 1); // failed and black-holed connections have no latency
  assert.deepEqual(r.windows.rows.map((w) => [w.t, ...w.counts, w.failed, w.blackholed]), [[0, 1, 0, 0, 0], [100, 1, 0, 1, 1]]);
  assert.deepEqual(r.nodes.map((n) => [n.node, n.connections, ...n.endpointConnections]), [['n1', 2, 1, 0], ['n2', 1, 1, 0]]);
  assert.deepEqual(r.endpoints.map((e) => [e.pod, e.node, e.requests]), [['a', 'n1', 3], ['b', 'n2', 0]]);
});

test('PROXY_MODES names iptables and every IPVS scheduler', () => {
  assert.deepEqual([...PROXY_MODES], ['iptables', 'nftables', 'ipvs-rr', 'ipvs-wrr', 'ipvs-lc', 'ipvs-wlc', 'ipvs-sh', 'ipvs-dh', 'ipvs-sed', 'ipvs-nq', 'ipvs-mh'] satisfies ProxyModeName[]);
});

test('a million connections: flat memory, a few seconds at most', () => {
  const acc = new ExperimentAccumulator({ experiment: 'm', windowNs: 1e8 });
  const eps = Array.from({ length: 7 }, (_, i) => ({ ip: `10.0.0.${i + 1}`, pod: `p${i}` }));
  acc.setEndpoints('iptables', 0, eps);
  const ips = eps.map((e) => e.ip);
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1_000_000; i++) acc.recordConnection({ mode: 'iptables', node: i & 1 ? 'node01' : 'node02', endpointIp: ips[(i * 2654435761) % 7]!, t: i * 1000, latencyNs: 100_000 + (i % 977) });
  const grown = process.memoryUsage().heapUsed - before;
  const r = acc.result().runs[0]!;
  assert.equal(r.connections, 1_000_000);
  assert.ok(grown < 30e6, `heap grew ${grown} bytes`);
});

test('a Local traffic policy: each entry node\'s connections are expected over that node\'s endpoints only, so a correct Local run is not "skewed"', () => {
  const eps = [{ ip: '10.0.1.2', pod: 'a', node: 'n1' }, { ip: '10.0.1.3', pod: 'b', node: 'n1' }, { ip: '10.0.2.2', pod: 'c', node: 'n2' }];
  const feed = (local: boolean): ReturnType<ExperimentAccumulator['result']>['runs'][number] => {
    const acc = new ExperimentAccumulator({ experiment: 'x', windowNs: 1e9 });
    if (local) acc.setLocalTo('iptables', ['n1', 'n2']);
    acc.setEndpoints('iptables', 0, eps);
    // n1's traffic alternates over its two pods, n2's all goes to its one pod: what Local does.
    for (let i = 0; i < 300; i++) acc.recordConnection({ mode: 'iptables', node: 'n1', endpointIp: i % 2 === 0 ? '10.0.1.2' : '10.0.1.3', t: i });
    for (let i = 0; i < 100; i++) acc.recordConnection({ mode: 'iptables', node: 'n2', endpointIp: '10.0.2.2', t: i });
    return acc.result().runs[0]!;
  };
  const uniform = feed(false);
  assert.equal(uniform.verdict, 'skewed', 'judged against all three pods, this is uneven');
  const r = feed(true);
  assert.deepEqual(r.localTo, ['n1', 'n2']);
  assert.deepEqual(r.endpoints.map((e) => e.expected), [150, 150, 100]);
  assert.deepEqual(r.endpoints.map((e) => Number(e.expectedShare.toFixed(3))), [0.375, 0.375, 0.25]);
  assert.equal(r.pValue, 1);
  assert.notEqual(r.verdict, 'skewed');
  assert.equal(r.offActive, 0);
  assert.deepEqual(r.nodes.map((n) => n.endpointConnections), [[150, 150, 0], [0, 0, 100]]);
  assert.equal('localTo' in uniform, false, 'no field without a Local policy');
  // A connection that crossed to another node's pod is impossible under Local: counted off the active set, not in the test.
  const acc = new ExperimentAccumulator({ experiment: 'x', windowNs: 1e9 });
  acc.setLocalTo('iptables', ['n2']);
  acc.setEndpoints('iptables', 0, eps);
  acc.recordConnection({ mode: 'iptables', node: 'n2', endpointIp: '10.0.1.2', t: 0 });
  const bad = acc.result().runs[0]!;
  assert.equal(bad.offActive, 1);
  assert.equal(bad.endpoints[0]!.expected, 0);
});

test('client groups: each gets its connections, failures and latency in the JSON, a line in the table and a row in the report; none without groups', async () => {
  const { renderHtmlReport } = await import('./report/index.ts');
  const acc = new ExperimentAccumulator({ experiment: 'g', windowNs: 1e9 });
  acc.setEndpoints('iptables', 0, [{ ip: '10.0.0.1', pod: 'a' }]);
  for (let i = 0; i < 8; i++) acc.recordConnection({ mode: 'iptables', node: 'n', endpointIp: '10.0.0.1', t: i, latencyNs: i < 2 ? 5_000_000_000 : 100_000, group: 'glibc' });
  for (let i = 0; i < 4; i++) acc.recordConnection({ mode: 'iptables', node: 'n', endpointIp: '10.0.0.1', t: i, latencyNs: 100_000, group: 'reopen' });
  acc.recordConnection({ mode: 'iptables', node: 'n', failed: true, t: 9, group: 'reopen' });
  const r = acc.result().runs[0]!;
  assert.deepEqual(r.groups?.map((g) => [g.group, g.connections, g.failed, g.latency?.count, g.latency?.max]), [['glibc', 8, 0, 8, 5_000_000_000], ['reopen', 5, 1, 4, 100_000]]);
  const table = renderTable(acc.result());
  assert.match(table, /^ {4}glibc: 8 connections, 0 failed · latency p50 100 µs · p90 5 s · p99 5 s · max 5 s \(n=8\)$/m);
  assert.match(table, /^ {4}reopen: 5 connections, 1 failed · latency p50 100 µs/m);
  const html = renderHtmlReport(acc.result());
  assert.match(html, /Per client group \(2\)/);
  assert.match(html, /<th scope="row" class="text">glibc<\/th><td>8<\/td><td>0<\/td><td>0<\/td><td>100 µs<\/td><td>5 s<\/td>/);
  assert.equal(small().runs.some((x) => 'groups' in x), false);
});

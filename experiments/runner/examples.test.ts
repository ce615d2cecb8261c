/**
 * The ready-made experiments in examples/experiments/, checked by their
 * conclusions from measured numbers (every connection through the emulated
 * datapath), plus determinism: same seed → identical JSON, serial or in workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { loadExperimentSpec } from '../experiment-spec.ts';
import type { ExperimentSpec } from '../experiment-spec.ts';
import { renderJson } from '../results.ts';
import { chiSquareGoodnessOfFit } from '../stats/distribution.ts';
import type { RunResult } from '../results.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { runExperiment, RULE_COST_NS } from './index.ts';
import { experimentFromArgs } from '../../cli/commands/experiment.ts';

const example = (name: string): ExperimentSpec => loadExperimentSpec(fileURLToPath(new URL(`../../examples/experiments/${name}`, import.meta.url)));
const run = (r: { runs: readonly RunResult[] }, mode: string): RunResult => {
  const x = r.runs.find((m) => m.mode === mode);
  assert.ok(x !== undefined, `no run for ${mode}`);
  return x;
};

test('iptables-vs-ipvs-rr: iptables uniform within chance over 10 000 connections; IPVS rr even per node (max − min ≤ 2 across the scale-up)', async () => {
  const r = await runExperiment(example('iptables-vs-ipvs-rr.yaml'));
  const ipt = run(r, 'iptables');
  const rr = run(r, 'ipvs-rr');
  assert.ok(ipt.connections >= 9500, `iptables ran ${ipt.connections} connections`);
  assert.equal(ipt.failed + ipt.blackholed, 0);
  assert.equal(ipt.endpoints.length, 7);
  assert.ok(ipt.pValue >= 0.01, `iptables chi-square p = ${ipt.pValue}`);
  assert.ok(ipt.nodes.some((n) => n.maxDeviation > 1), 'random choice is not exactly even on any node');
  assert.equal(rr.failed + rr.blackholed, 0);
  // Each node's IPVS has its own rr pointer: per node, counts differ by at most 2 (the scale at 0 s resets the pointer as servers are added).
  for (const n of rr.nodes) {
    const counts = n.endpointConnections;
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 2, `${n.node}: ${counts.join(' ')}`);
  }
  assert.ok(rr.pValue > 0.99, `rr p = ${rr.pValue}`);
});

test('iptables-nftables-ipvs: nftables\' numgen vmap is uniform within chance over all seven pods, like iptables; its modelled rule cost is below iptables\'', async () => {
  const r = await runExperiment(example('iptables-nftables-ipvs.yaml'));
  const ipt = run(r, 'iptables');
  const nft = run(r, 'nftables');
  for (const m of [ipt, nft, run(r, 'ipvs-rr')]) assert.equal(m.failed + m.blackholed, 0, m.mode);
  assert.ok(nft.connections >= 3500, `nftables ran ${nft.connections} connections`);
  assert.equal(nft.endpoints.length, 7);
  assert.ok(nft.endpoints.every((e) => e.connections > 0), 'every pod got connections');
  assert.ok(nft.pValue >= 0.01, `nftables chi-square p = ${nft.pValue}`);
  assert.ok(nft.nodes.some((n) => n.maxDeviation > 1), 'random choice is not exactly even on any node');
  assert.ok((nft.latency?.min ?? Infinity) < (ipt.latency?.min ?? 0), `nftables min ${nft.latency?.min} vs iptables ${ipt.latency?.min}`);
});

test('session-affinity: every client keeps one backend in both modes, and the pods added by the scale-up get none of their connections', async () => {
  const r = await runExperiment(example('session-affinity.yaml'));
  for (const m of r.runs) {
    assert.equal(m.clients?.clients, 12, m.mode);
    assert.equal(m.clients?.maxEndpointsPerClient, 1, `${m.mode}: a client reached several backends`);
    assert.equal(m.endpoints.length, 6);
    const used = m.endpoints.filter((e) => e.connections > 0);
    assert.ok(used.length <= 2, `${m.mode}: only the two original pods serve (${used.map((e) => e.pod).join(', ')})`);
    assert.equal(m.failed + m.blackholed, 0);
  }
});

test('udp-scale-down-blackhole: without conntrack cleanup iptables black-holes the flows of removed pods; with cleanup none, and no datagram reaches a removed pod after the sync', async () => {
  const exp = example('udp-scale-down-blackhole.yaml');
  const off = await runExperiment({ ...exp, modes: ['iptables'] });
  const on = await runExperiment({ ...exp, modes: ['iptables', 'ipvs-rr'], proxy: { ...exp.proxy, conntrackCleanup: true } });
  const ipOff = run(off, 'iptables');
  assert.ok(ipOff.blackholed > 0, 'stale conntrack entries black-hole datagrams');
  // The black hole lasts to the end of the run: each datagram refreshes the stale entry.
  const lastRow = ipOff.windows.rows[ipOff.windows.rows.length - 1];
  assert.ok(lastRow !== undefined && lastRow.blackholed > 0, 'still black-holed in the last window');
  for (const m of on.runs) {
    assert.equal(m.blackholed, 0, `${m.mode} with cleanup`);
    assert.equal(m.failed, 0, `${m.mode} with cleanup`);
    const scaleAt = 3 * SECOND;
    const removed = m.endpoints.map((e, i) => ({ e, i })).filter(({ e }) => e.expected < m.endpoints.reduce((s, x) => Math.max(s, x.expected), 0) / 2).map(({ i }) => i);
    assert.equal(removed.length, 2, `${m.mode}: two endpoints removed`);
    // After the scale, the shutdown delay (2 s) and a sync period (1 s), nothing new reaches them.
    for (const row of m.windows.rows.filter((w) => w.t >= scaleAt + 3 * SECOND)) {
      for (const i of removed) assert.equal(row.counts[i], 0, `${m.mode}: window ${row.t / SECOND}s still reaches a removed pod`);
    }
  }
  // IPVS drops connections of a deleted real server (kube-proxy sets expire_nodest_conn): no black hole even without cleanup.
  const rrOff = await runExperiment({ ...exp, modes: ['ipvs-rr'] });
  assert.equal(run(rrOff, 'ipvs-rr').blackholed, 0);
});

test('same seed → identical JSON, serially and in worker threads; another seed differs', async () => {
  const exp = experimentFromArgs({ service: 'default/nginx-service', connections: 300, rate: '1000/s', modes: 'iptables,ipvs-rr', output: 'json', progress: false });
  const serial = renderJson(await runExperiment(exp));
  const workers = renderJson(await runExperiment(exp, { workers: 2 }));
  assert.equal(workers, serial);
  const other = renderJson(await runExperiment({ ...exp, seed: 2, modes: ['iptables'] }));
  const first = JSON.parse(serial) as { runs: RunResult[] };
  const second = JSON.parse(other) as { runs: RunResult[] };
  assert.notDeepEqual(second.runs[0]?.endpoints.map((e) => e.connections), first.runs[0]?.endpoints.map((e) => e.connections));
});

test('seeds: every mode once per seed, each run saying its seed; the same as single-seed runs, serially or in worker threads', async () => {
  const exp = experimentFromArgs({ service: 'default/nginx-service', connections: 300, rate: '1000/s', modes: 'iptables,ipvs-rr', output: 'json', progress: false });
  const serial = await runExperiment(exp, { seeds: [1, 2] });
  assert.equal(serial.seed, null);
  assert.deepEqual(serial.runs.map((r) => `${r.mode}/${r.seed}`), ['iptables/1', 'ipvs-rr/1', 'iptables/2', 'ipvs-rr/2']);
  assert.equal(renderJson(await runExperiment(exp, { seeds: [1, 2], workers: 2 })), renderJson(serial));
  // A replicate is the single-seed run of its seed, labelled.
  const single = await runExperiment({ ...exp, seed: 2 });
  assert.deepEqual(serial.runs.slice(2).map(({ seed: _s, ...r }) => r), single.runs);
  assert.notDeepEqual(serial.runs[0]?.endpoints.map((e) => e.connections), serial.runs[2]?.endpoints.map((e) => e.connections));
  await assert.rejects(runExperiment(exp, { seeds: [1, 1] }), /seeds must differ/);
});

test('latency cost model: 500 more Services add ~100 ns per rule iptables walks (KUBE-SERVICES grows), nothing in nftables (verdict maps) or IPVS (hash lookups)', async () => {
  const exp = experimentFromArgs({ service: 'default/nginx-service', connections: 300, rate: '1000/s', modes: 'iptables,nftables,ipvs-rr', output: 'json', progress: false });
  const extra = Array.from({ length: 500 }, (_, i) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `extra-${i}`, namespace: 'default' }, spec: { selector: { app: 'nginx' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }] } }));
  const few = await runExperiment(exp);
  const many = await runExperiment(exp, { manifests: extra });
  const min = (r: { runs: readonly RunResult[] }, mode: string): number => run(r, mode).latency?.min ?? Number.NaN;
  // The fastest connection stays on one node: its latency is the virtual path plus the modelled rule walk.
  const grew = min(many, 'iptables') - min(few, 'iptables');
  assert.ok(grew >= 500 * RULE_COST_NS * 0.9 && grew <= 2 * 500 * RULE_COST_NS * 1.1, `iptables minimum latency grew by ${grew} ns`);
  assert.equal(min(many, 'ipvs-rr'), min(few, 'ipvs-rr'), 'IPVS: the same minimum with 500 more Services');
  assert.equal(min(many, 'nftables'), min(few, 'nftables'), 'nftables: the same minimum with 500 more Services');
  // Every connection of every mode was served (nftables mode load-balances through the emulated nf_tables).
  for (const r of [few, many]) {
    const n = run(r, 'nftables');
    assert.ok(n.connections >= 250 && n.failed === 0 && n.blackholed === 0, `nftables: ${n.connections} connections, ${n.failed} failed, ${n.blackholed} black-holed`);
  }
});

test('the command line describes the common case as an experiment (validated like a file)', () => {
  const exp = experimentFromArgs({ service: 'default/nginx-service', connections: 5000, rate: '500/s', modes: 'iptables,ipvs-mh', output: 'table', progress: false, requests: 4 });
  assert.deepEqual(exp.modes, ['iptables', 'ipvs-mh']);
  assert.equal(exp.durationNs, 10 * SECOND);
  assert.equal(exp.pattern, 'keep-alive');
  assert.equal(exp.requestsPerConnection, 4);
  assert.deepEqual(exp.clients[0]?.placement, { kind: 'nodes', nodes: ['node01', 'node02'] });
  assert.throws(() => experimentFromArgs({ service: 'default/x', modes: 'ipvs-xx', output: 'table', progress: false }), /NETSIM_EXP_VALUE|unknown mode/);
  assert.throws(() => experimentFromArgs({ output: 'table', progress: false }), /FILE or --service/);
});

test('--connections N is exact: Poisson arrivals stop after the N-th, past the duration if need be; a shortened run keeps the file\'s number of windows', async () => {
  const file = fileURLToPath(new URL('../../examples/experiments/iptables-vs-ipvs-rr.yaml', import.meta.url));
  const base = loadExperimentSpec(file);
  const exp = experimentFromArgs({ file, connections: 37, rate: '500/s', modes: 'iptables,ipvs-rr', output: 'table', progress: false });
  assert.equal(exp.connections, 37);
  assert.equal(exp.durationNs, 74_000_000);
  assert.equal(exp.durationNs / exp.windowNs, base.durationNs / base.windowNs, 'windows scale with the run');
  assert.equal(experimentFromArgs({ service: 'default/nginx-service', connections: 123, output: 'table', progress: false }).connections, 123);
  // Without events (the file scales at 0 s), on the built-in cluster: every mode makes exactly 37 connections.
  const r = await runExperiment({ ...exp, events: [], cluster: { file: fileURLToPath(new URL('../../examples/seed-cluster.yaml', import.meta.url)) }, target: { kind: 'ClusterIP', service: { namespace: 'default', name: 'nginx-service' }, port: 80 }, clients: [{ name: 'c', count: 3, placement: { kind: 'nodes', nodes: ['node01', 'node02'] }, sourceCIDR: undefined }] });
  for (const m of r.runs) {
    assert.equal(m.connections, 37, `${m.mode}: ${m.connections} connections`);
    assert.ok(m.windows.rows.length >= 10, `${m.mode}: ${m.windows.rows.length} windows`);
  }
});

test('load-balancer: outside clients through the LoadBalancer IP are all served, spread over both endpoints (uniform in iptables, even in IPVS rr)', async () => {
  const r = await runExperiment(example('load-balancer.yaml'));
  for (const mode of ['iptables', 'ipvs-rr']) {
    const m = run(r, mode);
    assert.ok(m.connections >= 900, `${mode} ran ${m.connections} connections`);
    assert.equal(m.failed + m.blackholed, 0, `${mode}: every connection served`);
    assert.equal(m.endpoints.length, 2);
    assert.ok(m.endpoints.every((e) => e.connections > 0), `${mode}: both endpoints reached`);
    assert.ok(m.pValue >= 0.01, `${mode}: p = ${m.pValue}`);
  }
  const rr = run(r, 'ipvs-rr').endpoints.map((e) => e.connections);
  assert.ok(Math.abs((rr[0] ?? 0) - (rr[1] ?? 0)) <= 1, `rr from one announcing node alternates exactly: ${rr.join(' ')}`);
});

test('keep-alive-pileup: four keep-alive connections of 500 requests land all requests on at most four of seven pods (requests far from uniform); the same 2 000 requests one per connection are uniform within chance', async () => {
  const exp = example('keep-alive-pileup.yaml');
  const ka = run(await runExperiment(exp), 'iptables');
  assert.equal(ka.connections, 4);
  assert.equal(ka.failed + ka.blackholed, 0);
  assert.equal(ka.requests, 2000);
  assert.equal(ka.endpoints.length, 7);
  const busy = ka.endpoints.filter((e) => e.requests > 0);
  assert.ok(busy.length <= ka.connections && busy.length <= 4, `requests reached ${busy.length} endpoints`);
  assert.ok(busy.every((e) => e.requests % 500 === 0), 'every request of a connection went where the connection went');
  const kaReq = chiSquareGoodnessOfFit(ka.endpoints.map((e) => e.requests));
  assert.ok(kaReq.pValue < 1e-6, `keep-alive requests p = ${kaReq.pValue}`);
  // Same number of requests, a new connection (and a new random choice) for each.
  const pr = run(await runExperiment({ ...exp, pattern: 'per-request', requestsPerConnection: 1, ratePerSecond: exp.ratePerSecond * exp.requestsPerConnection }), 'iptables');
  assert.equal(pr.requests, 2000);
  assert.equal(pr.failed + pr.blackholed, 0);
  assert.ok(pr.endpoints.every((e) => e.requests > 0), 'per-request: every pod serves');
  const prReq = chiSquareGoodnessOfFit(pr.endpoints.map((e) => e.requests));
  assert.ok(prReq.pValue > 0.01, `per-request requests p = ${prReq.pValue}`);
});

test('ipvs-sh-few-clients: sh pins each of four clients to one backend, leaving most of seven idle (skewed); rr on the same arrivals spreads every client over all seven', async () => {
  const r = await runExperiment(example('ipvs-sh-few-clients.yaml'));
  const sh = run(r, 'ipvs-sh');
  const rr = run(r, 'ipvs-rr');
  for (const m of [sh, rr]) {
    assert.ok(m.connections >= 300, `${m.mode} ran ${m.connections} connections`);
    assert.equal(m.failed + m.blackholed, 0, m.mode);
    assert.equal(m.endpoints.length, 7);
    assert.equal(m.clients?.clients, 4, m.mode);
  }
  assert.equal(sh.clients?.maxEndpointsPerClient, 1, 'sh: a client reached several backends');
  const used = sh.endpoints.filter((e) => e.connections > 0).length;
  assert.ok(used <= 4, `sh: ${used} endpoints used by 4 clients`);
  assert.ok(sh.pValue < 0.01, `sh p = ${sh.pValue}`);
  assert.equal(rr.clients?.maxEndpointsPerClient, 7);
  assert.ok(rr.pValue > 0.99, `rr p = ${rr.pValue}`);
});

test('ipvs-mh-vs-sh-scale-down: removing one of five UDP backends moves about its own share of the 50 clients under mh (Maglev) and most clients under sh', async () => {
  const r = await runExperiment(example('ipvs-mh-vs-sh-scale-down.yaml'));
  const moved: Record<string, number> = {};
  for (const m of r.runs) {
    assert.ok(m.connections >= 900, `${m.mode} ran ${m.connections} connections`);
    assert.equal(m.failed + m.blackholed, 0, `${m.mode}: every datagram answered`);
    assert.equal(m.endpoints.length, 5);
    assert.equal(m.clients?.clients, 50, m.mode);
    // One backend before the scale-down and (at most) one after: a client that changed reached exactly two.
    assert.equal(m.clients?.maxEndpointsPerClient, 2, m.mode);
    moved[m.mode] = (m.clients?.meanEndpointsPerClient ?? 0) - 1;
  }
  const mh = run(r, 'ipvs-mh');
  // The removed pod: the one whose expectation stopped growing at the scale-down.
  const minExpected = Math.min(...mh.endpoints.map((e) => e.expected));
  const removed = mh.endpoints.findIndex((e) => e.expected === minExpected);
  const before = mh.windows.rows.filter((w) => w.t < 2 * SECOND);
  const share = before.reduce((s, w) => s + (w.counts[removed] ?? 0), 0) / before.reduce((s, w) => s + w.counts.reduce((a, b) => a + b, 0), 0);
  const mhMoved = moved['ipvs-mh'] ?? 1;
  const shMoved = moved['ipvs-sh'] ?? 0;
  // Maglev: the removed backend's clients must move; almost nobody else does.
  assert.ok(Math.abs(mhMoved - share) <= 0.1, `mh moved ${mhMoved} of the clients; the removed pod had ${share.toFixed(3)} of the traffic`);
  assert.ok(mhMoved <= 0.35, `mh moved ${mhMoved}`);
  // ip_vs_sh reassigns its 256 buckets round robin over the remaining servers: most buckets change owner (¾ for 5 → 4).
  assert.ok(shMoved >= 0.6, `sh moved ${shMoved}`);
  assert.ok(shMoved >= 2 * mhMoved, `sh moved ${shMoved}, mh ${mhMoved}`);
});

test('external-traffic-policy-local: with Local a NodePort serves only the pods on the node it was reached through, and a node without one drops every connection (black-holed); with Cluster all pods share the load', async () => {
  const exp = example('external-traffic-policy-local.yaml');
  assert.equal(exp.service.externalTrafficPolicy, 'Local');
  const via = (node: string): ExperimentSpec => {
    if (exp.target.kind !== 'NodePort') throw new Error('the example targets a NodePort');
    return { ...exp, target: { ...exp.target, node } };
  };
  const nodesWithPods = new Set<string>();
  for (const node of ['node01', 'node02']) {
    const m = run(await runExperiment(via(node)), 'iptables');
    assert.ok(m.connections >= 350, `${node}: ${m.connections} connections`);
    assert.equal(m.failed + m.blackholed, 0, `${node}: every connection served`);
    assert.equal(m.endpoints.length, 3);
    const local = m.endpoints.filter((e) => e.node === node);
    assert.ok(local.length >= 1, `${node} runs a web pod`);
    for (const e of m.endpoints) {
      if (e.node === node) assert.ok(e.connections > 0, `${node}: local pod ${e.pod} serves`);
      else assert.equal(e.connections, 0, `${node}: pod ${e.pod} on ${e.node} got external traffic`);
      // The expectation follows the policy: only the entry node's pods, evenly.
      assert.equal(e.expectedShare, e.node === node ? 1 / local.length : 0, `${node}: expected share of ${e.pod}`);
    }
    assert.deepEqual(m.localTo, [node]);
    assert.notEqual(m.verdict, 'skewed', `${node}: ${m.conclusion}`);
    assert.ok(m.pValue >= 0.01, `${node}: p = ${m.pValue}`);
    nodesWithPods.add(node);
  }
  const dropped = run(await runExperiment(via('node03')), 'iptables');
  assert.ok(dropped.connections >= 350);
  assert.equal(dropped.blackholed, dropped.connections, 'node03: every connection black-holed');
  assert.equal(dropped.failed, 0, 'node03: dropped, not rejected');
  assert.equal(dropped.endpoints.reduce((s, e) => s + e.connections, 0), 0);
  assert.ok(dropped.endpoints.every((e) => e.expectedShare === 0), 'node03 has no pod to expect traffic for');
  assert.equal(dropped.verdict, 'no-data');
  const cluster = run(await runExperiment({ ...via('node03'), service: { ...exp.service, externalTrafficPolicy: 'Cluster' } }), 'iptables');
  assert.equal(cluster.failed + cluster.blackholed, 0, 'Cluster: every connection served');
  assert.ok(cluster.endpoints.every((e) => e.connections > 0), 'Cluster: every pod serves');
  assert.deepEqual(new Set(cluster.endpoints.map((e) => e.node)), nodesWithPods, 'the pods on node01 and node02 both serve traffic that came through node03');
  assert.ok(cluster.pValue >= 0.01, `Cluster p = ${cluster.pValue}`);
  assert.equal(cluster.localTo, undefined);
});

test('internalTrafficPolicy Local: client pods on each node reach only their own node\'s pods, and the expectation says so', async () => {
  const exp = example('external-traffic-policy-local.yaml');
  const m = run(await runExperiment({
    ...exp,
    clients: [{ name: 'pods', count: 4, placement: { kind: 'nodes', nodes: ['node01', 'node02'] }, sourceCIDR: undefined }],
    target: { kind: 'ClusterIP', service: { namespace: 'default', name: 'web' }, port: 80 },
    service: { ...exp.service, externalTrafficPolicy: undefined, internalTrafficPolicy: 'Local' },
  }), 'iptables');
  assert.deepEqual(m.localTo, ['node01', 'node02']);
  assert.equal(m.failed + m.blackholed, 0);
  for (const n of m.nodes) {
    m.endpoints.forEach((e, i) => {
      if (e.node !== n.node) assert.equal(n.endpointConnections[i], 0, `${n.node} reached ${e.pod} on ${e.node}`);
    });
  }
  // Expected = Σ over entry nodes of (its connections ÷ its local pods).
  for (const e of m.endpoints) {
    const entry = m.nodes.find((n) => n.node === e.node);
    const localPods = m.endpoints.filter((x) => x.node === e.node).length;
    assert.ok(Math.abs(e.expected - (entry?.connections ?? 0) / localPods) < 1e-6, `${e.pod}: expected ${e.expected}`);
  }
  assert.notEqual(m.verdict, 'skewed', m.conclusion);
});

test('dns-conntrack-race: with two CPUs per node a quarter of glibc\'s parallel A/AAAA lookups lose a query to the conntrack insertion race and take 5 s; single-request-reopen, use-vc and the node-local cache never do; the same seed gives the same run; the pre-4.19 kernel loses half', async () => {
  const exp = example('dns-conntrack-race.yaml');
  const stalled = (g: { latency: { histogram: ReadonlyArray<{ le: number; count: number }> } | null } | undefined): number =>
    (g?.latency?.histogram ?? []).filter((b) => b.le > 2 * SECOND).reduce((s, b) => s + b.count, 0);
  const within = (observed: number, n: number, p: number, what: string): void => {
    // The seeded model's rate: a binomial count, accepted within 4 standard deviations.
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(observed - n * p) <= 4 * sd, `${what}: ${observed} of ${n}, expected ${(n * p).toFixed(1)} ± ${(4 * sd).toFixed(1)}`);
  };
  const r = await runExperiment(exp);
  const m = run(r, 'iptables');
  assert.equal(m.connections, 600);
  assert.equal(m.failed, 0, 'every lookup resolves in the end (glibc asks again)');
  const group = (name: string): NonNullable<RunResult['groups']>[number] => {
    const g = m.groups?.find((x) => x.group === name);
    assert.ok(g !== undefined, `no group ${name}`);
    return g;
  };
  const glibc = group('glibc');
  // P(the two packets on different CPUs) × P(kube-proxy's random DNAT picks the other CoreDNS pod) = ½ × ½.
  within(stalled(glibc), glibc.connections, 0.25, 'glibc lookups ≥ 5 s');
  assert.ok(glibc.latency!.max >= 5 * SECOND && glibc.latency!.max < 6 * SECOND, `the stall is glibc's 5 s timeout: ${glibc.latency!.max}`);
  for (const name of ['reopen', 'tcp', 'nodelocal']) {
    assert.equal(stalled(group(name)), 0, `${name}: no lookup stalls`);
    assert.ok(group(name).latency!.max < SECOND);
  }
  // The node-local cache: the pods' queries are NOTRACKed and mostly answered from the cache, so they reach no CoreDNS pod of their own.
  assert.ok(group('nodelocal').connections > 100, `nodelocal: ${group('nodelocal').connections} lookups`);
  assert.equal(m.endpoints.length, 2, 'both CoreDNS pods answer');
  assert.equal(renderJson(await runExperiment(exp)), renderJson(r), 'same seed, same numbers');
  const old = run(await runExperiment({ ...exp, clients: exp.clients.filter((c) => c.name === 'glibc'), connections: 300, cluster: { inline: { ...parseYaml(readFileSync(fileURLToPath(new URL('../../examples/experiments/dns-race-cluster.yaml', import.meta.url)), 'utf8')) as Record<string, unknown>, conntrack: { clashResolution: 'nat-drop' } } } }), 'iptables');
  // Before 4.19 every clash of NATed entries drops: P = P(different CPUs) = ½.
  within(old.latency!.histogram.filter((b) => b.le > 2 * SECOND).reduce((s, b) => s + b.count, 0), old.connections, 0.5, 'nat-drop lookups ≥ 5 s');
});

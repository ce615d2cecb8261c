/**
 * The result model of a load-balancing experiment (issue 8's Contract), the
 * streaming accumulator the experiment runner feeds, and the terminal-table, JSON
 * and CSV renderers.
 *
 * ```json
 * {"experiment": "…", "seed": 1, "runs": [{"mode": "iptables", "connections": N, "failed": N, "blackholed": N,
 *   "endpoints": [{"pod": "…", "ip": "…", "connections": N, "requests": N, …}],
 *   "chiSquare": X, "pValue": P, "maxMinRatio": R, "df": N, "nodes": […], "windows": {…}, "events": […],
 *   "latency": {"p50": …, "p90": …, "p99": …, "max": …, "method": "nearest-rank"} | null, "conclusion": "…"}]}
 * ```
 *
 * What is counted:
 * - `connections`: every connection the runner recorded in the mode (including
 *   failed ones that never reached an endpoint).
 * - The distribution test counts connections that reached an endpoint that was
 *   active (ready, weight > 0) at the time; its expectation follows the endpoint set
 *   through churn (see stats/tally.ts). Connections that reached an endpoint no
 *   longer active (stale conntrack, terminating pod) are `offActive`.
 * - `maxMinRatio` compares counts relative to their expectation (1 = perfectly as
 *   expected); `null` in JSON when an endpoint expected to get traffic got none.
 * - `chiSquare` is `null` when traffic reached an endpoint that was expected to get
 *   none (p is then 0).
 * Non-finite numbers never appear in the JSON.
 */
import { chiSquareTest, maxAbsDeviation, maxMinRatio } from './stats/distribution.ts';
import { LatencyHistogram } from './stats/latency.ts';
import type { LatencySummary } from './stats/latency.ts';
import { Tally } from './stats/tally.ts';
import { WindowSeries } from './stats/window-series.ts';
import { formatDuration, formatP, formatPercent, formatRatio, formatStat, pPhrase } from './format.ts';

/** The IPVS schedulers kube-proxy's IPVS mode accepts (ipvsadm names). */
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq', 'mh'] as const;
export type IpvsSchedulerName = (typeof IPVS_SCHEDULERS)[number];
/** A proxy mode as experiments name it: `iptables`, `nftables` or `ipvs-<scheduler>`. */
export const PROXY_MODES = ['iptables', 'nftables', ...IPVS_SCHEDULERS.map((s) => `ipvs-${s}` as const)] as const;
export type ProxyModeName = 'iptables' | 'nftables' | `ipvs-${IpvsSchedulerName}`;

/** Significance level for conclusions: p below it means "not what the model expects". */
export const ALPHA = 0.01;

export interface EndpointResult {
  readonly pod: string;
  readonly ip: string;
  /** The node the endpoint pod runs on, when the runner said. */
  readonly node: string | null;
  readonly weight: number;
  readonly connections: number;
  readonly requests: number;
  /** connections / Σ connections over endpoints. */
  readonly share: number;
  /** Expected connections counted by the test (see the header). */
  readonly expected: number;
  /** expected / Σ expected. */
  readonly expectedShare: number;
  readonly failed: number;
  readonly blackholed: number;
  /** Connections that reached it while it was not active (terminating, removed, stale conntrack). */
  readonly offActive: number;
}

export interface DistributionStats {
  readonly chiSquare: number | null;
  readonly df: number;
  readonly pValue: number;
  readonly maxMinRatio: number | null;
  /** Largest |observed − expected| in connections (≤ 1 for exact round robin). */
  readonly maxDeviation: number;
}

export interface NodeResult extends DistributionStats {
  /** The node whose kube-proxy chose (the client's node, or the node an outside client hit). */
  readonly node: string;
  readonly connections: number;
  readonly failed: number;
  readonly blackholed: number;
  /** Connections per endpoint, in the run's `endpoints` order. */
  readonly endpointConnections: readonly number[];
}

export interface WindowsResult {
  readonly widthNs: number;
  readonly startNs: number;
  /** Endpoint IPs, the column order of each row's `counts` (the run's endpoint order). */
  readonly endpoints: readonly string[];
  readonly rows: ReadonlyArray<{ readonly t: number; readonly counts: readonly number[]; readonly failed: number; readonly blackholed: number }>;
}

export interface ChurnEvent {
  /** Virtual time, ns. */
  readonly t: number;
  readonly label: string;
  /**
   * Connections in progress at the event (opened before it, finished after it) and how
   * many of them were served to the end — e.g. established connections outliving a new
   * deny policy on their conntrack entries. Only with connections that report `end`.
   */
  readonly across?: EventTally;
  /** Connections opened from the event until the next one, and how many were served. */
  readonly since?: EventTally;
}

export interface EventTally {
  readonly connections: number;
  readonly served: number;
}

export type Verdict = 'no-data' | 'too-few' | 'even' | 'even-per-node' | 'uniform' | 'skewed';

/** How many distinct endpoints each client reached (the runner's; session affinity gives 1). */
export interface ClientSummary {
  /** Clients that made at least one connection reaching an endpoint. */
  readonly clients: number;
  readonly maxEndpointsPerClient: number;
  readonly meanEndpointsPerClient: number;
}

/** One client group's figures (when the experiment has several groups, e.g. resolver options side by side). */
export interface GroupResult {
  readonly group: string;
  readonly connections: number;
  readonly failed: number;
  readonly blackholed: number;
  readonly latency: LatencySummary | null;
}

export interface RunResult extends DistributionStats {
  readonly mode: ProxyModeName;
  /** The run's seed when the experiment was repeated over several seeds (`--seeds`); absent otherwise. */
  readonly seed?: number;
  readonly connections: number;
  readonly requests: number;
  readonly failed: number;
  readonly blackholed: number;
  readonly offActive: number;
  /** Whether the expectation was uniform or weighted (unequal weights were declared). */
  readonly expectation: 'uniform' | 'weighted';
  readonly endpoints: readonly EndpointResult[];
  readonly nodes: readonly NodeResult[];
  readonly windows: WindowsResult;
  readonly events: readonly ChurnEvent[];
  readonly latency: LatencySummary | null;
  /** Per-client stickiness, when the runner tracked clients. */
  readonly clients?: ClientSummary;
  /**
   * Nodes whose connections could reach only that node's own endpoints (the target's
   * externalTrafficPolicy or internalTrafficPolicy is Local): their expectation is
   * over those endpoints alone. Absent when every connection could reach every endpoint.
   */
  readonly localTo?: readonly string[];
  /** Per client group, in the order the groups first connected; absent when the runner named no groups. */
  readonly groups?: readonly GroupResult[];
  readonly verdict: Verdict;
  /** One plain-language sentence computed from the numbers. */
  readonly conclusion: string;
}

export interface ExperimentResult {
  readonly experiment: string;
  /** The seed of every run; null when the runs have seeds of their own (several seeds). */
  readonly seed: number | null;
  readonly runs: readonly RunResult[];
}

/** One connection as the runner saw it end. */
export interface ConnectionRecord {
  readonly mode: ProxyModeName;
  /** The node whose kube-proxy made the choice. */
  readonly node: string;
  /** The endpoint it reached; undefined when it never reached one (e.g. REJECT, no route). */
  readonly endpointIp?: string | undefined;
  /** The endpoint's pod name, when known (the first name seen for an IP sticks). */
  readonly pod?: string | undefined;
  /** Requests served on it (default 1; 0 for a failed connection). */
  readonly requests?: number | undefined;
  readonly failed?: boolean | undefined;
  /** Packets vanished without an answer (e.g. a stale UDP conntrack entry to a removed pod). */
  readonly blackholed?: boolean | undefined;
  /** Connect-to-last-response time, virtual ns. */
  readonly latencyNs?: number | undefined;
  /** When it started, virtual ns. */
  readonly t: number;
  /** When it finished, virtual ns (lets churn events count the connections across them). */
  readonly end?: number | undefined;
  /** The client group it came from (for the per-group figures). */
  readonly group?: string | undefined;
}

export interface EndpointDecl {
  readonly ip: string;
  readonly pod: string;
  readonly node?: string | undefined;
  /** Scheduler weight (default 1). Weight 0 = not selectable (IPVS graceful termination). */
  readonly weight?: number | undefined;
}

export interface AccumulatorOptions {
  readonly experiment: string;
  readonly seed?: number | undefined;
  /** Width of the time-series windows, virtual ns. */
  readonly windowNs: number;
  /** Virtual time the measurement starts (window 0 starts here). */
  readonly startNs?: number | undefined;
}

interface EndpointInfo {
  pod: string;
  node: string | null;
}

interface NodeAccumulator {
  tally: Tally;
  connections: number;
  failed: number;
  blackholed: number;
}

class RunAccumulator {
  readonly tally = new Tally();
  readonly nodes = new Map<string, NodeAccumulator>();
  readonly windows: WindowSeries;
  readonly latency = new LatencyHistogram();
  readonly info = new Map<string, EndpointInfo>();
  readonly events: Array<{ t: number; label: string; across?: { connections: number; served: number }; since?: { connections: number; served: number } }> = [];
  connections = 0;
  requests = 0;
  failed = 0;
  blackholed = 0;
  weighted = false;
  readonly groups = new Map<string, { connections: number; failed: number; blackholed: number; latency: LatencyHistogram }>();
  /** Entry nodes under a Local traffic policy (see RunResult.localTo). */
  readonly localTo = new Set<string>();
  /** The last declared active set, with the endpoints' nodes. */
  active: ReadonlyArray<{ readonly key: string; readonly weight: number; readonly node: string | null }> | undefined;

  constructor(readonly mode: ProxyModeName, windowNs: number, startNs: number) {
    this.windows = new WindowSeries(windowNs, startNs);
  }

  /** The active set a connection entering `node` can reach. */
  reachable(node: string): ReadonlyArray<{ readonly key: string; readonly weight: number }> {
    const all = this.active ?? [];
    return this.localTo.has(node) ? all.filter((e) => e.node === node) : all;
  }

  node(name: string): NodeAccumulator {
    let n = this.nodes.get(name);
    if (n === undefined) {
      const tally = new Tally();
      if (this.active !== undefined) tally.setActive(this.reachable(name));
      n = { tally, connections: 0, failed: 0, blackholed: 0 };
      this.nodes.set(name, n);
    }
    return n;
  }
}

function distribution(observed: readonly number[], expected: readonly number[]): DistributionStats {
  const cs = chiSquareTest(observed, expected);
  const r = maxMinRatio(observed, expected);
  return {
    chiSquare: Number.isFinite(cs.statistic) ? cs.statistic : null,
    df: cs.df,
    pValue: cs.pValue,
    maxMinRatio: Number.isFinite(r) ? r : null,
    maxDeviation: maxAbsDeviation(observed, expected),
  };
}

/**
 * Collects connections as they end and turns them into an {@link ExperimentResult}.
 * Memory: O(endpoints × (nodes + windows)) per mode, nothing per connection.
 *
 * ```ts
 * const acc = new ExperimentAccumulator({ experiment: 'uniform', seed: 1, windowNs: SECOND });
 * acc.setEndpoints('iptables', 0, pods.map((p) => ({ ip: p.ip, pod: p.name, node: p.node })));
 * acc.recordConnection({ mode: 'iptables', node: 'node01', endpointIp: '10.244.1.5', pod: 'web-1', t, latencyNs });
 * acc.setEndpoints('iptables', t, fewerPods, 'scale to 3');   // churn: also a marker on the charts
 * const result = acc.result();
 * ```
 */
export class ExperimentAccumulator {
  private readonly runs = new Map<ProxyModeName, RunAccumulator>();

  constructor(private readonly opts: AccumulatorOptions) {
    if (!(opts.windowNs > 0)) throw new RangeError(`windowNs must be > 0, got ${opts.windowNs}`);
  }

  /** Make a mode appear in the results (in call order) even if it records nothing. */
  declareRun(mode: ProxyModeName): void {
    this.run(mode);
  }

  private run(mode: ProxyModeName): RunAccumulator {
    let r = this.runs.get(mode);
    if (r === undefined) {
      r = new RunAccumulator(mode, this.opts.windowNs, this.opts.startNs ?? 0);
      this.runs.set(mode, r);
    }
    return r;
  }

  /**
   * Declare the endpoints that are active (ready, selectable) in `mode` from time `t`
   * on. Endpoints missing from the list stop being expected to get traffic. With a
   * `label`, the change is also a churn event on the charts.
   */
  setEndpoints(mode: ProxyModeName, t: number, endpoints: readonly EndpointDecl[], label?: string): void {
    const r = this.run(mode);
    const list = endpoints.map((e) => {
      if (!r.info.has(e.ip)) r.info.set(e.ip, { pod: e.pod, node: e.node ?? null });
      r.windows.column(e.ip);
      const weight = e.weight ?? 1;
      return { key: e.ip, weight };
    });
    const positive = list.filter((e) => e.weight > 0).map((e) => e.weight);
    if (positive.some((w) => w !== positive[0])) r.weighted = true;
    r.tally.setActive(list);
    r.active = endpoints.map((e) => ({ key: e.ip, weight: e.weight ?? 1, node: e.node ?? null }));
    for (const [name, n] of r.nodes) n.tally.setActive(r.reachable(name));
    if (label !== undefined) r.events.push({ t, label });
  }

  /**
   * A Local traffic policy (externalTrafficPolicy for NodePort and LoadBalancer
   * traffic from outside, internalTrafficPolicy for ClusterIP traffic from pods):
   * a connection entering one of `nodes` can reach only the endpoints on that node,
   * so its expectation is uniform over those alone (none when the node has none:
   * kube-proxy drops such traffic). Call before the first {@link setEndpoints}.
   */
  setLocalTo(mode: ProxyModeName, nodes: Iterable<string>): void {
    const r = this.run(mode);
    for (const n of nodes) r.localTo.add(n);
    for (const [name, n] of r.nodes) if (r.active !== undefined) n.tally.setActive(r.reachable(name));
  }

  /** A churn event (a marker on the time series) for one mode, or every mode declared so far. */
  recordEvent(mode: ProxyModeName | undefined, t: number, label: string): void {
    const targets = mode === undefined ? [...this.runs.values()] : [this.run(mode)];
    for (const r of targets) r.events.push({ t, label });
  }

  /** Count one finished connection. O(1). */
  recordConnection(c: ConnectionRecord): void {
    const r = this.run(c.mode);
    const failed = c.failed === true;
    const blackholed = c.blackholed === true;
    const requests = c.requests ?? (failed || blackholed ? 0 : 1);
    if (!(requests >= 0)) throw new RangeError(`requests must be >= 0, got ${requests}`);
    r.connections++;
    r.requests += requests;
    if (failed) r.failed++;
    if (blackholed) r.blackholed++;
    const n = r.node(c.node);
    n.connections++;
    if (failed) n.failed++;
    if (blackholed) n.blackholed++;
    if (c.endpointIp !== undefined) {
      if (!r.info.has(c.endpointIp)) r.info.set(c.endpointIp, { pod: c.pod ?? c.endpointIp, node: null });
      r.tally.record(c.endpointIp, requests, failed, blackholed);
      n.tally.record(c.endpointIp, requests, failed, blackholed);
    }
    r.windows.record(c.t, c.endpointIp, failed, blackholed);
    if (c.latencyNs !== undefined && !failed && !blackholed) r.latency.record(c.latencyNs);
    if (c.group !== undefined) {
      let g = r.groups.get(c.group);
      if (g === undefined) r.groups.set(c.group, (g = { connections: 0, failed: 0, blackholed: 0, latency: new LatencyHistogram() }));
      g.connections++;
      if (failed) g.failed++;
      if (blackholed) g.blackholed++;
      if (c.latencyNs !== undefined && !failed && !blackholed) g.latency.record(c.latencyNs);
    }
    if (c.end !== undefined && r.events.length > 0) this.tallyAcrossEvents(r.events, c.t, c.end, !failed && !blackholed);
  }

  /** The connection [t, end] against each churn event: in progress at it, or opened between it and the next. O(events). */
  private tallyAcrossEvents(events: Array<{ t: number; across?: { connections: number; served: number }; since?: { connections: number; served: number } }>, t: number, end: number, served: boolean): void {
    const bump = (x: { connections: number; served: number }): void => {
      x.connections++;
      if (served) x.served++;
    };
    let latest: (typeof events)[number] | undefined;
    for (const e of events) {
      if (t < e.t && end > e.t) bump(e.across ??= { connections: 0, served: 0 });
      if (e.t <= t && (latest === undefined || e.t >= latest.t)) latest = e;
    }
    if (latest !== undefined) bump(latest.since ??= { connections: 0, served: 0 });
  }

  /** The results so far (can be called repeatedly, e.g. for progress). */
  result(): ExperimentResult {
    return { experiment: this.opts.experiment, seed: this.opts.seed ?? null, runs: [...this.runs.values()].map((r) => finishRun(r)) };
  }
}

/**
 * Expected and observed counts (and connections off the active set) per endpoint of
 * the run. Under a Local policy each node's tally knows what its connections could
 * reach, so the run's figures are the sums over nodes (the expectation is additive
 * over the partition of connections by entry node); otherwise the run's own tally.
 */
function runCounts(r: RunAccumulator): { expected: number[]; observed: number[]; offActive: number[] } {
  const eps = r.tally.endpoints;
  if (r.localTo.size === 0) return { expected: r.tally.expected(), observed: r.tally.observed(), offActive: eps.map((e) => e.offActive) };
  const index = new Map(eps.map((e, i) => [e.key, i]));
  const expected = eps.map(() => 0);
  const observed = eps.map(() => 0);
  const offActive = eps.map(() => 0);
  for (const n of r.nodes.values()) {
    const ne = n.tally.expected();
    n.tally.endpoints.forEach((t, j) => {
      const i = index.get(t.key);
      if (i === undefined) return;
      expected[i]! += ne[j] ?? 0;
      observed[i]! += t.selected;
      offActive[i]! += t.offActive;
    });
  }
  return { expected, observed, offActive };
}

function finishRun(r: RunAccumulator): RunResult {
  const eps = r.tally.endpoints;
  const { expected, observed, offActive } = runCounts(r);
  const totalConn = eps.reduce((s, e) => s + e.connections, 0);
  const totalExp = expected.reduce((s, v) => s + v, 0);
  const endpoints: EndpointResult[] = eps.map((e, i) => {
    const info = r.info.get(e.key);
    return {
      pod: info?.pod ?? e.key,
      ip: e.key,
      node: info?.node ?? null,
      weight: e.weight,
      connections: e.connections,
      requests: e.requests,
      share: totalConn === 0 ? 0 : e.connections / totalConn,
      expected: expected[i] ?? 0,
      expectedShare: totalExp === 0 ? 0 : (expected[i] ?? 0) / totalExp,
      failed: e.failed,
      blackholed: e.blackholed,
      offActive: offActive[i] ?? 0,
    };
  });
  const order = eps.map((e) => e.key);
  const nodes: NodeResult[] = [...r.nodes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([node, n]) => {
    const byKey = new Map(n.tally.endpoints.map((e) => [e.key, e.connections]));
    return {
      node,
      connections: n.connections,
      failed: n.failed,
      blackholed: n.blackholed,
      endpointConnections: order.map((k) => byKey.get(k) ?? 0),
      ...distribution(n.tally.observed(), n.tally.expected()),
    };
  });
  // Window columns in the run's endpoint order.
  const wcols = r.windows.endpoints;
  const colOf = order.map((k) => wcols.indexOf(k));
  const rows = r.windows.rows().map((w) => ({ t: w.t, counts: colOf.map((c) => (c < 0 ? 0 : (w.counts[c] ?? 0))), failed: w.failed, blackholed: w.blackholed }));
  const base = {
    mode: r.mode,
    connections: r.connections,
    requests: r.requests,
    failed: r.failed,
    blackholed: r.blackholed,
    offActive: offActive.reduce((s, v) => s + v, 0),
    expectation: r.weighted ? ('weighted' as const) : ('uniform' as const),
    endpoints,
    nodes,
    windows: { widthNs: r.windows.widthNs, startNs: r.windows.startNs, endpoints: order, rows },
    events: [...r.events].sort((a, b) => a.t - b.t),
    latency: r.latency.summary() ?? null,
    ...distribution(observed, expected),
  };
  const { verdict, conclusion } = conclude({ ...base, selected: observed.reduce((s, v) => s + v, 0), cells: expected.filter((e) => e > 0).length });
  const groups = [...r.groups].map(([group, g]) => ({ group, connections: g.connections, failed: g.failed, blackholed: g.blackholed, latency: g.latency.summary() ?? null }));
  return { ...base, ...(r.localTo.size > 0 ? { localTo: [...r.localTo].sort() } : {}), ...(groups.length > 0 ? { groups } : {}), verdict, conclusion };
}

interface ConcludeInput extends DistributionStats {
  readonly connections: number;
  readonly failed: number;
  readonly blackholed: number;
  readonly offActive: number;
  readonly expectation: 'uniform' | 'weighted';
  readonly nodes: readonly NodeResult[];
  /** Connections counted by the test. */
  readonly selected: number;
  /** Endpoints with a positive expectation. */
  readonly cells: number;
}

/**
 * The verdict and one plain sentence for a run. Order of checks: no data; too few
 * connections for the chi-square approximation (fewer than 5 expected per endpoint);
 * exactly even (every endpoint within one connection of its expectation); p ≥ α
 * (within chance); even within each node but not overall (per-node schedulers such
 * as IPVS rr); otherwise skewed. Failures, black holes and traffic to inactive
 * endpoints are appended.
 */
export function conclude(r: ConcludeInput): { verdict: Verdict; conclusion: string } {
  let verdict: Verdict;
  let text: string;
  const target = r.expectation === 'weighted' ? 'the weights' : 'uniform';
  if (r.connections === 0) {
    verdict = 'no-data';
    text = 'no connections recorded';
  } else if (r.selected === 0 || r.cells === 0) {
    verdict = 'no-data';
    text = 'no connection reached a ready endpoint';
  } else if (r.cells > 1 && r.selected < 5 * r.cells) {
    verdict = 'too-few';
    text = `too few connections to judge (${r.selected} over ${r.cells} endpoints)`;
  } else if (r.cells > 1 && r.maxDeviation <= 1) {
    verdict = 'even';
    text = r.expectation === 'weighted' ? 'exactly as weighted: every endpoint within one connection of its share' : 'exactly even: every endpoint within one connection of its share';
  } else if (r.pValue >= ALPHA) {
    verdict = 'uniform';
    text = r.expectation === 'weighted' ? `matches the weights within chance (${pPhrase(r.pValue)})` : `uniform within chance (${pPhrase(r.pValue)})`;
    if (r.pValue > 0.999) text += ', more even than random choice would be';
  } else if (r.nodes.length > 1 && r.nodes.every((n) => n.maxDeviation <= 1)) {
    verdict = 'even-per-node';
    text = `even within each node, but not across nodes: max/min ${formatRatio(r.maxMinRatio)} (${pPhrase(r.pValue)})`;
  } else {
    verdict = 'skewed';
    text = r.maxMinRatio === null ? `skewed: an endpoint got no connections (not ${target}, ${pPhrase(r.pValue)})` : `skewed: max/min ${formatRatio(r.maxMinRatio)} (not ${target}, ${pPhrase(r.pValue)})`;
  }
  const extra: string[] = [];
  if (r.blackholed > 0) extra.push(`${r.blackholed} black-holed`);
  if (r.failed > 0) extra.push(`${r.failed} failed`);
  if (r.offActive > 0) extra.push(`${r.offActive} reached endpoints no longer ready`);
  return { verdict, conclusion: extra.length > 0 ? `${text}; ${extra.join(', ')}` : text };
}

// ---------------------------------------------------------------------------
// Renderers

/** JSON, 2-space indented; there are no non-finite numbers in the model. */
export function renderJson(result: ExperimentResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
export function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLines(rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/**
 * One row per (mode, endpoint), run-level statistics repeated on each row so the
 * file is one tidy table. CRLF line ends as RFC 4180 says; empty = null.
 */
export function renderCsv(result: ExperimentResult): string {
  const cols = runColumns(result);
  const head = [...cols.head, 'pod', 'ip', 'node', 'weight', 'connections', 'requests', 'share', 'expected_share', 'failed', 'blackholed', 'off_active', 'chi_square', 'df', 'p_value', 'max_min_ratio'];
  const rows: Array<Array<string | number | null>> = [head];
  for (const r of result.runs) {
    for (const e of r.endpoints) {
      rows.push([...cols.cells(r), e.pod, e.ip, e.node, e.weight, e.connections, e.requests, round(e.share), round(e.expectedShare), e.failed, e.blackholed, e.offActive, r.chiSquare === null ? null : round(r.chiSquare), r.df, r.pValue, r.maxMinRatio === null ? null : round(r.maxMinRatio)]);
    }
  }
  return csvLines(rows);
}

/** The time series as CSV: one row per (mode, window, endpoint). */
export function renderWindowsCsv(result: ExperimentResult): string {
  const cols = runColumns(result);
  const rows: Array<Array<string | number | null>> = [[...cols.head, 'window_start_ns', 'window_ns', 'pod', 'ip', 'connections', 'window_failed', 'window_blackholed']];
  for (const r of result.runs) {
    for (const w of r.windows.rows) {
      r.endpoints.forEach((e, i) => rows.push([...cols.cells(r), w.t, r.windows.widthNs, e.pod, e.ip, w.counts[i] ?? 0, w.failed, w.blackholed]));
    }
  }
  return csvLines(rows);
}

/** How a run is named in tables, CSV and reports: its mode, and its seed when the runs have their own. */
export function runLabel(r: Pick<RunResult, 'mode' | 'seed'>): string {
  return r.seed === undefined ? r.mode : `${r.mode} seed ${r.seed}`;
}

/** The CSV's leading columns: mode, and seed when any run has its own. */
function runColumns(result: ExperimentResult): { head: string[]; cells: (r: RunResult) => Array<string | number> } {
  const seeded = result.runs.some((r) => r.seed !== undefined);
  return seeded ? { head: ['mode', 'seed'], cells: (r) => [r.mode, r.seed ?? ''] } : { head: ['mode'], cells: (r) => [r.mode] };
}

function round(x: number): number {
  return Number(x.toFixed(6));
}

export interface TableOptions {
  /** Width of the longest bar in characters (default 24). */
  readonly barWidth?: number;
  /** Plain '#' bars instead of Unicode block elements. */
  readonly ascii?: boolean;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar `value/max` of `width` characters, in eighths of a cell. */
export function bar(value: number, max: number, width: number, ascii = false): string {
  if (!(max > 0) || !(value > 0)) return '';
  const cells = (value / max) * width;
  if (ascii) return '#'.repeat(Math.max(1, Math.round(cells)));
  const eighths = Math.max(1, Math.round(cells * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

function pad(s: string, w: number, right: boolean): string {
  const len = [...s].length;
  return right ? ' '.repeat(Math.max(0, w - len)) + s : s + ' '.repeat(Math.max(0, w - len));
}

/** Aligned columns; `right[i]` right-aligns column i. */
export function alignColumns(rows: readonly (readonly string[])[], right: readonly boolean[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 && !right[i] ? c : pad(c, widths[i] ?? 0, right[i] ?? false))).join('  ').trimEnd());
}

/** The terminal table: per run a header, one aligned row per endpoint with a bar, the statistics and the conclusion. */
export function renderTable(result: ExperimentResult, opts: TableOptions = {}): string {
  const width = opts.barWidth ?? 24;
  const out: string[] = [];
  const seeds = result.runs.flatMap((r) => (r.seed === undefined ? [] : [r.seed]));
  const seedNote = result.seed !== null ? ` (seed ${result.seed})` : seeds.length > 0 ? ` (seeds ${[...new Set(seeds)].join(', ')})` : '';
  out.push(`experiment ${result.experiment}${seedNote}`);
  for (const r of result.runs) {
    out.push('');
    out.push(`${runLabel(r)} — ${r.connections} connections, ${r.requests} requests, ${r.failed} failed, ${r.blackholed} black-holed`);
    const maxShare = r.endpoints.reduce((m, e) => Math.max(m, e.share, e.expectedShare), 0);
    const rows: string[][] = [['POD', 'IP', 'NODE', 'CONNS', 'SHARE', 'EXPECT', 'REQS', '']];
    for (const e of r.endpoints) {
      rows.push([e.pod, e.ip, e.node ?? '-', String(e.connections), formatPercent(e.share), formatPercent(e.expectedShare), String(e.requests), bar(e.share, maxShare, width, opts.ascii)]);
    }
    for (const line of alignColumns(rows, [false, false, false, true, true, true, true, false])) out.push(`  ${line}`);
    if (r.localTo !== undefined) out.push(`  EXPECT: Local traffic policy — a connection entering ${r.localTo.join(', ')} is expected on that node's pods only`);
    const stats = [`chi² ${formatStat(r.chiSquare)} (df ${r.df})`, `p ${formatP(r.pValue)}`, `max/min ${formatRatio(r.maxMinRatio)}`];
    if (r.offActive > 0) stats.push(`to inactive ${r.offActive}`);
    out.push(`  ${stats.join(' · ')}`);
    if (r.latency !== null) out.push(`  latency p50 ${formatDuration(r.latency.p50)} · p90 ${formatDuration(r.latency.p90)} · p99 ${formatDuration(r.latency.p99)} · max ${formatDuration(r.latency.max)} (nearest rank, n=${r.latency.count})`);
    for (const g of r.groups ?? []) {
      const lat = g.latency === null ? 'no latency' : `latency p50 ${formatDuration(g.latency.p50)} · p90 ${formatDuration(g.latency.p90)} · p99 ${formatDuration(g.latency.p99)} · max ${formatDuration(g.latency.max)} (n=${g.latency.count})`;
      out.push(`    ${g.group}: ${g.connections} connections, ${g.failed} failed · ${lat}`);
    }
    if (r.nodes.length > 1) {
      const nrows: string[][] = [['NODE', 'CONNS', 'CHI²', 'P', 'MAX/MIN', 'FAILED', 'BLACK-HOLED']];
      for (const n of r.nodes) nrows.push([n.node, String(n.connections), formatStat(n.chiSquare), formatP(n.pValue), formatRatio(n.maxMinRatio), String(n.failed), String(n.blackholed)]);
      for (const line of alignColumns(nrows, [false, true, true, true, true, true, true])) out.push(`    ${line}`);
    }
    out.push(`  → ${r.conclusion}`);
    for (const e of r.events) {
      if (e.across === undefined && e.since === undefined) continue;
      const parts = [
        ...(e.across !== undefined ? [`${e.across.served} of ${e.across.connections} connection${e.across.connections === 1 ? '' : 's'} in progress served to the end`] : []),
        ...(e.since !== undefined ? [`${e.since.served} of ${e.since.connections} opened after it served`] : []),
      ];
      out.push(`  at ${formatDuration(e.t)} ${e.label}: ${parts.join('; ')}`);
    }
  }
  return out.join('\n') + '\n';
}

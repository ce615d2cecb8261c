/**
 * experiments/ — service load-balancing experiments (issue 8): the statistics, the
 * result model and its renderers, the HTML report and the experiment file format.
 * A layer above cluster/: it may import netsim/, cluster/, control/api, proxy/,
 * cni/ and pcaps/, never cli/ or web/ (front ends drive experiments).
 *
 * Contract
 * - The runner (runner/, `runExperiment`) parses a file with {@link parseExperimentSpec} /
 *   {@link loadExperimentSpec} (located `NETSIM_EXP_*` errors), builds one cluster
 *   per mode with the same seed, and feeds an {@link ExperimentAccumulator}:
 *   `declareRun(mode)`, `setEndpoints(mode, t, endpoints, label?)` whenever the
 *   ready endpoint set (or a weight) changes, `recordEvent(mode?, t, label)` for
 *   other churn, and `recordConnection({mode, node, endpointIp, pod, requests,
 *   failed, blackholed, latencyNs, t})` once per finished connection — O(1) time,
 *   nothing kept per connection, so a million connections stay in flat memory.
 * - `result()` gives the {@link ExperimentResult} of the issue's Contract
 *   (`{"runs": [{"mode", "connections", "failed", "blackholed", "endpoints": [{"pod",
 *   "ip", "connections", "requests"}], "chiSquare", "pValue", "maxMinRatio", …}]}`)
 *   plus per-node breakdowns, per-window series, churn events, the latency
 *   distribution (nearest-rank percentiles and 1-2-5 buckets), per-client-group
 *   figures and a plain-language conclusion per mode.
 * - Renderers: {@link renderTable} (terminal), {@link renderJson},
 *   {@link renderCsv} / {@link renderWindowsCsv} (RFC 4180), and
 *   {@link renderHtmlReport} (one self-contained HTML file with inline SVG charts).
 * - The expected distribution follows the endpoints that were ready when each
 *   connection was made (uniform, or by the declared weights), so churn does not
 *   masquerade as skew; see stats/tally.ts. Under a Local traffic policy
 *   (`setLocalTo`) each entry node's connections are expected over that node's
 *   endpoints only.
 *
 * Runner (runner/index.ts, run-mode.ts): one fresh cluster per mode, same seed;
 * clients as pods or outside addresses; arrivals from the experiment's seed (the
 * same sequence in every mode, exactly N with `connections`); HTTP, UDP echo or DNS
 * lookups (the pods' stub resolver) through the real datapath; served /
 * failed / black-holed; latency plus the iptables rule-walk cost model; churn
 * events through cluster/ hooks (nodeDown/nodeUp, delayProxy); worker threads give
 * results identical to a serial run. Ready-made experiments: examples/experiments/.
 *
 * Not modelled yet
 * - TCP echo targets (TCP needs an HTTP server), pod eviction after a node stays down.
 * - Statistics are per run: no confidence intervals, no correction for testing
 *   several modes or windows at once, no tests besides Pearson's chi-square.
 * - The experiment file's node, pod and Deployment names are checked against the
 *   cluster by the runner, not by the parser.
 */
export { ExperimentAccumulator, PROXY_MODES, IPVS_SCHEDULERS, ALPHA, conclude, renderTable, renderJson, renderCsv, renderWindowsCsv, csvField, bar } from './results.ts';
export type {
  ProxyModeName, IpvsSchedulerName, ExperimentResult, RunResult, EndpointResult, NodeResult, WindowsResult, ChurnEvent, Verdict,
  ConnectionRecord, EndpointDecl, AccumulatorOptions, TableOptions, DistributionStats, ClientSummary,
} from './results.ts';
export { renderHtmlReport } from './report/index.ts';
export type { ReportOptions } from './report/index.ts';
export { parseExperimentSpec, loadExperimentSpec, parseExperimentDuration, parseRate, ExperimentSpecError, EVENT_ACTIONS } from './experiment-spec.ts';
export type { ExperimentSpec, ExperimentErrorCode, ClientGroup, ClientPlacement, ExperimentTarget, ExperimentEvent, EventAction, NamespacedName } from './experiment-spec.ts';
export * as stats from './stats/index.ts';
export { runExperiment, runMode, experimentClusterSpec, ExperimentRunError, RESPONSE_TIMEOUT_NS, RULE_COST_NS } from './runner/index.ts';
export type { ModeProgress, RunExperimentOptions } from './runner/index.ts';

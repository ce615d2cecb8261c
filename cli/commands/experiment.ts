/**
 * `netsim experiment [FILE]`: run a load-balancing experiment (experiments/) and
 * print its result as a table, JSON or CSV; optionally write the HTML report and
 * the per-window CSV. Without FILE, flags describe the common case: client pods on
 * every node opening connections to one Service port, compared across modes.
 * Progress (with ETA) goes to stderr when stdout is a terminal.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { stringify } from 'yaml';
import { loadExperimentSpec, parseExperimentSpec, ExperimentSpecError } from '../../experiments/experiment-spec.ts';
import type { ExperimentSpec } from '../../experiments/experiment-spec.ts';
import { renderCsv, renderJson, renderTable, renderWindowsCsv, PROXY_MODES } from '../../experiments/results.ts';
import { renderHtmlReport } from '../../experiments/report/index.ts';
import { runExperiment } from '../../experiments/runner/index.ts';
import type { ModeProgress } from '../../experiments/runner/index.ts';
import { DEMO_SPEC_PATH } from '../../cluster/demo-flows.ts';
import { loadManifestFiles, specFor } from '../load-cluster.ts';
import { collect, portArg, seedArg } from '../args.ts';
import { checkOutputFile, writeOutputFile } from '../output-file.ts';

export interface ExperimentArgs {
  readonly file?: string;
  readonly spec?: string;
  readonly filename?: string[];
  readonly seed?: number;
  /** Repeat every mode with each seed (replicates). */
  readonly seeds?: number[];
  readonly output: 'table' | 'json' | 'csv';
  readonly html?: string;
  readonly csvWindows?: string;
  readonly workers?: number;
  readonly progress: boolean;
  readonly service?: string;
  readonly port?: number;
  readonly modes?: string;
  readonly connections?: number;
  readonly rate?: string;
  readonly clients?: number;
  readonly protocol?: 'tcp' | 'udp';
  readonly requests?: number;
}

function posInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return Number(v);
  };
}

/** The experiment the arguments describe (a file, flags, or a file with flags on top), validated by the file parser. */
export function experimentFromArgs(a: ExperimentArgs): ExperimentSpec {
  if (a.file === undefined && a.service === undefined) throw new ExperimentSpecError('NETSIM_EXP_FILE', 'give an experiment FILE or --service NS/NAME', '<command line>', '');
  let base: ExperimentSpec | undefined;
  if (a.file !== undefined) {
    base = loadExperimentSpec(a.file);
    if (a.modes === undefined && a.seed === undefined && a.connections === undefined && a.rate === undefined) return base;
    const rate = a.rate ?? `${base.ratePerSecond}/s`;
    const perSecond = parseRateArg(rate);
    const connections = a.connections ?? base.connections;
    // An exact count runs for about N / rate; the windows scale with it, so a shortened run keeps the file's number of windows.
    const durationNs = connections !== undefined ? Math.max(1, Math.round((connections / perSecond) * 1e9)) : base.durationNs;
    return {
      ...base,
      ...(a.modes !== undefined ? { modes: modesArg(a.modes) } : {}),
      ...(a.seed !== undefined ? { seed: a.seed } : {}),
      ...(connections !== undefined ? { connections } : {}),
      ratePerSecond: perSecond,
      durationNs,
      windowNs: durationNs === base.durationNs ? base.windowNs : Math.max(1, Math.round((base.windowNs * durationNs) / base.durationNs)),
    };
  }
  const rate = a.rate ?? '1000/s';
  const connections = a.connections ?? 10000;
  const perSecond = parseRateArg(rate);
  const durationMs = Math.max(1, Math.round((connections / perSecond) * 1000));
  const cluster = a.spec ?? DEMO_SPEC_PATH;
  const doc: Record<string, unknown> = {
    apiVersion: 'netsim/v1', kind: 'Experiment', metadata: { name: 'cli' },
    cluster, seed: a.seed ?? 1,
    clients: [{ name: 'clients', count: a.clients ?? 10, nodes: specFor({ ...(a.spec !== undefined ? { spec: a.spec } : {}) }).nodes.map((n) => n.name) }],
    target: { kind: 'ClusterIP', service: a.service, port: a.port ?? 80 },
    modes: a.modes !== undefined ? modesArg(a.modes) : ['iptables', 'ipvs-rr'],
    protocol: a.protocol ?? 'tcp',
    ...(a.requests !== undefined && a.requests > 1 ? { pattern: 'keep-alive', requestsPerConnection: a.requests } : {}),
    rate, duration: `${durationMs}ms`, connections,
  };
  return parseExperimentSpec(stringify(doc), '<command line>');
}

function parseRateArg(r: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:\/(s|ms|min))?$/.exec(r);
  if (m === null) throw new ExperimentSpecError('NETSIM_EXP_VALUE', `--rate: bad rate "${r}" (use e.g. 1000/s)`, '<command line>', 'rate');
  const perSecond = Number(m[1]) * (m[2] === 'ms' ? 1000 : m[2] === 'min' ? 1 / 60 : 1);
  if (!(perSecond > 0)) throw new ExperimentSpecError('NETSIM_EXP_VALUE', `--rate: must be a positive number of connections per second, got "${r}"`, '<command line>', 'rate');
  return perSecond;
}

function modesArg(s: string): ExperimentSpec['modes'] {
  const modes = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const m of modes) {
    if (!(PROXY_MODES as readonly string[]).includes(m)) throw new ExperimentSpecError('NETSIM_EXP_VALUE', `--modes: unknown mode "${m}" (one of ${PROXY_MODES.join(', ')})`, '<command line>', 'modes');
  }
  return modes as unknown as ExperimentSpec['modes'];
}

export async function experimentCommand(a: ExperimentArgs, print: (s: string) => void): Promise<number> {
  if (a.seeds !== undefined && a.seed !== undefined) throw new ExperimentSpecError('NETSIM_EXP_VALUE', 'give --seed or --seeds, not both', '<command line>', 'seeds');
  const exp = experimentFromArgs(a);
  for (const f of [a.html, a.csvWindows]) if (f !== undefined) checkOutputFile(f);
  const seeds = a.seeds ?? [];
  const cluster = a.spec !== undefined ? specFor({ spec: a.spec }) : undefined;
  const manifests = loadManifestFiles(a.filename ?? []);
  const tty = a.progress && process.stdout.isTTY === true && process.stderr.isTTY === true;
  const done = new Map<string, ModeProgress>();
  const total = (exp.connections ?? Math.round(exp.ratePerSecond * exp.durationNs / 1e9)) * exp.modes.length * Math.max(1, seeds.length);
  const bar = tty ? new SingleBar({ stream: process.stderr, format: 'experiment {bar} {percentage}% | {value}/{total} connections | {modes} | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 }) : undefined;
  bar?.start(total, 0, { modes: exp.modes.join(', ') });
  const result = await runExperiment(exp, {
    ...(cluster !== undefined ? { cluster } : {}),
    manifests,
    workers: a.workers ?? 1,
    ...(seeds.length > 0 ? { seeds } : {}),
    onProgress: (p) => {
      done.set(`${p.mode}/${p.seed}`, p);
      if (bar !== undefined) bar.update([...done.values()].reduce((s, x) => s + x.done, 0));
    },
  });
  bar?.stop();
  if (a.output === 'json') print(renderJson(result));
  else if (a.output === 'csv') print(renderCsv(result));
  else print(renderTable(result));
  if (a.html !== undefined) writeOutputFile(a.html, renderHtmlReport(result));
  if (a.csvWindows !== undefined) writeOutputFile(a.csvWindows, renderWindowsCsv(result));
  return 0;
}

/** Register `netsim experiment` on the program. */
export function registerExperimentCommand(program: Command, print: (s: string) => void): void {
  program
    .command('experiment')
    .description('run a load-balancing experiment: every mode on a fresh cluster with the same seed; per-endpoint shares, chi-square, failures, latency')
    .argument('[file]', 'experiment file (YAML, see README "Load-balancing experiments"); or describe one with --service')
    .option('--spec <file>', 'cluster spec (default: the experiment\'s, or the built-in seed scenario)')
    .option('-f, --filename <manifest>', 'Kubernetes manifest applied on top (repeatable)', collect)
    .option('--seed <n>', 'seed (default: the experiment\'s)', seedArg())
    .option('--seeds <list>', 'repeat every mode with each seed, e.g. 1,2,3 (replicates; each run reports its seed)', seedList)
    .addOption(new Option('-o, --output <format>', 'table, json or csv').choices(['table', 'json', 'csv']).default('table'))
    .option('--html <file>', 'write the self-contained HTML report')
    .option('--report <file>', 'same as --html')
    .option('--csv-windows <file>', 'write the per-window time series as CSV')
    .option('--workers <n>', 'run modes (and seeds) in this many worker threads (same results as serial)', posInt('--workers'))
    .option('--no-progress', 'no progress bar')
    .option('--service <ns/name>', 'without FILE: the Service to load (its ClusterIP)')
    .option('--port <n>', 'without FILE: the Service port (default 80)', portArg())
    .option('--modes <list>', 'modes to compare, e.g. iptables,nftables,ipvs-rr,ipvs-mh')
    .option('--connections <n>', 'exactly N connections per mode (the duration follows from the rate)', posInt('--connections'))
    .option('--rate <r>', 'connection arrivals per second, e.g. 1000/s')
    .option('--clients <n>', 'without FILE: client pods, spread over every node (default 10)', posInt('--clients'))
    .addOption(new Option('--protocol <p>', 'without FILE: tcp (HTTP) or udp (echo)').choices(['tcp', 'udp']))
    .option('--requests <n>', 'without FILE: requests per connection (keep-alive when > 1)', posInt('--requests'))
    .action(async (file: string | undefined, o: Omit<ExperimentArgs, 'file'> & { report?: string }) => {
      const html = o.html ?? o.report;
      process.exitCode = await experimentCommand({ ...o, ...(file !== undefined ? { file } : {}), ...(html !== undefined ? { html } : {}) }, print);
    });
}

function seedList(v: string): number[] {
  const parts = v.split(',').map((x) => x.trim());
  if (parts.some((x) => !/^\d+$/.test(x))) throw new InvalidArgumentError(`--seeds must be a comma-separated list of non-negative integers, got "${v}"`);
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError(`--seeds lists a seed twice: "${v}"`);
  return seeds;
}

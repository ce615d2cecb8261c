/**
 * The experiment runner: `runExperiment(spec)` runs every mode of an experiment on
 * its own fresh cluster (same spec, same seed) and returns the result; with
 * `seeds`, every mode once per seed (replicates: each run says its seed). Runs are
 * independent — each has its own cluster, RNG streams and accumulator — so running
 * them serially or in worker threads (`workers > 1`) gives identical results. See
 * run-mode.ts for what one mode does, how clients, connections, events and the
 * latency cost model work.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadClusterSpec, parseClusterSpec } from '../../cluster/spec.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import type { ExperimentSpec } from '../experiment-spec.ts';
import type { ExperimentResult, ProxyModeName, RunResult } from '../results.ts';
import { runMode } from './run-mode.ts';
import type { ModeProgress } from './run-mode.ts';
import { ExperimentRunError } from './errors.ts';

export { runMode, clusterSpecFor, RESPONSE_TIMEOUT_NS, RULE_COST_NS } from './run-mode.ts';
export type { ModeProgress, RunModeOptions } from './run-mode.ts';
export { ExperimentRunError } from './errors.ts';

export interface RunExperimentOptions {
  /** Use this cluster spec instead of the one the experiment names (the CLI's --spec). */
  readonly cluster?: ClusterSpec;
  /** Extra manifests (the CLI's -f). */
  readonly manifests?: readonly Record<string, unknown>[];
  /** Worker threads running modes (and seeds) in parallel (default 1: all in this thread). */
  readonly workers?: number;
  /** Repeat every mode with each of these seeds instead of the experiment's one seed. */
  readonly seeds?: readonly number[];
  readonly onProgress?: (p: ModeProgress) => void;
}

/** The cluster spec an experiment names: its file, or its inline mapping. */
export function experimentClusterSpec(exp: ExperimentSpec): ClusterSpec {
  if ('file' in exp.cluster) return loadClusterSpec(exp.cluster.file);
  return parseClusterSpec(stringify(exp.cluster.inline), `${exp.name}#cluster`);
}

/** Messages from a worker. */
type WorkerMessage = { type: 'progress'; p: ModeProgress } | { type: 'result'; run: RunResult } | { type: 'error'; message: string; code?: string };

const WORKER_ENTRY = fileURLToPath(new URL('./worker-entry.mjs', import.meta.url));

function runInWorker(exp: ExperimentSpec, mode: ProxyModeName, cluster: ClusterSpec, manifests: readonly Record<string, unknown>[], onProgress?: (p: ModeProgress) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_ENTRY, { workerData: { exp, mode, cluster, manifests } });
    let settled = false;
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress?.(m.p);
      else if (m.type === 'result') {
        settled = true;
        resolve(m.run);
      } else {
        settled = true;
        reject(m.code === 'NETSIM_EXP_RUN' ? new ExperimentRunError(m.message) : new Error(m.message));
      }
    });
    w.on('error', (e) => {
      settled = true;
      reject(e);
    });
    w.on('exit', (code) => {
      if (!settled) reject(new Error(`experiment worker for ${mode} exited with code ${code}`));
    });
  });
}

/**
 * Run every mode of `exp` (for each of `opts.seeds`, when given); runs come back
 * seed by seed, each in the experiment's mode order.
 */
export async function runExperiment(exp: ExperimentSpec, opts: RunExperimentOptions = {}): Promise<ExperimentResult> {
  const cluster = opts.cluster ?? experimentClusterSpec(exp);
  const manifests = opts.manifests ?? [];
  const seeds = opts.seeds ?? [];
  if (seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) throw new ExperimentRunError(`seeds must be non-negative integers, got ${seeds.join(', ')}`);
  if (new Set(seeds).size !== seeds.length) throw new ExperimentRunError(`seeds must differ, got ${seeds.join(', ')}`);
  const jobs = (seeds.length === 0 ? [exp.seed] : seeds).flatMap((seed) => exp.modes.map((mode) => ({ exp: { ...exp, seed }, mode })));
  const workers = Math.max(1, Math.min(opts.workers ?? 1, jobs.length));
  const runs: RunResult[] = new Array<RunResult>(jobs.length);
  if (workers === 1) {
    for (const [i, job] of jobs.entries()) {
      runs[i] = await runMode(job.exp, job.mode, { cluster, manifests, ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}) });
    }
  } else {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < jobs.length) {
        const i = next++;
        const job = jobs[i] as (typeof jobs)[number];
        runs[i] = await runInWorker(job.exp, job.mode, cluster, manifests, opts.onProgress);
      }
    };
    await Promise.all(Array.from({ length: workers }, lane));
  }
  if (seeds.length === 0) return { experiment: exp.name, seed: exp.seed, runs };
  return {
    experiment: exp.name, seed: null,
    runs: runs.map((r, i) => {
      const { mode, ...rest } = r;
      return { mode, seed: (jobs[i] as (typeof jobs)[number]).exp.seed, ...rest };
    }),
  };
}

/** Worker thread body: run one mode and post its result (see index.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import type { ClusterSpec } from '../../cluster/spec.ts';
import type { ExperimentSpec } from '../experiment-spec.ts';
import type { ProxyModeName } from '../results.ts';
import { runMode } from './run-mode.ts';

const { exp, mode, cluster, manifests } = workerData as { exp: ExperimentSpec; mode: ProxyModeName; cluster: ClusterSpec; manifests: Record<string, unknown>[] };
const port = parentPort;
if (port === null) throw new Error('worker.ts runs in a worker thread');
try {
  let last = 0;
  const run = await runMode(exp, mode, {
    cluster, manifests,
    onProgress: (p) => {
      if (p.done - last >= 200 || p.done >= p.expected) {
        last = p.done;
        port.postMessage({ type: 'progress', p });
      }
    },
  });
  port.postMessage({ type: 'result', run });
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });
}

/** A lockstep worker thread: one replica, split as partition `index` of `count`, stepped by the coordinator (lockstep-run.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { Replica } from './lockstep-run.ts';
import type { FromWorker, LockstepRunOptions, ToWorker } from './lockstep-run.ts';

const { opts, index, count } = workerData as { opts: LockstepRunOptions; index: number; count: number };
const port = parentPort;
if (port === null) throw new Error('lockstep-worker.ts runs in a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);
const fail = (e: unknown): void => post({ type: 'error', message: e instanceof Error ? e.message : String(e), ...((e as { code?: unknown }).code !== undefined ? { code: String((e as { code?: unknown }).code) } : {}) });
try {
  const replica = await Replica.build(opts);
  const part = replica.splitAs(index, count);
  const nextOf = (t: number): number => (t > replica.end ? Number.POSITIVE_INFINITY : t);
  post({ type: 'ready', next: nextOf(replica.cluster.sim.clock.nextTime()) });
  port.on('message', (m: ToWorker) => {
    try {
      if (m.type === 'finish') {
        post({ type: 'result', result: replica.result() });
        void replica.close();
        return;
      }
      part.receive(m.frames, m.learnings);
      const next = replica.runUntil(m.until);
      const out = part.takeOutbox();
      post({ type: 'done', frames: out.frames, learnings: out.learnings, next: nextOf(next) });
    } catch (e) {
      fail(e);
    }
  });
} catch (e) {
  fail(e);
}

// A cluster served the way `netsim up` serves it, in the test's own process: the live
// routes on its API listener and virtual time driven by the wall clock in small ticks, so
// the CLI's --server commands can run against it (and their exit codes be read) in process.
import type { Cluster } from '../../cluster/cluster.ts';
import { buildProgram, reportError } from '../../cli/main.ts';
import { registerLiveRoutes } from '../../cli/up/live-routes.ts';
import { MS } from '../../netsim/time/scheduler.ts';

export interface LiveCluster {
  /** The API server's URL. */
  readonly server: string;
  /** `netsim ARGS --server URL` in process: its output, stderr line and exit code as main() gives them. */
  netsim(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  close(): Promise<void>;
}

export async function serveLive(cluster: Cluster): Promise<LiveCluster> {
  let tick: Promise<void> | undefined;
  registerLiveRoutes(cluster, async () => {
    while (tick !== undefined) await tick;
  });
  const server = await cluster.control.app.listen({ host: '127.0.0.1', port: 0 });
  const timer = setInterval(() => {
    if (tick !== undefined) return;
    tick = cluster.runFor(20 * MS).finally(() => { tick = undefined; });
  }, 10);
  return {
    server,
    async netsim(...args) {
      let out = '';
      let err = '';
      try {
        await buildProgram((s) => { out += s; }).parseAsync(['node', 'netsim', ...args, '--server', server]);
        return { code: typeof process.exitCode === 'number' ? process.exitCode : 0, out, err };
      } catch (e) {
        return { code: reportError(e, (s) => { err += s; }), out, err };
      } finally {
        process.exitCode = undefined;
      }
    },
    async close() {
      clearInterval(timer);
      await tick;
      await cluster.close();
    },
  };
}

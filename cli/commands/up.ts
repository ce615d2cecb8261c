/**
 * `netsim up`: the cluster in real time. The API server listens on HOST:PORT (port 0
 * picks a free one) for kubectl, client libraries and the browser (watch over HTTP
 * streaming and WebSocket); the store persists in --state DIR; virtual time follows
 * the wall clock, and the control plane gets a turn every tick, so a `kubectl apply`
 * or `kubectl scale` reaches the node agents and kube-proxy within a tick. SIGINT or
 * SIGTERM stops it cleanly (exit 0). Restarted on the same --state, it keeps the stored
 * objects (a scale or apply made with kubectl survives) instead of re-applying the spec.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileStore } from '../../control/store/file-store.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import type { ClusterArgs } from '../load-cluster.ts';
import { loadCluster } from '../load-cluster.ts';
import { CliError } from '../cli-error.ts';
import { LiveFlows, registerFlowRoutes } from '../../observe/index.ts';
import { serveExec } from '../../cluster/remote-command.ts';
import { serveLogs } from '../../cluster/pod-log-server.ts';

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(s);
  const port = m !== null ? Number(m[2]) : NaN;
  if (m === null || m[1] === '' || port > 65535) throw new CliError('NETSIM_ERR_LISTEN', `--listen must be HOST:PORT (port 0 picks a free one), got "${s}"`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

export interface UpOptions extends ClusterArgs {
  readonly listen: string;
  readonly state: string;
  /** Flows kept in the ring for `netsim observe` (default observe/'s DEFAULT_FLOW_RING). */
  readonly flowBuffer?: number;
  /** Driver tick in wall-clock milliseconds (default 50). */
  readonly tickMs?: number;
}

export async function upCommand(o: UpOptions, print: (s: string) => void): Promise<number> {
  const { host, port } = parseListen(o.listen);
  const dir = resolve(o.state);
  mkdirSync(dir, { recursive: true });
  const store = await FileStore.open({ dir: join(dir, 'store') });
  const epochMs = Date.now();
  // Real time is not reproducible anyway, and a kept store holds uids an earlier run drew from the same seed.
  // A kept store already holds the objects (and whatever kubectl did to them since): the spec's manifests are not re-applied.
  const fresh = store.revision() === 0;
  const cluster = await loadCluster(o, { store, epochMs, uid: () => crypto.randomUUID(), specManifests: fresh });
  const base = cluster.sim.clock.now();
  const started = Date.now();
  // Virtual time follows the wall clock from here, so a flow's wall time is the start plus its virtual offset.
  const flows = new LiveFlows(cluster, (t) => started + (t - base) / MS, o.flowBuffer);
  const closeFlowRoutes = registerFlowRoutes(cluster.control.app, flows.hub);
  const closeExec = serveExec(cluster);
  serveLogs(cluster);
  await flows.refresh();
  let refreshed = Date.now();
  const address = await cluster.control.app.listen({ host, port });
  print(`API server listening on ${address}\n`);
  const tickMs = o.tickMs ?? 50;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    // Virtual time catches up with the wall clock (plus the settling time the build used).
    const target = (Date.now() - started) * MS + base;
    const dt = Math.max(0, target - cluster.sim.clock.now());
    // Identities (pods come and go with their labels) are re-read at most once a second.
    const refresh = Date.now() - refreshed > 1000;
    if (refresh) refreshed = Date.now();
    void cluster.runFor(dt).then(() => (refresh ? flows.refresh() : undefined)).catch((e: unknown) => process.stderr.write(`netsim up: ${(e as Error).message}\n`)).finally(() => { busy = false; });
  }, tickMs);
  await new Promise<void>((done) => {
    const stop = (): void => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(timer);
  flows.close();
  closeFlowRoutes();
  closeExec();
  await cluster.close();
  print('netsim up: stopped\n');
  return 0;
}

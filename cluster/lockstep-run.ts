/**
 * A cluster's data plane for a span of virtual time — the spec's declared clients and
 * whatever else runs on its hosts — serially, or split over worker threads in lockstep
 * (cluster/lockstep.ts) with the same result: the clients' counts and, when asked, the
 * trace with packet bytes (captures are made from it).
 *
 * Every worker builds and settles its own replica of the cluster from the same spec
 * and seed (the control plane is not partitioned), then runs only its hosts. The
 * control plane stays frozen during the run, serially too, so that both ways mean the
 * same: a run in which it would have had work (a write, an agent's pending work, a
 * controller's wake-up) is refused, as is one in which driver work diverged between
 * the replicas. Packets made by the driver itself are not expected in this phase.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Cluster } from './cluster.ts';
import type { ClusterSpec } from './spec.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { DRIVER_HOST } from '../netsim/time/scheduler.ts';
import { blockPartition, PartitionError } from './partition.ts';
import { LockstepPartition, lockstepRefusal, lookaheadNs } from './lockstep.ts';
import type { Learning, UnderlayFrame } from './lockstep.ts';
import { clientHost } from './clients.ts';

export interface LockstepRunOptions {
  readonly spec: ClusterSpec;
  /** Manifests applied when building (as Cluster.build's). */
  readonly manifests?: readonly Record<string, unknown>[];
  /** Virtual time to run after the cluster has settled. */
  readonly durationNs: number;
  /** Worker threads (default 1: this thread, no split). */
  readonly workers?: number;
  /** Record the trace with packet bytes. */
  readonly trace?: boolean;
}

export interface ClientCounts {
  readonly name: string;
  readonly sent: number;
  readonly answered: number;
  readonly failed: number;
  readonly skipped: number;
  /** Answers per backend, by backend name. */
  readonly backends: Readonly<Record<string, number>>;
}

export interface LockstepRunResult {
  readonly clients: readonly ClientCounts[];
  /** The trace of the run (after settle), in the serial run's order; undefined unless asked. */
  readonly events: readonly TraceEvent[] | undefined;
  /** Lower-bound windows stepped (0 for one worker). */
  readonly windows: number;
}

/** A trace event with its place in the run's order: the running event's key, and its index there. */
interface Keyed {
  readonly ev: TraceEvent;
  readonly key: number;
  readonly idx: number;
}

/** What one replica reports at the end: its hosts' clients and trace, and what must agree between replicas. */
interface ReplicaResult {
  readonly clients: Array<ClientCounts | undefined>;
  readonly records: Keyed[];
  readonly driverScheduled: number;
  readonly controlPlaneBusy: string | undefined;
}

/** One replica of the cluster: built, settled, traced, maybe split. */
export class Replica {
  private readonly records: Keyed[] = [];
  private split: LockstepPartition | undefined;
  private constructor(readonly cluster: Cluster, readonly end: number) {}

  static async build(opts: LockstepRunOptions): Promise<Replica> {
    const cluster = await Cluster.build(opts.spec, { manifests: opts.manifests ?? [] });
    const r = new Replica(cluster, cluster.sim.clock.now() + opts.durationNs);
    if (opts.trace === true) {
      const clock = cluster.sim.clock;
      let lastKey = Number.NaN;
      let lastT = Number.NaN;
      let idx = 0;
      cluster.sim.tracer.subscribe((ev) => {
        const key = clock.currentKey();
        if (key !== lastKey || ev.t !== lastT) idx = 0;
        lastKey = key;
        lastT = ev.t;
        r.records.push({ ev, key, idx: idx++ });
      }, { bytes: true });
    }
    return r;
  }

  /** Run only the hosts of partition `index` of `count` from now on. */
  splitAs(index: number, count: number): LockstepPartition {
    const nodes = this.cluster.spec.nodes.map((n) => n.name);
    const p = new LockstepPartition(blockPartition(nodes, index, count), new Set(nodes), this.cluster.sim);
    const u = this.cluster.underlay;
    p.enter(u.outsideSegment === undefined ? [u.segment] : [u.segment, u.outsideSegment], lookaheadNs(this.cluster.spec));
    this.split = p;
    return p;
  }

  /** Run what is due up to `until` (at most the end); the earliest event left. */
  runUntil(until: number): number {
    this.cluster.sim.clock.run(Math.min(until, this.end));
    return this.cluster.sim.clock.nextTime();
  }

  result(): ReplicaResult {
    const c = this.cluster;
    const owns = (host: string): boolean => this.split === undefined || this.split.owns(host) || (host === '' && this.split.partition.index === 0);
    const clients = c.spec.clients.map((spec, i) => {
      const st = c.clients[i];
      if (st === undefined || !owns(clientHost(spec, c))) return undefined;
      return { name: st.name, sent: st.sent, answered: st.answered, failed: st.failed, skipped: st.skipped, backends: Object.fromEntries([...st.backends].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
    });
    const busy = c.needsReconcile ? 'a write, an agent\'s pending work or a controller\'s wake-up' : undefined;
    return {
      clients,
      records: this.records.filter((r) => owns(r.ev.node)),
      driverScheduled: c.sim.clock.scheduledBy(DRIVER_HOST),
      controlPlaneBusy: busy,
    };
  }

  close(): Promise<void> {
    return this.cluster.close();
  }
}

/** Merge the replicas' results into the serial run's, or refuse when they cannot be. */
function merge(parts: readonly ReplicaResult[], windows: number, trace: boolean): LockstepRunResult {
  const busy = parts.find((p) => p.controlPlaneBusy !== undefined)?.controlPlaneBusy;
  if (busy !== undefined) throw new PartitionError(`the control plane had work during the run (${busy}); a lockstep run needs a settled cluster and no changes while it runs`);
  if (new Set(parts.map((p) => p.driverScheduled)).size > 1) throw new PartitionError('driver work diverged between the workers; run with one worker');
  const n = parts[0]?.clients.length ?? 0;
  const clients: ClientCounts[] = [];
  for (let i = 0; i < n; i++) {
    const c = parts.map((p) => p.clients[i]).find((x) => x !== undefined);
    if (c !== undefined) clients.push(c);
  }
  if (!trace) return { clients, events: undefined, windows };
  const all = parts.flatMap((p, w) => p.records.map((r) => ({ ...r, w })));
  all.sort((a, b) => a.ev.t - b.ev.t || a.key - b.key || a.w - b.w || a.idx - b.idx);
  for (let i = 1; i < all.length; i++) {
    const a = all[i - 1] as (typeof all)[number];
    const b = all[i] as (typeof all)[number];
    if (a.key === b.key && a.ev.t === b.ev.t && a.w !== b.w) throw new PartitionError(`one event (at ${b.ev.t} ns) touched hosts of two workers; its trace order is not known: run with one worker`);
  }
  return { clients, events: all.map((r) => r.ev), windows };
}

const WORKER_ENTRY = fileURLToPath(new URL('./lockstep-worker-entry.mjs', import.meta.url));

/** Messages between the coordinator and a worker (lockstep-worker.ts). */
export type ToWorker = { type: 'window'; until: number; frames: UnderlayFrame[]; learnings: Learning[] } | { type: 'finish' };
export type FromWorker =
  | { type: 'ready'; next: number }
  | { type: 'done'; frames: UnderlayFrame[]; learnings: Learning[]; next: number }
  | { type: 'result'; result: ReplicaResult }
  | { type: 'error'; message: string; code?: string };

/** Run the cluster's data plane for `durationNs` (see the contract above). */
export async function runLockstep(opts: LockstepRunOptions): Promise<LockstepRunResult> {
  const workers = opts.workers ?? 1;
  if (!Number.isSafeInteger(workers) || workers < 1) throw new PartitionError(`workers must be a positive integer, got ${workers}`);
  if (workers === 1) {
    const r = await Replica.build(opts);
    try {
      r.runUntil(r.end);
      return merge([r.result()], 0, opts.trace === true);
    } finally {
      await r.close();
    }
  }
  const why = lockstepRefusal(opts.spec);
  if (why !== undefined) throw new PartitionError(why);
  if (workers > opts.spec.nodes.length) throw new PartitionError(`${workers} workers for ${opts.spec.nodes.length} node(s): every worker needs at least one node`);
  const lookahead = lookaheadNs(opts.spec);
  const nodes = opts.spec.nodes.map((n) => n.name);
  const owner = (host: string): number => {
    const i = nodes.indexOf(host);
    return i < 0 ? 0 : Math.floor((i * workers) / nodes.length);
  };
  const threads = Array.from({ length: workers }, (_, index) => new Worker(WORKER_ENTRY, { workerData: { opts, index, count: workers } }));
  const inbox = threads.map(() => [] as FromWorker[]);
  const waiting: Array<((m: FromWorker) => void) | undefined> = threads.map(() => undefined);
  let failure: Error | undefined;
  threads.forEach((t, i) => {
    const deliver = (m: FromWorker): void => {
      const w = waiting[i];
      if (w !== undefined) {
        waiting[i] = undefined;
        w(m);
      } else inbox[i]?.push(m);
    };
    t.on('message', deliver);
    t.on('error', (e) => deliver({ type: 'error', message: e.message }));
    t.on('exit', (code) => deliver({ type: 'error', message: `lockstep worker ${i} exited with code ${code}` }));
  });
  const next = (i: number): Promise<FromWorker> => new Promise((resolve) => {
    const m = inbox[i]?.shift();
    if (m !== undefined) resolve(m);
    else waiting[i] = resolve;
  });
  const expect = async <T extends FromWorker['type']>(i: number, type: T): Promise<Extract<FromWorker, { type: T }>> => {
    const m = await next(i);
    if (m.type === 'error') {
      failure ??= m.code === 'NETSIM_ERR_PARTITION' ? new PartitionError(m.message) : new Error(m.message);
      throw failure;
    }
    if (m.type !== type) throw new Error(`lockstep worker ${i}: expected ${type}, got ${m.type}`);
    return m as Extract<FromWorker, { type: T }>;
  };
  try {
    const nexts = (await Promise.all(threads.map((_, i) => expect(i, 'ready')))).map((m) => m.next);
    const end = Number.POSITIVE_INFINITY;
    let frames: UnderlayFrame[] = [];
    let learnings: Array<Learning & { from: number }> = [];
    let windows = 0;
    for (;;) {
      const t = Math.min(...nexts);
      if (t === end) break;
      const until = t + lookahead - 1;
      threads.forEach((w, i) => w.postMessage({ type: 'window', until, frames: frames.filter((f) => owner(f.host) === i), learnings: learnings.filter((l) => l.from !== i) } satisfies ToWorker));
      const done = await Promise.all(threads.map((_, i) => expect(i, 'done')));
      frames = done.flatMap((d) => d.frames);
      learnings = done.flatMap((d, i) => d.learnings.map((l) => ({ ...l, from: i })));
      done.forEach((d, i) => { nexts[i] = d.next; });
      // A worker past its end reports +Infinity; frames still in flight keep the run going.
      if (frames.length > 0) for (const f of frames) nexts[owner(f.host)] = Math.min(nexts[owner(f.host)] as number, f.at);
      windows++;
    }
    for (const w of threads) w.postMessage({ type: 'finish' } satisfies ToWorker);
    const results = await Promise.all(threads.map((_, i) => expect(i, 'result')));
    return merge(results.map((r) => r.result), windows, opts.trace === true);
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

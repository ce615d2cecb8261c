/**
 * Drivers for the differential tests of exact optimisations (a switch that must change
 * nothing): the same seed-shaped cluster or experiment run the same way, reduced to
 * sha256 digests of everything observable — trace events with their bytes and pcapng
 * captures of the seed's flows, what untraced UDP clients got, every node's
 * `iptables-save -c`, conntrack table and device statistics, experiment results.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../../cluster/cluster.ts';
import { demoSpec, runFlows, seedFlowPlans } from '../../cluster/demo-flows.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import { udpRequest } from '../../netsim/apps/echo.ts';
import { httpGet, startHttpServer } from '../../netsim/apps/http.ts';
import { MS, SECOND } from '../../netsim/time/scheduler.ts';
import { ip, segmentPair } from './net.ts';
import { runExperiment } from '../../experiments/runner/index.ts';
import { experimentFromArgs } from '../../cli/commands/experiment.ts';

export const sha = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');
export const bytesAsHex = (_k: string, v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);

/** Run `f` with `sw.on` set to `on`, restoring it after. */
export async function withSwitch<T>(sw: { on: boolean }, on: boolean, f: () => Promise<T>): Promise<T> {
  const before = sw.on;
  sw.on = on;
  try {
    return await f();
  } finally {
    sw.on = before;
  }
}

/** The seed cluster with another flannel backend and kube-proxy mode. */
export function seedVariant(backend: 'udp' | 'vxlan', mode: 'iptables' | 'ipvs'): ClusterSpec {
  const s = demoSpec();
  return { ...s, network: { ...s.network, flannel: { ...s.network.flannel, backend } }, proxy: { ...s.proxy, mode } };
}

/** The seed's traced flows (events with bytes, pcapng), then untraced UDP to the Service from every client pod, counters, conntrack, device stats, events run and the end of time. */
export async function driveSeed(spec: ClusterSpec): Promise<{ flows: string; rest: string }> {
  const c = await Cluster.build(spec);
  try {
    const flows = await runFlows(c, seedFlowPlans(c));
    assert.ok(flows.every((f) => f.ok), flows.map((f) => `${f.title}: ${f.outcome}`).join('\n'));
    const svc = c.services.get('default/nginx-service');
    assert.ok(svc !== undefined);
    const udps: Array<[string, ReturnType<typeof udpRequest>]> = [];
    const t0 = c.sim.clock.now();
    let i = 0;
    for (const from of ['default/webapp01', 'default/webapp03', 'default/backend']) {
      const pod = c.pods.get(from);
      assert.ok(pod !== undefined, from);
      // Several sends at one instant, so backlogs of different packets interleave.
      for (let k = 0; k < 5; k++) c.sim.clock.at(t0 + (i++ % 4) * 3_000_000, () => void udps.push([from, udpRequest(pod.ns, svc.clusterIP, 80, new Uint8Array([k, 1, 2]))]));
    }
    c.sim.clock.run(t0 + 5 * SECOND);
    const out: string[] = udps.map(([from, u]) => `${from} ${JSON.stringify(u.reply?.data)} ${JSON.stringify(u.error)}`);
    out.push(`events ${c.sim.clock.eventsRun()} now ${c.sim.clock.now()} pending ${c.sim.clock.pending()}`);
    for (const [name, cn] of c.clusterNodes) {
      out.push(`${name}\n${cn.netfilter.iptables.save({ counters: true })}\n${JSON.stringify(cn.netfilter.conntrack.entries())}`);
      for (const d of cn.ns.devices.values()) out.push(`${d.name} ${JSON.stringify(d.stats)}`);
    }
    return { flows: sha(JSON.stringify(flows, bytesAsHex)), rest: sha(out.join('\n')) };
  } finally {
    await c.close();
  }
}

/** The seed cluster variants the differential tests run. */
export const SEED_VARIANTS = [['udp', 'iptables'], ['vxlan', 'iptables'], ['udp', 'ipvs']] as const;

const EXAMPLES = fileURLToPath(new URL('../../examples/experiments/', import.meta.url));

/** Experiments the differential tests run. */
export const EXPERIMENT_FILES = ['iptables-vs-ipvs-rr.yaml', 'udp-scale-down-blackhole.yaml'] as const;

/** An example experiment's results at `connections` connections, as a digest (wall-clock and CPU fields left out). */
export async function experimentDigest(file: string, connections = 1500): Promise<string> {
  const exp = experimentFromArgs({ file: `${EXAMPLES}${file}`, connections, output: 'json', progress: false });
  const r = await runExperiment(exp, {});
  return sha(JSON.stringify(r, (k, v: unknown) => (/^(wall|elapsed|cpu)/i.test(k) ? undefined : v)));
}

/**
 * `pairs` pairs of hosts over links losing 5–50 % of frames (retransmissions, duplicate
 * and late segments, TIME_WAIT answers, resets), 8 HTTP clients each; with
 * `rateLimited`, every second link is rate-limited with a short queue (overflows). One
 * hash of every trace event with its bytes, the replies, events run and the end of time.
 */
export function lossyHttpRuns(pairs: number, rateLimited: boolean): { hash: string; events: number; drops: number } {
  const all = createHash('sha256');
  let events = 0;
  let drops = 0;
  for (let seed = 1; seed <= pairs; seed++) {
    const loss = [0.05, 0.2, 0.35, 0.5][seed % 4] as number;
    const limited = rateLimited && seed % 2 === 0 ? { bandwidthBps: 2_000_000, queueLimit: 3 } : {};
    const { sim, a, b } = segmentPair({ loss, latencyNs: ((seed % 3) + 1) * MS, ...limited }, seed);
    startHttpServer(b, { podName: 'b' });
    const h = createHash('sha256');
    sim.tracer.subscribe((e) => {
      events++;
      if (e.kind === 'drop') drops++;
      h.update(JSON.stringify(e, bytesAsHex));
    }, { bytes: true });
    const sessions = Array.from({ length: 8 }, (_, i) => httpGet(a, ip('192.168.0.2'), 80, { requests: 1 + (i % 3) }));
    sim.clock.run(sim.clock.now() + 20 * MS, 500);
    sim.clock.run();
    h.update(JSON.stringify(sessions.map((s) => [s.error, s.results.map((r) => [r.status, r.body, r.doneAt])])));
    h.update(`${sim.clock.now()} ${sim.clock.eventsRun()}`);
    all.update(h.digest());
  }
  return { hash: all.digest('hex'), events, drops };
}

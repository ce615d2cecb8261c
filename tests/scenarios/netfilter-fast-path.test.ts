/**
 * The fast path of established flows (netsim/netfilter/flow-walks.ts) and the per-hook
 * plans built on it (netsim/netfilter/hook-plans.ts) are exact: the
 * same clusters driven the same way with them on and off give identical outputs by hash
 * — every rule and policy counter (`iptables-save -c`), the nfacct counters, the conntrack table, what the
 * clients saw, and experiment results of each proxy mode (numbers, latencies with the
 * rules-walked cost model, failures) — while it did replay walks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../../cluster/cluster.ts';
import { demoSpec } from '../../cluster/demo-flows.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import { httpGet } from '../../netsim/apps/http.ts';
import { udpRequest } from '../../netsim/apps/echo.ts';
import { fastPathDefault, hookPlansDefault } from '../../netsim/netfilter/netfilter-stack.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { runExperiment } from '../../experiments/runner/index.ts';
import { experimentFromArgs } from '../../cli/commands/experiment.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Run `f` with the fast path on or off, and its hook plans on (the default) or off. */
async function withFastPath<T>(on: boolean, f: () => Promise<T>, plans = true): Promise<T> {
  const before = fastPathDefault.on;
  const plansBefore = hookPlansDefault.on;
  fastPathDefault.on = on;
  hookPlansDefault.on = plans;
  try {
    return await f();
  } finally {
    fastPathDefault.on = before;
    hookPlansDefault.on = plansBefore;
  }
}

/** Untraced traffic through a seed-shaped cluster, then every node's counters and conntrack table, and what the clients got. */
async function driveCluster(spec: ClusterSpec): Promise<{ digest: string; replays: number; plans: number }> {
  const c = await Cluster.build(spec);
  try {
    const svc = c.services.get('default/nginx-service');
    assert.ok(svc !== undefined);
    const out: string[] = [];
    const udps: Array<[string, ReturnType<typeof udpRequest>]> = [];
    const t0 = c.sim.clock.now();
    let i = 0;
    for (const from of ['default/webapp01', 'default/webapp02', 'default/webapp03', 'default/backend']) {
      const pod = c.pods.get(from);
      assert.ok(pod !== undefined, from);
      for (let k = 0; k < 6; k++) {
        const at = t0 + (i++) * 7_000_000;
        c.sim.clock.at(at, () => {
          const s = httpGet(pod.ns, svc.clusterIP, 80, { onDone: (x) => out.push(`${from} http ${x.results[0]?.status} ${x.results[0]?.body.trim()} ${x.error ?? ''}`) });
          void s;
        });
        c.sim.clock.at(at + 1_000_000, () => void udps.push([from, udpRequest(pod.ns, svc.clusterIP, 80, new Uint8Array([k]))]));
      }
    }
    c.sim.clock.run(t0 + i * 7_000_000 + 5 * SECOND);
    for (const [from, u] of udps) out.push(`${from} udp ${JSON.stringify(u.reply?.data)} ${JSON.stringify(u.error)}`);
    let replays = 0;
    let plans = 0;
    for (const [name, cn] of c.clusterNodes) {
      out.push(`${name}\n${cn.netfilter.iptables.save({ counters: true })}\n${cn.netfilter.iptables.nfacctList()}\n${JSON.stringify(cn.netfilter.conntrack.entries())}`);
      replays += cn.netfilter.fastPathReplays;
      plans += cn.netfilter.planReplays;
    }
    return { digest: sha(out.join('\n')), replays, plans };
  } finally {
    await c.close();
  }
}

function variant(backend: 'udp' | 'vxlan', mode: 'iptables' | 'ipvs'): ClusterSpec {
  const s = demoSpec();
  return { ...s, network: { ...s.network, flannel: { ...s.network.flannel, backend } }, proxy: { ...s.proxy, mode } };
}

for (const [backend, mode] of [['udp', 'iptables'], ['vxlan', 'iptables'], ['udp', 'ipvs']] as const) {
  test(`seed cluster (flannel ${backend}, kube-proxy ${mode}): counters, conntrack and replies identical with the fast path on and off`, async () => {
    const on = await withFastPath(true, () => driveCluster(variant(backend, mode)));
    const off = await withFastPath(false, () => driveCluster(variant(backend, mode)));
    const noPlans = await withFastPath(true, () => driveCluster(variant(backend, mode)), false);
    assert.equal(off.replays, 0);
    assert.equal(off.plans, 0);
    assert.equal(noPlans.plans, 0);
    assert.ok(on.replays > 0, 'the fast path replayed walks');
    assert.ok(noPlans.replays > 0, 'without plans the tables replayed walks');
    assert.ok(on.plans > 0, 'hooks ran from plans');
    assert.equal(on.digest, off.digest);
    assert.equal(noPlans.digest, on.digest);
  });
}

const EXAMPLES = fileURLToPath(new URL('../../examples/experiments/', import.meta.url));

for (const file of ['iptables-vs-ipvs-rr.yaml', 'udp-scale-down-blackhole.yaml', 'session-affinity.yaml']) {
  test(`experiment ${file}: results identical with the fast path on and off`, async () => {
    const exp = experimentFromArgs({ file: `${EXAMPLES}${file}`, connections: 1500, output: 'json', progress: false });
    const run = async (): Promise<string> => {
      const r = await runExperiment(exp, {});
      return sha(JSON.stringify(r, (k, v: unknown) => (/^(wall|elapsed|cpu)/i.test(k) ? undefined : v)));
    };
    const on = await withFastPath(true, run);
    assert.equal(on, await withFastPath(false, run));
    assert.equal(on, await withFastPath(true, run, false));
  });
}

/**
 * Tunnels encapsulate in the packet's headroom and decapsulate by a pull
 * (netsim/stack/udp.ts `sendPacketFrom` / `onEncap`, used by flanneld's UDP proxy and
 * the VXLAN device) — an exact optimisation: the same clusters driven the same way
 * with it on and off (off: every datagram copied out and into a new packet, as before,
 * its outer UDP checksum summed over every byte where on takes the inner packet's sum by
 * local checksum offload, netsim/wire/lco.ts)
 * give identical outputs by hash — trace events with their bytes, pcapng captures,
 * counters, the conntrack table, what the clients got, and experiment results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../../cluster/cluster.ts';
import { demoSpec, runFlows, seedFlowPlans } from '../../cluster/demo-flows.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import { udpRequest } from '../../netsim/apps/echo.ts';
import { encapInHeadroom } from '../../netsim/stack/udp.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { runExperiment } from '../../experiments/runner/index.ts';
import { experimentFromArgs } from '../../cli/commands/experiment.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const bytesAsHex = (_k: string, v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);

async function withHeadroom<T>(on: boolean, f: () => Promise<T>): Promise<T> {
  const before = encapInHeadroom.on;
  encapInHeadroom.on = on;
  try {
    return await f();
  } finally {
    encapInHeadroom.on = before;
  }
}

function variant(backend: 'udp' | 'vxlan', mode: 'iptables' | 'ipvs'): ClusterSpec {
  const s = demoSpec();
  return { ...s, network: { ...s.network, flannel: { ...s.network.flannel, backend } }, proxy: { ...s.proxy, mode } };
}

/** The seed's traced flows (events with bytes, pcapng), then untraced UDP to the Service from every client pod, counters and conntrack. */
async function drive(spec: ClusterSpec): Promise<{ flows: string; rest: string }> {
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
      for (let k = 0; k < 5; k++) c.sim.clock.at(t0 + (i++) * 3_000_000, () => void udps.push([from, udpRequest(pod.ns, svc.clusterIP, 80, new Uint8Array([k, 1, 2]))]));
    }
    c.sim.clock.run(t0 + i * 3_000_000 + 5 * SECOND);
    const out: string[] = udps.map(([from, u]) => `${from} ${JSON.stringify(u.reply?.data)} ${JSON.stringify(u.error)}`);
    for (const [name, cn] of c.clusterNodes) {
      out.push(`${name}\n${cn.netfilter.iptables.save({ counters: true })}\n${JSON.stringify(cn.netfilter.conntrack.entries())}`);
      for (const d of cn.ns.devices.values()) out.push(`${d.name} ${JSON.stringify(d.stats)}`);
    }
    return { flows: sha(JSON.stringify(flows, bytesAsHex)), rest: sha(out.join('\n')) };
  } finally {
    await c.close();
  }
}

for (const [backend, mode] of [['udp', 'iptables'], ['vxlan', 'iptables'], ['udp', 'ipvs']] as const) {
  test(`seed cluster (flannel ${backend}, kube-proxy ${mode}): traces, captures, counters and replies identical with headroom encapsulation on and off`, async () => {
    const on = await withHeadroom(true, () => drive(variant(backend, mode)));
    const off = await withHeadroom(false, () => drive(variant(backend, mode)));
    assert.equal(on.flows, off.flows);
    assert.equal(on.rest, off.rest);
  });
}

const EXAMPLES = fileURLToPath(new URL('../../examples/experiments/', import.meta.url));

for (const file of ['iptables-vs-ipvs-rr.yaml', 'udp-scale-down-blackhole.yaml']) {
  test(`experiment ${file}: results identical with headroom encapsulation on and off`, async () => {
    const exp = experimentFromArgs({ file: `${EXAMPLES}${file}`, connections: 1500, output: 'json', progress: false });
    const run = async (): Promise<string> => {
      const r = await runExperiment(exp, {});
      return sha(JSON.stringify(r, (k, v: unknown) => (/^(wall|elapsed|cpu)/i.test(k) ? undefined : v)));
    };
    assert.equal(await withHeadroom(true, run), await withHeadroom(false, run));
  });
}

// Every hop of real traces (pod → Service, pod → outside host, outside host → a pod
// address, which the router does not route, on the udp and vxlan backends) lands on an element of
// the topology picture, and where it names a pod's veth or a node's device, on that.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../cluster/cluster.ts';
import { traceCommand } from '../../cli/commands/trace.ts';
import { buildTopology } from '../../observe/topology-builder.ts';
import type { TraceReport } from '../../observe/trace-report.ts';
import { seedSpec } from '../../tests/support/spec-cluster.ts';
import { HopLocator } from './hop-target.ts';
import { topologyElements } from './topology-elements.ts';

const clusters: Cluster[] = [];
after(async () => { for (const c of clusters) await c.close(); });

for (const backend of ['udp', 'vxlan'] as const) {
  test(`${backend}: every hop of pod→Service, pod→outside and outside→pod traces is placed on the picture`, async () => {
    const c = await Cluster.build(seedSpec({ backend }));
    clusters.push(c);
    const t = await buildTopology(c);
    const ids = new Set(topologyElements(t).map((e) => e.data.id));
    const locator = new HopLocator(t);
    const nginx = t.pods.find((p) => p.name.startsWith('nginx-deployment-') && p.node === 'node02') ?? t.pods.find((p) => p.name.startsWith('nginx-deployment-'));
    for (const [from, to] of [['webapp01', 'service:default/nginx-service'], ['webapp01', 'external:client'], ['external:client', `pod:${nginx?.key}`]]) {
      let out = '';
      traceCommand(c, { from: from as string, to: to as string, output: 'json', proto: 'tcp', port: 80 }, (s) => { out += s; });
      const r = JSON.parse(out) as TraceReport;
      const hops = [...r.hops, ...(r.reply?.hops ?? [])];
      assert.ok(hops.length > 10, `${from} → ${to}: ${hops.length} hops`);
      for (const h of hops) {
        const id = locator.locate(h);
        assert.ok(id !== undefined && ids.has(id), `${from} → ${to}: ${h.node} ${h.netns} ${h.component} ${h.device ?? ''} → ${id}`);
        const pod = t.pods.find((p) => p.node === h.netns && p.hostVeth === h.device);
        if (pod !== undefined) assert.equal(id, `veth:${pod.key}`);
        else if (h.netns === h.node && h.device !== undefined && t.nodes.find((n) => n.name === h.node)?.devices.some((d) => d.name === h.device)) assert.equal(id, `dev:${h.node}:${h.device}`);
      }
      // A pod's packets cross its veth (placed on that edge, not only on a node box); the outside reaches no pod address.
      if (from === 'webapp01') assert.ok(hops.some((h) => locator.locate(h)?.startsWith('veth:')), `${from} → ${to} crosses a veth`);
      else assert.ok(hops.some((h) => locator.locate(h) === 'host:router'), `${from} → ${to} reaches the router`);
    }
  });
}

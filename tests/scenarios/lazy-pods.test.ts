/**
 * Lazy materialisation of pods (cluster/lazy-pods.ts) is unobservable: the same clusters
 * driven the same way with spec `scale.lazyPods` on and off give identical outputs by
 * hash — the demo's traces (every event with its bytes) and pcapng captures, every
 * node view of every node (`ip link`/`addr`/`route`/`neigh`, `bridge fdb`,
 * `iptables-save -c`, conntrack, ipvsadm, …), the pods' status as the API holds it,
 * with pods deleted and created while their node kept records, a cluster with every
 * feature (kube-router, DNS lookups, a Local LoadBalancer), experiment numbers, and a
 * `netsim verify` run — while the lazy run did keep pods as records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../../cluster/cluster.ts';
import { runFlows, seedFlowPlans } from '../../cluster/demo-flows.ts';
import { nodeViewNames } from '../../cluster/node-views.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import type { Pod } from '../../control/api/index.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { runExperiment, experimentClusterSpec } from '../../experiments/runner/index.ts';
import { experimentFromArgs } from '../../cli/commands/experiment.ts';
import { fetchFrom, seedSpec, seedSpecText } from '../support/spec-cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import type { ProxyMode } from '../../cluster/spec.ts';
import type { Service } from '../../control/api/service.ts';
import { lookup } from '../../apps/dns/stub-resolver.ts';
import type { LookupResult } from '../../apps/dns/stub-resolver.ts';
import { SOLO_LOCAL_LB } from '../support/solo-local-lb.ts';
import { policy } from '../support/policy-cluster.ts';
import { netnsUnavailableReason } from '../../cluster/verify/raw/netns.ts';
import { verifyNode } from '../../cluster/verify/verify.ts';
import type { SpecVariant } from '../support/spec-cluster.ts';

const sha = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');
const lazy = (s: ClusterSpec, on: boolean): ClusterSpec => ({ ...s, scale: { ...s.scale, lazyPods: on } });

/** Everything a user can see of a cluster after `drive`, as named digests; and how many nodes still kept records after the build. */
async function observe(spec: ClusterSpec, drive: (c: Cluster) => Promise<string[]>): Promise<{ digests: Record<string, string>; lazyNodes: number }> {
  const c = await Cluster.build(spec);
  try {
    const lazyNodes = [...c.clusterNodes.values()].filter((n) => n.lazyPods.lazy).length;
    const digests: Record<string, string> = {};
    digests['drive'] = sha((await drive(c)).join('\n'));
    const pods = await c.control.api.list<Pod>('pods');
    digests['pods'] = sha(JSON.stringify(pods.map((p) => [p.metadata.namespace, p.metadata.name, p.status])));
    for (const [name, cn] of c.clusterNodes) {
      for (const view of nodeViewNames()) digests[`${name} ${view}`] = sha(c.nodeView(name, view) ?? '(none)');
      digests[`${name} iptables-save -c`] = sha(cn.netfilter.iptables.save({ counters: true }));
      digests[`${name} devices`] = sha(JSON.stringify([...cn.ns.devices.values()].map((d) => [d.name, d.ifindex, d.mac, d.up, d.stats])));
    }
    return { digests, lazyNodes };
  } finally {
    await c.close();
  }
}

/** The demo's five flows: per flow its outcome, every trace event (with bytes) and the pcapng bytes. */
async function demo(c: Cluster): Promise<string[]> {
  const out: string[] = [];
  for (const f of await runFlows(c, seedFlowPlans(c))) out.push(f.title, f.outcome, sha(JSON.stringify(f.events, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))), sha(f.pcapng), f.interfaces.join(','));
  return out;
}

async function bothWays(spec: ClusterSpec, drive: (c: Cluster) => Promise<string[]>): Promise<void> {
  const on = await observe(lazy(spec, true), drive);
  const off = await observe(lazy(spec, false), drive);
  assert.equal(off.lazyNodes, 0);
  assert.ok(on.lazyNodes > 0, 'the lazy build kept some node\'s pods as records');
  assert.deepEqual(on.digests, off.digests);
}

for (const v of [{}, { backend: 'vxlan', mode: 'ipvs' }, { backend: 'host-gw', mode: 'nftables' }] as SpecVariant[]) {
  test(`seed cluster ${JSON.stringify(v)}: demo traces, captures, node views and pod status identical with lazy pods on and off`, async () => {
    await bothWays(seedSpec(v), demo);
  });
}

/** Pods come and go on nodes that still keep records: an address freed by a record is reused, ifindexes stay in creation order. */
async function churn(c: Cluster): Promise<string[]> {
  const out: string[] = [];
  const pod = (name: string, node: string): Record<string, unknown> => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'churn' } },
    spec: { nodeName: node, containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] },
  });
  // One of nginx-deployment's pods (its ReplicaSet makes another), never touched yet.
  const gone = [...c.pods.values()].find((p) => p.key.startsWith('default/nginx-deployment-'));
  assert.ok(gone !== undefined);
  if (c.spec.scale.lazyPods) assert.ok(c.clusterNodes.get(gone.node)?.lazyPods.lazy, `${gone.node} still keeps records when ${gone.key} goes`);
  await c.control.api.delete('pods', 'default', gone.key.split('/')[1] ?? '', { gracePeriodSeconds: 0 });
  await c.apply([pod('late1', gone.node), pod('late2', 'node02'), pod('late3', gone.node)], 2 * SECOND);
  out.push(...[...c.pods.values()].map((p) => `${p.key} ${p.ip} ${p.node}`));
  out.push(...await demo(c));
  const from = c.pods.get('default/webapp01');
  assert.ok(from !== undefined);
  for (const to of ['default/late1', 'default/late2', 'default/late3']) {
    const target = c.pods.get(to);
    assert.ok(target !== undefined, to);
    out.push(`${to}: ${await fetchFrom(c, from.ns, target.ip, 80)}`);
  }
  return out;
}

test('pods deleted and created while their node keeps records: addresses, traces and views identical with lazy pods on and off', async () => {
  await bothWays(seedSpec(), churn);
});

/**
 * A cluster with every feature: a third node, kube-router enforcing a policy, cluster DNS,
 * a LoadBalancer Service with externalTrafficPolicy Local, NodePorts, masquerading.
 */
function everyFeature(mode: ProxyMode): ClusterSpec {
  const t = seedSpecText({ mode, networkExtra: '  loadBalancerPool: [198.51.100.0/28]' })
    .replace('  - name: node02\n    address: 192.168.50.12\n', '  - name: node02\n    address: 192.168.50.12\n  - name: node03\n    address: 192.168.50.13\n');
  assert.ok(t.includes('node03'));
  const i = t.indexOf('manifests: |\n');
  const spec = parseClusterSpec(`${t.slice(0, i)}networkPolicy: { enforcer: kube-router }\n${t.slice(i)}`, 'every-feature.yaml');
  const soloPolicy = policy('default', 'solo-from-outside', '{"podSelector":{"matchLabels":{"app":"solo"}},"policyTypes":["Ingress"],"ingress":[{"from":[{"ipBlock":{"cidr":"203.0.113.0/24"}}],"ports":[{"port":80}]}]}');
  return { ...spec, manifests: [...spec.manifests, ...SOLO_LOCAL_LB, soloPolicy] };
}

/** The demo's flows, the LoadBalancer (allowed from outside, refused to a pod by the policy), and DNS lookups from a pod. */
async function everyFeatureDrive(c: Cluster): Promise<string[]> {
  const lb = (await c.control.api.list<Service>('services')).find((s) => s.metadata.name === 'solo-local')?.status?.loadBalancer?.ingress?.[0]?.ip;
  assert.ok(lb !== undefined, 'the LoadBalancer Service got an address');
  const out = [...await demo(c)];
  for (const f of await runFlows(c, [
    { title: 'outside → LoadBalancer, Local policy', from: 'external:client', to: `ip:${lb}`, kind: 'http', port: 80 },
    { title: 'pod → LoadBalancer Service, refused by the policy', from: 'pod:webapp01', to: 'service:default/solo-local:80', kind: 'http', port: 80 },
  ])) out.push(f.title, f.outcome, sha(JSON.stringify(f.events, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))), sha(f.pcapng));
  const pod = c.pods.get('default/webapp03');
  assert.ok(pod !== undefined && pod.resolvConf !== undefined);
  for (const name of ['nginx-service', 'kubernetes.default', 'nosuch.example.com']) {
    let r: LookupResult | undefined;
    lookup(pod.ns, name, { resolvConf: pod.resolvConf, hosts: pod.hosts ?? '' }, (x) => { r = x; });
    await c.runFor(3 * SECOND);
    assert.equal(r?.ok, !name.startsWith('nosuch'), `${name}: ${JSON.stringify(r?.error)}`);
    out.push(JSON.stringify(r));
  }
  return out;
}

for (const mode of ['iptables', 'ipvs'] as const) {
  test(`a cluster with every feature (${mode}): flows, LoadBalancer, policy, DNS, node views identical with lazy pods on and off`, async () => {
    await bothWays(everyFeature(mode), everyFeatureDrive);
  });
}

const EXAMPLES = fileURLToPath(new URL('../../examples/experiments/', import.meta.url));

for (const file of ['iptables-vs-ipvs-rr.yaml', 'udp-scale-down-blackhole.yaml']) {
  test(`experiment ${file}: results identical with lazy pods on and off`, async () => {
    const exp = experimentFromArgs({ file: `${EXAMPLES}${file}`, connections: 400, output: 'json', progress: false });
    const run = async (on: boolean): Promise<string> => {
      const r = await runExperiment(exp, { cluster: lazy(experimentClusterSpec(exp), on) });
      return sha(JSON.stringify(r, (k, v: unknown) => (/^(wall|elapsed|cpu)/i.test(k) ? undefined : v)));
    };
    assert.equal(await run(true), await run(false));
  });
}

const noNetns = netnsUnavailableReason();
if (noNetns !== undefined) console.log(`# lazy-pods verify test skipped: ${noNetns}`);

test('netsim verify of a node that kept its pods as records: the same report, and the same node afterwards, with lazy pods on and off', { skip: noNetns ?? false }, async () => {
  const run = async (on: boolean): Promise<{ report: string; views: string; lazyBefore: boolean }> => {
    const c = await Cluster.build(lazy(seedSpec(), on), { apps: false });
    try {
      const lazyBefore = c.clusterNodes.get('node02')?.lazyPods.lazy ?? false;
      const r = await verifyNode(c, { node: 'node02', samples: 4, randomProbes: 60, suites: ['pod-pod', 'pod-remote', 'random'] });
      assert.deepEqual(r.disagreements.map((d) => `${d.suite}: ${d.description}: ${d.reason}`), []);
      return { report: JSON.stringify(r), views: nodeViewNames().map((v) => c.nodeView('node02', v) ?? '').join('\n'), lazyBefore };
    } finally {
      await c.close();
    }
  };
  const on = await run(true);
  const off = await run(false);
  assert.ok(on.lazyBefore && !off.lazyBefore);
  assert.equal(on.report, off.report);
  assert.equal(sha(on.views), sha(off.views));
});

/**
 * The spec-built Cluster over time: determinism per seed (pod names, addresses,
 * rules, trace events), graceful pod termination (preStop keeps the pod serving
 * while its endpoint is terminating/serving, then it and its network are gone),
 * readiness probes driving EndpointSlices and kube-proxy's rules both ways, and bad
 * manifests failing with ManifestError/SpecError while a running cluster stays usable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../cluster/cluster.ts';
import { ManifestError } from '../../cluster/control-plane.ts';
import { parseManifests, SpecError } from '../../cluster/spec.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { MS, SECOND } from '../../netsim/time/scheduler.ts';
import type { EndpointSlice, Service } from '../../control/api/service.ts';
import type { Pod } from '../../control/api/index.ts';
import { fetchFrom, seedSpec } from '../support/spec-cluster.ts';

async function snapshot(seed: number) {
  const cluster = await Cluster.build(seedSpec({ seed }));
  try {
    const pods = [...cluster.pods.values()].map((p) => `${p.key}=${cluster.podIp(p.key)}@${p.node}`);
    const rules = ['node01', 'node02'].map((n) => cluster.nodeView(n, 'iptables-save'));
    const t = runTrace(cluster, resolveEndpoint('pod:webapp01', cluster), resolveEndpoint('service:default/nginx-service', cluster), { proto: 'tcp' });
    return { pods, rules, events: t.events, verdict: t.report.verdict };
  } finally {
    await cluster.close();
  }
}

test('same seed → same pod names, addresses, iptables-save and trace events; another seed → other pod name suffixes', async () => {
  const a = await snapshot(5);
  const b = await snapshot(5);
  assert.equal(a.verdict, 'delivered');
  assert.ok(a.events.length > 20);
  assert.deepEqual(b.pods, a.pods);
  assert.deepEqual(b.rules, a.rules);
  assert.deepEqual(b.events, a.events);
  const c = await snapshot(6);
  const nginx = (s: { pods: string[] }): string[] => s.pods.filter((p) => p.startsWith('default/nginx-deployment-')).map((p) => p.split('=')[0]!);
  assert.equal(nginx(a).length, 2);
  const hash = (name: string): string => name.split('-').slice(-2, -1)[0]!;
  assert.deepEqual(nginx(c).map(hash), nginx(a).map(hash), 'the pod-template-hash depends on the template only');
  for (const n of nginx(c)) assert.ok(!nginx(a).includes(n), `${n}: a new random suffix with another seed`);
  assert.notDeepEqual(c.events, a.events);
});

const slicesOf = async (cluster: Cluster, svc: string): Promise<NonNullable<EndpointSlice['endpoints']>> =>
  (await cluster.control.api.list<EndpointSlice>('endpointslices')).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc).flatMap((s) => s.endpoints ?? []);

test('graceful termination: preStop sleep keeps the pod serving as a terminating/serving endpoint, then pod and network are gone', async () => {
  const cluster = await Cluster.build(seedSpec(), { manifests: parseManifests(`
apiVersion: v1
kind: Pod
metadata: {name: slow, labels: {app: slow}}
spec:
  nodeName: node02
  terminationGracePeriodSeconds: 30
  containers:
  - name: web
    image: nginx
    ports: [{containerPort: 80}]
    lifecycle: {preStop: {exec: {command: ["sh", "-c", "sleep 5"]}}}
---
apiVersion: v1
kind: Service
metadata: {name: slow}
spec:
  selector: {app: slow}
  ports: [{port: 80}]
`) });
  try {
    const pod = cluster.pods.get('default/slow')!;
    const run = [...cluster.clusterNodes.get('node02')!.agent.pods.values()].find((r) => r.key === 'default/slow')!;
    const veth = run.net.hostVeth!;
    const node02 = cluster.nodes.get('node02')!;
    assert.doesNotThrow(() => node02.device(veth));
    const webapp01 = cluster.pods.get('default/webapp01')!.ns;
    const vip = cluster.services.get('default/slow')!.clusterIP;
    assert.deepEqual((await slicesOf(cluster, 'slow')).map((e) => e.conditions), [{ ready: true, serving: true, terminating: false }]);

    const t0 = cluster.sim.clock.now();
    await cluster.control.api.delete('pods', 'default', 'slow');
    await cluster.runFor(SECOND);
    assert.deepEqual((await slicesOf(cluster, 'slow')).map((e) => [e.addresses[0], e.conditions]), [[cluster.podIp('default/slow'), { ready: false, serving: true, terminating: true }]]);
    assert.equal(await fetchFrom(cluster, webapp01, pod.ip, 80, SECOND), 'slow', 'still serving directly');
    // No ready endpoint left: kube-proxy falls back to the serving, terminating one.
    assert.equal(await fetchFrom(cluster, webapp01, vip, 80, SECOND), 'slow', 'and through its Service');
    await cluster.runFor(t0 + 4800 * MS - cluster.sim.clock.now());
    assert.ok(cluster.pods.has('default/slow'), 'running until the preStop hook ends');
    assert.doesNotThrow(() => node02.device(veth));

    await cluster.runFor(t0 + 6 * SECOND - cluster.sim.clock.now());
    assert.equal(cluster.pods.has('default/slow'), false);
    assert.equal((await cluster.control.api.list<Pod>('pods')).some((p) => p.metadata.name === 'slow'), false, 'deleted from the API');
    assert.throws(() => node02.device(veth), 'host veth removed');
    assert.deepEqual(await slicesOf(cluster, 'slow'), []);
    await cluster.runFor(SECOND);
    assert.match(cluster.nodeView('node01', 'iptables-save') ?? '', /"default\/slow has no endpoints" -m tcp --dport 80 -j REJECT/);
    assert.match(await fetchFrom(cluster, webapp01, pod.ip, 80, SECOND), /^failed/);
  } finally {
    await cluster.close();
  }
});

test('readiness probe: a failing /healthz leaves the ready set after failureThreshold × period and kube-proxy\'s rules after its next sync, and comes back', async () => {
  const period = 2;
  const failureThreshold = 3;
  const cluster = await Cluster.build(seedSpec(), { manifests: parseManifests(`
apiVersion: v1
kind: Pod
metadata: {name: probed, labels: {app: probed}}
spec:
  nodeName: node02
  containers:
  - name: web
    image: nginx
    ports: [{containerPort: 80, name: http}]
    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: ${period}, failureThreshold: ${failureThreshold}, successThreshold: 1}
---
apiVersion: v1
kind: Service
metadata: {name: probed}
spec:
  selector: {app: probed}
  ports: [{port: 80}]
`) });
  try {
    const ip = cluster.podIp('default/probed')!;
    const dnat = new RegExp(`-j DNAT --to-destination ${ip.replace(/\./g, '\\.')}:80`);
    const ready = async (): Promise<boolean | undefined> => (await slicesOf(cluster, 'probed'))[0]?.conditions?.ready;
    const inRules = (): boolean => dnat.test(cluster.nodeView('node01', 'iptables-save') ?? '');
    /** Step 100 ms at a time until `cond`; the time it took. */
    const until = async (cond: () => Promise<boolean> | boolean, limitNs: number): Promise<number> => {
      const start = cluster.sim.clock.now();
      while (!(await cond())) {
        assert.ok(cluster.sim.clock.now() - start <= limitNs, 'timed out (virtual time)');
        await cluster.runFor(100 * MS);
      }
      return cluster.sim.clock.now() - start;
    };
    await until(async () => (await ready()) === true && inRules(), 10 * SECOND);

    assert.equal(cluster.clusterNodes.get('node02')!.agent.setHealthy('default/probed', false), true);
    const t0 = cluster.sim.clock.now();
    const dtSlice = await until(async () => (await ready()) === false, 20 * SECOND);
    assert.ok(dtSlice > (failureThreshold - 1) * period * SECOND, `not before ${failureThreshold} failed probes (${dtSlice / 1e6} ms)`);
    assert.ok(dtSlice <= (failureThreshold * period + 0.5) * SECOND, `within failureThreshold × period (${dtSlice / 1e6} ms)`);
    const pod = (await cluster.control.api.list<Pod>('pods')).find((p) => p.metadata.name === 'probed');
    assert.equal(pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
    const dtRules = await until(() => !inRules(), 3 * SECOND);
    assert.ok(dtRules <= 1.2 * SECOND, `kube-proxy drops it at its next sync (syncPeriod 1s), took ${dtRules / 1e6} ms`);
    assert.match(cluster.nodeView('node02', 'iptables-save') ?? '', /"default\/probed has no endpoints" -m tcp --dport 80 -j REJECT/);
    assert.ok(cluster.sim.clock.now() - t0 > 0);

    cluster.clusterNodes.get('node02')!.agent.setHealthy('default/probed', true);
    const dtBack = await until(async () => (await ready()) === true, 10 * SECOND);
    assert.ok(dtBack <= (period + 0.5) * SECOND, `one good probe (successThreshold 1) brings it back: ${dtBack / 1e6} ms`);
    await until(() => inRules(), 1.2 * SECOND);
    assert.equal(await fetchFrom(cluster, cluster.pods.get('default/webapp01')!.ns, cluster.services.get('default/probed')!.clusterIP, 80), 'probed');
  } finally {
    await cluster.close();
  }
});

test('bad manifests: Cluster.build fails with a ManifestError naming the object; apply on a running cluster fails the same way and leaves it usable', async () => {
  const spec = seedSpec();
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ apiVersion: 'v1', kind: 'Frobnicator', metadata: { name: 'x' } }, /^no matches for kind "Frobnicator" in version "v1"$/],
    [{ apiVersion: 'v1', kind: 'Service', metadata: {} }, /^Service: metadata\.name is required$/],
    [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad' }, spec: { ports: [{ port: 70000 }] } }, /^service\/bad: Service "bad" is invalid: .*spec\.ports\[0\]\.port: Invalid value: 70000: must be between 1 and 65535/],
    [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nosel' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'nginx' }] } } } }, /^deployment\.apps\/nosel: Deployment "nosel" is invalid: spec\.selector: Required value/],
  ];
  for (const [m, msg] of cases) {
    await assert.rejects(Cluster.build(spec, { manifests: [m] }), (e: unknown) => e instanceof ManifestError && e.code === 'NETSIM_ERR_MANIFEST' && msg.test(e.message));
  }
  assert.throws(() => parseManifests('apiVersion: v1\nmetadata: {name: x}\n', 'extra.yaml'), (e: unknown) => e instanceof SpecError && e.code === 'NETSIM_SPEC_MANIFEST' && /^extra\.yaml:1:1: manifest has no apiVersion\/kind$/.test(e.message));
  assert.throws(() => parseManifests('kind: [\n', 'broken.yaml'), (e: unknown) => e instanceof SpecError && e.code === 'NETSIM_SPEC_YAML' && /^broken\.yaml:\d+:\d+: /.test(e.message));

  const cluster = await Cluster.build(spec);
  try {
    const before = (await cluster.control.api.list<Service>('services')).map((s) => s.metadata.name).sort();
    for (const [m, msg] of cases) await assert.rejects(cluster.apply([m]), (e: unknown) => e instanceof ManifestError && msg.test(e.message));
    assert.deepEqual((await cluster.control.api.list<Service>('services')).map((s) => s.metadata.name).sort(), before, 'nothing half-created');
    const out = await cluster.apply(parseManifests('apiVersion: v1\nkind: Service\nmetadata: {name: backend2}\nspec:\n  selector: {app: backend}\n  ports: [{port: 8080, targetPort: 80}]\n'));
    assert.deepEqual(out, ['service/backend2 created']);
    assert.equal(await fetchFrom(cluster, cluster.pods.get('default/webapp01')!.ns, cluster.services.get('default/backend2')!.clusterIP, 8080), 'backend');
  } finally {
    await cluster.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './cluster.ts';
import { demoSpec } from './demo-flows.ts';
import { planExit } from './pod-apps.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import type { Deployment, Job, Pod } from '../control/api/index.ts';

const job = (name: string, command: string[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'default' },
  spec: { backoffLimit: 1, ...extra, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36', command }] } } },
});

async function jobPods(c: Cluster, name: string): Promise<Pod[]> {
  return (await c.control.api.list<Pod>('pods', 'default')).filter((p) => p.metadata.labels?.['job-name'] === name);
}

async function getJob(c: Cluster, name: string): Promise<Job> {
  return (await c.control.api.list<Job>('jobs', 'default')).find((j) => j.metadata.name === name)!;
}

test('planExit: annotation, the command\'s exit and sleeps, and what runs forever', () => {
  const pod = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...(annotations ? { annotations } : {}) }, spec: { containers: [], ...spec } }) as unknown as Pod;
  assert.deepEqual(planExit(pod({ restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'sleep 2; echo done; exit 3'] }] })), { code: 3, afterNs: 2 * SECOND });
  assert.deepEqual(planExit(pod({ restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'perl', command: ['perl', '-wle', 'print 1'] }] })), { code: 0, afterNs: SECOND });
  assert.equal(planExit(pod({ restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sleep', 'infinity'] }] })), undefined);
  assert.equal(planExit(pod({ containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 1'] }] })), undefined, 'restartPolicy Always: only the annotation makes it exit');
  assert.equal(planExit(pod({ restartPolicy: 'Never', containers: [{ name: 'c', image: 'nginx' }] })), undefined, 'a server runs until stopped');
  assert.deepEqual(planExit(pod({ containers: [{ name: 'c', image: 'nginx' }] }, { 'netsim.io/exit': '1@2.5s' })), { code: 1, afterNs: 2.5 * SECOND });
  assert.throws(() => planExit(pod({}, { 'netsim.io/exit': 'soon' })), /NETSIM|CODE\[@DURATION\]/);
});

test('job in a cluster: the pod runs its command, exits 0, is Succeeded (Completed) and the Job Complete', async () => {
  const c = await Cluster.build(demoSpec(), { manifests: [job('hello', ['sh', '-c', 'echo hello; sleep 5'])] });
  let pods = await jobPods(c, 'hello');
  assert.equal(pods.length, 1);
  assert.equal(pods[0]!.status?.phase, 'Running', 'sleeping 5 s, 3 s in');
  await c.runFor(3 * SECOND);
  pods = await jobPods(c, 'hello');
  const st = pods[0]!.status!;
  assert.equal(st.phase, 'Succeeded');
  assert.deepEqual([st.containerStatuses?.[0]?.state?.terminated?.exitCode, st.containerStatuses?.[0]?.state?.terminated?.reason], [0, 'Completed']);
  assert.equal(st.conditions?.find((x) => x.type === 'Ready')?.reason, 'PodCompleted');
  const j = await getJob(c, 'hello');
  assert.deepEqual([j.status?.succeeded, j.status?.active, j.status?.conditions?.at(-1)?.type], [1, undefined, 'Complete']);
  assert.equal(c.pods.has(pods[0]!.metadata.namespace + '/' + pods[0]!.metadata.name), false, 'its network is gone');
  await c.close();
});

test('job in a cluster: exit 1 fails the pod, a replacement follows after the 10 s back-off, then BackoffLimitExceeded', async () => {
  const c = await Cluster.build(demoSpec(), { manifests: [job('crash', ['sh', '-c', 'exit 1'])] });
  await c.runFor(2 * SECOND);
  let pods = await jobPods(c, 'crash');
  assert.deepEqual(pods.map((p) => p.status?.phase), ['Failed']);
  assert.equal(pods[0]!.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 1);
  await c.runFor(12 * SECOND);
  pods = await jobPods(c, 'crash');
  assert.deepEqual(pods.map((p) => p.status?.phase), ['Failed', 'Failed']);
  const j = await getJob(c, 'crash');
  assert.deepEqual([j.status?.failed, j.status?.conditions?.map((x) => x.type)], [2, ['FailureTarget', 'Failed']]);
  await c.close();
});

test('restartPolicy Always: a container that exits restarts with kubelet\'s back-off (CrashLoopBackOff), restartCount counts', async () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'flaky', namespace: 'default', annotations: { 'netsim.io/exit': '1@1s' } }, spec: { nodeName: 'node02', containers: [{ name: 'c', image: 'busybox' }] } };
  const c = await Cluster.build(demoSpec(), { manifests: [pod], settleNs: 2 * SECOND });
  const get = async () => (await c.control.api.list<Pod>('pods', 'default')).find((p) => p.metadata.name === 'flaky')!.status!.containerStatuses![0]!;
  let cs = await get();
  assert.deepEqual([cs.restartCount, cs.state?.waiting?.reason, cs.lastState?.terminated?.exitCode], [1, 'CrashLoopBackOff', 1]);
  await c.runFor(9.5 * SECOND);
  cs = await get();
  assert.deepEqual([cs.restartCount, Object.keys(cs.state ?? {})], [1, ['running']], 'restarted after 10 s');
  await c.runFor(SECOND);
  cs = await get();
  assert.deepEqual([cs.restartCount, cs.state?.waiting?.message?.startsWith('back-off 20s')], [2, true], 'the back-off doubles');
  await c.close();
});

test('reconcile: a turn whose rounds run out with writes still coming leaves the rest to the next tick', async () => {
  const c = await Cluster.build(demoSpec());
  await c.control.apply({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'many', namespace: 'default' },
    spec: { replicas: 40, selector: { matchLabels: { app: 'many' } }, template: { metadata: { labels: { app: 'many' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } } },
  });
  // One round writes the ReplicaSet, the pods and their bindings; the Deployment's status is a later round's.
  assert.ok((await c.reconcile(1)) > 0);
  const available = async (): Promise<number | undefined> => (await c.control.api.list<Deployment>('deployments', 'default')).find((d) => d.metadata.name === 'many')?.status?.availableReplicas;
  assert.notEqual(await available(), 40);
  assert.equal(c.needsReconcile, true, 'the control plane still has work after a cut-short turn');
  await c.runFor(SECOND);
  assert.equal(await available(), 40);
  assert.equal(c.needsReconcile, false);
  await c.close();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOB_CONTROLLER_UID } from '../resources/index.ts';
import { controllerCluster } from '../../tests/support/controller-cluster.ts';
import type { Job, KubeObject, Pod } from '../api/index.ts';

async function setup() {
  const { reg, r, mgr, clock, advance } = await controllerCluster();
  const pods = async (): Promise<Pod[]> => ((await reg.list(r('pods'), 'default')).items as unknown as Pod[]).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const job = async (): Promise<Job> => await reg.get(r('jobs'), 'default', 'pi') as unknown as Job;
  /** What kubelet reports when a container exits. */
  const exit = async (p: Pod, code: number): Promise<void> => {
    const terminated = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', finishedAt: clock().toISOString().replace(/\.\d{3}Z$/, 'Z') };
    await reg.update(r('pods'), 'default', p.metadata.name!, { ...p, status: { ...p.status, phase: code === 0 ? 'Succeeded' : 'Failed', containerStatuses: [{ name: 'pi', ready: false, restartCount: 0, state: { terminated } }] } }, {}, 'status');
  };
  return { reg, r, mgr, pods, job, exit, advance };
}

const JOB = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi' },
  spec: { ...spec, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34.0', command: ['perl', '-Mbignum=bpi', '-wle', 'print bpi(2000)'] }] } } },
});

test('job: generated selector, parallelism, completions; Complete with SuccessCriteriaMet first', async () => {
  const c = await setup();
  await c.reg.create(c.r('jobs'), 'default', JOB({ completions: 3, parallelism: 2 }));
  const created = await c.job();
  assert.deepEqual(created.spec.selector, { matchLabels: { [JOB_CONTROLLER_UID]: created.metadata.uid } });
  assert.equal(created.spec.template.metadata?.labels?.['job-name'], 'pi');
  assert.deepEqual([created.spec.backoffLimit, created.spec.completionMode, created.spec.podReplacementPolicy], [6, 'NonIndexed', 'TerminatingOrFailed']);
  await c.mgr.settle();
  let pods = await c.pods();
  assert.equal(pods.length, 2, 'parallelism 2');
  assert.ok(pods.every((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === 'pi' && p.metadata.ownerReferences?.[0]?.kind === 'Job'));
  assert.deepEqual([(await c.job()).status?.active, (await c.job()).status?.ready], [2, 2]);
  await c.exit(pods[0]!, 0);
  await c.exit(pods[1]!, 0);
  await c.mgr.settle();
  pods = await c.pods();
  assert.equal(pods.length, 3, 'one more for the third completion, not two');
  let j = await c.job();
  assert.deepEqual([j.status?.succeeded, j.status?.active], [2, 1]);
  await c.exit(pods.find((p) => p.status?.phase === 'Running')!, 0);
  await c.mgr.settle();
  j = await c.job();
  assert.deepEqual(j.status?.conditions?.map((x) => [x.type, x.status, x.reason]), [['SuccessCriteriaMet', 'True', 'CompletionsReached'], ['Complete', 'True', 'CompletionsReached']]);
  assert.deepEqual([j.status?.succeeded, j.status?.active, j.status?.failed], [3, undefined, undefined]);
  assert.ok(j.status?.completionTime);
  assert.equal((await c.pods()).length, 3, 'finished pods stay');
});

test('job: failed pods are replaced after the back-off; past backoffLimit the Job fails', async () => {
  const c = await setup();
  await c.reg.create(c.r('jobs'), 'default', JOB({ backoffLimit: 1 }));
  await c.mgr.settle();
  await c.exit((await c.pods())[0]!, 1);
  await c.mgr.settle();
  assert.equal((await c.pods()).length, 1, 'no replacement within the 10 s back-off');
  assert.equal((await c.job()).status?.failed, 1);
  c.advance(10_000);
  await c.mgr.settle();
  const pods = await c.pods();
  assert.equal(pods.length, 2, 'replaced after 10 s');
  await c.exit(pods.find((p) => p.status?.phase === 'Running')!, 2);
  await c.mgr.settle();
  const j = await c.job();
  assert.deepEqual(j.status?.conditions?.map((x) => [x.type, x.reason, x.message]), [
    ['FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
    ['Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
  ]);
  assert.equal(j.status?.failed, 2);
  assert.equal(j.status?.completionTime, undefined);
});

test('job: restartPolicy Always is refused (422) as upstream', async () => {
  const c = await setup();
  await assert.rejects(c.reg.create(c.r('jobs'), 'default', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bad' }, spec: { template: { spec: { containers: [{ name: 'x', image: 'busybox' }] } } } }),
    (e: Error & { code?: number }) => e.code === 422 && /spec.template.spec.restartPolicy: Unsupported value: "Always"/.test(e.message));
});

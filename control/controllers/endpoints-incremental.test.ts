/**
 * The endpoint controllers work per changed Service (issue 23): a Service whose inputs
 * (the Service, the pods it selects, its Endpoints or slices) kept their revisions since
 * a pass with nothing to write is not recomputed. Exactness: after every step of random
 * churn — scaling, relabelling and deleting pods, editing and deleting Services — fresh
 * controllers, which remember nothing, find nothing to write either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controllerCluster } from '../../tests/support/controller-cluster.ts';
import fc from 'fast-check';
import type { KubeObject, Pod, Service } from '../api/index.ts';
import { EndpointsController, EndpointSliceController } from './endpoints.ts';

type Step = { op: 'scale'; dep: number; replicas: number } | { op: 'relabel'; pod: number; app: number } | { op: 'deletePod'; pod: number } | { op: 'svcPort'; svc: number; port: number } | { op: 'deleteSvc'; svc: number } | { op: 'createSvc'; svc: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('scale' as const), dep: fc.nat(2), replicas: fc.nat(4) }),
  fc.record({ op: fc.constant('relabel' as const), pod: fc.nat(20), app: fc.nat(2) }),
  fc.record({ op: fc.constant('deletePod' as const), pod: fc.nat(20) }),
  fc.record({ op: fc.constant('svcPort' as const), svc: fc.nat(2), port: fc.integer({ min: 80, max: 82 }) }),
  fc.record({ op: fc.constant('deleteSvc' as const), svc: fc.nat(2) }),
  fc.record({ op: fc.constant('createSvc' as const), svc: fc.nat(2) }),
);

const svcObj = (i: number, port = 80): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}` }, spec: { selector: { app: `a${i}` }, ports: [{ name: 'p', port, targetPort: 80 }] } });

test('property: after any churn, controllers that remember nothing find nothing to write', async () => {
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
    const { reg, r, api, mgr, clock, advance } = await controllerCluster({ nodes: [{ name: 'n1' }], gracefulPodDeletion: false });
    for (let i = 0; i < 3; i++) {
      await reg.create(r('deployments'), 'default', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `d${i}` }, spec: { replicas: 2, selector: { matchLabels: { dep: `d${i}` } }, template: { metadata: { labels: { dep: `d${i}`, app: `a${i}` } }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] } } } });
      await reg.create(r('services'), 'default', svcObj(i));
    }
    await mgr.settle();
    for (const s of steps) {
      const pods = (await reg.list(r('pods'), 'default')).items as unknown as Pod[];
      const pod = pods[s.op === 'relabel' || s.op === 'deletePod' ? s.pod % Math.max(1, pods.length) : 0];
      try {
        if (s.op === 'scale') {
          const d = await reg.get(r('deployments'), 'default', `d${s.dep}`);
          await reg.update(r('deployments'), 'default', `d${s.dep}`, { ...d, spec: { ...(d as { spec: object }).spec, replicas: s.replicas } } as KubeObject);
        } else if (s.op === 'relabel' && pod !== undefined) {
          await reg.update(r('pods'), 'default', pod.metadata.name!, { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, app: `a${s.app}` } } } as KubeObject);
        } else if (s.op === 'deletePod' && pod !== undefined) {
          await reg.delete(r('pods'), 'default', pod.metadata.name!, { gracePeriodSeconds: 0 });
        } else if (s.op === 'svcPort') {
          const svc = await reg.get(r('services'), 'default', `s${s.svc}`) as unknown as Service;
          await reg.update(r('services'), 'default', `s${s.svc}`, { ...svc, spec: { ...svc.spec, ports: [{ name: 'p', port: s.port, targetPort: 80, protocol: 'TCP' }] } } as unknown as KubeObject);
        } else if (s.op === 'deleteSvc') {
          await reg.delete(r('services'), 'default', `s${s.svc}`, {});
        } else if (s.op === 'createSvc') {
          await reg.create(r('services'), 'default', svcObj(s.svc));
        }
      } catch (e) {
        // Steps that do not apply (a Service already gone or already there) are no-ops.
        if (![404, 409].includes((e as { code?: number }).code ?? 0)) throw e;
      }
      advance(1000);
      await mgr.settle();
      const fresh = [new EndpointsController(api, clock), new EndpointSliceController(api)];
      for (const c of fresh) assert.equal(await c.sync(), 0, `${c.name} after ${JSON.stringify(s)}: a controller without memory would still write`);
    }
  }), { numRuns: 25 });
});

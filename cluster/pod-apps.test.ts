import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Pod } from '../control/api/index.ts';
import { APPS_ANNOTATION, planApps, PodAppError } from './pod-apps.ts';

const pod = (containers: Pod['spec']['containers'], annotations?: Record<string, string>): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', ...(annotations !== undefined ? { annotations } : {}) }, spec: { containers },
});

test('apps are guessed from images and ports the way a reader of the manifest would', () => {
  assert.deepEqual(planApps(pod([{ name: 'n', image: 'nginx:1.7.9', ports: [{ containerPort: 80 }] }])), [{ kind: 'http', port: 80, container: 'n' }]);
  assert.deepEqual(planApps(pod([{ name: 'n', image: 'docker.io/library/nginx@sha256:abc' }])), [{ kind: 'http', port: 80, container: 'n' }], 'registry path and digest; no ports → 80');
  assert.deepEqual(planApps(pod([{ name: 'e', image: 'registry.k8s.io/e2e-test-images/agnhost-echo:2.40' }])), [{ kind: 'tcp-echo', port: 7, container: 'e' }, { kind: 'udp-echo', port: 7, container: 'e' }]);
  assert.deepEqual(planApps(pod([{ name: 'e', image: 'netsim/udp-echo', ports: [{ containerPort: 53, protocol: 'UDP' }] }])), [{ kind: 'udp-echo', port: 53, container: 'e' }]);
  assert.deepEqual(planApps(pod([{ name: 'a', image: 'myapp:v2', ports: [{ containerPort: 8080 }, { containerPort: 9000, protocol: 'UDP' }] }])), [{ kind: 'http', port: 8080, container: 'a' }, { kind: 'udp-echo', port: 9000, container: 'a' }]);
  assert.deepEqual(planApps(pod([{ name: 'c', image: 'busybox' }, { name: 'd', image: 'netsim/http-client' }])), [], 'no ports, no server');
  assert.deepEqual(planApps(pod([{ name: 'a', image: 'nginx', ports: [{ containerPort: 80 }] }, { name: 'b', image: 'httpd', ports: [{ containerPort: 80 }] }])), [{ kind: 'http', port: 80, container: 'a' }], 'one listener per port, in the first container that declares it');
});

test('the netsim.io/apps annotation overrides the guess; bad values are PodAppErrors naming the pod', () => {
  const img = [{ name: 'n', image: 'nginx' }];
  assert.deepEqual(planApps(pod(img, { [APPS_ANNOTATION]: 'http:8080, udp-echo:53,tcp-echo' })), [{ kind: 'http', port: 8080 }, { kind: 'udp-echo', port: 53 }, { kind: 'tcp-echo', port: 7 }]);
  assert.deepEqual(planApps(pod(img, { [APPS_ANNOTATION]: 'none' })), []);
  assert.throws(() => planApps(pod(img, { [APPS_ANNOTATION]: 'ftp:21' })), (e: unknown) => e instanceof PodAppError && e.code === 'NETSIM_ERR_POD_APPS' && /pod default\/p: annotation netsim.io\/apps: "ftp:21"/.test(e.message));
  assert.throws(() => planApps(pod(img, { [APPS_ANNOTATION]: 'http:70000' })), PodAppError);
});

test('property: any annotation text gives a plan with valid ports or a PodAppError, nothing else', () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.array(fc.oneof(fc.constantFrom('http', 'udp-echo', 'tcp-echo', 'x', ' ', ':', ','), fc.nat(99999).map(String)), { maxLength: 8 }).map((a) => a.join(''))), (text) => {
    try {
      const plans = planApps(pod([{ name: 'n', image: 'nginx' }], { [APPS_ANNOTATION]: text }));
      for (const p of plans) assert.ok(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535);
    } catch (e) {
      if (!(e instanceof PodAppError)) throw e;
    }
  }), { numRuns: 500 });
});

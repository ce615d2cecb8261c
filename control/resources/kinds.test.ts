import { test } from 'node:test';
import assert from 'node:assert/strict';
// Each kind's own rules (defaults, validation), through its module.
import { formatFieldError, invalidMessage, fieldErrorCauses } from '../api/index.ts';
import type { Deployment, KubeObject, Pod, Service } from '../api/index.ts';
import { defaultService, validateService } from './service.ts';
import { defaultDeployment, validateDeployment } from './deployment.ts';
import { pod as podKind } from './pod.ts';
import { namespace } from './namespace.ts';
import { KINDS, resourceForKind, toTable } from './index.ts';
import { buildApp } from '../server/app.ts';
import { MemoryStore } from '../store/memory-store.ts';

const CONFIG = { serviceCIDR: '10.96.0.0/12', nodePortBase: 30000, nodePortSize: 2768 };
const validatePod = (p: Pod) => podKind.validate(p as unknown as KubeObject, CONFIG);
const defaultPod = (p: Pod): Pod => { podKind.defaults!(p as unknown as KubeObject); return p; };

const svc = (spec: Partial<Service['spec']>, name = 'web'): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }], ...spec } as Service['spec'] });

test('service nodePort out of range reads as kube-apiserver', () => {
  const errs = validateService(svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }));
  assert.deepEqual(errs.map(formatFieldError), ['spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767']);
  assert.equal(invalidMessage('Service', 'web', errs), 'Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767');
  assert.deepEqual(fieldErrorCauses(errs), [{ reason: 'FieldValueInvalid', message: 'Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767', field: 'spec.ports[0].nodePort' }]);
});

test('service: type, protocol, names, ports, affinity, policies', () => {
  const f = (s: Service): string[] => validateService(s).map(formatFieldError);
  assert.deepEqual(f(svc({ type: 'Foo' as 'ClusterIP' })), ['spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"']);
  assert.deepEqual(f(svc({ ports: [{ port: 80, protocol: 'ICMP' as 'TCP' }] })), ['spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']);
  assert.deepEqual(f(svc({ ports: [{ port: 0 }] })), ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']);
  assert.deepEqual(f(svc({ ports: [{ port: 80, name: 'a' }, { port: 81 }] })), ['spec.ports[1].name: Required value']);
  assert.deepEqual(f(svc({ ports: [{ port: 80, nodePort: 30001 }] })), ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]);
  assert.match(f(svc({}, 'Web_1'))[0]!, /^metadata\.name: Invalid value: "Web_1": a DNS-1035 label must consist of/);
  assert.deepEqual(f(svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } })), ['spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400']);
  assert.deepEqual(f(svc({ externalTrafficPolicy: 'Local' })), ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services']);
  assert.deepEqual(f(svc({ type: 'ExternalName', ports: [] })), ['spec.externalName: Required value']);
  assert.deepEqual(f(svc({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/33'] })), ['spec.loadBalancerSourceRanges[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR']);
  assert.deepEqual(f(svc({ externalIPs: ['1.2.3.999'] })), ['spec.externalIPs[0]: Invalid value: "1.2.3.999": must be a valid IP address']);
  assert.deepEqual(f(svc({ ports: [{ port: 80, targetPort: 'Bad_Name' }] })).length, 1);
  assert.deepEqual(f(svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30000, targetPort: 'http' }], sessionAffinity: 'ClientIP', externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local' })), []);
});

test('service defaults: type, protocol, targetPort, affinity, policies', () => {
  const s = defaultService(svc({ type: 'NodePort', ports: [{ port: 80 }], sessionAffinity: 'ClientIP' }));
  assert.equal(s.spec.ports![0]!.protocol, 'TCP');
  assert.equal(s.spec.ports![0]!.targetPort, 80);
  assert.equal(s.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds, 10800);
  assert.equal(s.spec.externalTrafficPolicy, 'Cluster');
  assert.equal(s.spec.internalTrafficPolicy, 'Cluster');
  const c = defaultService(svc({}));
  assert.equal(c.spec.type, 'ClusterIP');
  assert.equal(c.spec.sessionAffinity, 'None');
  assert.equal(c.spec.externalTrafficPolicy, undefined);
});

test('pod and deployment validation', () => {
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 70000 }] }] } };
  assert.deepEqual(validatePod(pod).map(formatFieldError), ['spec.containers[0].image: Required value', 'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive']);
  assert.deepEqual(validatePod({ ...pod, spec: { containers: [] } }).map(formatFieldError), ['spec.containers: Required value']);
  const d: Deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: { replicas: -1, selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
  assert.deepEqual(validateDeployment(d).map(formatFieldError), [
    'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`',
  ]);
  const dd = defaultDeployment({ ...d, spec: { ...d.spec, replicas: undefined as unknown as number } });
  assert.equal(dd.spec.replicas, 1);
  assert.deepEqual(dd.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
  assert.equal(defaultPod({ ...pod }).spec.containers[0]!.ports![0]!.protocol, 'TCP');
  assert.match(namespace.validate({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } }, CONFIG).map(formatFieldError)[0]!, /RFC 1123 label/);
});

test('the registry: one module per kind, unique names, every table row as wide as its columns', () => {
  const names = KINDS.map((k) => `${k.info.group}/${k.info.resource}`);
  assert.equal(new Set(names).size, names.length);
  assert.equal(new Set(KINDS.map((k) => `${k.info.group}/${k.info.kind}`)).size, KINDS.length);
  const now = new Date('2026-01-01T00:00:00Z');
  for (const k of KINDS) {
    assert.ok(resourceForKind(k.info.group ? `${k.info.group}/${k.info.version}` : k.info.version, k.info.kind) === k.info);
    if (!k.table) continue;
    const t = toTable(k.info, [{ metadata: { name: 'x', namespace: 'default', creationTimestamp: '2025-12-31T23:59:00Z' }, spec: {}, status: {}, endpoints: [] } as KubeObject], now, {});
    assert.equal(t.rows[0]!.cells.length, t.columnDefinitions.length, k.info.kind);
  }
});

test('field selectors: metadata.name/namespace everywhere, each kind its own labels, anything else 400 with the conversion message', async () => {
  const app = buildApp({ store: new MemoryStore() });
  await app.ready();
  try {
    const get = async (url: string) => app.inject(url);
    assert.equal((await get('/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn1,status.phase!%3DFailed')).statusCode, 200);
    assert.equal((await get('/api/v1/namespaces?fieldSelector=metadata.name%3Ddefault')).statusCode, 200);
    const bad = await get('/api/v1/namespaces/default/pods?fieldSelector=spec.foo%3Dx');
    assert.equal(bad.statusCode, 400);
    assert.equal(JSON.parse(bad.body).message, 'field label not supported: spec.foo');
    const plain = await get('/api/v1/namespaces/default/endpoints?fieldSelector=spec.nodeName%3Dx');
    assert.equal(plain.statusCode, 400);
    assert.equal(JSON.parse(plain.body).message, '"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"');
    const ns = JSON.parse((await get('/api/v1/namespaces?fieldSelector=status.phase%3DActive')).body) as { items: unknown[] };
    assert.equal(ns.items.length, 4);
  } finally {
    await app.close();
  }
});

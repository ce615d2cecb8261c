import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from './app.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');
let now = T0;
let uidN = 0;
const clock = (): Date => new Date(now);
const uid = (): string => `uid-${++uidN}`;
const TBL = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const AGG = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

let app: FastifyInstance;
before(async () => {
  app = buildApp({ store: new MemoryStore({ historyWindow: 50 }), clock, uid, bodyLimit: 64 * 1024, bookmarkIntervalMs: 50 });
  await app.ready();
});
after(async () => { await app.close(); });

const json = (r: { body: string }): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;
const deployment = (name: string, replicas = 2, image = 'nginx') => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image, ports: [{ containerPort: 80 }] }] } } },
});
const pod = (name: string, labels: Record<string, string> = {}, nodeName?: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) } });

test('version, health, discovery (legacy and aggregated v2 chosen exactly), openapi', async () => {
  const v = json(await app.inject('/version'));
  assert.equal(v.major, '1'); assert.equal(v.minor, '32'); assert.match(String(v.gitVersion), /^v1\.32\./);
  assert.equal((await app.inject('/healthz')).body, 'ok');
  const legacy = await app.inject({ url: '/api', headers: { accept: 'application/json, */*' } });
  assert.equal(json(legacy).kind, 'APIVersions');
  const agg = await app.inject({ url: '/apis', headers: { accept: AGG } });
  assert.equal(agg.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  const items = json(agg).items as { metadata: { name: string }; versions: { resources: { resource: string; subresources?: { subresource: string }[] }[] }[] }[];
  assert.deepEqual(items.map((i) => i.metadata.name).sort(), ['apps', 'batch', 'discovery.k8s.io', 'networking.k8s.io']);
  const deploy = items.find((i) => i.metadata.name === 'apps')!.versions[0]!.resources.find((r) => r.resource === 'deployments')!;
  assert.deepEqual(deploy.subresources!.map((s) => s.subresource).sort(), ['scale', 'status']);
  // v2beta1-only clients (kubectl <= 1.29) must not get the v2 body.
  const beta = await app.inject({ url: '/api', headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json' } });
  assert.equal(json(beta).apiVersion, 'apidiscovery.k8s.io/v2beta1');
  const core = json(await app.inject('/api/v1')) as { resources: { name: string; group?: string; kind: string }[] };
  assert.ok(core.resources.some((r) => r.name === 'pods/binding'));
  const apps = json(await app.inject('/apis/apps/v1')) as { resources: { name: string; group?: string; kind: string }[] };
  assert.deepEqual(apps.resources.find((r) => r.name === 'deployments/scale'), { name: 'deployments/scale', singularName: '', namespaced: true, kind: 'Scale', verbs: ['get', 'patch', 'update'], group: 'autoscaling', version: 'v1' });
  const idx = json(await app.inject('/openapi/v3')) as { paths: Record<string, { serverRelativeURL: string }> };
  const doc = json(await app.inject(idx.paths['apis/apps/v1']!.serverRelativeURL)) as { paths: Record<string, { patch?: { parameters: { name: string }[]; 'x-kubernetes-group-version-kind': unknown } }> };
  const p = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']!.patch!;
  assert.ok(p.parameters.some((x) => x.name === 'fieldValidation'));
  assert.deepEqual(p['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
  const v2 = await app.inject({ url: '/openapi/v2', headers: { accept: 'application/json' } });
  assert.equal(v2.statusCode, 200);
  assert.equal(json(v2).swagger, '2.0');
  // The protobuf form is not served: a client that accepts only it gets 406 and falls back.
  assert.equal((await app.inject({ url: '/openapi/v2', headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } })).statusCode, 406);
});

test('bootstrap: default namespaces and the kubernetes service on the first service IP', async () => {
  const ns = json(await app.inject('/api/v1/namespaces')) as { items: { metadata: { name: string } }[] };
  assert.deepEqual(ns.items.map((n) => n.metadata.name), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  const k = json(await app.inject('/api/v1/namespaces/default/services/kubernetes')) as { spec: { clusterIP: string } };
  assert.equal(k.spec.clusterIP, '10.96.0.1');
});

test('CRUD: create defaults namespace and metadata, conflicts, exact Status shapes', async () => {
  const c = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods?fieldManager=kubectl-run', payload: pod('p1', { app: 'a' }) });
  assert.equal(c.statusCode, 201);
  const p1 = json(c) as { metadata: Record<string, unknown>; status: { phase: string } };
  assert.equal(p1.metadata.namespace, 'default');
  assert.match(String(p1.metadata.uid), /^uid-\d+$/);
  assert.equal(p1.metadata.creationTimestamp, '2025-01-01T00:00:00Z');
  assert.equal(p1.metadata.resourceVersion, String(Number(p1.metadata.resourceVersion)));
  assert.equal(p1.status.phase, 'Pending');
  const dup = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods', payload: pod('p1') });
  assert.deepEqual(json(dup), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "p1" already exists', reason: 'AlreadyExists', details: { name: 'p1', kind: 'pods' }, code: 409 });
  const nf = await app.inject('/apis/apps/v1/namespaces/default/deployments/nope');
  assert.deepEqual(json(nf), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'deployments.apps "nope" not found', reason: 'NotFound', details: { name: 'nope', group: 'apps', kind: 'deployments' }, code: 404 });
  const wrongNs = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods', payload: { ...pod('p2'), metadata: { name: 'p2', namespace: 'other' } } });
  assert.equal(json(wrongNs).reason, 'BadRequest');
  const noNs = await app.inject({ method: 'POST', url: '/api/v1/namespaces/ghost/pods', payload: pod('p2') });
  assert.equal(json(noNs).message, 'namespaces "ghost" not found');
  // Optimistic concurrency.
  const stale = { ...p1, metadata: { ...p1.metadata, resourceVersion: '1', labels: { app: 'b' } } };
  const conflict = await app.inject({ method: 'PUT', url: '/api/v1/namespaces/default/pods/p1', payload: stale });
  assert.equal(conflict.statusCode, 409);
  assert.equal(json(conflict).message, 'Operation cannot be fulfilled on pods "p1": the object has been modified; please apply your changes to the latest version and try again');
  const ok = await app.inject({ method: 'PUT', url: '/api/v1/namespaces/default/pods/p1', payload: { ...p1, metadata: { ...p1.metadata, labels: { app: 'b' } } } });
  assert.equal(ok.statusCode, 200);
  assert.ok(Number((json(ok).metadata as { resourceVersion: string }).resourceVersion) > Number(p1.metadata.resourceVersion));
  // Status is separate: a PUT of the main resource cannot change it, /status can.
  const cur = json(ok) as { status: Record<string, unknown> };
  const st = await app.inject({ method: 'PUT', url: '/api/v1/namespaces/default/pods/p1/status', payload: { ...cur, status: { phase: 'Running', podIP: '10.244.0.5' } } });
  assert.equal((json(st).status as { phase: string }).phase, 'Running');
  const main = await app.inject({ method: 'PUT', url: '/api/v1/namespaces/default/pods/p1', payload: { ...json(st), status: { phase: 'Failed' } } });
  assert.equal((json(main).status as { phase: string }).phase, 'Running');
  // Delete returns the object; second delete is 404.
  const del = await app.inject({ method: 'DELETE', url: '/api/v1/namespaces/default/pods/p1', payload: { propagationPolicy: 'Background' } });
  assert.equal((json(del).metadata as { name: string }).name, 'p1');
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/namespaces/default/pods/p1' })).statusCode, 404);
});

test('validation errors are 422 Invalid with details.causes', async () => {
  const r = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/services', payload: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] } } });
  assert.equal(r.statusCode, 422);
  assert.deepEqual(json(r), {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: 'Service "bad" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
    reason: 'Invalid',
    details: { name: 'bad', kind: 'Service', causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767', field: 'spec.ports[0].nodePort' }] },
    code: 422,
  });
});

test('service allocation: ClusterIP from the CIDR, nodePort collisions rejected, IP kept on update', async () => {
  const mk = (name: string, nodePort?: number) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80, ...(nodePort ? { nodePort } : {}) }] } });
  const a = json(await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/services', payload: mk('svc-a', 30000) })) as { spec: { clusterIP: string; clusterIPs: string[]; ports: { nodePort: number; targetPort: number; protocol: string }[] } };
  assert.match(a.spec.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
  assert.deepEqual(a.spec.clusterIPs, [a.spec.clusterIP]);
  assert.deepEqual(a.spec.ports[0], { port: 80, nodePort: 30000, protocol: 'TCP', targetPort: 80 });
  const clash = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/services', payload: mk('svc-b', 30000) });
  assert.equal(clash.statusCode, 422);
  assert.equal(json(clash).message, 'Service "svc-b" is invalid: spec.ports[0].nodePort: Invalid value: 30000: provided port is already allocated');
  const b = json(await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/services', payload: mk('svc-b') })) as { spec: { clusterIP: string; ports: { nodePort: number }[] } };
  assert.notEqual(b.spec.clusterIP, a.spec.clusterIP);
  assert.ok(b.spec.ports[0]!.nodePort >= 30000 && b.spec.ports[0]!.nodePort <= 32767 && b.spec.ports[0]!.nodePort !== 30000);
  const ipClash = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/services', payload: { ...mk('svc-c'), spec: { ...mk('svc-c').spec, clusterIP: a.spec.clusterIP } } });
  assert.match(String(json(ipClash).message), /provided IP is already allocated/);
  const patched = json(await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/default/services/svc-b', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { labels: { x: 'y' } } } })) as { spec: { clusterIP: string; ports: { nodePort: number }[] } };
  assert.equal(patched.spec.clusterIP, b.spec.clusterIP);
  assert.equal(patched.spec.ports[0]!.nodePort, b.spec.ports[0]!.nodePort);
});

test('lists: label/field selectors, all namespaces, limit/continue, bad selector is 400', async () => {
  await app.inject({ method: 'POST', url: '/api/v1/namespaces', payload: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sel' } } });
  for (let i = 0; i < 5; i++) {
    const r = await app.inject({ method: 'POST', url: '/api/v1/namespaces/sel/pods', payload: pod(`q${i}`, { app: i % 2 ? 'odd' : 'even', i: String(i) }, i < 2 ? 'node-1' : undefined) });
    assert.equal(r.statusCode, 201);
  }
  const names = async (url: string): Promise<string[]> => (json(await app.inject(url)).items as { metadata: { name: string } }[]).map((p) => p.metadata.name);
  assert.deepEqual(await names('/api/v1/namespaces/sel/pods?labelSelector=app%3Dodd'), ['q1', 'q3']);
  assert.deepEqual(await names('/api/v1/namespaces/sel/pods?labelSelector=' + encodeURIComponent('i in (0,4),app!=odd')), ['q0', 'q4']);
  assert.deepEqual(await names('/api/v1/namespaces/sel/pods?labelSelector=' + encodeURIComponent('!i')), []);
  assert.deepEqual(await names('/api/v1/namespaces/sel/pods?fieldSelector=spec.nodeName%3Dnode-1'), ['q0', 'q1']);
  assert.deepEqual(await names('/api/v1/namespaces/sel/pods?fieldSelector=metadata.name%3Dq3'), ['q3']);
  assert.ok((await names('/api/v1/pods?fieldSelector=metadata.namespace%3Dsel')).length === 5);
  const bad = await app.inject('/api/v1/pods?labelSelector=' + encodeURIComponent('a in b'));
  assert.equal(bad.statusCode, 400); assert.equal(json(bad).reason, 'BadRequest');
  // Paging: limit 2 → continue tokens walk all pages at the first page's revision.
  const seen: string[] = [];
  let cont = '';
  let pages = 0;
  do {
    const page = json(await app.inject(`/api/v1/namespaces/sel/pods?limit=2${cont ? `&continue=${cont}` : ''}`)) as { items: { metadata: { name: string } }[]; metadata: { continue?: string } };
    seen.push(...page.items.map((p) => p.metadata.name));
    cont = page.metadata.continue ?? '';
    pages++;
  } while (cont);
  assert.deepEqual(seen, ['q0', 'q1', 'q2', 'q3', 'q4']);
  assert.equal(pages, 3);
  assert.equal((await app.inject('/api/v1/pods?continue=garbage')).statusCode, 400);
});

test('Table responses with the real columns; -o wide columns have priority 1', async () => {
  const r = await app.inject({ url: '/api/v1/namespaces/sel/pods?limit=500', headers: { accept: TBL } });
  assert.match(String(r.headers['content-type']), /as=Table/);
  const t = json(r) as { kind: string; columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[]; object: { kind: string; metadata: { name: string } } }[] };
  assert.equal(t.kind, 'Table');
  assert.deepEqual(t.columnDefinitions.map((c) => `${c.name}:${c.priority}`), ['Name:0', 'Ready:0', 'Status:0', 'Restarts:0', 'Age:0', 'IP:1', 'Node:1', 'Nominated Node:1', 'Readiness Gates:1']);
  now = T0 + 65_000;
  const r2 = json(await app.inject({ url: '/api/v1/namespaces/sel/pods?labelSelector=i%3D0', headers: { accept: TBL } })) as typeof t;
  assert.deepEqual(r2.rows[0]!.cells, ['q0', '0/1', 'Pending', '0', '65s', '<none>', 'node-1', '<none>', '<none>']);
  assert.equal(r2.rows[0]!.object.kind, 'PartialObjectMetadata');
  const svc = json(await app.inject({ url: '/api/v1/namespaces/default/services/svc-a', headers: { accept: TBL } })) as typeof t;
  assert.deepEqual(svc.columnDefinitions.map((c) => c.name), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
  assert.deepEqual(svc.rows[0]!.cells.slice(3, 5), ['<none>', '80:30000/TCP']);
  assert.equal(svc.rows[0]!.cells[6], 'app=x');
  await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments', payload: deployment('web') });
  const d = json(await app.inject({ url: '/apis/apps/v1/namespaces/default/deployments', headers: { accept: TBL } })) as typeof t;
  assert.deepEqual(d.columnDefinitions.map((c) => c.name), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(d.rows[0]!.cells.filter((_c, i) => i !== 4), ['web', '0/2', 0, 0, 'c', 'nginx', 'app=web']);
});

test('patches: strategic (keeps ports), json, merge on /scale, apply creates then updates; dryRun never persists', async () => {
  const url = '/apis/apps/v1/namespaces/default/deployments/web';
  const smp = await app.inject({ method: 'PATCH', url: url + '?fieldManager=kubectl-client-side-apply&fieldValidation=Strict', headers: { 'content-type': 'application/strategic-merge-patch+json' }, payload: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'c' }], containers: [{ name: 'c', image: 'nginx:2' }] } } } } });
  assert.equal(smp.statusCode, 200, smp.body);
  const d = json(smp) as { metadata: { generation: number }; spec: { template: { spec: { containers: { image: string; ports: unknown[] }[] } } } };
  assert.equal(d.spec.template.spec.containers[0]!.image, 'nginx:2');
  assert.equal(d.spec.template.spec.containers[0]!.ports.length, 1);
  assert.equal(d.metadata.generation, 2, 'a spec change bumps generation');
  const lbl = json(await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { labels: { tier: 'fe' } } } })) as { metadata: { generation: number } };
  assert.equal(lbl.metadata.generation, 2, 'a label change does not');
  const scale = await app.inject({ method: 'PATCH', url: url + '/scale', headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { replicas: 4 } } });
  assert.deepEqual({ kind: json(scale).kind, apiVersion: json(scale).apiVersion, spec: json(scale).spec }, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 4 } });
  assert.equal((json(await app.inject(url)).spec as { replicas: number }).replicas, 4);
  const jp = await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'replace', path: '/spec/replicas', value: 3 }] });
  assert.equal((json(jp).spec as { replicas: number }).replicas, 3);
  const failedTest = await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'test', path: '/spec/replicas', value: 9 }] });
  assert.equal(failedTest.statusCode, 422);
  const dry = await app.inject({ method: 'PATCH', url: url + '?dryRun=All', headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { replicas: 9 } } });
  assert.equal((json(dry).spec as { replicas: number }).replicas, 9);
  assert.equal((json(await app.inject(url)).spec as { replicas: number }).replicas, 3);
  const dryCreate = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments?dryRun=All', payload: deployment('ghost') });
  assert.equal(dryCreate.statusCode, 201);
  assert.equal((await app.inject('/apis/apps/v1/namespaces/default/deployments/ghost')).statusCode, 404);
  // Pinned resourceVersion in a patch (kubectl diff) → Conflict.
  const pinned = await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { resourceVersion: '1' } } });
  assert.equal(pinned.statusCode, 409);
  // Server-side apply: create, then drop a label it applied earlier.
  const applyUrl = '/api/v1/namespaces/default/services/ssa?fieldManager=kubectl&force=false';
  const cfg = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ssa', labels: { a: '1', b: '2' } }, spec: { selector: { app: 'ssa' }, ports: [{ port: 80 }] } };
  const c1 = await app.inject({ method: 'PATCH', url: applyUrl, headers: { 'content-type': 'application/apply-patch+yaml' }, payload: JSON.stringify(cfg) });
  assert.equal(c1.statusCode, 201);
  const mf = (json(c1).metadata as { managedFields: { manager: string; operation: string }[] }).managedFields;
  assert.deepEqual(mf.map((m) => `${m.manager}/${m.operation}`), ['kubectl/Apply']);
  const yaml = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: ssa\n  labels:\n    a: "1"\nspec:\n  selector:\n    app: ssa\n  ports:\n  - port: 80\n';
  const c2 = await app.inject({ method: 'PATCH', url: applyUrl, headers: { 'content-type': 'application/apply-patch+yaml' }, payload: yaml });
  assert.equal(c2.statusCode, 200);
  assert.deepEqual((json(c2).metadata as { labels: unknown }).labels, { a: '1' });
  const noMgr = await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/default/services/ssa', headers: { 'content-type': 'application/apply-patch+yaml' }, payload: yaml });
  assert.equal(noMgr.statusCode, 400);
});

test('pod binding subresource', async () => {
  await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods', payload: pod('bind-me') });
  const b = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods/bind-me/binding', payload: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-me' }, target: { kind: 'Node', name: 'node-2' } } });
  assert.equal(b.statusCode, 201);
  assert.equal(json(b).status, 'Success');
  assert.equal((json(await app.inject('/api/v1/namespaces/default/pods/bind-me')).spec as { nodeName: string }).nodeName, 'node-2');
  const again = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods/bind-me/binding', payload: { target: { name: 'node-1' } } });
  assert.equal(again.statusCode, 409);
});

test('bad input never crashes: 400 malformed JSON, 415 unknown patch type, 413 too large, 405, 404 unknown path', async () => {
  const bad = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods', headers: { 'content-type': 'application/json' }, payload: '{"metadata":' });
  assert.equal(bad.statusCode, 400); assert.equal(json(bad).reason, 'BadRequest'); assert.equal(json(bad).kind, 'Status');
  const notObj = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods', headers: { 'content-type': 'application/json' }, payload: '[1,2]' });
  assert.equal(notObj.statusCode, 400);
  const ct = await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/default/pods/bind-me', headers: { 'content-type': 'application/x-protobuf' }, payload: 'x' });
  assert.equal(ct.statusCode, 415); assert.equal(json(ct).reason, 'UnsupportedMediaType');
  const ct2 = await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/default/pods/bind-me', headers: { 'content-type': 'application/json' }, payload: '{}' });
  assert.equal(ct2.statusCode, 415);
  const big = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ x: 'a'.repeat(70 * 1024) }) });
  assert.equal(big.statusCode, 413); assert.equal(json(big).reason, 'RequestEntityTooLarge');
  const m = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods/bind-me' , payload: {} });
  assert.equal(m.statusCode, 405); assert.equal(json(m).reason, 'MethodNotAllowed');
  const u = await app.inject('/api/v1/widgets');
  assert.equal(u.statusCode, 404); assert.equal(json(u).message, 'the server could not find the requested resource');
  const badYaml = await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/default/services/ssa?fieldManager=x', headers: { 'content-type': 'application/apply-patch+yaml' }, payload: 'a: [' });
  assert.equal(badYaml.statusCode, 400);
  assert.equal((await app.inject('/version')).statusCode, 200, 'still serving');
});

test('bearer token: 401 Status without it, health stays open', async () => {
  const secured = buildApp({ store: new MemoryStore(), token: 's3cret', bootstrap: false });
  try {
    const r = await secured.inject('/api/v1/pods');
    assert.equal(r.statusCode, 401);
    assert.deepEqual(json(r), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    assert.equal((await secured.inject({ url: '/api/v1/pods', headers: { authorization: 'Bearer s3cret' } })).statusCode, 200);
    assert.equal((await secured.inject('/healthz')).statusCode, 200);
  } finally { await secured.close(); }
});

// ------------------------------------------------------------------ watches on a listening server

async function listen(): Promise<string> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function readEvents(url: string, headers: Record<string, string>, until: (evs: { type: string; object: Record<string, unknown> }[]) => boolean, act?: () => Promise<void>): Promise<{ type: string; object: Record<string, unknown> }[]> {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  assert.equal(res.status, 200);
  const evs: { type: string; object: Record<string, unknown> }[] = [];
  const dec = new TextDecoder();
  let buf = '';
  let acted = false;
  const timer = setTimeout(() => ac.abort(), 5000);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { evs.push(JSON.parse(buf.slice(0, i)) as { type: string; object: Record<string, unknown> }); buf = buf.slice(i + 1); }
      if (until(evs)) break;
      if (act && !acted) { acted = true; await act(); }
    }
  } catch (e) { if (!ac.signal.aborted) throw e; } finally { clearTimeout(timer); ac.abort(); }
  return evs;
}

test('watch: resume from resourceVersion, selector transitions become ADDED/DELETED, bookmarks, Table watch', async () => {
  const base = await listen();
  const list = json(await app.inject('/api/v1/namespaces/sel/pods')) as { metadata: { resourceVersion: string } };
  const rv = list.metadata.resourceVersion;
  const evs = await readEvents(`${base}/api/v1/namespaces/sel/pods?watch=true&resourceVersion=${rv}&labelSelector=app%3Dodd&allowWatchBookmarks=true`, {}, (e) => e.some((x) => x.type === 'BOOKMARK') && e.filter((x) => x.type !== 'BOOKMARK').length >= 3, async () => {
    await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/sel/pods/q1', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { labels: { app: 'even' } } } });
    await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/sel/pods/q0', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { labels: { app: 'odd' } } } });
    await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/sel/pods/q0', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { labels: { extra: 'x' } } } });
    await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/sel/pods/q2', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { labels: { extra: 'x' } } } });
  });
  const real = evs.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${(e.object.metadata as { name: string }).name}`);
  assert.deepEqual(real, ['DELETED q1', 'ADDED q0', 'MODIFIED q0'], 'q2 (never matching) is not seen');
  const bm = evs.find((e) => e.type === 'BOOKMARK')!;
  assert.deepEqual(Object.keys(bm.object.metadata as object), ['resourceVersion']);
  // Table watch: first event carries the columns, later ones not.
  const tevs = await readEvents(`${base}/api/v1/namespaces/sel/pods?watch=true&resourceVersion=${rv}`, { accept: TBL }, (e) => e.length >= 3);
  assert.equal(tevs[0]!.object.kind, 'Table');
  assert.equal((tevs[0]!.object.columnDefinitions as unknown[]).length, 9);
  assert.equal((tevs[1]!.object.columnDefinitions as unknown[]).length, 0);
});

test('watch: a resourceVersion older than the history window is an ERROR event with 410 Expired', async () => {
  const base = await listen();
  for (let i = 0; i < 60; i++) await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/sel/pods/q4', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { annotations: { n: String(i) } } } });
  const evs = await readEvents(`${base}/api/v1/namespaces/sel/pods?watch=true&resourceVersion=2`, {}, (e) => e.length >= 1);
  assert.equal(evs[0]!.type, 'ERROR');
  assert.deepEqual({ ...evs[0]!.object, message: undefined }, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: undefined, reason: 'Expired', code: 410 });
  assert.match(String(evs[0]!.object.message), /^too old resource version: 2 \(\d+\)$/);
});

test('watch over WebSocket: same events, one JSON per frame', async () => {
  const base = await listen();
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/namespaces/sel/pods?watch=true&fieldSelector=metadata.name%3Dq3`);
  const frames: { type: string; object: { metadata: { name: string; labels: Record<string, string> } } }[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (d) => {
      frames.push(JSON.parse(String(d)) as (typeof frames)[number]);
      if (frames.length === 1) void app.inject({ method: 'PATCH', url: '/api/v1/namespaces/sel/pods/q3', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { labels: { ws: 'yes' } } } });
      if (frames.length === 2) resolve();
    });
    ws.on('error', reject);
  });
  ws.close();
  assert.deepEqual(frames.map((f) => `${f.type} ${f.object.metadata.name}`), ['ADDED q3', 'MODIFIED q3']);
  assert.equal(frames[1]!.object.metadata.labels.ws, 'yes');
});

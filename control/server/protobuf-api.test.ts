// Protobuf through the HTTP routes: request bodies as kubectl sends them, responses in
// protobuf when Accept asks for it first, Status errors, protobuf watch frames, and
// fast-check bodies that must never give a 500 nor store anything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from './app.ts';
import { decodeObject, encodeObject } from './protobuf/index.ts';
import { messageForKind } from './protobuf/schema.ts';
import { arbMessage } from './protobuf/arbitraries.ts';
import { RESOURCES } from '../resources/index.ts';
import { apiVersionOf, resourcePath } from '../api/index.ts';

const PB = 'application/vnd.kubernetes.protobuf';
const KUBECTL_ACCEPT = `${PB},application/json`;
const fixture = (n: string): Buffer => Buffer.from(readFileSync(new URL(`./protobuf/testdata/kubectl-create-${n}.pb.hex`, import.meta.url), 'utf8').trim(), 'hex');

let app: FastifyInstance;
before(async () => {
  app = buildApp({ store: new MemoryStore() });
  await app.ready();
});
after(async () => { await app.close(); });

test('protobuf API: kubectl\'s create bodies are stored, and answered in protobuf', async () => {
  const r = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-create&fieldValidation=Strict', headers: { 'content-type': PB, accept: KUBECTL_ACCEPT }, payload: fixture('deployment') });
  assert.equal(r.statusCode, 201, r.body);
  assert.equal(r.headers['content-type'], PB);
  const d = decodeObject(r.rawPayload) as { kind: string; metadata: { name: string; uid?: string; namespace: string }; spec: { replicas: number; template: { spec: { containers: { image: string; ports: { containerPort: number }[] }[] } } } };
  assert.equal(d.kind, 'Deployment');
  assert.equal(d.metadata.name, 'web');
  assert.equal(d.metadata.namespace, 'default');
  assert.ok(d.metadata.uid);
  assert.equal(d.spec.replicas, 3);
  assert.equal(d.spec.template.spec.containers[0]!.image, 'nginx:1.27');
  assert.equal(d.spec.template.spec.containers[0]!.ports[0]!.containerPort, 80);

  // The same object as JSON for a JSON client.
  const j = await app.inject({ url: '/apis/apps/v1/namespaces/default/deployments/web', headers: { accept: 'application/json, */*' } });
  assert.equal(j.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal((JSON.parse(j.body) as { spec: { replicas: number } }).spec.replicas, 3);

  // Lists, namespaces and services.
  for (const [url, n] of [['/api/v1/namespaces', 'namespace'], ['/api/v1/namespaces/default/services', 'service']] as const) {
    const c = await app.inject({ method: 'POST', url, headers: { 'content-type': PB, accept: KUBECTL_ACCEPT }, payload: fixture(n) });
    assert.equal(c.statusCode, 201, `${n}: ${c.body}`);
  }
  const list = await app.inject({ url: '/api/v1/namespaces', headers: { accept: KUBECTL_ACCEPT } });
  const nl = decodeObject(list.rawPayload) as { kind: string; metadata: { resourceVersion: string }; items: { metadata: { name: string } }[] };
  assert.equal(nl.kind, 'NamespaceList');
  assert.ok(Number(nl.metadata.resourceVersion) > 0);
  assert.ok(nl.items.some((i) => i.metadata.name === 'foo'));
  const svc = decodeObject((await app.inject({ url: '/api/v1/namespaces/default/services/web', headers: { accept: KUBECTL_ACCEPT } })).rawPayload) as { spec: { ports: { targetPort: unknown }[]; clusterIP: string } };
  assert.deepEqual(svc.spec.ports.map((p) => p.targetPort), [8080, 'https']);
  assert.match(svc.spec.clusterIP, /^10\.96\./);

  // DELETE with a protobuf DeleteOptions body, as client-go's typed clients send it.
  const opts = encodeObject({ apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, propagationPolicy: 'Background' })!;
  const del = await app.inject({ method: 'DELETE', url: '/api/v1/namespaces/default/services/web', headers: { 'content-type': PB, accept: KUBECTL_ACCEPT }, payload: Buffer.from(opts) });
  assert.equal(del.statusCode, 200, del.body);
  assert.equal((decodeObject(del.rawPayload) as { metadata: { name: string } }).metadata.name, 'web');
});

test('protobuf API: errors are Status objects, in protobuf for protobuf clients; bad bodies are 400', async () => {
  const nf = await app.inject({ url: '/api/v1/namespaces/default/pods/nope', headers: { accept: KUBECTL_ACCEPT } });
  assert.equal(nf.statusCode, 404);
  assert.equal(nf.headers['content-type'], PB);
  assert.deepEqual(decodeObject(nf.rawPayload), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "nope" not found', reason: 'NotFound', details: { name: 'nope', kind: 'pods' }, code: 404 });

  const garbage = await app.inject({ method: 'POST', url: '/api/v1/namespaces', headers: { 'content-type': PB, accept: 'application/json' }, payload: Buffer.from('k8s\0\x0a\x7f') });
  assert.equal(garbage.statusCode, 400);
  const s = JSON.parse(garbage.body) as { kind: string; reason: string; message: string };
  assert.equal(s.kind, 'Status');
  assert.equal(s.reason, 'BadRequest');
  assert.match(s.message, /the object provided is unrecognized/);

  // An unserved resource is 404 before its body is looked at, as kube-apiserver routes first.
  const truncated = encodeObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })!;
  const unserved = await app.inject({ method: 'POST', url: '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', headers: { 'content-type': PB }, payload: Buffer.concat([Buffer.from(truncated), Buffer.from([0xff])]) });
  assert.equal(unserved.statusCode, 404, unserved.body);

  const unsupported = await app.inject({ method: 'POST', url: '/api/v1/namespaces', headers: { 'content-type': 'application/cbor' }, payload: 'x' });
  assert.equal(unsupported.statusCode, 415);
  assert.match(unsupported.body, /application\/vnd\.kubernetes\.protobuf/);
});

test('protobuf API property: arbitrary protobuf bodies give a success or a 4xx Status, never 500, and a 4xx stores nothing', async () => {
  const count = async (): Promise<number> => (JSON.parse((await app.inject('/api/v1/namespaces/default/pods')).body) as { items: unknown[] }).items.length;
  const pod = encodeObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } })!;
  const body = fc.oneof(
    fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat({ max: 6 })).map(([edits, cut]) => {
      const out = Uint8Array.from(pod);
      for (const [i, v] of edits) out[4 + (i % (out.length - 4))] = v;
      return out.subarray(0, out.length - cut);
    }),
    fc.uint8Array({ maxLength: 40 }).map((b) => Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...b])),
  );
  let n = 0;
  await fc.assert(fc.asyncProperty(body, async (b) => {
    const before = await count();
    const r = await app.inject({ method: 'POST', url: `/api/v1/namespaces/default/pods?x=${n++}`, headers: { 'content-type': PB, accept: 'application/json' }, payload: Buffer.from(b) });
    assert.ok(r.statusCode < 500, `${r.statusCode}: ${r.body}`);
    if (r.statusCode >= 400) {
      assert.equal((JSON.parse(r.body) as { kind: string }).kind, 'Status');
      assert.equal(await count(), before);
    } else {
      const name = (JSON.parse(r.body) as { metadata: { name: string } }).metadata.name;
      await app.inject({ method: 'DELETE', url: `/api/v1/namespaces/default/pods/${encodeURIComponent(name)}?gracePeriodSeconds=0` });
    }
  }), { numRuns: 300 });
});

test('protobuf API property: well-typed objects of every served kind, posted as protobuf, give a success or a 4xx Status, and a 4xx stores nothing', async () => {
  const codes = new Map<number, number>();
  for (const r of RESOURCES) {
    const def = messageForKind(apiVersionOf(r), r.kind);
    assert.ok(def, `${r.kind} has no protobuf message: add it to ROOTS in scripts/gen-kube-schemas.mjs`);
    const url = resourcePath(r, r.namespaced ? 'default' : undefined);
    const names = async (): Promise<string> => (JSON.parse((await app.inject(url)).body) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name).sort().join();
    await fc.assert(fc.asyncProperty(arbMessage(def.name, 'wild'), fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/), async (body, name) => {
      const meta = { ...(body['metadata'] as object | undefined), name, ...(r.namespaced ? { namespace: 'default' } : {}) };
      const before = await names();
      const res = await app.inject({ method: 'POST', url, headers: { 'content-type': PB, accept: 'application/json' }, payload: Buffer.from(encodeObject({ ...body, apiVersion: apiVersionOf(r), kind: r.kind, metadata: meta })!) });
      codes.set(res.statusCode, (codes.get(res.statusCode) ?? 0) + 1);
      assert.ok(res.statusCode < 500, `${r.kind} ${res.statusCode}: ${res.body.slice(0, 400)}`);
      if (res.statusCode >= 400) {
        assert.equal((JSON.parse(res.body) as { kind: string }).kind, 'Status');
        assert.equal(await names(), before);
      } else {
        await app.inject({ method: 'DELETE', url: resourcePath(r, r.namespaced ? 'default' : undefined, (JSON.parse(res.body) as { metadata: { name: string } }).metadata.name) + '?gracePeriodSeconds=0' });
      }
    }), { numRuns: 40 });
  }
  // Both outcomes happen: the objects are neither all refused nor all accepted.
  assert.ok((codes.get(201) ?? 0) > 0 && (codes.get(422) ?? 0) > 0, JSON.stringify([...codes]));
});

test('protobuf API: a protobuf watch streams length-prefixed WatchEvent frames', async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const frames: Buffer[] = [];
  let contentType = '';
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/namespaces?watch=true&timeoutSeconds=1', headers: { accept: KUBECTL_ACCEPT } }, (res) => {
      contentType = String(res.headers['content-type']);
      let buf = Buffer.alloc(0);
      res.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          frames.push(buf.subarray(4, 4 + buf.readUInt32BE(0)));
          buf = buf.subarray(4 + buf.readUInt32BE(0));
        }
      });
      res.on('end', () => { assert.equal(buf.length, 0); resolve(); });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(contentType, 'application/vnd.kubernetes.protobuf;stream=watch');
  assert.ok(frames.length >= 4, `frames: ${frames.length}`);
  const names: string[] = [];
  for (const f of frames) {
    // WatchEvent{type=1 string, object=2 RawExtension{raw=1 bytes}}: the raw serializer, no envelope.
    assert.equal(f[0], 0x0a);
    const typeLen = f[1]!;
    assert.equal(f.subarray(2, 2 + typeLen).toString(), 'ADDED');
    let o = 2 + typeLen;
    assert.equal(f[o], 0x12);
    o += 1;
    while (f[o]! & 0x80) o++;
    o += 1;
    assert.equal(f[o], 0x0a);
    o += 1;
    while (f[o]! & 0x80) o++;
    o += 1;
    names.push((decodeObject(f.subarray(o)) as { metadata: { name: string } }).metadata.name);
  }
  assert.ok(names.includes('default') && names.includes('kube-system'), names.join());
});

test('protobuf API: a protobuf watch over WebSocket sends one binary WatchEvent per message, without the length prefix', async () => {
  const port = (app.server.address() as AddressInfo).port; // listening since the previous test
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/namespaces?watch=true&fieldSelector=metadata.name%3Ddefault`, { headers: { accept: KUBECTL_ACCEPT } });
  const msg = await new Promise<{ data: Buffer; binary: boolean }>((resolve, reject) => {
    ws.on('message', (data, binary) => resolve({ data: data as Buffer, binary }));
    ws.on('error', reject);
  });
  ws.close();
  assert.equal(msg.binary, true);
  const r = new BinaryReader(msg.data);
  assert.deepEqual(r.tag(), [1, 2]);
  assert.equal(r.string(), 'ADDED');
  assert.deepEqual(r.tag(), [2, 2]);
  const raw = new BinaryReader(r.bytes());
  assert.deepEqual(raw.tag(), [1, 2]);
  assert.equal((decodeObject(raw.bytes()) as { metadata: { name: string } }).metadata.name, 'default');
});

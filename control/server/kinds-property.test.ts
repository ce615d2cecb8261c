// Property (fast-check): objects of every served kind, mutated (values of the wrong type,
// out of range, deleted or added fields), posted, put and patched with every patch type
// (JSON patch, merge, strategic merge, apply), and written through the kind's status and
// scale subresources. Every answer is a success or a 4xx Status, never a 500; a 4xx
// stores nothing, and the object is never lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { ResourceInfo } from '../api/index.ts';
import { resourcePath } from '../api/index.ts';
import { KINDS } from '../resources/index.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from './app.ts';

const template = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, name: 'http' }] }] } };

/** A valid object of each kind (name and namespace are set per request). */
const SAMPLES: Readonly<Record<string, Record<string, unknown>>> = {
  Namespace: { metadata: { labels: { team: 'x' } } },
  Node: { metadata: { labels: { 'kubernetes.io/hostname': 'n' } }, spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.2' }] } },
  Pod: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }] }], nodeSelector: { disk: 'ssd' }, restartPolicy: 'Always' } },
  Service: { spec: { type: 'NodePort', selector: { app: 'a' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], sessionAffinity: 'None', externalIPs: ['192.0.2.1'] } },
  Endpoints: { subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 80, protocol: 'TCP' }] }] },
  Event: { involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Started', message: 'ok', type: 'Normal', count: 1 },
  ConfigMap: { data: { 'a.conf': 'x=1' }, binaryData: { bin: 'AAEC' } },
  Secret: { type: 'Opaque', data: { user: 'YWRtaW4=' }, stringData: { pass: 'secret' } },
  ServiceAccount: { secrets: [{ name: 's' }], automountServiceAccountToken: false },
  EndpointSlice: { addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  Deployment: { spec: { replicas: 2, selector: { matchLabels: { app: 'a' } }, template, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } } } },
  ReplicaSet: { spec: { replicas: 2, selector: { matchLabels: { app: 'a' } }, template } },
  DaemonSet: { spec: { selector: { matchLabels: { app: 'a' } }, template, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } } },
  StatefulSet: { spec: { replicas: 2, serviceName: 'web', selector: { matchLabels: { app: 'a' } }, template, podManagementPolicy: 'OrderedReady' } },
  Job: { spec: { completions: 2, parallelism: 1, backoffLimit: 3, template: { spec: { ...template.spec, restartPolicy: 'Never' } } } },
  NetworkPolicy: { spec: {
    podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe'] }] } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 80, endPort: 90 }, { port: 'http' }] }],
    egress: [{ to: [{ podSelector: {} }], ports: [{ protocol: 'UDP', port: 53 }] }],
  } },
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path into a value: keys of objects, indices of arrays. */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? {} : value;
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  let cur = copy as Record<string | number, Json>;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(cur) && typeof last === 'number') cur.splice(last, 1); else delete cur[last];
  } else cur[last] = value;
  return copy;
}

const weird: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.constantFrom<Json | undefined>(undefined, null, 0, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 1e300, '', 'x', '80', '25%', 'None', true, false, [], {}, [5], ['a'], { a: 5 }, { a: { b: [1] } }, 'not base64!', '2024-13-45T99:00:00Z', 'ä名'),
  fc.string({ maxLength: 12 }),
  fc.integer(),
);
const mutation = fc.record({ pick: fc.nat(), value: weird, addKey: fc.option(fc.constantFrom('zzz', 'spec', 'status', 'metadata', 'kind', 'apiVersion', 'größe'), { nil: undefined }) });

function mutate(obj: Json, muts: readonly { pick: number; value: Json | undefined; addKey: string | undefined }[]): Json {
  let out = obj;
  for (const m of muts) {
    const all = paths(out).filter((p) => p.length > 0);
    if (all.length === 0) break;
    const p = all[m.pick % all.length]!;
    out = setAt(out, m.addKey === undefined ? p : [...p.slice(0, -1), m.addKey], m.value);
  }
  return out;
}

/** One RFC 6902 operation, drawn: an op (or a bogus one), a path into the object (or a broken pointer), a `from` and a value. */
const jsonPatchOp = fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'test', 'move', 'copy', 'bogus'), pick: fc.nat(), from: fc.nat(), value: weird, broken: fc.constantFrom<string | undefined>(undefined, undefined, undefined, '', '/', '/-', '/~2x', 'no-slash', '/metadata/name/x') });

/** RFC 6901: `~` is `~0`, `/` is `~1`. */
const pointer = (p: (string | number)[]): string => p.map((x) => `/${String(x).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

function jsonPatch(obj: Json, ops: ReadonlyArray<{ op: string; pick: number; from: number; value: Json | undefined; broken: string | undefined }>): Json {
  const all = paths(obj);
  return ops.map((o) => {
    const op: Record<string, Json> = { op: o.op, path: o.broken ?? pointer(all[o.pick % all.length]!) };
    if (o.op === 'move' || o.op === 'copy') op['from'] = pointer(all[o.from % all.length]!);
    if (o.value !== undefined && o.op !== 'remove') op['value'] = o.value;
    return op;
  });
}

/** How a client can write an existing object of kind `r`: the verbs, patch types and subresource writes it serves. */
function writes(r: ResourceInfo): string[] {
  const w = ['POST', 'PUT', 'json-patch', 'merge', 'strategic', 'apply'];
  if (r.subresources.includes('status')) w.push('status-put', 'status-merge', 'status-json-patch');
  if (r.subresources.includes('scale')) w.push('scale-put', 'scale-merge', 'scale-json-patch', 'scale-strategic');
  return w;
}

const PATCH_TYPES: Readonly<Record<string, string>> = {
  'json-patch': 'application/json-patch+json', merge: 'application/merge-patch+json', strategic: 'application/strategic-merge-patch+json', apply: 'application/apply-patch+yaml',
};

let app: FastifyInstance;
let seq = 0;
before(async () => { app = buildApp({ store: new MemoryStore() }); await app.ready(); });
after(async () => { await app.close(); });

function assertAnswer(r: { statusCode: number; body: string }, what: string): void {
  assert.ok(r.statusCode < 500, `${what}: ${r.statusCode} ${r.body.slice(0, 300)}`);
  if (r.statusCode < 300) return;
  assert.ok(r.statusCode >= 400, `${what}: ${r.statusCode}`);
  const s = JSON.parse(r.body) as { kind: string; status: string; code: number; message: unknown };
  assert.equal(s.kind, 'Status', what);
  assert.equal(s.status, 'Failure', what);
  assert.equal(s.code, r.statusCode, what);
  assert.equal(typeof s.message, 'string', what);
}

const typeMeta = (r: ResourceInfo) => ({ apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind });

test('every served kind has a sample here', () => {
  assert.deepEqual(KINDS.map((k) => k.info.kind).filter((k) => SAMPLES[k] === undefined), []);
});

for (const { info: r } of KINDS) {
  test(`property: mutated ${r.kind} bodies (POST, PUT, JSON/merge/strategic/apply PATCH, status and scale subresources) answer 2xx or a 4xx Status; a 4xx stores nothing`, async () => {
    const coll = resourcePath(r, r.namespaced ? 'default' : undefined);
    const base = { ...typeMeta(r), ...SAMPLES[r.kind]!, metadata: { ...(SAMPLES[r.kind]!['metadata'] as object), name: `base-${r.resource}` } } as Json;
    const first = await app.inject({ method: 'POST', url: coll, payload: base as object });
    assert.equal(first.statusCode, 201, first.body);
    const url = resourcePath(r, r.namespaced ? 'default' : undefined, `base-${r.resource}`);
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(jsonPatchOp, { minLength: 1, maxLength: 3 }), fc.constantFrom('', 'Strict', 'Warn', 'Ignore'), fc.constantFrom(...writes(r)), async (muts, ops, fv, verb) => {
      const name = `m-${seq++}`;
      const q = fv ? `?fieldValidation=${fv}&fieldManager=fuzz` : '?fieldManager=fuzz';
      if (verb === 'POST') {
        const body = mutate({ ...(base as object), metadata: { ...((base as Record<string, object>)['metadata']), name } } as Json, muts);
        const n0 = (JSON.parse((await app.inject(coll)).body) as { items: unknown[] }).items.length;
        const res = await app.inject({ method: 'POST', url: `${coll}${q}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        assertAnswer(res, `POST ${JSON.stringify(body)}`);
        const n1 = (JSON.parse((await app.inject(coll)).body) as { items: unknown[] }).items.length;
        assert.equal(n1, n0 + (res.statusCode === 201 ? 1 : 0));
        if (res.statusCode === 201) await app.inject({ method: 'DELETE', url: resourcePath(r, r.namespaced ? 'default' : undefined, (JSON.parse(res.body) as { metadata: { name: string } }).metadata.name) });
        return;
      }
      const before = (await app.inject(url)).body;
      const current = JSON.parse(before) as Json;
      // `status-put`, `scale-merge`, …: the write goes to the subresource, with the method or patch type after the dash.
      const dash = verb.indexOf('-');
      const sub = verb.startsWith('status-') || verb.startsWith('scale-') ? verb.slice(0, dash) : undefined;
      const how = sub !== undefined ? verb.slice(dash + 1) : verb;
      const target = sub !== undefined ? `${url}/${sub}` : url;
      const got = sub === 'scale' ? await app.inject(target) : undefined;
      if (got !== undefined) assert.equal(got.statusCode, 200, `GET ${target}: ${got.body}`);
      const onto = got !== undefined ? JSON.parse(got.body) as Json : current;
      const body = how === 'json-patch' ? jsonPatch(onto, ops) : mutate(how === 'put' || how === 'PUT' ? onto : sub === 'scale' ? { spec: { replicas: 3 } } : (base as Json), muts);
      const res = how === 'put' || how === 'PUT'
        ? await app.inject({ method: 'PUT', url: `${target}${q}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
        : await app.inject({ method: 'PATCH', url: `${target}${q}`, payload: JSON.stringify(body), headers: { 'content-type': PATCH_TYPES[how]! } });
      assertAnswer(res, `${verb} ${JSON.stringify(body)}`);
      const now = await app.inject(url);
      if (res.statusCode >= 400) assert.equal(now.body, before, `${verb} answered ${res.statusCode} but changed the object`);
      // Keep the object alive for the next runs (a mutation may rename or delete nothing, but a patch can change it).
      assert.equal(now.statusCode, 200);
    }), { numRuns: 120 });
  });
}

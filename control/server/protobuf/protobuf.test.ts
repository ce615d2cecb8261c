import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { decodeObject, encodeObject, encodeWatchFrame, ProtobufDecodeError, wantsProtobuf } from './index.ts';
import { allMessageNames, messageDef, messageForKind } from './schema.ts';
import { decodeMessage } from './codec.ts';
import { arbMessage } from './arbitraries.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
/** Go's JSON writes zero times as null; the decoder leaves them out. */
const withoutNulls = (v: unknown): unknown => Array.isArray(v) ? v.map(withoutNulls)
  : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)])) : v;

const TESTDATA = new URL('./testdata/', import.meta.url);

test('protobuf: bodies the real kubectl 1.32 sent decode to the JSON kubectl prints for the same object', () => {
  // testdata/kubectl-create-*.pb.hex: the bytes `kubectl create … --dry-run=server` POSTed;
  // *.json: `kubectl create … --dry-run=client -o json` (Go's encoding/json of the same object).
  const names = readdirSync(TESTDATA).filter((f) => f.endsWith('.pb.hex')).map((f) => f.slice(0, -'.pb.hex'.length));
  assert.ok(names.length >= 7, names.join());
  for (const n of names) {
    const got = decodeObject(unhex(readFileSync(new URL(`${n}.pb.hex`, TESTDATA), 'utf8')));
    const want = withoutNulls(JSON.parse(readFileSync(new URL(`${n}.json`, TESTDATA), 'utf8')));
    assert.deepEqual(got, want, n);
    // and what the server would send back decodes to the same object
    assert.deepEqual(decodeObject(encodeObject(got)!), want, `${n} round trip`);
  }
});

test('protobuf: hand-derived encodings from the proto definitions', () => {
  // k8s\0 | Unknown{ typeMeta{apiVersion "v1", kind "Namespace"}, raw Namespace{metadata{name "foo"}}, contentEncoding "", contentType "" }
  assert.equal(hex(encodeObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo' } })!),
    '6b387300' + '0a0f' + '0a027631' + '12094e616d657370616365' + '1207' + '0a050a03666f6f' + '1a00' + '2200');

  // ServicePort.targetPort is an IntOrString{type=1, intVal=2, strVal=3}: 8080 -> {0, 8080}, "https" -> {1, "https"}.
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080 }, { name: 'h', port: 443, targetPort: 'https' }] } };
  const svcRaw = '0a030a0173' + '121e' + '0a09' + '1850' + '2205' + '0800' + '10903f' + '0a11' + '0a0168' + '18bb03' + '2209' + '0801' + '1a056874747073';
  assert.equal(hex(encodeObject(svc)!), `6b387300 0a0d 0a027631 1207 53657276696365 1225 ${svcRaw} 1a00 2200`.replace(/ /g, ''));
  assert.deepEqual(decodeObject(encodeObject(svc)!), svc);

  // Deployment.spec.replicas is *int32: a zero is written (08 00) and kept on decode; a negative int32 is a 10-byte varint.
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 0, minReadySeconds: -1 } };
  const depRaw = '0a030a0164' + '120d' + '0800' + '28ffffffffffffffffff01';
  assert.equal(hex(encodeObject(dep)!).slice(-(depRaw.length + 8)), `${depRaw}1a002200`);
  assert.deepEqual(decodeObject(encodeObject(dep)!), dep);
  // IntOrString holds any int32, the most negative too (found by the round-trip property).
  const surge = { apiVersion: 'apps/v1', kind: 'Deployment', spec: { strategy: { rollingUpdate: { maxSurge: -2147483648 } } } };
  assert.deepEqual(decodeObject(encodeObject(surge)!), surge);

  // metav1.Time is Timestamp{seconds=1, nanos=2}: 2024-01-02T03:04:05Z = 1704164645 s. MicroTime keeps microseconds.
  const ev = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', creationTimestamp: '2024-01-02T03:04:05Z' }, eventTime: '2024-01-02T03:04:05.123456Z' };
  const evHex = hex(encodeObject(ev)!);
  assert.ok(evHex.includes('42060' + '8a5facdac06'), evHex); // creationTimestamp=8 {seconds}
  assert.ok(evHex.includes('520b' + '08a5facdac06' + '10' + '8094ef3a'), evHex); // eventTime=10 {seconds, nanos 123456000}
  assert.deepEqual(decodeObject(encodeObject(ev)!), ev);

  // Probe embeds ProbeHandler (json inline, proto field 1): JSON's probe.httpGet is Probe{handler=1{httpGet=2{port=2}}}.
  const probe = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', readinessProbe: { httpGet: { port: 80 }, periodSeconds: 5 } }] } };
  assert.ok(hex(encodeObject(probe)!).includes('5a0c' + '0a08' + '1206' + '1204' + '08001050' + '2005'), hex(encodeObject(probe)!));
  assert.deepEqual(decodeObject(encodeObject(probe)!), probe);

  // map<string, string> entries in sorted key order; Secret.data is map<string, bytes> (base64 in JSON).
  const sec = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', labels: { b: '2', a: '1' } }, data: { k: 'AAE=' } };
  const secRaw = '0a13' + '0a0178' + '5a06' + '0a0161' + '120131' + '5a06' + '0a0162' + '120132' + '1207' + '0a016b' + '12020001';
  assert.ok(hex(encodeObject(sec)!).includes(secRaw), hex(encodeObject(sec)!));
  assert.deepEqual(decodeObject(encodeObject(sec)!), sec);
});

test('protobuf: decoding follows Go: unknown fields skipped, zeros of non-pointer fields dropped, packed numbers read', () => {
  const podSpec = messageDef('core.PodSecurityContext')!;
  // supplementalGroups=4 packed [1, 300] | unknown field 99 varint | runAsUser=2 (pointer) 0
  const bytes = unhex('2203' + '01ac02' + '98060' + '7' + '1000');
  assert.deepEqual(decodeMessage(podSpec, bytes), { supplementalGroups: [1, 300], runAsUser: 0 });
  // ObjectMeta from Go carries generateName "" (2), generation 0 (7), an empty creationTimestamp (8): all absent in JSON
  assert.deepEqual(decodeMessage(messageDef('meta.ObjectMeta')!, unhex('0a03666f6f' + '1200' + '3800' + '4200')), { name: 'foo' });
  // A map key named __proto__ is an ordinary key.
  const m = decodeMessage(messageDef('meta.ObjectMeta')!, unhex('5a10' + '0a095f5f70726f746f5f5f' + '120378797a'));
  assert.deepEqual(Object.keys(m['labels'] as object), ['__proto__']);
  assert.equal(Object.getPrototypeOf(m['labels']), Object.prototype);
});

test('protobuf: malformed bodies are ProtobufDecodeErrors with a reason', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['no magic', '0a00', /expected prefix/],
    ['truncated length', '6b387300' + '0a0f0a02', /premature|EOF|range/i],
    ['unregistered kind', '6b387300' + '0a090a02763112034661661200', /no kind "Faf" is registered for version "v1"/],
    ['wire type mismatch', '6b387300' + '0a0f0a027631' + '12094e616d657370616365' + '1202' + '0805', /wrong wireType/],
    ['time out of range', '6b387300' + '0a0f0a027631' + '12094e616d657370616365' + '1210' + '0a0e' + '420c' + '08ffffffffffffffff7f1001', /out of range/],
    ['content encoding', '6b387300' + '0a0f0a027631' + '12094e616d657370616365' + '1200' + '1a04677a6970', /content encoding/],
  ];
  for (const [what, h, re] of bad) {
    assert.throws(() => decodeObject(unhex(h)), (e: unknown) => e instanceof ProtobufDecodeError && re.test(e.message), what);
  }
});

test('protobuf: the catalogue is whole — every message a field names exists, and every served kind has one', () => {
  for (const name of allMessageNames()) {
    for (const f of messageDef(name)!.fields) if (f.kind === 'message') assert.ok(messageDef(f.type), `${name}.${f.json} -> ${f.type}`);
  }
  const kinds = [['v1', 'Namespace'], ['v1', 'Node'], ['v1', 'Pod'], ['v1', 'Service'], ['v1', 'Endpoints'], ['v1', 'Event'], ['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'ServiceAccount'],
    ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet'], ['apps/v1', 'DaemonSet'], ['apps/v1', 'StatefulSet'], ['batch/v1', 'Job'], ['networking.k8s.io/v1', 'NetworkPolicy'],
    ['discovery.k8s.io/v1', 'EndpointSlice'], ['autoscaling/v1', 'Scale'], ['v1', 'Status'], ['apps/v1', 'DeleteOptions']];
  for (const [v, k] of kinds) {
    assert.ok(messageForKind(v!, k!), `${v} ${k}`);
    if (k !== 'Status' && k !== 'DeleteOptions' && k !== 'Scale') assert.ok(messageForKind(v!, `${k!}List`), `${v} ${k}List`);
  }
  assert.equal(messageForKind('v1', 'PodSpec'), undefined);
  assert.equal(messageForKind('example.com/v1', 'Widget'), undefined);
  assert.equal(encodeObject({ apiVersion: 'example.com/v1', kind: 'Widget' }), undefined);
});

// ------------------------------------------------------------------ properties

const TOP = [['v1', 'Pod'], ['v1', 'Service'], ['v1', 'Node'], ['v1', 'Secret'], ['v1', 'Event'], ['v1', 'Endpoints'], ['apps/v1', 'Deployment'], ['apps/v1', 'StatefulSet'],
  ['batch/v1', 'Job'], ['networking.k8s.io/v1', 'NetworkPolicy'], ['discovery.k8s.io/v1', 'EndpointSliceList'], ['v1', 'Status']] as const;

test('protobuf property: decode(encode(x)) = x for objects of every top-level kind', () => {
  for (const [apiVersion, kind] of TOP) {
    const def = messageForKind(apiVersion, kind)!;
    fc.assert(fc.property(arbMessage(def.name, 'exact'), (body) => {
      const obj = { kind, apiVersion, ...body };
      assert.deepEqual(decodeObject(encodeObject(obj)!), obj);
    }), { numRuns: 40 });
  }
});

test('protobuf property: arbitrary and mutated bytes decode or fail with ProtobufDecodeError, nothing else', () => {
  const valid = readdirSync(TESTDATA).filter((f) => f.endsWith('.pb.hex')).map((f) => unhex(readFileSync(new URL(f, TESTDATA), 'utf8')));
  const mutated = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
    .map(([b, edits, cut]) => {
      const out = Uint8Array.from(b);
      for (const [i, v] of edits) out[4 + (i % (out.length - 4))] = v;
      return out.subarray(0, Math.max(4, out.length - (cut % 8)));
    });
  const random = fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...b]));
  fc.assert(fc.property(fc.oneof(mutated, random, fc.uint8Array({ maxLength: 16 })), (bytes) => {
    try {
      const o = decodeObject(bytes);
      assert.equal(typeof o['kind'], 'string');
    } catch (e) {
      assert.ok(e instanceof ProtobufDecodeError, String(e));
    }
  }), { numRuns: 3000 });
});

test('protobuf: a watch frame is a 4-byte big-endian length, then a WatchEvent whose object.raw is the enveloped object', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', resourceVersion: '7' } };
  const frame = encodeWatchFrame('ADDED', pod)!;
  const len = new DataView(frame.buffer, frame.byteOffset).getUint32(0, false);
  assert.equal(len, frame.length - 4);
  const r = new BinaryReader(frame.subarray(4));
  assert.deepEqual(r.tag(), [1, 2]);
  assert.equal(r.string(), 'ADDED');
  assert.deepEqual(r.tag(), [2, 2]);
  const raw = new BinaryReader(r.bytes());
  assert.deepEqual(raw.tag(), [1, 2]);
  assert.deepEqual(decodeObject(raw.bytes()), pod);
  assert.equal(encodeWatchFrame('ADDED', { apiVersion: 'x/v1', kind: 'Widget' }), undefined);
});

test('protobuf: Accept negotiation takes the first type the server can produce', () => {
  assert.equal(wantsProtobuf('application/vnd.kubernetes.protobuf,application/json'), true);
  assert.equal(wantsProtobuf('application/vnd.kubernetes.protobuf;stream=watch'), true);
  assert.equal(wantsProtobuf('application/json, */*'), false);
  assert.equal(wantsProtobuf('application/json;as=Table;v=v1;g=meta.k8s.io,application/vnd.kubernetes.protobuf'), false);
  assert.equal(wantsProtobuf('application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json'), false);
  assert.equal(wantsProtobuf(undefined), false);
});

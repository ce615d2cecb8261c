/**
 * The API server's protobuf codec (control/server/protobuf): one PodList of 1 000
 * kubelet-shaped pods (the list `kubectl describe node` or `drain` fetches in protobuf),
 * encoded as a response and decoded as a request would be. Baseline in the same run:
 * JSON.stringify / JSON.parse of the same list, V8's native code path for the JSON
 * bodies every other client gets. Also the size of each body.
 *
 * Run alone: node --import tsx bench/protobuf.bench.ts
 */
import { pathToFileURL } from 'node:url';
import { decodeObject, encodeObject } from '../control/server/protobuf/index.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const PODS = 1_000;

function pod(i: number): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `web-7c79c4bf97-${i.toString(36).padStart(5, '0')}`, namespace: 'default', uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(1000 + i),
      labels: { app: 'web', 'pod-template-hash': '7c79c4bf97' }, creationTimestamp: '2025-01-01T00:00:00Z', generation: 1,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7c79c4bf97', uid: 'rs-uid', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: `node-${i % 3}`, restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30, securityContext: {},
      containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }], imagePullPolicy: 'IfNotPresent', resources: { requests: { cpu: '100m' } }, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 } }],
    },
    status: {
      phase: 'Running', podIP: `10.244.${i % 3}.${(i % 250) + 2}`, podIPs: [{ ip: `10.244.${i % 3}.${(i % 250) + 2}` }], hostIP: `192.168.56.${11 + (i % 3)}`, startTime: '2025-01-01T00:00:01Z',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:02Z' }],
      containerStatuses: [{ name: 'nginx', ready: true, restartCount: 0, started: true, image: 'nginx:1.27', imageID: '', state: { running: { startedAt: '2025-01-01T00:00:02Z' } } }],
    },
  };
}

/** Best-of-`runs` milliseconds per call of `f`. */
function best(f: () => unknown, runs = 7, reps = 5): number {
  f();
  let min = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    min = Math.min(min, (performance.now() - t0) / reps);
  }
  return min;
}

export async function benchProtobuf(): Promise<BenchRow[]> {
  const list = { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '5000' }, items: Array.from({ length: PODS }, (_, i) => pod(i)) };
  const json = JSON.stringify(list);
  const pb = encodeObject(list);
  if (!pb) throw new Error('PodList has no protobuf message');
  // The codec must carry the list exactly for the numbers to mean anything.
  if (JSON.stringify(decodeObject(pb)) !== JSON.stringify(decodeObject(encodeObject(JSON.parse(json))!))) throw new Error('round trip differs');
  const stringify = best(() => JSON.stringify(list));
  const encode = best(() => encodeObject(list));
  const parse = best(() => JSON.parse(json));
  const decode = best(() => decodeObject(pb));
  return [
    { name: `protobuf: baseline JSON.stringify, PodList of ${PODS}`, value: stringify, unit: 'ms', note: `${(json.length / 1024).toFixed(0)} KiB` },
    { name: `protobuf: encode PodList of ${PODS} (response body)`, value: encode, unit: 'ms', note: `${(pb.length / 1024).toFixed(0)} KiB (${(100 * pb.length / json.length).toFixed(0)} % of JSON); ${(encode / stringify).toFixed(1)}× JSON.stringify` },
    { name: `protobuf: baseline JSON.parse, PodList of ${PODS}`, value: parse, unit: 'ms' },
    { name: `protobuf: decode PodList of ${PODS} (request body)`, value: decode, unit: 'ms', note: `${(decode / parse).toFixed(1)}× JSON.parse; ${(1000 * decode / PODS).toFixed(0)} µs per pod` },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchProtobuf()) console.log(`${r.name.padEnd(56)} ${r.value.toFixed(2).padStart(10)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
}

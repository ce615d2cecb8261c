/**
 * The emulated kube-apiserver over real HTTP (issue 4: "list latency with 100 000 pods,
 * watch fan-out to 1 000 watchers").
 *
 * Lists: 100 000 pods (1 000 per namespace in 100 namespaces, 100 distinct `app` labels) in a
 * MemoryStore behind `buildApp`, fetched over loopback HTTP the way kubectl/client-go ask:
 * full list, `limit=500` paging (first page, and walking all pages), a label-selector list
 * matching 1 %, and the Table form kubectl requests. Baseline in the same run: decoding the
 * same stored values and encoding one response body in-process (JSON.parse + JSON.stringify
 * of 100 000 pods), the work no list can avoid.
 *
 * Watch fan-out: 1 000 HTTP watch streams (`?watch=true&resourceVersion=N`) on one
 * namespace. Latency: a write, then the time until the last of the 1 000 watchers has the
 * event's line (20 writes, one at a time). Throughput: 200 writes back to back, events
 * delivered per second until every watcher has all 200. Baseline in the same run: a bare
 * node:http server writing the same line to 1 000 chunked responses (no store, no filter,
 * no per-watcher encoding).
 *
 * Watchers run in the same process as the server (2 cores: a separate client process would
 * compete for the same CPUs). They count newline-terminated lines, without parsing.
 *
 * Run alone: node --import tsx bench/apiserver.bench.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { MemoryStore } from '../control/store/memory-store.ts';
import { buildApp } from '../control/server/app.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const PODS = 100_000;
const NAMESPACES = 100;
const WATCHERS = 1_000;

function pod(i: number): Record<string, unknown> {
  const ns = `ns-${i % NAMESPACES}`;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `web-7c79c4bf97-${i.toString(36).padStart(5, '0')}`, namespace: ns, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      labels: { app: `app-${i % 100}`, 'pod-template-hash': '7c79c4bf97' }, creationTimestamp: '2025-01-01T00:00:00Z', generation: 1,
    },
    spec: { nodeName: `node-${i % 3}`, restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30, containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }], imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }] },
    status: { phase: 'Running', podIP: `10.244.${i % 3}.${(i % 250) + 2}`, podIPs: [{ ip: `10.244.${i % 3}.${(i % 250) + 2}` }], hostIP: `192.168.56.${11 + (i % 3)}`, startTime: '2025-01-01T00:00:01Z', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-01-01T00:00:02Z' }], containerStatuses: [{ name: 'nginx', ready: true, restartCount: 0, started: true, image: 'nginx:1.27', imageID: '', state: { running: { startedAt: '2025-01-01T00:00:02Z' } } }] },
  };
}

/** GET over a keep-alive agent; resolves with the body length and the elapsed ms. */
function get(agent: http.Agent, port: number, path: string, accept = 'application/json'): Promise<{ ms: number; bytes: number; body: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent, headers: { accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        if (res.statusCode !== 200) { reject(new Error(`${path}: ${res.statusCode ?? 0} ${buf.toString().slice(0, 200)}`)); return; }
        resolve({ ms: performance.now() - t0, bytes: buf.length, body: buf.toString() });
      });
    }).on('error', reject);
  });
}

async function best(n: number, f: () => Promise<number>): Promise<number> {
  let m = Infinity;
  for (let i = 0; i < n; i++) m = Math.min(m, await f());
  return m;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

interface Watcher { lines: number; req: http.ClientRequest }

/** Open `n` streaming GETs; each counts complete lines. Resolves once every response has headers. */
async function openWatchers(port: number, path: string, n: number): Promise<Watcher[]> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const ws: Watcher[] = [];
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve, reject) => {
    const w: Watcher = { lines: 0, req: undefined as unknown as http.ClientRequest };
    w.req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.on('data', (c: Buffer) => { for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) w.lines++; });
      res.on('error', () => {});
      resolve();
    });
    w.req.on('error', (e) => { if (!w.req.destroyed) reject(e); });
    ws.push(w);
  })));
  return ws;
}

function until(cond: () => boolean): Promise<number> {
  return new Promise((resolve) => {
    const tick = (): void => { if (cond()) resolve(performance.now()); else setImmediate(tick); };
    tick();
  });
}

/** Per-write latency and burst throughput for a fan-out where `write(k)` produces one line per watcher. */
async function fanOut(ws: Watcher[], write: (k: number) => Promise<void>): Promise<{ p50: number; max: number; eps: number; burstMs: number }> {
  const lat: number[] = [];
  let k = 0;
  for (let i = 0; i < 20; i++) {
    const target = ws[0]!.lines + 1;
    const t0 = performance.now();
    await write(k++);
    const t1 = await until(() => ws.every((w) => w.lines >= target));
    lat.push(t1 - t0);
  }
  const BURST = 200;
  const target = ws[0]!.lines + BURST;
  const t0 = performance.now();
  for (let i = 0; i < BURST; i++) await write(k++);
  const t1 = await until(() => ws.every((w) => w.lines >= target));
  return { p50: median(lat), max: Math.max(...lat), eps: (BURST * ws.length) / ((t1 - t0) / 1000), burstMs: t1 - t0 };
}

async function rawBaseline(line: string): Promise<{ p50: number; max: number; eps: number; burstMs: number }> {
  const streams = new Set<http.ServerResponse>();
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    streams.add(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const ws = await openWatchers(port, '/watch', WATCHERS);
  await until(() => streams.size === WATCHERS);
  const res = await fanOut(ws, async () => { for (const s of streams) s.write(line); });
  for (const w of ws) w.req.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  return res;
}

export async function benchApiserver(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const store = new MemoryStore({ historyWindow: 10_000 });
  const app = buildApp({ store, bootstrap: true });
  await app.ready();

  // ---------------------------------------------------------------- fill: the store directly (as the registry encodes)
  for (let n = 0; n < NAMESPACES; n++) await store.create(`/registry/namespaces/ns-${n}`, JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}`, uid: `ns-${n}`, creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }));
  const values: string[] = [];
  for (let i = 0; i < PODS; i++) {
    const p = pod(i);
    const v = JSON.stringify(p);
    values.push(v);
    const m = p.metadata as { namespace: string; name: string };
    await store.create(`/registry/pods/${m.namespace}/${m.name}`, v);
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true });

  // ---------------------------------------------------------------- lists
  const baseline = await best(3, async () => {
    const t0 = performance.now();
    const items = values.map((v) => JSON.parse(v) as unknown);
    JSON.stringify({ kind: 'PodList', items });
    return performance.now() - t0;
  });
  rows.push({ name: 'baseline: parse 100 000 stored pods + stringify one list body (in-process)', value: baseline, unit: 'ms' });

  const full = await get(agent, port, '/api/v1/pods');
  const fullCount = (JSON.parse(full.body) as { items: unknown[] }).items.length;
  if (fullCount !== PODS) throw new Error(`full list returned ${fullCount} pods`);
  const fullMs = await best(3, async () => (await get(agent, port, '/api/v1/pods')).ms);
  rows.push({ name: 'full list GET /api/v1/pods (100 000 pods)', value: fullMs, unit: 'ms', note: `${(full.bytes / 1e6).toFixed(0)} MB; ${(fullMs / baseline).toFixed(2)}× baseline` });

  const firstPage = await best(5, async () => (await get(agent, port, '/api/v1/pods?limit=500')).ms);
  rows.push({ name: 'limit=500: first page', value: firstPage, unit: 'ms' });
  const walk = await best(2, async () => {
    const t0 = performance.now();
    let cont = '';
    let pages = 0;
    let items = 0;
    do {
      const r = await get(agent, port, `/api/v1/pods?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      const b = JSON.parse(r.body) as { items: unknown[]; metadata: { continue?: string } };
      items += b.items.length;
      pages++;
      cont = b.metadata.continue ?? '';
    } while (cont);
    if (items !== PODS || pages !== PODS / 500) throw new Error(`paging returned ${items} pods in ${pages} pages`);
    return performance.now() - t0;
  });
  rows.push({ name: 'limit=500: all 200 pages with continue', value: walk, unit: 'ms', note: `${(walk / fullMs).toFixed(2)}× the full list` });

  const sel = await get(agent, port, '/api/v1/pods?labelSelector=app%3Dapp-7');
  const selCount = (JSON.parse(sel.body) as { items: unknown[] }).items.length;
  if (selCount !== PODS / 100) throw new Error(`selector list returned ${selCount}`);
  const selMs = await best(3, async () => (await get(agent, port, '/api/v1/pods?labelSelector=app%3Dapp-7')).ms);
  rows.push({ name: 'label selector app=app-7 (1 000 of 100 000 match)', value: selMs, unit: 'ms', note: `${(selMs / baseline).toFixed(2)}× baseline` });
  const nsMs = await best(5, async () => (await get(agent, port, '/api/v1/namespaces/ns-7/pods')).ms);
  rows.push({ name: 'one namespace (1 000 pods, key-prefix scan)', value: nsMs, unit: 'ms' });

  const TBL = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
  const tbl = await get(agent, port, '/api/v1/pods', TBL);
  if ((JSON.parse(tbl.body) as { rows: unknown[] }).rows.length !== PODS) throw new Error('table rows');
  const tblMs = await best(3, async () => (await get(agent, port, '/api/v1/pods', TBL)).ms);
  rows.push({ name: 'Table list (kubectl get pods -A), 100 000 rows', value: tblMs, unit: 'ms', note: `${(tbl.bytes / 1e6).toFixed(0)} MB; ${(tblMs / baseline).toFixed(2)}× baseline` });
  agent.destroy();

  // ---------------------------------------------------------------- watch fan-out
  const ns = 'ns-0';
  const target = (values[0] ? JSON.parse(values[0]) : {}) as { metadata: { name: string } };
  const podUrl = `/api/v1/namespaces/${ns}/pods/${target.metadata.name}`;
  const line = `${JSON.stringify({ type: 'MODIFIED', object: JSON.parse(values[0]!) as unknown })}\n`;
  const raw = await rawBaseline(line);
  rows.push({ name: `baseline: bare node:http, one line to ${WATCHERS} chunked responses, latency p50`, value: raw.p50, unit: 'ms', note: `max ${raw.max.toFixed(1)} ms` });
  rows.push({ name: `baseline: bare node:http burst, lines delivered`, value: raw.eps, unit: 'events/s' });

  const rv = store.revision();
  const ws = await openWatchers(port, `/api/v1/namespaces/${ns}/pods?watch=true&resourceVersion=${rv}`, WATCHERS);
  const wagent = new http.Agent({ keepAlive: true });
  let seq = 0;
  const write = (): Promise<void> => new Promise((resolve, reject) => {
    const body = JSON.stringify({ metadata: { labels: { app: 'app-0', 'pod-template-hash': '7c79c4bf97', seq: String(seq++) } } });
    const req = http.request({ host: '127.0.0.1', port, path: podUrl, method: 'PATCH', agent: wagent, headers: { 'content-type': 'application/merge-patch+json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`patch ${res.statusCode ?? 0}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  const api = await fanOut(ws, write);
  rows.push({ name: `watch: PATCH → last of ${WATCHERS} HTTP watchers has the event, p50`, value: api.p50, unit: 'ms', note: `max ${api.max.toFixed(1)} ms; ${(api.p50 / raw.p50).toFixed(1)}× bare http` });
  rows.push({ name: `watch: 200 PATCHes back to back, events delivered to ${WATCHERS} watchers`, value: api.eps, unit: 'events/s', note: `${api.burstMs.toFixed(0)} ms for 200 000 events; bare http / emulator = ${(raw.eps / api.eps).toFixed(1)}×` });
  for (const w of ws) w.req.destroy();
  wagent.destroy();

  // ---------------------------------------------------------------- API writes (POST through validation, defaulting, store)
  const postAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let created = 0;
  let nextPod = PODS;
  const t0 = performance.now();
  const end = t0 + 2000;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (performance.now() < end) {
      const p = pod(nextPod++);
      (p.metadata as { namespace: string }).namespace = 'default';
      delete p.status;
      const body = JSON.stringify(p);
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/namespaces/default/pods', method: 'POST', agent: postAgent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`create ${res.statusCode ?? 0}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
      created++;
    }
  }));
  rows.push({ name: 'POST pods over HTTP, 16 in flight (MemoryStore, 1 000 watchers closed)', value: created / ((performance.now() - t0) / 1000), unit: 'writes/s' });
  postAgent.destroy();

  await app.close();
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchApiserver()) console.log(r.name.padEnd(80), r.value.toFixed(2), r.unit, r.note ?? '');
}

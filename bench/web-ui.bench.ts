/**
 * The web UI in Debian's chromium (headless, playwright-core), against the API server
 * with the UI's own routes, serving a synthetic topology:
 * - time to interactive: navigation until the topology is drawn (`body[data-ready]`),
 *   for the seed's size (2 nodes, 10 pods: the baseline) and for 50 nodes with 1 500
 *   pods and 100 Services;
 * - the topology's frame rate (requestAnimationFrame callbacks a second) idle and while
 *   1 000 flows/s stream in — to the load-balancing counts and the graph's highlights
 *   and, on their own stream, to the flows table (which samples past 200/s).
 *
 * The topology and flows are synthetic (observe/topology.ts's and observe/flow.ts's
 * shapes, served on the same paths `netsim up` serves them): what is measured is the
 * page, not the emulator building a cluster of that size.
 * Run alone: node --import tsx bench/web-ui.bench.ts
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { chromium } from 'playwright-core';
import { MemoryStore } from '../control/store/memory-store.ts';
import { addNetsimRoute, addUpgradeRoute, buildApp } from '../control/server/app.ts';
import { serveWebUi } from '../cli/up/web-ui.ts';
import type { Topology, TopologyPod, TopologyService } from '../observe/topology.ts';
import type { Flow } from '../observe/flow.ts';

interface BenchRow { name: string; value: number; unit: string; note?: string }

const CHROMIUM = '/usr/bin/chromium';

/** `nodes` nodes with `podsPerNode` pods each, and `services` Services over them. */
export function syntheticTopology(nodes: number, podsPerNode: number, services: number): Topology {
  const pods: TopologyPod[] = [];
  const nodeList = Array.from({ length: nodes }, (_, n) => {
    const name = `node${String(n + 1).padStart(2, '0')}`;
    for (let i = 0; i < podsPerNode; i++) {
      pods.push({ key: `default/app-${n}-${i}-7c9d8f6b5-x${i}z`, namespace: 'default', name: `app-${n}-${i}-7c9d8f6b5-x${i}z`, ip: `10.244.${n}.${i + 2}`, node: name, hostVeth: `veth${n}x${i}`, ready: i % 17 !== 0, labels: { app: `svc${(n * podsPerNode + i) % Math.max(1, services)}` } });
    }
    return {
      name, ip: `192.168.${Math.floor(n / 200)}.${(n % 200) + 11}`, podSubnet: `10.244.${n}.1/24`,
      devices: [{ name: 'eth0', kind: 'nic' as const, addresses: [`192.168.0.${n + 11}/16`] }, { name: 'docker0', kind: 'bridge' as const, addresses: [`10.244.${n}.1/24`] }, { name: 'flannel0', kind: 'flannel' as const, addresses: [`10.244.${n}.0/16`] }],
    };
  });
  const svcs: TopologyService[] = Array.from({ length: services }, (_, s) => ({
    key: `default/svc${s}`, namespace: 'default', name: `svc${s}`, type: 'ClusterIP', clusterIP: `10.96.${Math.floor(s / 250)}.${(s % 250) + 2}`, ports: [{ name: '', port: 80, protocol: 'TCP' }],
    endpoints: pods.filter((p) => p.labels['app'] === `svc${s}`).map((p) => ({ ip: p.ip, pod: p.key, ready: p.ready })),
  }));
  return { flannelBackend: 'udp', proxyMode: 'iptables', nodes: nodeList, pods, outside: [{ name: 'router', kind: 'router', addresses: ['192.168.0.1/16'] }], services: svcs };
}

function flowOf(t: Topology, k: number): Flow {
  const src = t.pods[k % t.pods.length] as TopologyPod;
  const svc = t.services[k % Math.max(1, t.services.length)];
  const ep = svc?.endpoints[k % Math.max(1, svc.endpoints.length)];
  const dst = t.pods.find((p) => p.ip === ep?.ip) ?? src;
  return {
    seq: k, t: k * 1e6, time: new Date().toISOString(), traceId: k, node: src.node, protocol: 'TCP', tcpFlags: ['SYN'], verdict: k % 50 === 0 ? 'DROPPED' : 'FORWARDED',
    source: { ip: src.ip, port: 30000 + (k % 30000), kind: 'pod', namespace: src.namespace, name: src.name, node: src.node },
    destination: { ip: dst.ip, port: 80, kind: 'pod', namespace: dst.namespace, name: dst.name, node: dst.node },
    ...(svc !== undefined ? { service: svc.key, originalDestination: { ip: svc.clusterIP ?? '', port: 80 } } : {}),
  };
}

/** A server with the UI, the topology route and a flow stream of `rate` flows/s to every WebSocket reader. */
async function serve(t: Topology, rate: () => number): Promise<{ url: string; close(): Promise<void> }> {
  const app = buildApp({ store: new MemoryStore({ historyWindow: 1000 }), bootstrap: true });
  await app.ready();
  addNetsimRoute(app, 'GET', '/netsim/v1/topology', (_req, reply) => reply.header('content-type', 'application/json').send(JSON.stringify(t)));
  addNetsimRoute(app, 'GET', '/netsim/v1/flows', (_req, reply) => reply.header('content-type', 'application/x-ndjson').send(''));
  const wss = new WebSocketServer({ noServer: true });
  const readers = new Set<WebSocket>();
  addUpgradeRoute(app, (p) => p === '/netsim/v1/flows', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => { readers.add(ws); ws.on('close', () => readers.delete(ws)); }));
  await serveWebUi(app);
  let k = 0;
  let carry = 0;
  const timer = setInterval(() => {
    carry += rate() / 100;
    const n = Math.floor(carry);
    carry -= n;
    for (let i = 0; i < n; i++) {
      const line = JSON.stringify(flowOf(t, k++));
      for (const ws of readers) ws.send(line);
    }
  }, 10);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: async () => { clearInterval(timer); for (const ws of readers) ws.terminate(); wss.close(); await app.close(); },
  };
}

export async function benchWebUi(): Promise<BenchRow[]> {
  if (!existsSync(CHROMIUM)) return [{ name: 'web UI: skipped', value: 0, unit: '', note: `chromium not found at ${CHROMIUM}` }];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const rows: BenchRow[] = [];
  try {
    const measure = async (label: string, t: Topology): Promise<{ tti: number; idleFps: number; busyFps: number }> => {
      let rate = 0;
      const server = await serve(t, () => rate);
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.setDefaultTimeout(120_000);
      try {
        const ttis: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t0 = Date.now();
          await page.goto(`${server.url}/`);
          await page.waitForSelector('body[data-ready]');
          ttis.push(Date.now() - t0);
        }
        const fps = (): Promise<number> => page.evaluate(`new Promise((resolve) => { let n = 0; const t0 = performance.now(); const f = () => { n++; if (performance.now() - t0 < 5000) requestAnimationFrame(f); else resolve(n * 1000 / (performance.now() - t0)); }; requestAnimationFrame(f); })`) as Promise<number>;
        const idleFps = await fps();
        rate = 1000;
        await page.waitForTimeout(1000);
        const busyFps = await fps();
        const seen = await page.textContent('#flows-note');
        console.log(`# ${label}: ${seen ?? ''}`);
        return { tti: ttis.sort((a, b) => a - b)[1] as number, idleFps, busyFps };
      } finally {
        await page.close();
        await server.close();
      }
    };
    const small = await measure('seed size', syntheticTopology(2, 5, 4));
    const big = await measure('50 nodes', syntheticTopology(50, 30, 100));
    rows.push(
      { name: 'web UI: time to interactive, 2 nodes / 10 pods (baseline)', value: small.tti, unit: 'ms', note: 'median of 3 loads' },
      { name: 'web UI: time to interactive, 50 nodes / 1 500 pods / 100 Services', value: big.tti, unit: 'ms', note: `${(big.tti / small.tti).toFixed(1)}× the baseline` },
      { name: 'web UI: topology frame rate idle, 50 nodes / 1 500 pods', value: big.idleFps, unit: 'frames/s' },
      { name: 'web UI: topology frame rate at 1 000 flows/s, 50 nodes / 1 500 pods', value: big.busyFps, unit: 'frames/s', note: `${(big.busyFps / big.idleFps * 100).toFixed(0)}% of idle` },
      { name: 'web UI: topology frame rate at 1 000 flows/s, 2 nodes / 10 pods', value: small.busyFps, unit: 'frames/s', note: `${(small.busyFps / small.idleFps * 100).toFixed(0)}% of idle` },
    );
  } finally {
    await browser.close();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchWebUi()) console.log(r.name.padEnd(80), r.value.toFixed(2), r.unit, r.note ?? '');
}

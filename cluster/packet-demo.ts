/**
 * The packet-core demo: the seed scenario's two nodes and four pods, wired by hand
 * (docker0 bridges, veth pairs, an underlay segment and static routes between the
 * nodes' pod subnets), with real traffic traced hop by hop. The Kubernetes control
 * plane, flannel and kube-proxy replace the hand wiring as they land.
 */
import { Sim } from '../netsim/sim.ts';
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { createBridge, attachPod, attachNic } from '../netsim/topology.ts';
import type { PodAttachment } from '../netsim/topology.ts';
import { Segment } from '../netsim/link/segment.ts';
import { US } from '../netsim/time/scheduler.ts';
import { startHttpServer, httpGet } from '../netsim/apps/http.ts';
import type { HttpClientSession } from '../netsim/apps/http.ts';
import { ping } from '../netsim/apps/ping.ts';
import type { PingSession } from '../netsim/apps/ping.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { startUdpEcho } from '../netsim/apps/echo.ts';
import type { EmulatedCluster, PodRef } from './emulated-cluster.ts';
import { Capture } from '../pcaps/capture.ts';

export interface DemoCluster {
  readonly sim: Sim;
  readonly nodes: Record<'node01' | 'node02', NetNamespace>;
  readonly pods: Record<'webapp01' | 'webapp02' | 'webapp03' | 'backend', PodAttachment>;
}

/** The hand-wired demo as an {@link EmulatedCluster} (no services until kube-proxy is wired). */
export function demoAsCluster(d: DemoCluster): EmulatedCluster {
  const pods = new Map<string, PodRef>();
  for (const [name, p] of Object.entries(d.pods)) pods.set(`default/${name}`, { key: `default/${name}`, ns: p.ns, ip: p.ip, node: p.ns.node });
  let started = false;
  return {
    sim: d.sim,
    nodes: new Map(Object.entries(d.nodes)),
    pods,
    services: new Map(),
    external: new Map(),
    startApps: () => {
      if (started) return;
      started = true;
      startHttpServer(d.pods.backend.ns, { port: 80, podName: 'backend' });
      startUdpEcho(d.pods.backend.ns, 7);
    },
  };
}

/** Build the seed topology: node01 (webapp01, webapp02) and node02 (webapp03, backend). */
export function buildDemoTopology(seed: number): DemoCluster {
  const sim = new Sim({ seed });
  // A 1 Gbit/s switch with 50 µs one-way latency between the nodes.
  const underlay = new Segment(sim, 'underlay', { latencyNs: 50 * US, bandwidthBps: 1e9, loss: 0, queueLimit: 1000 });
  const node01 = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const node02 = new NetNamespace(sim, 'node02', 'node02', { ipForward: true });
  attachNic(node01, underlay, 'eth0', '192.168.50.11/24');
  attachNic(node02, underlay, 'eth0', '192.168.50.12/24');
  const d1 = createBridge(node01, 'docker0', '10.244.1.1/24');
  const d2 = createBridge(node02, 'docker0', '10.244.2.1/24');
  node01.addRoute({ dst: '10.244.2.0/24', via: '192.168.50.12' });
  node02.addRoute({ dst: '10.244.1.0/24', via: '192.168.50.11' });
  const pod = (host: NetNamespace, br: ReturnType<typeof createBridge>, name: string, cidr: string, gw: string): PodAttachment =>
    attachPod(host, br, { name: `default/${name}`, cidr, gateway: gw, node: host.node });
  return {
    sim,
    nodes: { node01, node02 },
    pods: {
      webapp01: pod(node01, d1, 'webapp01', '10.244.1.2/24', '10.244.1.1'),
      webapp02: pod(node01, d1, 'webapp02', '10.244.1.3/24', '10.244.1.1'),
      webapp03: pod(node02, d2, 'webapp03', '10.244.2.2/24', '10.244.2.1'),
      backend: pod(node02, d2, 'backend', '10.244.2.3/24', '10.244.2.1'),
    },
  };
}

export interface DemoFlow {
  readonly title: string;
  readonly events: TraceEvent[];
  readonly outcome: string;
  /** Every frame of the flow on every interface it crossed, as pcapng. */
  readonly pcapng: Uint8Array;
  readonly interfaces: string[];
}

/** IPv4 → name records for captures: pods by name, nodes by name. */
export function demoNames(d: DemoCluster): Array<{ ip: number; name: string }> {
  const out = Object.entries(d.pods).map(([name, p]) => ({ ip: p.ip, name }));
  for (const [name, ns] of Object.entries(d.nodes)) {
    const ip = ns.primaryAddress('eth0');
    if (ip !== undefined) out.push({ ip, name });
  }
  return out;
}

/** Run the demo's flows one after another, each with its own recorded trace. */
export function runPacketDemo(seed: number): { cluster: DemoCluster; flows: DemoFlow[] } {
  const cluster = buildDemoTopology(seed);
  const { sim, pods } = cluster;
  startHttpServer(pods.backend.ns, { port: 80, podName: 'backend' });
  const flows: DemoFlow[] = [];
  const record = (title: string, start: () => () => string): void => {
    const events: TraceEvent[] = [];
    const stop = sim.tracer.subscribe((e) => events.push(e), { bytes: true });
    const capture = new Capture(sim.tracer);
    capture.addNames(demoNames(cluster));
    const outcome = start();
    sim.clock.run();
    stop();
    capture.stop();
    flows.push({ title, events, outcome: outcome(), pcapng: capture.bytes(), interfaces: capture.interfaceNames() });
  };
  record('same-node pod → pod: webapp01 → webapp02 (ping)', () => {
    const p: PingSession = ping(pods.webapp01.ns, pods.webapp02.ip);
    return () => (p.replies.length === 1 ? `echo reply, ttl ${p.replies[0]?.ttl}` : 'no reply');
  });
  record('cross-node pod → pod: webapp01 → backend:80 (HTTP GET /hello.html)', () => {
    const s: HttpClientSession = httpGet(pods.webapp01.ns, pods.backend.ip, 80, { path: '/hello.html' });
    return () => (s.results[0] !== undefined ? `HTTP ${s.results[0].status}: ${s.results[0].body.trim()}` : `failed: ${s.error ?? 'no response'} ${s.errorDetail}`);
  });
  return { cluster, flows };
}

/**
 * The seed scenario at the packet level: two nodes on an underlay, flanneld with its
 * UDP backend on each (flannel0 TUN + UDP 8285, subnet leases from one in-memory
 * subnet manager), Docker-style docker0 bridges configured from subnet.env, iptables
 * with conntrack on every node (Docker's and flanneld's rules), a router to an outside
 * network with a client host, and the four pods of the seed articles. The Kubernetes
 * control plane and kube-proxy will drive the same machinery when they land.
 */
import { Sim } from '../netsim/sim.ts';
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { attachNic, createRouter } from '../netsim/topology.ts';
import type { PodAttachment } from '../netsim/topology.ts';
import { Segment } from '../netsim/link/segment.ts';
import { US, SECOND } from '../netsim/time/scheduler.ts';
import { startHttpServer, httpGet } from '../netsim/apps/http.ts';
import type { HttpClientSession } from '../netsim/apps/http.ts';
import { ping } from '../netsim/apps/ping.ts';
import type { PingSession } from '../netsim/apps/ping.ts';
import { startUdpEcho } from '../netsim/apps/echo.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { NetfilterStack } from '../netsim/netfilter/netfilter-stack.ts';
import { parseIpv4, formatIpv4 } from '../netsim/wire/addr.ts';
import { Flanneld, renderSubnetEnv } from '../cni/flannel/flanneld.ts';
import { MemorySubnetManager } from '../cni/flannel/subnet-manager.ts';
import { parseNetworkConfig } from '../cni/flannel/network-config.ts';
import { DockerRuntime } from '../cni/docker/docker-runtime.ts';
import { Capture } from '../pcaps/capture.ts';
import { KubeProxy } from '../proxy/kube-proxy.ts';
import { netsimKubeProxyNode } from '../proxy/netsim-node.ts';
import type { EndpointSlice, Service } from '../control/api/service.ts';
import type { EmulatedCluster, PodRef, ServiceRef } from './emulated-cluster.ts';

export type DemoNode = 'node01' | 'node02';
export type DemoPod = 'webapp01' | 'webapp02' | 'webapp03' | 'backend' | 'nginx-1' | 'nginx-2';

export interface DemoCluster {
  readonly sim: Sim;
  readonly nodes: Record<DemoNode, NetNamespace>;
  readonly pods: Record<DemoPod, PodAttachment>;
  readonly flanneld: Record<DemoNode, Flanneld>;
  readonly netfilter: Record<DemoNode, NetfilterStack>;
  readonly subnets: MemorySubnetManager;
  readonly client: NetNamespace;
  readonly router: NetNamespace;
  readonly services: readonly Service[];
  readonly slices: readonly EndpointSlice[];
}

/** The seed's Services: nginx-service (NodePort 30000, ClusterIP as in the article) and backend. */
export const DEMO_SERVICES: readonly Service[] = [
  { metadata: { name: 'nginx-service', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.96.63.155', selector: { app: 'nginx' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30000 }] } },
  { metadata: { name: 'backend', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '10.96.120.10', selector: { app: 'backend' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }] } },
];

/** What the endpoints controller would publish for the demo's pods. */
function demoSlices(pods: Record<DemoPod, PodAttachment>): EndpointSlice[] {
  const ep = (name: DemoPod) => ({ addresses: [formatIpv4(pods[name].ip)], nodeName: pods[name].ns.node, conditions: { ready: true, serving: true, terminating: false } });
  return [
    { metadata: { name: 'nginx-service-x7k2p', namespace: 'default', labels: { 'kubernetes.io/service-name': 'nginx-service' } }, addressType: 'IPv4', ports: [{ port: 80, protocol: 'TCP' }], endpoints: [ep('nginx-1'), ep('nginx-2')] },
    { metadata: { name: 'backend-m4q9d', namespace: 'default', labels: { 'kubernetes.io/service-name': 'backend' } }, addressType: 'IPv4', ports: [{ port: 80, protocol: 'TCP' }], endpoints: [ep('backend')] },
  ];
}

/** flannel's network config for the demo (what etcd holds at /coreos.com/network/config). */
export const DEMO_FLANNEL_CONFIG = '{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"udp","Port":8285}}';

/** Build the seed topology: node01 (webapp01, webapp02) and node02 (webapp03, backend). */
export function buildDemoTopology(seed: number): DemoCluster {
  const sim = new Sim({ seed });
  // A 1 Gbit/s switch with 50 µs one-way latency between the nodes; the outside is 500 µs away.
  const underlay = new Segment(sim, 'underlay', { latencyNs: 50 * US, bandwidthBps: 1e9, loss: 0, queueLimit: 1000 });
  const outside = new Segment(sim, 'outside', { latencyNs: 500 * US, bandwidthBps: 1e9, loss: 0, queueLimit: 1000 });
  const router = createRouter(sim, 'router', [
    { dev: 'eth0', segment: underlay, cidr: '192.168.50.1/24' },
    { dev: 'eth1', segment: outside, cidr: '203.0.113.1/24' },
  ]);
  const client = new NetNamespace(sim, 'client', 'client');
  attachNic(client, outside, 'eth0', '203.0.113.10/24');
  client.addRoute({ dst: 'default', via: '203.0.113.1' });

  const subnets = new MemorySubnetManager(parseNetworkConfig(DEMO_FLANNEL_CONFIG), sim.clock, sim.rng.fork('flannel-subnets'));
  const mkNode = (name: DemoNode, address: string): { ns: NetNamespace; nf: NetfilterStack; fl: Flanneld; docker: DockerRuntime } => {
    const ns = new NetNamespace(sim, name, name, { ipForward: true });
    attachNic(ns, underlay, 'eth0', `${address}/24`);
    ns.addRoute({ dst: 'default', via: '192.168.50.1' });
    const nf = NetfilterStack.install(ns);
    const fl = new Flanneld(ns, subnets, { publicIp: parseIpv4(address), ipMasq: true, iptables: nf.iptables });
    fl.start();
    const env = fl.subnetEnv as NonNullable<Flanneld['subnetEnv']>;
    // mk-docker-opts.sh: --bip=FLANNEL_SUBNET --mtu=FLANNEL_MTU --ip-masq=false (flanneld masquerades).
    const docker = new DockerRuntime(ns, { bip: env.FLANNEL_SUBNET, mtu: env.FLANNEL_MTU, ipMasq: !env.FLANNEL_IPMASQ, netfilter: nf });
    return { ns, nf, fl, docker };
  };
  const n1 = mkNode('node01', '192.168.50.11');
  const n2 = mkNode('node02', '192.168.50.12');
  const pods: Record<DemoPod, PodAttachment> = {
    webapp01: n1.docker.runPod('default/webapp01'),
    webapp02: n1.docker.runPod('default/webapp02'),
    webapp03: n2.docker.runPod('default/webapp03'),
    backend: n2.docker.runPod('default/backend'),
    // The nginx Deployment's two replicas, one per node; hairpin on, as kubelet sets it.
    'nginx-1': n1.docker.runPod('default/nginx-deployment-5d59d67564-abcde', { hairpin: true }),
    'nginx-2': n2.docker.runPod('default/nginx-deployment-5d59d67564-fghij', { hairpin: true }),
  };
  const slices = demoSlices(pods);
  // kube-proxy (iptables mode) on every node, fed the objects its informers would deliver.
  for (const n of [n1, n2]) {
    const kp = new KubeProxy(sim.clock, netsimKubeProxyNode(n.ns, n.nf), {
      mode: 'iptables', nodeName: n.ns.node, clusterCIDR: subnets.config.network.toString(), nodeIP: formatIpv4(n.ns.primaryAddress('eth0') ?? 0),
    });
    for (const svc of DEMO_SERVICES) kp.onServiceAdd(svc);
    for (const sl of slices) kp.onEndpointSliceAdd(sl);
    kp.onServicesSynced();
    kp.onEndpointSlicesSynced();
    kp.syncNow();
  }
  return {
    sim,
    nodes: { node01: n1.ns, node02: n2.ns },
    flanneld: { node01: n1.fl, node02: n2.fl },
    netfilter: { node01: n1.nf, node02: n2.nf },
    subnets,
    client,
    router,
    pods,
    services: DEMO_SERVICES,
    slices,
  };
}

/** Start the pods' and the client's apps: nginx-like HTTP on the backend, echo servers. */
function startDemoApps(d: DemoCluster): void {
  startHttpServer(d.pods.backend.ns, { port: 80, podName: 'backend' });
  startHttpServer(d.pods['nginx-1'].ns, { port: 80, podName: 'nginx-deployment-5d59d67564-abcde' });
  startHttpServer(d.pods['nginx-2'].ns, { port: 80, podName: 'nginx-deployment-5d59d67564-fghij' });
  startUdpEcho(d.pods.backend.ns, 7);
  startHttpServer(d.client, { port: 80, podName: 'client', server: 'nginx/1.27.0' });
}

/** The hand-wired demo as an {@link EmulatedCluster} (no services until kube-proxy is wired). */
export function demoAsCluster(d: DemoCluster): EmulatedCluster {
  const pods = new Map<string, PodRef>();
  for (const p of Object.values(d.pods)) pods.set(p.ns.name, { key: p.ns.name, ns: p.ns, ip: p.ip, node: p.ns.node });
  const services = new Map<string, ServiceRef>(d.services.map((s) => {
    const key = `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;
    const ports = (s.spec.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP', ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) }));
    return [key, { key, clusterIP: parseIpv4(s.spec.clusterIP ?? '0.0.0.0'), ports }];
  }));
  let started = false;
  return {
    sim: d.sim,
    nodes: new Map(Object.entries(d.nodes)),
    pods,
    services,
    external: new Map([['client', d.client]]),
    startApps: () => {
      if (started) return;
      started = true;
      startDemoApps(d);
    },
    nodeView: (node, view) => {
      const n = node as DemoNode;
      const nf = d.netfilter[n];
      const fl = d.flanneld[n];
      if (nf === undefined) return undefined;
      switch (view) {
        case 'iptables-save': return nf.iptables.save();
        case 'iptables-nat': return nf.iptables.list('nat');
        case 'iptables-filter': return nf.iptables.list('filter');
        case 'conntrack': return nf.conntrack.list();
        case 'subnet-env': return fl.subnetEnv !== undefined ? renderSubnetEnv(fl.subnetEnv) : undefined;
        case 'leases': return d.subnets.keyValues().map((kv) => `${kv.key}\n${kv.value}`).join('\n') + '\n';
        default: return undefined;
      }
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

/** IPv4 → name records for captures: pods, nodes and the outside client by name. */
export function demoNames(d: DemoCluster): Array<{ ip: number; name: string }> {
  const out = Object.values(d.pods).map((p) => ({ ip: p.ip, name: p.ns.name.split('/')[1] ?? p.ns.name }));
  for (const [name, ns] of [...Object.entries(d.nodes), ['client', d.client] as const]) {
    const ip = ns.primaryAddress('eth0');
    if (ip !== undefined) out.push({ ip, name });
  }
  return out;
}

/** Run the demo's flows one after another, each with its own recorded trace and capture. */
export function runPacketDemo(seed: number): { cluster: DemoCluster; flows: DemoFlow[] } {
  const cluster = buildDemoTopology(seed);
  const { sim, pods } = cluster;
  startDemoApps(cluster);
  const flows: DemoFlow[] = [];
  const record = (title: string, start: () => () => string): void => {
    const events: TraceEvent[] = [];
    const stop = sim.tracer.subscribe((e) => events.push(e), { bytes: true });
    const capture = new Capture(sim.tracer);
    capture.addNames(demoNames(cluster));
    const outcome = start();
    // Each flow gets 10 s of virtual time: enough for ARP retries and TIME_WAIT-free teardown.
    sim.clock.run(sim.clock.now() + 10 * SECOND);
    stop();
    capture.stop();
    flows.push({ title, events, outcome: outcome(), pcapng: capture.bytes(), interfaces: capture.interfaceNames() });
  };
  record('same-node pod → pod: webapp01 → webapp02 (ping)', () => {
    const p: PingSession = ping(pods.webapp01.ns, pods.webapp02.ip);
    return () => (p.replies.length === 1 ? `echo reply, ttl ${p.replies[0]?.ttl}` : 'no reply');
  });
  record('cross-node pod → pod over flannel UDP: webapp01 → backend:80 (HTTP GET /hello.html)', () => {
    const s: HttpClientSession = httpGet(pods.webapp01.ns, pods.backend.ip, 80, { path: '/hello.html' });
    return () => (s.results[0] !== undefined ? `HTTP ${s.results[0].status}: ${s.results[0].body.trim()}` : `failed: ${s.error ?? 'no response'} ${s.errorDetail}`);
  });
  record('pod → ClusterIP: webapp01 → nginx-service 10.96.63.155:80 (kube-proxy DNAT, HTTP GET /)', () => {
    const s: HttpClientSession = httpGet(pods.webapp01.ns, parseIpv4('10.96.63.155'), 80);
    return () => (s.results[0] !== undefined ? `HTTP ${s.results[0].status}: ${s.results[0].body.trim()}` : `failed: ${s.error ?? 'no response'} ${s.errorDetail}`);
  });
  record('outside → NodePort: client → node01 192.168.50.11:30000 (nginx-service, masqueraded, HTTP GET /hello.html)', () => {
    const s: HttpClientSession = httpGet(cluster.client, parseIpv4('192.168.50.11'), 30000, { path: '/hello.html' });
    return () => (s.results[0] !== undefined ? `HTTP ${s.results[0].status}: ${s.results[0].body.trim()}` : `failed: ${s.error ?? 'no response'} ${s.errorDetail}`);
  });
  record('pod → outside, masqueraded by flanneld: webapp03 → client 203.0.113.10:80 (HTTP GET /)', () => {
    const s: HttpClientSession = httpGet(pods.webapp03.ns, parseIpv4('203.0.113.10'), 80);
    return () => (s.results[0] !== undefined ? `HTTP ${s.results[0].status}: ${s.results[0].body.trim()}` : `failed: ${s.error ?? 'no response'} ${s.errorDetail}`);
  });
  return { cluster, flows };
}

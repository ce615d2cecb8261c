/**
 * The main job's traffic: the seed scenario's five flows (same-node pod → pod,
 * cross-node pod → pod, pod → ClusterIP, outside → NodePort, pod → outside), run one
 * after another on a cluster built from the built-in seed spec, each with its own
 * recorded trace events and pcapng capture of every interface it crossed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SECOND } from '../netsim/time/scheduler.ts';
import { httpGet } from '../netsim/apps/http.ts';
import type { HttpClientSession } from '../netsim/apps/http.ts';
import { ping } from '../netsim/apps/ping.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { Capture } from '../pcaps/capture.ts';
import { parseClusterSpec } from './spec.ts';
import type { ClusterSpec } from './spec.ts';
import type { Cluster } from './cluster.ts';
import { resolveEndpoint } from './endpoint.ts';

/** The built-in demo scenario (examples/seed-cluster.yaml, shipped with the package). */
export const DEMO_SPEC_PATH = fileURLToPath(new URL('../examples/seed-cluster.yaml', import.meta.url));

export function demoSpec(): ClusterSpec {
  return parseClusterSpec(readFileSync(DEMO_SPEC_PATH, 'utf8'), 'examples/seed-cluster.yaml');
}

export interface DemoFlow {
  readonly title: string;
  readonly events: TraceEvent[];
  readonly outcome: string;
  readonly ok: boolean;
  /** Every frame of the flow on every interface it crossed, as pcapng. */
  readonly pcapng: Uint8Array;
  readonly interfaces: string[];
}

interface FlowPlan {
  readonly title: string;
  readonly from: string;
  readonly to: string;
  readonly kind: 'ping' | 'http';
  readonly port?: number;
  readonly path?: string;
}

function httpOutcome(s: HttpClientSession): { text: string; ok: boolean } {
  const r = s.results[0];
  return r !== undefined ? { text: `HTTP ${r.status}: ${r.body.trim()}`, ok: r.status === 200 } : { text: `failed: ${s.error ?? 'no response'} ${s.errorDetail}`.trim(), ok: false };
}

/** The seed's flows, by the names the seed spec gives its pods, services, nodes and hosts. */
export function seedFlowPlans(cluster: Cluster): FlowPlan[] {
  const node01 = formatIpv4(cluster.nodes.get('node01')?.primaryAddress('eth0') ?? 0);
  const svc = cluster.services.get('default/nginx-service');
  const client = formatIpv4(cluster.external.get('client')?.primaryAddress('eth0') ?? 0);
  const nodePort = svc?.ports[0]?.nodePort ?? 30000;
  return [
    { title: 'same-node pod → pod: webapp01 → webapp02 (ping)', from: 'pod:webapp01', to: 'pod:webapp02', kind: 'ping' },
    { title: 'cross-node pod → pod over flannel: webapp01 → backend:80 (HTTP GET /hello.html)', from: 'pod:webapp01', to: 'pod:backend', kind: 'http', port: 80, path: '/hello.html' },
    { title: `pod → ClusterIP: webapp01 → nginx-service ${svc !== undefined ? formatIpv4(svc.clusterIP) : '?'}:80 (kube-proxy DNAT, HTTP GET /)`, from: 'pod:webapp01', to: 'service:default/nginx-service:80', kind: 'http', port: 80 },
    { title: `outside → NodePort: client → node01 ${node01}:${nodePort} (nginx-service, masqueraded, HTTP GET /hello.html)`, from: 'external:client', to: `ip:${node01}`, kind: 'http', port: nodePort, path: '/hello.html' },
    { title: `pod → outside, masqueraded by flanneld: webapp03 → client ${client}:80 (HTTP GET /)`, from: 'pod:webapp03', to: `ip:${client}`, kind: 'http', port: 80 },
  ];
}

/** Run flows one after another, 10 s of virtual time each (ARP retries, FIN/ACK teardown). */
export async function runFlows(cluster: Cluster, plans: readonly FlowPlan[]): Promise<DemoFlow[]> {
  const { sim } = cluster;
  const flows: DemoFlow[] = [];
  for (const plan of plans) {
    const from = resolveEndpoint(plan.from, cluster);
    const to = resolveEndpoint(plan.to, cluster);
    if (from.ns === undefined) throw new Error(`${plan.from} cannot send`);
    const events: TraceEvent[] = [];
    const stop = sim.tracer.subscribe((e) => events.push(e), { bytes: true });
    const capture = new Capture(sim.tracer);
    capture.addNames(cluster.names());
    let outcome: () => { text: string; ok: boolean };
    if (plan.kind === 'ping') {
      const p = ping(from.ns, to.ip);
      outcome = () => (p.replies.length === 1 ? { text: `echo reply, ttl ${p.replies[0]?.ttl}`, ok: true } : { text: 'no reply', ok: false });
    } else {
      const s = httpGet(from.ns, to.ip, plan.port ?? to.port ?? 80, { ...(plan.path !== undefined ? { path: plan.path } : {}) });
      outcome = () => httpOutcome(s);
    }
    await cluster.runFor(10 * SECOND);
    stop();
    capture.stop();
    const o = outcome();
    flows.push({ title: plan.title, events, outcome: o.text, ok: o.ok, pcapng: capture.bytes(), interfaces: capture.interfaceNames() });
  }
  return flows;
}

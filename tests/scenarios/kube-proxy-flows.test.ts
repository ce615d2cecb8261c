/**
 * Packet-flow tables for kube-proxy, in the style of upstream's own packet-flow
 * tests — {source, destination, port} → {backends reached, masqueraded or not} or
 * DROP/REJECT — for both proxy modes, with real first packets through node01's
 * emulated netfilter/conntrack/IPVS (see tests/support/service-flows.ts).
 *
 * Where the modes differ it is because upstream's modes differ:
 * - externalTrafficPolicy / internalTrafficPolicy Local on a node without local
 *   endpoints: iptables mode DROPs; IPVS mode has no DROP and falls back to the
 *   cluster endpoints (kubernetes#97081). For external traffic that fallback is not
 *   masqueraded (KUBE-NODE-PORT-LOCAL-* returns before KUBE-MARK-MASQ), so the
 *   endpoint's reply goes straight back to the client from the pod's own address,
 *   where a real client discards it ("src-asym").
 * - internalTrafficPolicy Local alone (no external access) means the service never
 *   uses cluster endpoints (upstream CategorizeEndpoints computes none), so IPVS
 *   mode's fallback finds nothing either: the virtual server has no real server and
 *   IPVS answers port unreachable, where iptables mode DROPs.
 * - No endpoints: iptables mode REJECTs with a filter rule; in IPVS mode the virtual
 *   server has no real server and IPVS itself answers ICMP port unreachable
 *   (ip_vs_leave), which the client sees the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from '../../control/api/service.ts';
import { buildFlowCluster, udpSlice } from '../support/service-flows.ts';
import type { EndpointPod, Mode, Outcome } from '../support/service-flows.ts';

const ep = (name: string, ip: string, node: 'node01' | 'node02'): EndpointPod => ({ name, ip, node, port: 8080 });
const WEB_L = ep('web-l', '10.244.1.10', 'node01');
const WEB_R1 = ep('web-r1', '10.244.2.10', 'node02');
const WEB_R2 = ep('web-r2', '10.244.2.11', 'node02');
const ALL = [WEB_L, WEB_R1, WEB_R2];

type Spec = Service['spec'];
function svc(name: string, clusterIP: string, spec: Partial<NonNullable<Spec>> & { nodePort?: number } = {}, lbIP?: string): Service {
  const { nodePort, ...rest } = spec;
  return {
    metadata: { name, namespace: 'default' },
    spec: { clusterIP, ...rest, ports: [{ name: 'p', port: 80, targetPort: 8080, protocol: 'UDP', ...(nodePort !== undefined ? { nodePort } : {}) }] },
    ...(lbIP !== undefined ? { status: { loadBalancer: { ingress: [{ ip: lbIP }] } } } : {}),
  };
}

const SERVICES: Array<{ svc: Service; eps: EndpointPod[] }> = [
  { svc: svc('web', '10.96.0.20'), eps: ALL },
  { svc: svc('np', '10.96.0.21', { type: 'NodePort', nodePort: 30021 }), eps: ALL },
  { svc: svc('np-local', '10.96.0.22', { type: 'NodePort', externalTrafficPolicy: 'Local', nodePort: 30022 }), eps: [WEB_L, WEB_R1] },
  { svc: svc('np-remote', '10.96.0.23', { type: 'NodePort', externalTrafficPolicy: 'Local', nodePort: 30023 }), eps: [WEB_R1, WEB_R2] },
  { svc: svc('empty', '10.96.0.24', { type: 'NodePort', nodePort: 30024 }), eps: [] },
  { svc: svc('lb', '10.96.0.25', { type: 'LoadBalancer', nodePort: 30025 }, '198.51.100.10'), eps: ALL },
  { svc: svc('lb-fw', '10.96.0.26', { type: 'LoadBalancer', nodePort: 30026, loadBalancerSourceRanges: ['203.0.113.0/25'] }, '198.51.100.11'), eps: ALL },
  { svc: svc('ext', '10.96.0.27', { externalIPs: ['192.168.99.20'] }), eps: ALL },
  { svc: svc('itp', '10.96.0.28', { internalTrafficPolicy: 'Local' }), eps: [WEB_L, WEB_R1] },
  { svc: svc('itp-remote', '10.96.0.29', { internalTrafficPolicy: 'Local' }), eps: [WEB_R1, WEB_R2] },
  { svc: svc('lb-local', '10.96.0.31', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', nodePort: 30031, healthCheckNodePort: 32031 }, '198.51.100.12'), eps: [WEB_L, WEB_R1] },
  { svc: svc('ext-local', '10.96.0.32', { externalIPs: ['192.168.99.21'], externalTrafficPolicy: 'Local' }), eps: [WEB_L, WEB_R1] },
  { svc: svc('sticky', '10.96.0.30', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } }), eps: ALL },
];

const all = (how: 'masq' | 'src' | 'src-asym', eps: EndpointPod[] = ALL): Outcome => Object.fromEntries(eps.map((e) => [e.name, how]));

interface Row {
  readonly name: string;
  readonly from: string;
  readonly dst: string;
  readonly port: number;
  readonly want: Outcome | { readonly iptables: Outcome; readonly ipvs: Outcome };
}

const ROWS: Row[] = [
  { name: 'pod → ClusterIP', from: 'client', dst: '10.96.0.20', port: 80, want: all('src') },
  { name: 'node → ClusterIP', from: 'node01', dst: '10.96.0.20', port: 80, want: all('masq') },
  { name: 'pod → its own service (hairpin)', from: 'web-l', dst: '10.96.0.20', port: 80, want: { 'web-l': 'masq', 'web-r1': 'src', 'web-r2': 'src' } },
  { name: 'external → NodePort, externalTrafficPolicy Cluster', from: 'outside', dst: '192.168.50.11', port: 30021, want: all('masq') },
  { name: 'external → NodePort on a second node address', from: 'outside', dst: '192.168.50.21', port: 30021, want: all('masq') },
  { name: 'pod → NodePort on the node address', from: 'client', dst: '192.168.50.11', port: 30021, want: all('masq') },
  { name: 'external → NodePort, externalTrafficPolicy Local (local endpoint)', from: 'outside', dst: '192.168.50.11', port: 30022, want: { 'web-l': 'src' } },
  { name: 'pod → ClusterIP of an externalTrafficPolicy Local service', from: 'client', dst: '10.96.0.22', port: 80, want: all('src', [WEB_L, WEB_R1]) },
  {
    name: 'external → NodePort, externalTrafficPolicy Local, no local endpoint', from: 'outside', dst: '192.168.50.11', port: 30023,
    want: { iptables: 'DROP', ipvs: all('src-asym', [WEB_R1, WEB_R2]) },
  },
  { name: 'pod → ClusterIP, no endpoints', from: 'client', dst: '10.96.0.24', port: 80, want: 'REJECT' },
  { name: 'external → NodePort, no endpoints', from: 'outside', dst: '192.168.50.11', port: 30024, want: 'REJECT' },
  { name: 'external → LoadBalancer IP', from: 'outside', dst: '198.51.100.10', port: 80, want: all('masq') },
  { name: 'external → LoadBalancer IP, source in loadBalancerSourceRanges', from: 'outside@203.0.113.7', dst: '198.51.100.11', port: 80, want: all('masq') },
  { name: 'external → LoadBalancer IP, source outside loadBalancerSourceRanges', from: 'outside@198.18.0.7', dst: '198.51.100.11', port: 80, want: 'DROP' },
  { name: 'external → NodePort of the source-ranged LoadBalancer (ranges do not apply)', from: 'outside@198.18.0.7', dst: '192.168.50.11', port: 30026, want: all('masq') },
  { name: 'pod → LoadBalancer IP', from: 'client', dst: '198.51.100.10', port: 80, want: all('masq') },
  { name: 'external → LoadBalancer IP, externalTrafficPolicy Local', from: 'outside', dst: '198.51.100.12', port: 80, want: { 'web-l': 'src' } },
  { name: 'external → externalIP', from: 'outside', dst: '192.168.99.20', port: 80, want: all('masq') },
  { name: 'external → externalIP, externalTrafficPolicy Local', from: 'outside', dst: '192.168.99.21', port: 80, want: { 'web-l': 'src' } },
  { name: 'pod → ClusterIP, internalTrafficPolicy Local (local endpoint)', from: 'client', dst: '10.96.0.28', port: 80, want: { 'web-l': 'src' } },
  {
    name: 'pod → ClusterIP, internalTrafficPolicy Local, no local endpoint', from: 'client', dst: '10.96.0.29', port: 80,
    want: { iptables: 'DROP', ipvs: 'REJECT' },
  },
];

function cluster(mode: Mode) {
  return buildFlowCluster(mode, {
    services: SERVICES.map((s) => s.svc),
    endpoints: SERVICES.flatMap((s) => s.eps),
    slices: SERVICES.filter((s) => s.eps.length > 0).map((s) => udpSlice(s.svc.metadata.name!, s.eps)),
    clientPods: [{ name: 'client', ip: '10.244.1.2' }, { name: 'client2', ip: '10.244.1.3' }],
  });
}

for (const mode of ['iptables', 'ipvs'] as const) {
  test(`${mode} mode: packet-flow table`, () => {
    const c = cluster(mode);
    const got: string[] = [];
    const want: string[] = [];
    const problems: string[] = [];
    for (const row of ROWS) {
      const w = typeof row.want === 'string' || !('iptables' in row.want) ? row.want : (row.want as { iptables: Outcome; ipvs: Outcome })[mode];
      const r = c.probe(c.client(row.from), row.dst, row.port);
      got.push(`${row.name}: ${JSON.stringify(r.outcome)}`);
      want.push(`${row.name}: ${JSON.stringify(w)}`);
      for (const d of r.detail) problems.push(`${row.name}: ${d}`);
    }
    assert.deepEqual(got, want);
    assert.deepEqual(problems, []);
    c.kp.stop();
  });

  test(`${mode} mode: ClientIP session affinity pins each client to one endpoint; without it the same client spreads`, () => {
    const c = cluster(mode);
    const pinned: string[] = [];
    for (const from of ['client', 'client2']) {
      const r = c.probe(c.client(from), '10.96.0.30', 80, 12);
      assert.deepEqual(r.detail, []);
      assert.ok(typeof r.outcome === 'object', `${from}: reached a backend`);
      const backends = Object.entries(r.outcome);
      assert.equal(backends.length, 1, `${from} pinned: ${JSON.stringify(r.outcome)}`);
      assert.equal(backends[0]![1], 'src');
      assert.ok(ALL.some((e) => e.name === backends[0]![0]));
      pinned.push(backends[0]![0]);
    }
    // The same probes to the service without affinity reach every endpoint.
    const spread = c.probe(c.client('client'), '10.96.0.20', 80, 12);
    assert.equal(Object.keys(spread.outcome).length, 3);
    c.kp.stop();
  });
}

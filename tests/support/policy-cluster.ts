/**
 * Scenario-test support: a two-node cluster with kube-router's
 * policy controller, pods in two namespaces, and TCP probes on the virtual clock.
 *
 *   node01: shop/web (app=web; nginx on 80 "http" and 81), shop/client (app=client)
 *   node02: shop/far (app=client), other/client (app=client), other/host (hostNetwork)
 */
import { parseClusterSpec } from '../../cluster/spec.ts';
import { Cluster } from '../../cluster/cluster.ts';
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';

const pod = (ns: string, name: string, node: string, labels: string, extra = ''): string => `
---
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: { ${labels} } }
spec:
  nodeName: ${node}
${extra}`;

export const POLICY_TEST_MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { team: shop } }
---
apiVersion: v1
kind: Namespace
metadata: { name: other, labels: { team: other } }
${pod('shop', 'web', 'node01', 'app: web', `  containers:
    - name: nginx
      image: nginx
      ports: [ { name: http, containerPort: 80 }, { containerPort: 81 } ]`)}
${pod('shop', 'client', 'node01', 'app: client', `  containers: [ { name: c, image: busybox } ]`)}
${pod('shop', 'far', 'node02', 'app: client', `  containers: [ { name: c, image: busybox } ]`)}
${pod('other', 'client', 'node02', 'app: client', `  containers: [ { name: c, image: busybox } ]`)}
${pod('other', 'host', 'node02', 'app: host', `  hostNetwork: true
  containers: [ { name: c, image: nginx, ports: [ { containerPort: 8080 } ] } ]`)}
`;

export function policySpecText(opts: { enforcer?: 'kube-router' | 'none'; runtime?: 'docker' | 'cni'; manifests?: string } = {}): string {
  return `apiVersion: netsim/v1
kind: Cluster
metadata: { name: policy }
seed: 7
nodes:
  - { name: node01, address: 192.168.50.11 }
  - { name: node02, address: 192.168.50.12 }
network:
  underlayCIDR: 192.168.50.0/24
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  flannel: { backend: vxlan }
runtime: ${opts.runtime ?? 'docker'}
proxy: { mode: iptables }
networkPolicy: { enforcer: ${opts.enforcer ?? 'kube-router'} }
outside:
  cidr: 203.0.113.0/24
  router: { underlay: 192.168.50.1, outside: 203.0.113.1 }
  hosts: [ { name: client, address: 203.0.113.10 } ]
dns: { enabled: false }
manifests: |
${(opts.manifests ?? POLICY_TEST_MANIFESTS).split('\n').map((l) => `  ${l}`).join('\n')}
`;
}

export async function buildPolicyCluster(opts: Parameters<typeof policySpecText>[0] = {}): Promise<Cluster> {
  return Cluster.build(parseClusterSpec(policySpecText(opts), 'policy-test.yaml'));
}

/** The namespace of `ns/name` (a pod), or of a node (`node:NAME`). */
export function nsOf(cluster: Cluster, key: string): NetNamespace {
  if (key.startsWith('node:')) return cluster.nodes.get(key.slice(5)) as NetNamespace;
  const p = cluster.pods.get(key);
  if (p === undefined) throw new Error(`no pod ${key}`);
  return p.ns;
}

export function ipOf(cluster: Cluster, key: string): number {
  const ip = key.startsWith('node:') ? undefined : cluster.podIp(key);
  if (ip !== undefined) return parseIpv4(ip);
  const n = cluster.spec.nodes.find((x) => x.name === key.replace(/^node:/, ''));
  if (n === undefined) throw new Error(`no pod or node ${key}`);
  return parseIpv4(n.address);
}

/**
 * How a connect ended: `connected`; `refused` by a RST (nothing listens); `rejected`
 * by an ICMP port unreachable (kube-router's REJECT); `unreachable` (another ICMP
 * error); `timeout` (no answer within 3 s).
 */
export type ProbeResult = 'connected' | 'refused' | 'rejected' | 'unreachable' | 'timeout' | 'reset';

/** A TCP connect from `from` to `to`:port; how it ended within 3 s of virtual time. */
export async function tcpProbe(cluster: Cluster, from: string, to: string | number, port: number): Promise<ProbeResult> {
  const c = nsOf(cluster, from).tcp.connect(typeof to === 'number' ? to : ipOf(cluster, to), port);
  let result: ProbeResult = 'timeout';
  c.onConnect = () => {
    result = 'connected';
    c.abort();
  };
  c.onClose = (reason, detail) => {
    if (result !== 'timeout') return;
    if (reason === 'refused') result = /\(RST\)/.test(detail) ? 'refused' : 'rejected';
    else result = reason === 'unreachable' ? 'unreachable' : reason === 'reset' ? 'reset' : 'timeout';
  };
  await cluster.runFor(3 * SECOND);
  if (result === 'timeout' && c.softError !== undefined) result = 'unreachable';
  return result;
}

export const policy = (ns: string, name: string, spec: string): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec: JSON.parse(spec) as unknown,
});

/**
 * Services and EndpointSlices covering every iptables-mode feature, shared by the
 * golden, packet-flow and real-kernel tests.
 */
import type { EndpointSlice, Service } from '../control/api/service.ts';

export const NODE = 'node01';

function slice(ns: string, svc: string, ports: Array<{ name?: string; port: number; protocol?: 'TCP' | 'UDP' }>, eps: Array<{ ip: string; node?: string; ready?: boolean; terminating?: boolean }>): EndpointSlice {
  return {
    metadata: { name: `${svc}-abc12`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: eps.map((e) => ({ addresses: [e.ip], ...(e.node !== undefined ? { nodeName: e.node } : {}), conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: e.terminating ?? false } })),
  };
}

export const services: Service[] = [
  // ClusterIP with three endpoints (probabilities 1/3, 1/2, then unconditional).
  { metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.10.1', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  // NodePort, externalTrafficPolicy Cluster.
  { metadata: { name: 'nginx-service', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.96.63.155', ports: [{ port: 80, targetPort: 80, nodePort: 30000 }] } },
  // NodePort with externalTrafficPolicy Local: one local and one remote endpoint.
  { metadata: { name: 'local', namespace: 'shop' }, spec: { type: 'NodePort', clusterIP: '10.96.10.3', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ name: 'http', port: 80, nodePort: 30003 }] } },
  // LoadBalancer with source ranges and an external IP.
  { metadata: { name: 'lb', namespace: 'shop' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.10.4', externalIPs: ['192.168.99.4'], loadBalancerSourceRanges: ['203.0.113.0/25'], ports: [{ name: 'http', port: 80, nodePort: 30004 }] }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.4' }] } } },
  // ClientIP affinity.
  { metadata: { name: 'sticky', namespace: 'shop' }, spec: { clusterIP: '10.96.10.5', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }, ports: [{ name: 'http', port: 80 }] } },
  // No endpoints (REJECT), also on its NodePort.
  { metadata: { name: 'empty', namespace: 'shop' }, spec: { type: 'NodePort', clusterIP: '10.96.10.6', ports: [{ name: 'http', port: 80, nodePort: 30006 }] } },
  // internalTrafficPolicy Local without local endpoints (DROP).
  { metadata: { name: 'itp', namespace: 'shop' }, spec: { clusterIP: '10.96.10.7', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80 }] } },
  // UDP with two named ports.
  { metadata: { name: 'dns', namespace: 'kube-system' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] } },
  // Headless and ExternalName: no rules.
  { metadata: { name: 'headless', namespace: 'shop' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
  { metadata: { name: 'ext', namespace: 'shop' }, spec: { type: 'ExternalName', externalName: 'example.com' } },
];

export const slices: EndpointSlice[] = [
  slice('shop', 'web', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.11', node: NODE }, { ip: '10.244.2.12', node: 'node02' }, { ip: '10.244.2.13', node: 'node02' }]),
  slice('default', 'nginx-service', [{ port: 80 }], [{ ip: '10.244.1.21', node: NODE }, { ip: '10.244.2.22', node: 'node02' }]),
  slice('shop', 'local', [{ name: 'http', port: 80 }], [{ ip: '10.244.1.31', node: NODE }, { ip: '10.244.2.32', node: 'node02' }]),
  slice('shop', 'lb', [{ name: 'http', port: 80 }], [{ ip: '10.244.2.41', node: 'node02' }]),
  slice('shop', 'sticky', [{ name: 'http', port: 80 }], [{ ip: '10.244.1.51', node: NODE }, { ip: '10.244.2.52', node: 'node02' }, { ip: '10.244.2.53', node: 'node02', ready: false, terminating: true }]),
  slice('shop', 'itp', [{ name: 'http', port: 80 }], [{ ip: '10.244.2.71', node: 'node02' }]),
  slice('kube-system', 'dns', [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }], [{ ip: '10.244.1.81', node: NODE }]),
  slice('shop', 'headless', [{ port: 80 }], [{ ip: '10.244.1.91', node: NODE }]),
];

export const CLUSTER_CIDR = '10.244.0.0/16';

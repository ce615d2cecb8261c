/**
 * Services and EndpointSlices covering every kube-proxy feature, shared by the
 * golden, packet-flow, real-kernel and IPVS tests (test support; not used at run time).
 */
import type { EndpointSlice, Service } from '../control/api/service.ts';

export const NODE = 'node01';
export const NODE_IP = '192.168.50.11';
export const CLUSTER_CIDR = '10.244.0.0/16';

interface Ep { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean }

export function slice(ns: string, svc: string, ports: Array<{ name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }>, eps: Ep[], sliceName = `${svc}-abc12`): EndpointSlice {
  return {
    metadata: { name: sliceName, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      ...(e.node !== undefined ? { nodeName: e.node } : {}),
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
}

export const services: Service[] = [
  // ClusterIP with one, two and three endpoints (probabilities 1/3, 1/2, then unconditional).
  { metadata: { name: 'one', namespace: 'shop' }, spec: { clusterIP: '10.96.10.11', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  { metadata: { name: 'two', namespace: 'shop' }, spec: { clusterIP: '10.96.10.12', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  { metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.10.1', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  // NodePort, externalTrafficPolicy Cluster, unnamed port.
  { metadata: { name: 'nginx-service', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.96.63.155', ports: [{ port: 80, targetPort: 80, nodePort: 30000 }] } },
  // NodePort with externalTrafficPolicy Local: one local and one remote endpoint.
  { metadata: { name: 'local', namespace: 'shop' }, spec: { type: 'NodePort', clusterIP: '10.96.10.3', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30003 }] } },
  // LoadBalancer (Cluster) with source ranges (one of them holds the node) and an external IP.
  { metadata: { name: 'lb', namespace: 'shop' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.10.4', externalIPs: ['192.168.99.4'], loadBalancerSourceRanges: ['203.0.113.0/25', ' 192.168.50.0/24'], ports: [{ name: 'http', port: 80, nodePort: 30004 }] }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.4' }] } } },
  // LoadBalancer with externalTrafficPolicy Local and no endpoint on this node.
  { metadata: { name: 'lb-local', namespace: 'shop' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.10.8', externalIPs: ['192.168.99.8'], externalTrafficPolicy: 'Local', healthCheckNodePort: 32008, ports: [{ name: 'http', port: 80, nodePort: 30008 }] }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.8' }] } } },
  // ClientIP affinity; one endpoint is terminating (ready ones exist, so it is not used).
  { metadata: { name: 'sticky', namespace: 'shop' }, spec: { clusterIP: '10.96.10.5', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }, ports: [{ name: 'http', port: 80 }] } },
  // Only terminating-but-serving endpoints: the fallback uses them.
  { metadata: { name: 'draining', namespace: 'shop' }, spec: { clusterIP: '10.96.10.9', ports: [{ name: 'http', port: 80 }] } },
  // No endpoints (REJECT), also on its NodePort.
  { metadata: { name: 'empty', namespace: 'shop' }, spec: { type: 'NodePort', clusterIP: '10.96.10.6', ports: [{ name: 'http', port: 80, nodePort: 30006 }] } },
  // internalTrafficPolicy Local without (DROP) and with a local endpoint (KUBE-SVL).
  { metadata: { name: 'itp', namespace: 'shop' }, spec: { clusterIP: '10.96.10.7', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80 }] } },
  { metadata: { name: 'itp-here', namespace: 'shop' }, spec: { clusterIP: '10.96.10.10', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80 }] } },
  // UDP and TCP named ports on one service.
  { metadata: { name: 'dns', namespace: 'kube-system' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] } },
  // Headless and ExternalName: no rules.
  { metadata: { name: 'headless', namespace: 'shop' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
  { metadata: { name: 'ext', namespace: 'shop' }, spec: { type: 'ExternalName', externalName: 'example.com' } },
];

export const slices: EndpointSlice[] = [
  slice('shop', 'one', [{ name: 'http', port: 8080 }], [{ ip: '10.244.2.14', node: 'node02' }]),
  slice('shop', 'two', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.15', node: NODE }, { ip: '10.244.2.16', node: 'node02' }]),
  slice('shop', 'web', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.11', node: NODE }, { ip: '10.244.2.12', node: 'node02' }, { ip: '10.244.2.13', node: 'node02' }]),
  slice('default', 'nginx-service', [{ port: 80 }], [{ ip: '10.244.1.21', node: NODE }, { ip: '10.244.2.22', node: 'node02' }]),
  slice('shop', 'local', [{ name: 'http', port: 80 }], [{ ip: '10.244.1.31', node: NODE }, { ip: '10.244.2.32', node: 'node02' }]),
  slice('shop', 'lb', [{ name: 'http', port: 80 }], [{ ip: '10.244.2.41', node: 'node02' }]),
  slice('shop', 'lb-local', [{ name: 'http', port: 80 }], [{ ip: '10.244.2.42', node: 'node02' }]),
  slice('shop', 'sticky', [{ name: 'http', port: 80 }], [{ ip: '10.244.1.51', node: NODE }, { ip: '10.244.2.52', node: 'node02' }, { ip: '10.244.2.53', node: 'node02', ready: false, serving: true, terminating: true }]),
  slice('shop', 'draining', [{ name: 'http', port: 80 }], [{ ip: '10.244.2.91', node: 'node02', ready: false, serving: true, terminating: true }, { ip: '10.244.2.92', node: 'node02', ready: false, serving: false, terminating: true }]),
  slice('shop', 'itp', [{ name: 'http', port: 80 }], [{ ip: '10.244.2.71', node: 'node02' }]),
  slice('shop', 'itp-here', [{ name: 'http', port: 80 }], [{ ip: '10.244.1.72', node: NODE }, { ip: '10.244.2.73', node: 'node02' }]),
  slice('kube-system', 'dns', [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }], [{ ip: '10.244.1.81', node: NODE }]),
  slice('shop', 'headless', [{ port: 80 }], [{ ip: '10.244.1.91', node: NODE }]),
];

/**
 * N Services with `endpoints` endpoints each, in a mix that exercises every rule
 * kind: of each ten, one NodePort, one LoadBalancer with source ranges, one with
 * ClientIP affinity, one NodePort with externalTrafficPolicy Local, one without
 * endpoints, one UDP, the rest plain ClusterIP (NodePorts while 30000-32767 last).
 * `moved` renumbers one endpoint of every service (a churn step).
 */
export function scaleFixture(n: number, endpoints = 10, moved = -1): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const out: EndpointSlice[] = [];
  let nodePort = 30000;
  for (let i = 0; i < n; i++) {
    const name = `svc${i}`;
    const kind = i % 10;
    const np = (kind === 1 || kind === 2 || kind === 4) && nodePort <= 32767 ? nodePort++ : undefined;
    const protocol = kind === 6 ? 'UDP' : 'TCP';
    const spec: Service['spec'] = {
      clusterIP: `10.96.${i >> 8}.${i & 255}`,
      ports: [{ name: 'http', port: 80, protocol, targetPort: 8080, ...(np !== undefined ? { nodePort: np } : {}) }],
      ...(np !== undefined ? { type: kind === 2 ? 'LoadBalancer' : 'NodePort' } : {}),
      ...(kind === 2 ? { loadBalancerSourceRanges: ['203.0.113.0/25'] } : {}),
      ...(kind === 3 ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } } : {}),
      ...(kind === 4 ? { externalTrafficPolicy: 'Local' } : {}),
    };
    services.push({ metadata: { name, namespace: 'scale' }, spec, ...(kind === 2 && np !== undefined ? { status: { loadBalancer: { ingress: [{ ip: `198.51.${(i >> 8) & 255}.${i & 255}` }] } } } : {}) });
    if (kind === 5) continue;
    out.push(slice('scale', name, [{ name: 'http', port: 8080, protocol }], Array.from({ length: endpoints }, (_, j) => ({
      ip: `10.${100 + j}.${i >> 8}.${j === moved ? 254 - (i & 127) : i & 255}`, node: j === 0 ? NODE : `node${j}`,
    }))));
  }
  return { services, slices: out };
}

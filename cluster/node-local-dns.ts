/**
 * NodeLocal DNSCache (spec `dns.nodeLocalCache`), as kubernetes' addon manifest
 * cluster/addons/dns/nodelocaldns/nodelocaldns.yaml installs it: the
 * `kube-system/kube-dns-upstream` Service (kube-dns's pods under a second ClusterIP)
 * and the `kube-system/node-local-dns` DaemonSet of host-network pods running
 * k8s-dns-node-cache. Its pods are node components (system-pods.ts): a pod's start
 * starts node-cache on its node (apps/dns/node-cache.ts: the `nodelocaldns` dummy
 * interface, the NOTRACK rules, CoreDNS bound to the local address) and its stop tears
 * that down.
 *
 * The variant modelled is upstream's "kube-proxy in IPVS mode" one, which works for
 * every proxy mode: node-cache binds only the link-local address (`-localip
 * 169.254.20.10`) and kubelet's clusterDNS is that address, so pods' resolv.conf says
 * `nameserver 169.254.20.10`. The iptables-mode variant (also binding kube-dns's
 * ClusterIP on the interface so pods keep 10.96.0.10) is not modelled.
 *
 * Left out of the manifest: the ConfigMap (the Corefile is built in), the
 * ServiceAccount, the headless `node-local-dns` metrics Service, resources.
 */
import type { ClusterSpec } from './spec.ts';
import { KUBE_DNS_UPSTREAM, NODE_CACHE_HEALTH_PORT, NODE_CACHE_METRICS_PORT } from '../apps/dns/node-cache.ts';

/** The image of the addon manifest (system-pods.ts recognises `k8s-dns-node-cache`). */
const NODE_CACHE_IMAGE = 'registry.k8s.io/dns/k8s-dns-node-cache:1.26.4';

/** The Service and the DaemonSet, in the manifest's order. */
export function nodeLocalDnsManifests(spec: ClusterSpec): Record<string, unknown>[] {
  const local = spec.dns.nodeLocalCache;
  if (local === undefined) return [];
  const labels = { 'k8s-app': 'node-local-dns' };
  return [
    {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: KUBE_DNS_UPSTREAM, namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'KubeDNSUpstream' } },
      spec: {
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    },
    {
      apiVersion: 'apps/v1', kind: 'DaemonSet',
      metadata: { name: 'node-local-dns', namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/cluster-service': 'true' } },
      spec: {
        updateStrategy: { rollingUpdate: { maxUnavailable: '10%' } },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { 'prometheus.io/port': String(NODE_CACHE_METRICS_PORT), 'prometheus.io/scrape': 'true' } },
          spec: {
            priorityClassName: 'system-node-critical',
            hostNetwork: true,
            dnsPolicy: 'Default',
            tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { effect: 'NoExecute', operator: 'Exists' }, { effect: 'NoSchedule', operator: 'Exists' }],
            containers: [{
              name: 'node-cache', image: NODE_CACHE_IMAGE,
              args: ['-localip', local.address, '-conf', '/etc/Corefile', '-upstreamsvc', KUBE_DNS_UPSTREAM, '-pidfile', '/tmp/node-cache.pid'],
              securityContext: { capabilities: { add: ['NET_ADMIN'] } },
              ports: [
                { containerPort: 53, name: 'dns', protocol: 'UDP' },
                { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
                { containerPort: NODE_CACHE_METRICS_PORT, name: 'metrics', protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { host: local.address, path: '/health', port: NODE_CACHE_HEALTH_PORT }, initialDelaySeconds: 60, timeoutSeconds: 5 },
            }],
          },
        },
      },
    },
  ];
}

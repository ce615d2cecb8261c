/**
 * The cluster DNS add-on as kubeadm installs it: the `kube-system/coredns`
 * Deployment (2 replicas, `k8s-app: kube-dns`, dnsPolicy Default) and the
 * `kube-system/kube-dns` Service at the tenth address of the service CIDR with
 * ports `dns` 53/UDP, `dns-tcp` 53/TCP and `metrics` 9153/TCP. The pods run the
 * CoreDNS-like server of apps/dns in their own namespace, so a query crosses the
 * datapath like any other packet (kube-proxy's DNAT, flannel, conntrack).
 *
 * Every CoreDNS pod answers from one record engine fed by the add-on's own
 * informers on Services, EndpointSlices and Namespaces (polled by the cluster's
 * driver like kube-proxy's, so the same seed gives the same answers); each pod has
 * its own `cache 30`.
 *
 * Differences from kubeadm's manifests: no ConfigMap, ServiceAccount or RBAC (the
 * Corefile is kubeadm's, built in); the readinessProbe (`/ready` on 8181) is left
 * out so the add-on adds no periodic traffic to a cluster's traces (8181 and
 * `/health` on 8080 still answer); affinity and tolerations are not applied.
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { Ipv4Cidr, formatIpv4, parseIpv4 } from '../netsim/wire/addr.ts';
import { MS } from '../netsim/time/scheduler.ts';
import { startHttpServer } from '../netsim/apps/http.ts';
import { CoreDnsServer } from '../apps/dns/coredns.ts';
import { KubernetesRecords } from '../apps/dns/kubernetes-records.ts';
import type { EndpointSlice, Namespace, Service } from '../control/api/index.ts';
import type { ControlApi } from '../control/controllers/index.ts';
import { ListInformer } from './list-informer.ts';
import type { ClusterSpec } from './spec.ts';

/** The image kubeadm 1.32 deploys; pod-apps recognises `coredns` images. */
export const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.11.3';

/** kubeadm's DNS Service address: the tenth address of the service CIDR (GetDNSIP). */
export function dnsServiceIP(serviceCIDR: string): string {
  return formatIpv4((Ipv4Cidr.parse(serviceCIDR).network + 10) >>> 0);
}

/** The add-on's objects, in the order kubeadm creates them. */
export function dnsAddonManifests(spec: ClusterSpec): Record<string, unknown>[] {
  const labels = { 'k8s-app': 'kube-dns' };
  return [
    {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels },
      spec: {
        replicas: spec.dns.replicas,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            priorityClassName: 'system-cluster-critical',
            dnsPolicy: 'Default',
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            containers: [{
              name: 'coredns', image: COREDNS_IMAGE, imagePullPolicy: 'IfNotPresent',
              args: ['-conf', '/etc/coredns/Corefile'],
              ports: [
                { containerPort: 53, name: 'dns', protocol: 'UDP' },
                { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
                { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
              ],
            }],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service',
      metadata: {
        name: 'kube-dns', namespace: 'kube-system',
        labels: { ...labels, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
        annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
      },
      spec: {
        selector: labels,
        clusterIP: dnsServiceIP(spec.network.serviceCIDR),
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    },
  ];
}

/** A CoreDNS pod's running server (what pod-apps starts for a `coredns` image). */
export interface RunningDns {
  readonly server: CoreDnsServer;
  stop(): void;
}

/** The add-on's shared state: the record engine, its informers, the upstreams CoreDNS forwards to. */
export class ClusterDns {
  readonly records: KubernetesRecords;
  private readonly services$: ListInformer<Service>;
  private readonly slices$: ListInformer<EndpointSlice>;
  private readonly namespaces$: ListInformer<Namespace>;
  /** Servers of the running CoreDNS pods, by pod name. */
  readonly servers = new Map<string, CoreDnsServer>();

  constructor(api: ControlApi, readonly clusterDomain: string, readonly serviceIP: string, private readonly upstreams: readonly string[], unixNow: () => number) {
    this.records = new KubernetesRecords({ zone: clusterDomain, now: unixNow });
    this.services$ = new ListInformer<Service>(api, 'services');
    this.slices$ = new ListInformer<EndpointSlice>(api, 'endpointslices');
    this.namespaces$ = new ListInformer<Namespace>(api, 'namespaces');
    const r = this.records;
    this.services$.on({ add: (s) => r.setService(s), update: (_o, s) => r.setService(s), delete: (s) => r.deleteService(s) });
    this.slices$.on({ add: (s) => r.setEndpointSlice(s), update: (_o, s) => r.setEndpointSlice(s), delete: (s) => r.deleteEndpointSlice(s) });
    this.namespaces$.on({ add: (n) => r.setNamespace(n), update: (_o, n) => r.setNamespace(n), delete: (n) => r.deleteNamespace(n) });
  }

  /** One informer turn (the cluster's driver calls it with kube-proxy's). */
  async poll(): Promise<void> {
    await this.namespaces$.poll();
    await this.services$.poll();
    await this.slices$.poll();
    this.records.synced = true;
  }

  /** Start CoreDNS in a pod's namespace: DNS on 53/UDP+TCP, `/health` on 8080, `/ready` on 8181, metrics on 9153. */
  start(ns: NetNamespace, podName: string): RunningDns {
    const server = new CoreDnsServer(ns, { records: this.records, upstreams: this.upstreams.map(parseIpv4) });
    const http = [
      startHttpServer(ns, { port: 8080, podName, server: 'CoreDNS', pages: { '/health': 'OK' } }),
      startHttpServer(ns, { port: 8181, podName, server: 'CoreDNS', pages: { '/ready': 'OK' } }),
      startHttpServer(ns, { port: 9153, podName, server: 'CoreDNS', pages: { '/metrics': '# coredns metrics are not modelled\n' } }),
    ];
    this.servers.set(podName, server);
    return {
      server,
      stop: () => {
        server.close();
        for (const h of http) h.close();
        this.servers.delete(podName);
      },
    };
  }
}

/** Unix seconds of the virtual wall clock (the SOA serial). */
export function unixSeconds(epochMs: number, virtualNs: number): number {
  return Math.floor((epochMs + Math.floor(virtualNs / MS)) / 1000);
}

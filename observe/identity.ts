/**
 * Who an address is: a pod (namespace/name, labels, node), a node, an outside host,
 * a Service VIP, or the world. Built from the running cluster and rebuilt when asked
 * (pods come and go); a lookup is one Map probe, so the flow path stays cheap.
 */
import type { EmulatedCluster } from '../cluster/emulated-cluster.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import type { FlowEndpoint } from './flow.ts';

export type Identity = Omit<FlowEndpoint, 'ip' | 'port'>;

export interface IdentityResolver {
  /** The owner of an address; `world` when nobody in the cluster has it. */
  identify(ip: string): Identity;
  /** The Service a packet to ip:port/protocol addresses (ClusterIP, or a node address with a NodePort). */
  serviceAt(ip: string, port: number | undefined, protocol: string): string | undefined;
}

const WORLD: Identity = { kind: 'world' };

export class ClusterIdentity implements IdentityResolver {
  private byIp = new Map<string, Identity>();
  private services = new Map<string, string>();
  private nodePorts = new Map<string, string>();

  constructor(private readonly cluster: EmulatedCluster, private readonly labelsOf: (podKey: string) => Readonly<Record<string, string>> | undefined = () => undefined) {
    this.refresh();
  }

  /**
   * Re-read pods, nodes, outside hosts and Services (call after the cluster changed).
   * `apiPods`: pods as the API knows them, for those running in another process (a node
   * partition), named by their status.podIP; pods running here take precedence.
   */
  refresh(apiPods: ReadonlyArray<{ readonly key: string; readonly ip: string; readonly node: string }> = []): void {
    const byIp = new Map<string, Identity>();
    for (const p of apiPods) {
      const [namespace, name] = p.key.split('/') as [string, string];
      const labels = this.labelsOf(p.key);
      byIp.set(p.ip, { kind: 'pod', namespace, name, node: p.node, ...(labels !== undefined ? { labels } : {}) });
    }
    for (const [name, ns] of this.cluster.nodes) {
      for (const a of ns.addrs) if (a.dev !== 'lo') byIp.set(formatIpv4(a.addr), { kind: 'node', name });
    }
    for (const [name, ns] of this.cluster.external) {
      for (const a of ns.addrs) if (a.dev !== 'lo') byIp.set(formatIpv4(a.addr), { kind: 'external', name });
    }
    // Pods last (host-network pods such as kube-proxy's are not among them: their address names the node).
    for (const pod of this.cluster.pods.values()) {
      const [namespace, name] = pod.key.split('/') as [string, string];
      const labels = this.labelsOf(pod.key);
      byIp.set(formatIpv4(pod.ip), { kind: 'pod', namespace, name, node: pod.node, ...(labels !== undefined ? { labels } : {}) });
    }
    const services = new Map<string, string>();
    const nodePorts = new Map<string, string>();
    for (const svc of this.cluster.services.values()) {
      const vip = formatIpv4(svc.clusterIP);
      const [namespace, name] = svc.key.split('/') as [string, string];
      if (svc.clusterIP !== 0) byIp.set(vip, { kind: 'service', namespace, name });
      for (const p of svc.ports) {
        services.set(`${vip}:${p.port}/${p.protocol}`, svc.key);
        if (p.nodePort !== undefined) nodePorts.set(`${p.nodePort}/${p.protocol}`, svc.key);
      }
    }
    this.byIp = byIp;
    this.services = services;
    this.nodePorts = nodePorts;
  }

  identify(ip: string): Identity {
    return this.byIp.get(ip) ?? WORLD;
  }

  serviceAt(ip: string, port: number | undefined, protocol: string): string | undefined {
    if (port === undefined) return undefined;
    const direct = this.services.get(`${ip}:${port}/${protocol}`);
    if (direct !== undefined) return direct;
    return this.byIp.get(ip)?.kind === 'node' ? this.nodePorts.get(`${port}/${protocol}`) : undefined;
  }
}

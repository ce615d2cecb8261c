/**
 * The topology (topology.ts) of a cluster as its nodes hold it now: devices and
 * addresses read from each node's network namespace, pods from the node agents (those
 * with their own namespace; host-network pods are their node), readiness as the agent
 * decided it, labels from the API, Services and their endpoints from the informers
 * kube-proxy reads.
 */
import type { Cluster } from '../cluster/cluster.ts';
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import { LABEL_SERVICE_NAME } from '../control/api/service.ts';
import type { Topology, TopologyDevice, TopologyDeviceKind, TopologyEndpoint, TopologyHost, TopologyPod, TopologyService } from './topology.ts';

/** Devices by name as the UI sorts them: what a node's picture is made of. */
export function deviceKind(name: string): TopologyDeviceKind {
  if (/^(eth|ens|enp)\d/.test(name)) return 'nic';
  if (name === 'docker0' || name === 'cni0' || name === 'cbr0') return 'bridge';
  if (name === 'flannel0' || name.startsWith('flannel.')) return 'flannel';
  if (name === 'kube-ipvs0') return 'ipvs';
  return 'other';
}

function addresses(ns: NetNamespace, dev: string): string[] {
  return ns.addressesOf(dev).map((a) => `${formatIpv4(a.addr)}/${a.prefixLen}`);
}

/** A host's devices that belong in the picture: not lo, not the pods' veths (drawn on the pods). */
function hostDevices(ns: NetNamespace, veths: ReadonlySet<string>): TopologyDevice[] {
  const out: TopologyDevice[] = [];
  for (const name of ns.deviceNames()) {
    if (name === 'lo' || veths.has(name)) continue;
    out.push({ name, kind: deviceKind(name), addresses: addresses(ns, name) });
  }
  return out;
}

function host(name: string, kind: TopologyHost['kind'], ns: NetNamespace): TopologyHost {
  const addrs = [...ns.deviceNames()].filter((d) => d !== 'lo').flatMap((d) => addresses(ns, d));
  return { name, kind, addresses: addrs };
}

interface PodMeta {
  readonly metadata: { readonly namespace?: string; readonly name?: string; readonly labels?: Record<string, string> };
}

export async function buildTopology(cluster: Cluster): Promise<Topology> {
  const labels = new Map<string, Readonly<Record<string, string>>>();
  for (const p of await cluster.control.api.list<PodMeta>('pods')) labels.set(`${p.metadata.namespace ?? 'default'}/${p.metadata.name ?? ''}`, p.metadata.labels ?? {});

  const pods: TopologyPod[] = [];
  const nodes = [];
  for (const cn of cluster.clusterNodes.values()) {
    const veths = new Set<string>();
    for (const p of cn.agent.pods.values()) {
      if (p.stopped || p.net.hostNetwork) continue;
      if (p.net.hostVeth !== undefined) veths.add(p.net.hostVeth);
      pods.push({
        key: p.key, namespace: p.namespace, name: p.name, ip: formatIpv4(p.net.ip), node: cn.name,
        ...(p.net.hostVeth !== undefined ? { hostVeth: p.net.hostVeth } : {}),
        ready: p.ready && !p.terminating, labels: labels.get(p.key) ?? {},
      });
    }
    const ip = cn.ns.primaryAddress('eth0');
    const subnet = cn.flanneld.subnetEnv?.FLANNEL_SUBNET;
    nodes.push({ name: cn.name, ip: ip !== undefined ? formatIpv4(ip) : '', ...(subnet !== undefined ? { podSubnet: subnet } : {}), devices: hostDevices(cn.ns, veths) });
  }
  pods.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const outside: TopologyHost[] = [];
  if (cluster.underlay.router !== undefined) outside.push(host('router', 'router', cluster.underlay.router));
  for (const [name, ns] of cluster.external) outside.push(host(name, 'external', ns));

  const podByIp = new Map(pods.map((p) => [p.ip, p.key]));
  const endpointsOf = new Map<string, TopologyEndpoint[]>();
  for (const slice of cluster.slices$.items.values()) {
    const svc = slice.metadata.labels?.[LABEL_SERVICE_NAME];
    if (svc === undefined) continue;
    const key = `${slice.metadata.namespace ?? 'default'}/${svc}`;
    // A Service's slices may name one address more than once (a slice per port set): one endpoint, ready if any says so.
    const list = endpointsOf.get(key) ?? [];
    for (const ep of slice.endpoints) {
      for (const ip of ep.addresses) {
        const pod = podByIp.get(ip);
        const ready = ep.conditions?.ready !== false;
        const i = list.findIndex((e) => e.ip === ip);
        if (i < 0) list.push({ ip, ...(pod !== undefined ? { pod } : {}), ready });
        else if (ready) list[i] = { ...(list[i] as TopologyEndpoint), ready };
      }
    }
    endpointsOf.set(key, list);
  }
  const services: TopologyService[] = [];
  for (const [key, s] of cluster.services$.items) {
    const [namespace = 'default', name = key] = key.split('/');
    const vip = s.spec.clusterIP;
    services.push({
      key, namespace, name, type: s.spec.type ?? 'ClusterIP',
      ...(vip !== undefined && vip !== '' && vip !== 'None' ? { clusterIP: vip } : {}),
      ports: (s.spec.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) })),
      endpoints: (endpointsOf.get(key) ?? []).sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0)),
    });
  }
  services.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const spec = cluster.spec;
  return {
    flannelBackend: spec.network.flannel.backend, proxyMode: spec.proxy.mode,
    ...(spec.proxy.mode === 'ipvs' ? { ipvsScheduler: spec.proxy.scheduler } : {}),
    nodes, pods, outside, services,
  };
}

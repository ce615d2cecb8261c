/**
 * A cluster built from its spec, with every part a real node has: the underlay and
 * the outside network; on every node netfilter (+ IPVS and ipsets in IPVS mode),
 * flanneld with the spec's backend (leases from one subnet manager, as flannel with
 * etcd), the pod runtime (Docker from subnet.env, or CNI with kube-flannel's
 * conflist), the kubelet-like node agent, kube-proxy and (spec `networkPolicy`) the
 * NetworkPolicy enforcer; and the control plane (API server, store, controllers)
 * that feeds them.
 *
 * One driver keeps it deterministic: virtual time advances in ticks; between ticks,
 * when the store changed or an agent has work, `reconcile()` runs the controllers,
 * the node agents and the informers (kube-proxy's) until nothing more is written.
 * The same seed therefore gives the same pod names, addresses, rules, traces and
 * capture bytes. `netsim up` runs the same driver paced by the wall clock.
 */
import { EventRecorder } from '../control/controllers/event-recorder.ts';
import { markNodeNotReady, NodeLifecycleController } from '../control/controllers/node-lifecycle.ts';
import { rfc3339 } from '../control/controllers/types.ts';
import type { Sim } from '../netsim/sim.ts';
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { NetfilterStack } from '../netsim/netfilter/netfilter-stack.ts';
import { Iptables } from '../netsim/netfilter/iptables/iptables.ts';
import { IptablesShare } from '../netsim/netfilter/iptables/share.ts';
import { NftShare } from '../netsim/netfilter/nftables/share.ts';
import { IpsetShare } from '../netsim/ipset/share.ts';
import { IpvsShare } from '../netsim/ipvs/share.ts';
import { Nftables } from '../netsim/netfilter/nftables/nftables.ts';
import { SharedProxyObjects } from '../proxy/shared-objects.ts';
import { Ipvs } from '../netsim/ipvs/ipvs.ts';
import { Ipsets } from '../netsim/ipset/ipset.ts';
import { MS, SECOND } from '../netsim/time/scheduler.ts';
import { formatIpv4, parseIpv4 } from '../netsim/wire/addr.ts';
import { startHttpServer } from '../netsim/apps/http.ts';
import { startUdpEcho } from '../netsim/apps/echo.ts';
import { Flanneld } from '../cni/flannel/flanneld.ts';
import { KvSubnetManager, MemorySubnetManager } from '../cni/flannel/subnet-manager.ts';
import { MirroredLeaseKV } from '../cni/flannel/mirrored-lease-kv.ts';
import { DEFAULT_PREFIX, leaseKey, parseLeaseValue } from '../cni/flannel/lease.ts';
import { MemoryFs } from '../cni/host.ts';
import { SUBNET_FILE } from '../cni/flannel/subnet-env.ts';
import { KubeProxy } from '../proxy/kube-proxy.ts';
import { netsimKubeProxyNode } from '../proxy/netsim-node.ts';
import { NetworkPolicyController } from '../policy/controller.ts';
import { netsimIpsetCommands, netsimIptablesCommands } from '../policy/netsim-node.ts';
import { registerPolicyExplainer } from '../policy/explain.ts';
import type { Namespace, NetworkPolicy } from '../control/api/index.ts';
import type { EndpointSlice, Service } from '../control/api/service.ts';
import type { Node, Pod } from '../control/api/index.ts';
import type { ObjectStore } from '../control/store/object-store.ts';
import type { Controller, ControlApi } from '../control/controllers/index.ts';
import type { ClusterSpec } from './spec.ts';
import { buildUnderlay } from './underlay.ts';
import type { Underlay } from './underlay.ts';
import { PartitionError } from './partition.ts';
import type { Partition } from './partition.ts';
import { ControlPlane, DEFAULT_EPOCH_MS, seededUid } from './control-plane.ts';
import type { ApiServing } from './control-plane.ts';
import { ListInformer } from './list-informer.ts';
import { renderNodeView } from './node-views.ts';
import { checkClients, startClients } from './clients.ts';
import type { ClientStats } from './clients.ts';
import { LoadBalancerRoutes } from './load-balancer-routes.ts';
import { NodeAgent } from './node-agent.ts';
import { LazyPods } from './lazy-pods.ts';
import { componentOf, systemManifests } from './system-pods.ts';
import type { NodeComponent } from './system-pods.ts';
import type { AppTap } from './pod-apps.ts';
import { cniPodNetwork, dockerPodNetwork } from './pod-network.ts';
import type { PodNetworkProvider } from './pod-network.ts';
import type { EmulatedCluster, KubeProxyView, PodRef, ServiceRef } from './emulated-cluster.ts';
import { ClusterDns, dnsAddonManifests, dnsServiceIP, unixSeconds } from './dns-addon.ts';
import { nodeLocalDnsManifests } from './node-local-dns.ts';
import { KUBE_DNS_UPSTREAM, NodeCache } from '../apps/dns/node-cache.ts';
import { CoreDnsServer } from '../apps/dns/coredns.ts';
import { StaticZone } from '../apps/dns/static-zone.ts';
import type { ResolvConf } from '../apps/dns/resolv-conf.ts';

export interface ClusterNode {
  readonly name: string;
  readonly ns: NetNamespace;
  readonly netfilter: NetfilterStack;
  readonly ipvs: Ipvs | undefined;
  readonly ipsets: Ipsets | undefined;
  readonly fs: MemoryFs;
  readonly flanneld: Flanneld;
  readonly network: PodNetworkProvider;
  /** The pods the node keeps as records until touched (lazy-pods.ts). */
  readonly lazyPods: LazyPods;
  readonly agent: NodeAgent;
  readonly kubeProxy: KubeProxy;
  /** The NetworkPolicy enforcer (spec `networkPolicy.enforcer: kube-router`), else undefined. */
  readonly networkPolicy: NetworkPolicyController | undefined;
}

export interface BuildClusterOptions {
  /** Manifests applied after the spec's own (the CLI's `-f`). */
  readonly manifests?: readonly Record<string, unknown>[];
  /** The control plane's store (default: in memory). */
  readonly store?: ObjectStore;
  /** Wall-clock time of virtual time 0 (default 2026-01-01T00:00:00Z). */
  readonly epochMs?: number;
  /** Virtual time to let the cluster settle after building (default 3 s). */
  readonly settleNs?: number;
  /** Driver tick: how often the control plane gets a turn (default 100 ms of virtual time). */
  readonly tickNs?: number;
  /** Extra controllers (e.g. a load-balancer controller). */
  readonly extraControllers?: (api: ControlApi) => Controller[];
  /** uid generator (default: drawn from the run's Rng). */
  readonly uid?: () => string;
  /**
   * Start the pods' and outside hosts' apps (default true). `netsim verify` builds without
   * them: its real twin runs no apps, so both sides must answer probes the same way.
   */
  readonly apps?: boolean;
  /** Apply the spec's own manifests (default true; false when a kept store already holds the cluster's objects). */
  readonly specManifests?: boolean;
  /** kube-proxy deletes stale UDP conntrack entries of removed endpoints (default true; false = a kube-proxy without the conntrack tool). */
  readonly conntrackCleanup?: boolean;
  /** Observation tap on the pods' echo apps (experiments: which pod a datagram reached). */
  readonly appTap?: AppTap;
  /** The API server's token and TLS, for `netsim up`, which serves it on a socket. */
  readonly serving?: ApiServing;
  /**
   * Run only this partition's nodes (cluster/partition.ts), with the others in other
   * processes on the same store (etcd): flannel leases live in the store, the nodes post
   * heartbeats, and partition 0 alone runs the controllers (the node lifecycle
   * controller among them) and applies the spec's manifests. Real time only (`netsim up`).
   */
  readonly partition?: Partition;
  /** With a partition: how often each node posts its status (kubelet's nodeStatusUpdateFrequency, default 10 s). */
  readonly nodeStatusUpdateNs?: number;
  /** With a partition: the node lifecycle controller's grace period (default 50 s). */
  readonly nodeMonitorGraceMs?: number;
  /** kube-proxy skips the rebuild of syncs with nothing to do (default true; false for differential tests). */
  readonly quietProxySyncs?: boolean;
  /** kube-proxy's IPVS mode reconciles only the changed service ports (default true; false for differential tests). */
  readonly partialProxySyncs?: boolean;
}

/** What a node's kube-proxy is told of Service/EndpointSlice changes, with an optional hold (a late watch). */
interface ProxyFeed {
  heldUntil: number;
  readonly queue: Array<() => void>;
}

/** flannel's network config (etcd /coreos.com/network/config) for a spec. */
export function flannelConfigFor(spec: ClusterSpec): string {
  const f = spec.network.flannel;
  const backend = f.backend === 'udp' ? { Type: 'udp', Port: f.port } : f.backend === 'vxlan' ? { Type: 'vxlan', VNI: f.vni, Port: f.port } : { Type: 'host-gw' };
  return JSON.stringify({ Network: spec.network.clusterCIDR, SubnetLen: f.subnetLen, Backend: backend });
}

export class Cluster implements EmulatedCluster {
  readonly sim: Sim;
  readonly nodes: ReadonlyMap<string, NetNamespace>;
  readonly external: ReadonlyMap<string, NetNamespace>;
  readonly clusterNodes = new Map<string, ClusterNode>();
  /** The spec's declared clients and what they saw (cluster/clients.ts). */
  readonly clients: ClientStats[] = [];
  readonly subnets: KvSubnetManager;
  readonly services$: ListInformer<Service>;
  readonly slices$: ListInformer<EndpointSlice>;
  /** What the NetworkPolicy enforcers watch (polled only when the spec enables one). */
  readonly pods$: ListInformer<Pod>;
  readonly namespaces$: ListInformer<Namespace>;
  readonly networkPolicies$: ListInformer<NetworkPolicy>;
  private lastRevision = -1;
  private readonly tickNs: number;
  private readonly feeds = new Map<string, ProxyFeed>();
  private buildOpts: BuildClusterOptions = {};
  /** With `network.loadBalancerPool` and an outside router: the nodes' announcements of LoadBalancer IPs to it. */
  readonly loadBalancerRoutes: LoadBalancerRoutes | undefined;
  /** The cluster DNS add-on (spec `dns.enabled`, on by default). */
  dns: ClusterDns | undefined;
  /**
   * What the nodes share (spec `scale.share`): their iptables' rule lines parsed once and
   * chain bodies kept once; their nf_tables batches' lines parsed once and set elements
   * typed once (netsim/netfilter/nftables/share.ts); their ipsets restored alike and their virtual
   * services programmed alike held once (netsim/ipset/share.ts, netsim/ipvs/share.ts);
   * kube-proxy's view of each Service and EndpointSlice converted
   * once. The rest nodes hold alike is one per cluster already: the Service,
   * EndpointSlice, Pod, Namespace and NetworkPolicy informers above feed every node's
   * agents, and flannel's lease table is the one subnet manager's.
   */
  readonly iptablesShare: IptablesShare | undefined;
  readonly nftShare: NftShare | undefined;
  readonly ipsetShare: IpsetShare | undefined;
  readonly ipvsShare: IpvsShare | undefined;
  readonly proxyObjects: SharedProxyObjects | undefined;
  /** NodeLocal DNSCache by node, while its node-local-dns pod runs (spec `dns.nodeLocalCache`). */
  readonly nodeCaches = new Map<string, { readonly owner: string; readonly cache: NodeCache }>();

  /** With a partition: when the nodes next post their status, and the watch that tells this process of other partitions' writes. */
  private nextHeartbeat = 0;
  private storeWatch: { cancel(): void } | undefined;

  private constructor(readonly spec: ClusterSpec, readonly underlay: Underlay, readonly control: ControlPlane, subnets: KvSubnetManager, tickNs: number) {
    this.sim = underlay.sim;
    this.nodes = underlay.nodes;
    this.external = underlay.outsideHosts;
    this.subnets = subnets;
    this.tickNs = tickNs;
    this.services$ = new ListInformer<Service>(control.api, 'services');
    this.slices$ = new ListInformer<EndpointSlice>(control.api, 'endpointslices');
    this.pods$ = new ListInformer<Pod>(control.api, 'pods');
    this.namespaces$ = new ListInformer<Namespace>(control.api, 'namespaces');
    this.networkPolicies$ = new ListInformer<NetworkPolicy>(control.api, 'networkpolicies');
    this.loadBalancerRoutes = spec.network.loadBalancerPool !== undefined && underlay.router !== undefined ? new LoadBalancerRoutes(underlay.router, spec.nodes) : undefined;
    this.iptablesShare = spec.scale.share ? new IptablesShare() : undefined;
    this.nftShare = spec.scale.share ? new NftShare() : undefined;
    this.ipsetShare = spec.scale.share ? new IpsetShare() : undefined;
    this.ipvsShare = spec.scale.share ? new IpvsShare() : undefined;
    this.proxyObjects = spec.scale.share ? new SharedProxyObjects() : undefined;
  }

  static async build(spec: ClusterSpec, opts: BuildClusterOptions = {}): Promise<Cluster> {
    const partition = opts.partition;
    // Partition 0 (or the only process) runs the controllers and writes the spec's objects.
    const leader = partition === undefined || partition.index === 0;
    const underlay = buildUnderlay(spec, undefined, partition);
    const sim = underlay.sim;
    const epochMs = opts.epochMs ?? DEFAULT_EPOCH_MS;
    const wallClock = (): Date => new Date(epochMs + Math.floor(sim.clock.now() / MS));
    const control = await ControlPlane.start({
      ...(opts.store !== undefined ? { store: opts.store } : {}),
      ...(opts.serving !== undefined ? { serving: opts.serving } : {}),
      serviceCIDR: spec.network.serviceCIDR,
      clusterCIDR: spec.network.clusterCIDR,
      clock: wallClock,
      uid: opts.uid ?? seededUid(sim.rng.fork('uids')),
      // The first node plays the control plane: `default/kubernetes` points at its address:6443 (nothing listens there in the emulated network).
      ...(spec.nodes[0] !== undefined ? { advertiseAddress: spec.nodes[0].address } : {}),
      ...(spec.network.loadBalancerPool !== undefined ? { loadBalancerPool: spec.network.loadBalancerPool } : {}),
      controllers: leader,
      extraControllers: (api) => [
        ...(partition !== undefined ? [new NodeLifecycleController(api, wallClock, opts.nodeMonitorGraceMs)] : []),
        ...(opts.extraControllers?.(api) ?? []),
      ],
    });
    const subnets = partition === undefined
      ? new MemorySubnetManager(flannelConfigFor(spec), sim.clock, sim.rng.fork('flannel-subnets'))
      : await sharedSubnets(control, spec, sim, partition);
    const cluster = new Cluster(spec, underlay, control, subnets, opts.tickNs ?? 100 * MS);
    cluster.buildOpts = opts;
    const apps = opts.apps ?? true;
    if (spec.dns.enabled) {
      // CoreDNS pods have dnsPolicy Default: `forward . /etc/resolv.conf` reads the node's file.
      cluster.dns = new ClusterDns(control.api, spec.dns.clusterDomain, dnsServiceIP(spec.network.serviceCIDR), cluster.nodeResolvConf().nameservers, () => unixSeconds(epochMs, sim.clock.now()));
    }
    for (const n of spec.nodes) if (partition?.owns(n.name) ?? true) await cluster.addNode(n.name, n.address, n.labels, wallClock, apps);
    if (partition !== undefined) await cluster.checkLeases();
    if (apps) for (const h of underlay.outsideHosts.values()) {
      // An outside web server (nginx on 80) and a UDP echo (7): targets for pod → outside traffic.
      startHttpServer(h, { port: 80, podName: h.name, server: 'nginx/1.27.0' });
      startUdpEcho(h, 7);
      // The nodes' nameserver: answers the spec's outside names, NXDOMAIN for the rest.
      if (h.name === spec.dns.upstream) new CoreDnsServer(h, { records: new StaticZone('.', spec.dns.records), upstreams: [], cacheSeconds: 0, app: 'resolver' });
    }
    try {
      // The system DaemonSets after the spec's objects: user pods keep the names and uids they had before them.
      if (leader) for (const m of [...(opts.specManifests === false ? [] : spec.manifests), ...(opts.manifests ?? []), ...systemManifests({ ipMasq: spec.network.flannel.ipMasq })]) await control.apply(m, 'kubeadm');
    } catch (e) {
      // A bad manifest fails the build (ManifestError naming it); stop what already runs first.
      await cluster.close();
      throw e;
    }
    await cluster.reconcile();
    // The DNS add-on once the spec's objects exist (kubeadm installs it at init; installed
    // after them here so the spec's objects keep their names, uids and addresses).
    if (cluster.dns !== undefined && opts.specManifests !== false && leader) {
      for (const m of [...dnsAddonManifests(spec), ...nodeLocalDnsManifests(spec)]) await control.apply(m);
      await cluster.reconcile();
    }
    for (const cn of cluster.clusterNodes.values()) {
      cn.kubeProxy.onServicesSynced();
      cn.kubeProxy.onEndpointSlicesSynced();
      cn.kubeProxy.start();
      // kube-router starts its controller once the informers' caches have synced.
      cn.networkPolicy?.start();
    }
    await cluster.runFor(opts.settleNs ?? 3 * SECOND);
    if (spec.clients.length > 0) {
      try {
        checkClients(cluster, spec.clients);
      } catch (e) {
        await cluster.close();
        throw e;
      }
      cluster.clients.push(...startClients(cluster, spec.clients));
    }
    return cluster;
  }

  private async addNode(name: string, address: string, labels: Readonly<Record<string, string>>, wallClock: () => Date, apps: boolean): Promise<void> {
    const spec = this.spec;
    const ns = this.nodes.get(name) as NetNamespace;
    const share = this.iptablesShare;
    const netfilter = NetfilterStack.install(ns, {
      iptables: new Iptables(share !== undefined ? { share } : {}),
      ...(this.nftShare !== undefined ? { nft: new Nftables(() => ns.sim.clock.now(), this.nftShare) } : {}),
    });
    // The node's CPUs and its kernel era's clash resolution: conntrack's insertion race (netsim/netfilter/conntrack/conntrack.ts).
    netfilter.conntrack.cpus = spec.nodes.find((n) => n.name === name)?.cpus ?? 1;
    if (spec.conntrack !== undefined) {
      netfilter.conntrack.clashResolution = spec.conntrack.clashResolution;
      netfilter.conntrack.raceWindowNs = spec.conntrack.raceWindowNs;
    }
    const ipvsMode = spec.proxy.mode === 'ipvs';
    const ipvs = ipvsMode ? new Ipvs(() => this.sim.clock.now(), this.ipvsShare) : undefined;
    const policyOn = spec.networkPolicy.enforcer === 'kube-router';
    const ipsets = ipvsMode || policyOn ? new Ipsets(this.ipsetShare) : undefined;
    const fs = new MemoryFs();
    const flanneld = new Flanneld(ns, this.subnets, { publicIp: parseIpv4(address), ipMasq: spec.network.flannel.ipMasq, iptables: netfilter.iptables, fs });
    flanneld.start();
    const subnetEnv = fs.read(SUBNET_FILE);
    if (subnetEnv === undefined) throw new Error(`flanneld on ${name} wrote no ${SUBNET_FILE}`);
    const lazyPods = new LazyPods(ns, spec.scale.lazyPods && spec.runtime === 'docker');
    const network = spec.runtime === 'docker' ? dockerPodNetwork(ns, subnetEnv, netfilter.iptables, lazyPods) : cniPodNetwork(ns, netfilter.iptables, fs, this.sim.rng.fork(`cni:${name}`));
    const dns = this.dns;
    const appEnv = dns !== undefined ? { dns: (pns: NetNamespace, pod: string) => dns.start(pns, pod) } : {};
    // With NodeLocal DNSCache kubelet's --cluster-dns is the cache's link-local address (node-local-dns.ts).
    const clusterDNS = dns === undefined ? [] : [spec.dns.nodeLocalCache?.address ?? dns.serviceIP];
    const kubeletDns = { clusterDNS, clusterDomain: this.spec.dns.clusterDomain, node: this.nodeResolvConf() };
    const agent = new NodeAgent({
      nodeName: name, node: ns, network, api: this.control.api, clock: this.sim.clock, wallClock, apps, appEnv, dns: kubeletDns,
      components: (pod) => this.componentFor(name, pod),
      ...(this.buildOpts.appTap !== undefined ? { appTap: this.buildOpts.appTap } : {}),
    });
    const proxyNode = netsimKubeProxyNode(ns, netfilter, { ...(ipvs !== undefined ? { ipvs } : {}), ...(ipsets !== undefined ? { ipsets } : {}), wallClock });
    if (this.buildOpts.conntrackCleanup === false) delete (proxyNode as { conntrack?: unknown }).conntrack;
    // Without apps (netsim verify's build) kube-proxy's HTTP servers do not run either: its twin
    // runs no kube-proxy process, so both sides answer its ports as a node without listeners does.
    if (!apps) delete (proxyNode as { serveHttp?: unknown }).serveHttp;
    const kubeProxy = new KubeProxy(this.sim.clock, proxyNode, {
      mode: spec.proxy.mode, nodeName: name, clusterCIDR: spec.network.clusterCIDR, serviceCIDRs: [spec.network.serviceCIDR], nodeIP: address,
      scheduler: spec.proxy.scheduler, masqueradeAll: spec.proxy.masqueradeAll, minSyncPeriodMs: spec.proxy.syncPeriodNs / MS, epochMs: this.epochMs,
      // kube-proxy creates its nfacct counters where the kernel has xt_nfacct; verify's twin has no nfacct tool.
      nfacct: apps,
      ...(this.buildOpts.quietProxySyncs === false ? { quietSyncs: false } : {}),
      ...(this.buildOpts.partialProxySyncs === false ? { partialSyncs: false } : {}),
    }, this.proxyObjects);
    const feed: ProxyFeed = { heldUntil: -1, queue: [] };
    this.feeds.set(name, feed);
    const tell = (f: () => void): void => {
      if (feed.heldUntil >= 0) feed.queue.push(f);
      else f();
    };
    this.services$.on({ add: (s) => tell(() => kubeProxy.onServiceAdd(s)), update: (a, b) => tell(() => kubeProxy.onServiceUpdate(a, b)), delete: (s) => tell(() => kubeProxy.onServiceDelete(s)) });
    this.slices$.on({ add: (s) => tell(() => kubeProxy.onEndpointSliceAdd(s)), update: (a, b) => tell(() => kubeProxy.onEndpointSliceUpdate(a, b)), delete: (s) => tell(() => kubeProxy.onEndpointSliceDelete(s)) });
    const networkPolicy = policyOn && ipsets !== undefined ? this.networkPolicyController(name, address, netfilter, ipsets) : undefined;
    this.clusterNodes.set(name, { name, ns, netfilter, ipvs, ipsets, fs, flanneld, network, lazyPods, agent, kubeProxy, networkPolicy });
    // kubelet registers its Node; the podCIDR is flannel's lease (flannel with etcd owns pod subnets).
    const podCIDR = flanneld.lease?.subnet.toString();
    const node: Node = {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...labels } },
      spec: podCIDR !== undefined ? { podCIDR, podCIDRs: [podCIDR] } : {},
      status: { addresses: [{ type: 'InternalIP', address }, { type: 'Hostname', address: name }] },
    };
    try {
      await this.control.api.create('nodes', undefined, node);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 409) throw e;
      // A kept store (netsim up --state) already has the Node: this run's lease and addresses win.
      const old = (await this.control.api.list<Node>('nodes')).find((n) => n.metadata.name === name);
      if (old !== undefined) await this.control.api.update('nodes', undefined, name, { ...old, metadata: { ...old.metadata, labels: { ...old.metadata.labels, ...node.metadata.labels } }, spec: { ...old.spec, ...node.spec } });
    }
  }

  /** kube-router's network policy controller for a node, fed by the cluster's pod, namespace and policy informers. */
  private networkPolicyController(name: string, address: string, netfilter: NetfilterStack, ipsets: Ipsets): NetworkPolicyController {
    const epochNs = BigInt(this.epochMs) * 1_000_000n;
    const npc = new NetworkPolicyController(
      { nodeName: name, nodeIPs: [address], serviceClusterIPRange: this.spec.network.serviceCIDR, nodePortRange: '30000:32767', syncPeriodMs: this.spec.networkPolicy.syncPeriodNs / MS },
      {
        iptables: netsimIptablesCommands(netfilter), ipset: netsimIpsetCommands(netfilter, ipsets), clock: this.sim.clock,
        nowUnixNano: () => epochNs + BigInt(this.sim.clock.now()),
        listers: { pods: () => this.pods$.items.values(), namespaces: () => this.namespaces$.items.values(), networkPolicies: () => this.networkPolicies$.items.values() },
      },
    );
    npc.watch(this.pods$, this.namespaces$, this.networkPolicies$);
    // Traces and flows name the policy behind a hit rule.
    registerPolicyExplainer(netfilter, npc);
    return npc;
  }

  /**
   * The node component a system pod on `node` is (system-pods.ts). kube-proxy stopped
   * keeps its rules and hears nothing (its feed is held); started again, it catches up
   * and resyncs. flanneld keeps running (a restart of it is not modelled).
   */
  private componentFor(node: string, pod: Pod): NodeComponent | undefined {
    switch (componentOf(pod)) {
      case 'kube-proxy': return {
        start: () => {
          const cn = this.clusterNodes.get(node);
          if (cn === undefined) return;
          this.releaseProxy(this.feedOf(node));
          cn.kubeProxy.start();
          cn.kubeProxy.requestSync();
        },
        stop: () => {
          this.feedOf(node).heldUntil = Number.MAX_SAFE_INTEGER;
          this.clusterNodes.get(node)?.kubeProxy.stop();
        },
      };
      case 'flanneld': return { start: () => {}, stop: () => {} };
      case 'node-cache': {
        // One node-cache per node: a new pod's process takes over from a terminating one; an old pod's stop leaves the new one alone.
        const owner = pod.metadata.uid ?? pod.metadata.name ?? '';
        return {
          start: () => {
            const cn = this.clusterNodes.get(node);
            const local = this.spec.dns.nodeLocalCache;
            if (cn === undefined || local === undefined) return;
            this.nodeCaches.get(node)?.cache.stop();
            const cache = new NodeCache(cn.ns, cn.netfilter.iptables, {
              localIPs: [local.address], clusterDomain: this.spec.dns.clusterDomain, upstreams: this.nodeResolvConf().nameservers,
              // `-upstreamsvc kube-dns-upstream`: the Service's ClusterIP, as its environment variable gives it.
              clusterDns: () => this.services$.items.get(`kube-system/${KUBE_DNS_UPSTREAM}`)?.spec.clusterIP,
            });
            cache.start();
            this.nodeCaches.set(node, { owner, cache });
          },
          stop: () => {
            const running = this.nodeCaches.get(node);
            if (running?.owner !== owner) return;
            running.cache.stop();
            this.nodeCaches.delete(node);
          },
        };
      }
      default: return undefined;
    }
  }

  /**
   * Delay what `node`'s kube-proxy hears of Service and EndpointSlice changes by
   * `delayNs` from now (a slow watch, an overloaded kube-proxy): changes are queued
   * and delivered in order when the hold ends, then kube-proxy syncs as usual.
   * A later call extends the hold.
   */
  delayProxy(node: string, delayNs: number): void {
    const feed = this.feedOf(node);
    const until = this.sim.clock.now() + delayNs;
    if (until <= feed.heldUntil) return;
    feed.heldUntil = until;
    this.sim.clock.at(until, () => {
      if (feed.heldUntil !== until) return;
      this.releaseProxy(feed);
    });
  }

  private feedOf(node: string): ProxyFeed {
    const feed = this.feeds.get(node);
    if (feed === undefined) throw new RangeError(`no node "${node}"`);
    return feed;
  }

  private releaseProxy(feed: ProxyFeed): void {
    feed.heldUntil = -1;
    for (const f of feed.queue.splice(0)) f();
  }

  /**
   * The node goes down: its underlay link drops, its agent stops every pod (apps and
   * networks) and stays idle, its kube-proxy stops and hears nothing; and what the
   * node lifecycle controller does once the node stops posting status (here at
   * once, not after the 40 s grace): the Node's Ready condition becomes Unknown and
   * its pods' Ready condition False, so their endpoints leave every Service.
   * Pods are not evicted (the 5-minute toleration is not modelled).
   */
  async nodeDown(node: string): Promise<void> {
    const cn = this.clusterNodes.get(node);
    if (cn === undefined) throw new RangeError(`no node "${node}"`);
    const feed = this.feedOf(node);
    feed.heldUntil = Number.MAX_SAFE_INTEGER;
    cn.kubeProxy.stop();
    cn.networkPolicy?.stop();
    cn.agent.shutdown();
    cn.ns.setUp('eth0', false);
    const n = (await this.control.api.list<Node>('nodes')).find((x) => x.metadata.name === node);
    if (n !== undefined) await markNodeNotReady(this.control.api, n, rfc3339(this.now()), new EventRecorder(this.control.api, 'node-controller', () => this.now()));
    await this.reconcile();
  }

  /** The node is back: link up, the agent reports Ready and starts its pods afresh, kube-proxy catches up and syncs. */
  async nodeUp(node: string): Promise<void> {
    const cn = this.clusterNodes.get(node);
    if (cn === undefined) throw new RangeError(`no node "${node}"`);
    cn.ns.setUp('eth0', true);
    cn.agent.resume();
    this.releaseProxy(this.feedOf(node));
    cn.kubeProxy.start();
    cn.kubeProxy.requestSync();
    cn.networkPolicy?.start();
    await this.reconcile();
  }

  private get epochMs(): number {
    return this.buildOpts.epochMs ?? DEFAULT_EPOCH_MS;
  }

  /**
   * Run controllers, node agents and informers until nothing more is written, at most
   * `maxRounds` rounds in this turn; when the rounds run out with writes still coming, the
   * next tick takes another turn (a rollout of thousands of pods stopped here for good).
   */
  async reconcile(maxRounds = 30): Promise<number> {
    let total = 0;
    let quiet = false;
    for (let round = 0; round < maxRounds; round++) {
      let writes = await this.control.runControllers();
      const [pods, nodes] = await Promise.all([this.control.api.list<Pod>('pods'), this.control.api.list<Node>('nodes')]);
      // Each agent gets the pods bound to its node (kubelet's spec.nodeName field selector), in list order:
      // handing every agent every pod made a round O(nodes × pods).
      const podsOf = new Map<string, Pod[]>();
      for (const p of pods) {
        const n = p.spec.nodeName;
        if (n === undefined || n === '') continue;
        const list = podsOf.get(n);
        if (list === undefined) podsOf.set(n, [p]);
        else list.push(p);
      }
      const nodeByName = new Map(nodes.map((n) => [n.metadata.name, n]));
      for (const cn of this.clusterNodes.values()) {
        writes += await cn.agent.sync(podsOf.get(cn.name) ?? [], nodes);
        // kube-proxy watches its own Node: a deleted or to-be-deleted one fails /healthz.
        cn.kubeProxy.syncNode(nodeByName.get(cn.name));
      }
      if (this.spec.networkPolicy.enforcer !== 'none') {
        // After the agents' writes: the pods as they are now (addresses, phases).
        this.pods$.deliver(await this.control.api.list<Pod>('pods'));
        await this.namespaces$.poll();
        await this.networkPolicies$.poll();
      }
      await this.services$.poll();
      await this.slices$.poll();
      await this.dns?.poll();
      this.loadBalancerRoutes?.sync(this.services$.items.values(), this.slices$.items.values(), new Set([...this.clusterNodes.values()].filter((n) => n.agent.isDown).map((n) => n.name)));
      total += writes;
      if (writes === 0) {
        quiet = true;
        break;
      }
    }
    this.lastRevision = quiet ? this.control.revision() : -1;
    return total;
  }

  /**
   * A partition's share of what one process did alone: keep a watch on the store open
   * (its events advance the store's revision, so other partitions' writes wake the
   * driver), and post each node's status every `nodeStatusUpdateNs` (kubelet's
   * heartbeat, which the node lifecycle controller of partition 0 watches).
   */
  private async partitionDuties(): Promise<void> {
    if (this.storeWatch === undefined) {
      const store = this.control.store;
      // Re-opened on the next tick when it breaks (an etcd outage); events themselves carry nothing needed here.
      this.storeWatch = store.watch('/registry/', store.revision(), () => {}, () => { this.storeWatch = undefined; });
    }
    const now = this.sim.clock.now();
    if (now < this.nextHeartbeat) return;
    this.nextHeartbeat = now + (this.buildOpts.nodeStatusUpdateNs ?? 10 * SECOND);
    const stamp = rfc3339(this.now());
    for (const n of await this.control.api.list<Node>('nodes')) {
      const name = n.metadata.name ?? '';
      const cn = this.clusterNodes.get(name);
      // Before the agent's first Ready (and while the node is down) there is nothing to post.
      if (cn === undefined || cn.agent.isDown) continue;
      const prev = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
      if (prev === undefined) continue;
      const ready = { type: 'Ready', status: 'True' as const, reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: stamp, lastTransitionTime: prev.status === 'True' ? prev.lastTransitionTime ?? stamp : stamp };
      const conditions = [...(n.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), ready];
      await this.control.api.updateStatus('nodes', undefined, name, { ...n, status: { ...n.status, conditions } });
    }
  }

  /**
   * Two partitions may pick the same free subnet at the same moment (each from its own
   * copy of the lease table, as two flanneld hosts may): the store keeps the first
   * create. A node whose lease the store does not hold as its own fails the start.
   */
  private async checkLeases(): Promise<void> {
    const kv = this.subnets.kv as MirroredLeaseKV;
    await kv.flush();
    for (const cn of this.clusterNodes.values()) {
      const l = cn.flanneld.lease;
      if (l === undefined) continue;
      const stored = await this.control.store.get(leaseKey(l.subnet, DEFAULT_PREFIX));
      const mine = stored !== undefined && parseLeaseValue(stored.value)?.publicIp === l.attrs.publicIp;
      if (!mine) throw new PartitionError(`flannel lease ${l.subnet.toString()} of ${cn.name} was taken by another partition at the same moment; start this partition again`);
    }
  }

  /** Whether the control plane has something to do now. */
  get needsReconcile(): boolean {
    if (this.control.revision() !== this.lastRevision || [...this.clusterNodes.values()].some((n) => n.agent.hasPendingWork)) return true;
    const wake = this.control.nextWakeMs();
    return wake !== undefined && wake <= this.epochMs + Math.floor(this.sim.clock.now() / MS);
  }

  /** Advance virtual time by `dt`, giving the control plane a turn every tick. */
  async runFor(dt: number): Promise<void> {
    const end = this.sim.clock.now() + dt;
    for (;;) {
      if (this.buildOpts.partition !== undefined) await this.partitionDuties();
      if (this.needsReconcile) await this.reconcile();
      const now = this.sim.clock.now();
      if (now >= end) break;
      this.sim.clock.run(Math.min(end, now + this.tickNs));
    }
  }

  /** Apply manifests (server-side apply) and let the cluster react for `settleNs` (default 3 s). */
  async apply(manifests: readonly Record<string, unknown>[], settleNs = 3 * SECOND): Promise<string[]> {
    const out: string[] = [];
    for (const m of manifests) out.push(await this.control.apply(m));
    await this.runFor(settleNs);
    return out;
  }

  /** Pods with their own network namespace (host-network pods such as kube-proxy's are their node: `node:NAME`). */
  get pods(): ReadonlyMap<string, PodRef> {
    const out = new Map<string, PodRef>();
    for (const cn of this.clusterNodes.values()) {
      for (const p of cn.agent.pods.values()) {
        if (p.stopped || p.net.hostNetwork) continue;
        const net = p.net;
        // `ns` is read only by whoever uses the pod's namespace: that builds a pod kept as a record (lazy-pods.ts).
        out.set(p.key, { key: p.key, get ns(): NetNamespace { return net.ns; }, ip: net.ip, node: cn.name, resolvConf: p.resolvConf, hosts: p.hosts });
      }
    }
    return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }

  get services(): ReadonlyMap<string, ServiceRef> {
    const out = new Map<string, ServiceRef>();
    for (const [key, s] of this.services$.items) {
      const ip = s.spec.clusterIP;
      if (ip === undefined || ip === 'None' || ip === '') continue;
      const ports = (s.spec.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP', ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) }));
      out.set(key, { key, clusterIP: parseIpv4(ip), ports });
    }
    return out;
  }

  /** The nodes' /etc/resolv.conf: the spec's DNS upstream as nameserver (none without one). */
  nodeResolvConf(): ResolvConf {
    const up = this.spec.dns.upstream !== undefined ? this.spec.outside?.hosts.find((h) => h.name === this.spec.dns.upstream) : undefined;
    return { nameservers: up !== undefined ? [up.address] : [], search: [], options: [] };
  }

  /** Apps run from the moment a pod starts; nothing to do. */
  startApps(): void {}

  failedPods(): Array<{ key: string; node: string; message: string }> {
    return [...this.clusterNodes.values()].flatMap((cn) => [...cn.agent.failures.values()].map((f) => ({ key: f.key, node: cn.name, message: `Failed to create pod sandbox: ${f.message}` })));
  }

  /**
   * IPv4 → name records for captures (Wireshark's `-N n`): pods by name, nodes and
   * outside hosts (the router too) by name on their NICs, a node's bridge and tunnel
   * addresses as `docker0.node01` / `flannel0.node01`, and ClusterIPs as `svc.ns`
   * (the start of their cluster DNS name).
   */
  names(): Array<{ ip: number; name: string }> {
    const out = [...this.pods.values()].map((p) => ({ ip: p.ip, name: p.key.split('/')[1] ?? p.key }));
    const router: Array<[string, NetNamespace]> = this.underlay.router !== undefined ? [['router', this.underlay.router]] : [];
    for (const [name, ns] of [...this.nodes, ...this.external, ...router]) {
      for (const dev of ns.deviceNames()) {
        if (dev === 'lo') continue;
        const ip = ns.primaryAddress(dev);
        if (ip !== undefined && !out.some((r) => r.ip === ip)) out.push({ ip, name: /^eth\d+$/.test(dev) ? name : `${dev}.${name}` });
      }
    }
    for (const s of this.services.values()) {
      const [ns, svc] = s.key.split('/');
      out.push({ ip: s.clusterIP, name: `${svc}.${ns}` });
    }
    return out;
  }

  nodeView(node: string, view: string): string | undefined {
    const cn = this.clusterNodes.get(node);
    cn?.lazyPods.materialise();
    return cn === undefined ? undefined : renderNodeView(view, { node: cn, now: this.now(), subnets: this.subnets });
  }

  kubeProxyView(node: string): KubeProxyView | undefined {
    const kp = this.clusterNodes.get(node)?.kubeProxy;
    if (kp === undefined) return undefined;
    const loadBalancerIPs: Array<KubeProxyView['loadBalancerIPs'][number]> = [];
    for (const { service, protocol: proto, port, loadBalancerIPs: ips } of kp.proxier.svcPortMap.values()) {
      if (proto !== 'sctp') for (const ip of ips) loadBalancerIPs.push({ service, ip, proto, port });
    }
    return { healthChecks: kp.serviceHealth.list(), loadBalancerIPs };
  }

  /** Build the pods `node` (every node when absent) keeps as records (lazy-pods.ts): before a front end reads the node's devices itself. */
  materialise(node?: string): void {
    for (const cn of this.clusterNodes.values()) if (node === undefined || cn.name === node) cn.lazyPods.materialise();
  }

  /** The cluster's wall clock: the epoch plus virtual time (what timestamps and logs show). */
  now(): Date {
    return new Date(this.epochMs + Math.floor(this.sim.clock.now() / MS));
  }

  /** A pod's address as text, for messages. */
  podIp(key: string): string | undefined {
    const p = this.pods.get(key);
    return p !== undefined ? formatIpv4(p.ip) : undefined;
  }

  async close(): Promise<void> {
    this.storeWatch?.cancel();
    if (this.subnets.kv instanceof MirroredLeaseKV) this.subnets.kv.close();
    for (const cn of this.clusterNodes.values()) {
      cn.kubeProxy.stop();
      cn.networkPolicy?.stop();
      cn.flanneld.stop();
    }
    await this.control.close();
  }
}

/**
 * flannel's leases in the control plane's store (etcd for partitions), as flanneld with
 * etcd keeps them under /coreos.com/network: the network config is written once (the
 * first partition's create wins; all write the same text), and each partition draws its
 * subnets from its own stream of the seeded Rng so two starting together rarely collide.
 */
async function sharedSubnets(control: ControlPlane, spec: ClusterSpec, sim: Sim, partition: Partition): Promise<KvSubnetManager> {
  const kv = await MirroredLeaseKV.open(control.store, `${DEFAULT_PREFIX}/`, sim.clock);
  if (kv.get(`${DEFAULT_PREFIX}/config`) === undefined) kv.put(`${DEFAULT_PREFIX}/config`, flannelConfigFor(spec), { create: true });
  return new KvSubnetManager(kv, sim.clock, sim.rng.fork(`flannel-subnets:${partition.index}`));
}

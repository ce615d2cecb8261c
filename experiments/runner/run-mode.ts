/**
 * One mode of an experiment on a fresh cluster: build the cluster with that proxy
 * mode (and IPVS scheduler) and the experiment's seed, wait until the target's
 * endpoints are ready and every kube-proxy has synced, then drive the clients on the
 * virtual clock through the real datapath and feed an {@link ExperimentAccumulator}.
 *
 * Clients
 * - `nodes: [...]` groups are client pods (image netsim/http-client, no server),
 *   spread round robin over the listed nodes; the node whose kube-proxy decides is
 *   the client's node.
 * - `outside:` groups live on an outside host, one source address each: the
 *   `sourceCIDR`'s first addresses, or (without one) addresses picked from the top
 *   of the outside network; they are added to the host's eth0. The deciding node is
 *   the NodePort target's node.
 * - Arrivals (all clients together) are a Poisson process or evenly spaced at the
 *   given rate, drawn from the run's seeded RNG; each arrival picks a client
 *   uniformly at random.
 *
 * Connections
 * - TCP: an HTTP/1.1 connection with R GETs (1 per-request; R keep-alive), the last
 *   one `Connection: close`. The backend is the pod the page names.
 * - UDP: R datagrams one after another, each carrying a 4-byte id, each awaiting
 *   its echo. per-request: a fresh socket (source port) per connection; keep-alive:
 *   one socket per client for the whole run (a long-lived flow, like a resolver),
 *   which is what keeps a stale conntrack entry alive. The backend is the pod whose
 *   echo app read the id (cluster appTap — an observation tap, not a shortcut: the
 *   datagram got there through conntrack, NAT and the scheduler).
 * - DNS: one getaddrinfo of the experiment's `lookup` through the client pod's
 *   stub resolver (see startLookup); its own timeouts decide, not the response
 *   timeout below.
 * - Outcome: served (every response arrived); failed (a reset, refusal or ICMP
 *   error); black-holed (nothing came back within {@link RESPONSE_TIMEOUT_NS}).
 * - With several client groups each connection names its group (per-group
 *   latency in the results).
 *
 * Latency and the rule-traversal cost model
 * - Measured latency: connect to last response, in virtual time (links, the
 *   underlay latency, flannel encapsulation; the emulator charges no CPU time).
 * - Plus a modelled kernel cost: every netfilter table evaluation reports how many
 *   rules a real kernel would have walked (EvalResult.rulesEvaluated — the emulator
 *   itself uses indexed dispatch). The runner counts the rules walked for the
 *   client's packets (original direction, matched by client address and port, on
 *   every node they cross until a SNAT rewrites the source) and adds
 *   {@link RULE_COST_NS} per rule. IPVS lookups are hash tables and cost nothing
 *   extra in the model; iptables mode pays for walking KUBE-SERVICES and the
 *   service's probability chain, so its latency grows with the number of services;
 *   nftables mode's verdict-map lookups count one rule each, so its cost stays flat.
 *
 * Events: experiments/events/ (one module per kind; {@link applyEvent} dispatches). The active endpoint set (EndpointSlice ready
 * endpoints of the target Service) is re-read whenever the store changes and given
 * to the accumulator, labelled with the event that caused the change.
 */
import type { Cluster } from '../../cluster/cluster.ts';
import { Cluster as ClusterImpl } from '../../cluster/cluster.ts';
import type { ClusterSpec } from '../../cluster/spec.ts';
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { TcpConnection } from '../../netsim/stack/tcp.ts';
import type { UdpSocket } from '../../netsim/stack/udp.ts';
import type { Packet } from '../../netsim/packet/packet.ts';
import { Rng } from '../../netsim/time/rng.ts';
import { MS, SECOND } from '../../netsim/time/scheduler.ts';
import { formatIpv4, Ipv4Cidr, parseIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import { Ipv4, L4 } from '../../netsim/wire/ipv4.ts';
import { resourceForKind } from '../../control/resources/index.ts';
import type { Pod } from '../../control/api/index.ts';
import type { EndpointSlice, Service } from '../../control/api/service.ts';
import type { ExperimentEvent, ExperimentSpec } from '../experiment-spec.ts';
import { ExperimentAccumulator } from '../results.ts';
import type { ClientSummary, EndpointDecl, ProxyModeName, RunResult } from '../results.ts';
import { ExperimentRunError } from './errors.ts';
import { eventKind } from '../events/index.ts';
import { lookup } from '../../apps/dns/stub-resolver.ts';
import type { QueryLog } from '../../apps/dns/stub-resolver.ts';
import type { ResolvConf } from '../../apps/dns/resolv-conf.ts';
import { IPPROTO_UDP } from '../../netsim/netfilter/conntrack/tuple.ts';
import { contentLength, podFrom } from './http-response.ts';

/** How long a connection may take before it counts as black-holed (virtual). */
export const RESPONSE_TIMEOUT_NS = 2 * SECOND;
/** How long a run waits after the last arrival for DNS lookups to end (glibc: 5 s timeouts, 2 attempts, the single-request fallback). */
const DNS_SETTLE_NS = 60 * SECOND;
/** Modelled cost of one iptables rule evaluation (an assumption, not a measurement: a few hundred cycles for a -d/-p/--dport match). */
export const RULE_COST_NS = 100;
/** The longest a cluster may take to get the target's endpoints ready. */
const READY_TIMEOUT_NS = 60 * SECOND;
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface ModeProgress {
  readonly mode: ProxyModeName;
  /** The run's seed (the experiment's). */
  readonly seed: number;
  /** Connections finished. */
  readonly done: number;
  /** Connections expected (rate × duration). */
  readonly expected: number;
}

export interface RunModeOptions {
  /** The cluster spec the experiment names (its seed is replaced by the experiment's). */
  readonly cluster: ClusterSpec;
  /** Extra manifests applied on top (the CLI's -f). */
  readonly manifests?: readonly Record<string, unknown>[];
  /** Called now and then with the number of finished connections. */
  readonly onProgress?: (p: ModeProgress) => void;
}

/** The spec a mode runs on: its proxy mode, scheduler and sync period, the NetworkPolicy enforcer, the experiment's seed. */
export function clusterSpecFor(exp: ExperimentSpec, mode: ProxyModeName, base: ClusterSpec): ClusterSpec {
  const ipvs = mode.startsWith('ipvs-');
  return {
    ...base,
    seed: exp.seed,
    proxy: {
      ...base.proxy,
      mode: ipvs ? 'ipvs' : mode === 'nftables' ? 'nftables' : 'iptables',
      scheduler: ipvs ? (mode.slice(5) as ClusterSpec['proxy']['scheduler']) : base.proxy.scheduler,
      syncPeriodNs: exp.proxy.syncPeriodNs ?? base.proxy.syncPeriodNs,
    },
    networkPolicy: { ...base.networkPolicy, enforcer: exp.networkPolicy.enforcer ?? base.networkPolicy.enforcer },
  };
}

interface Client {
  readonly ns: NetNamespace;
  /** Its group's name (clients[].name). */
  readonly group: string;
  /** protocol dns: the pod's resolv.conf with the group's nameservers and resolverOptions. */
  readonly resolvConf: ResolvConf | undefined;
  /** Source address (outside clients), 0 = the route's. */
  readonly src: Ipv4Addr;
  readonly node: string;
  /** keep-alive UDP: the client's one socket. */
  udp: UdpSocket | undefined;
  /** Endpoints it reached (bounded by the endpoint count). */
  readonly reached: Set<string>;
}

interface Target {
  readonly ip: Ipv4Addr;
  readonly port: number;
  readonly service: { namespace: string; name: string } | undefined;
}

/** Live state of one connection (dropped when it ends). */
interface Conn {
  readonly client: Client;
  /** The node whose kube-proxy decides (the client's, or where the router sent a LoadBalancer address). */
  readonly node: string;
  readonly start: number;
  readonly t: number;
  rules: number;
  requests: number;
  pod: string | undefined;
  key: number;
  tcp: TcpConnection | undefined;
  sock: UdpSocket | undefined;
  ownSock: boolean;
  /** UDP: id of the datagram in flight. */
  id: number;
  buf: string;
  gotBytes: boolean;
  ended: boolean;
}

/** The requests are the same bytes every time: encoded once. */
const GET = enc.encode('GET / HTTP/1.1\r\nHost: netsim\r\n\r\n');
const GET_LAST = enc.encode('GET / HTTP/1.1\r\nHost: netsim\r\nConnection: close\r\n\r\n');

/** The bytes after a datagram's 4-byte id. */
const DATAGRAM_TAIL = enc.encode('netsim-exp!!');

function sendRequest(tcp: TcpConnection, last: boolean): void {
  tcp.send(last ? GET_LAST : GET);
}

function clientPodManifests(exp: ExperimentSpec): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const g of exp.clients) {
    if (g.placement.kind !== 'nodes') continue;
    const nodes = g.placement.nodes;
    for (let i = 0; i < g.count; i++) {
      out.push({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: `${exp.name}-${g.name}-${i}`.slice(0, 63).replace(/-+$/, ''), labels: { 'netsim.io/experiment-client': g.name } },
        spec: { nodeName: nodes[i % nodes.length], containers: [{ name: 'client', image: 'netsim/http-client' }] },
      });
    }
  }
  return out;
}

/** Run one mode; the result is the accumulator's run for it. */
export async function runMode(exp: ExperimentSpec, mode: ProxyModeName, opts: RunModeOptions): Promise<RunResult> {
  const acc = new ExperimentAccumulator({ experiment: exp.name, seed: exp.seed, windowNs: exp.windowNs });
  acc.declareRun(mode);
  const runner = new ModeRunner(exp, mode, acc, opts);
  await runner.run();
  const r = acc.result().runs[0];
  if (r === undefined) throw new Error('no run recorded');
  return { ...r, clients: runner.clientSummary() };
}

class ModeRunner {
  private cluster!: Cluster;
  private rng!: Rng;
  private clients: Client[] = [];
  private target!: Target;
  private t0 = 0;
  private nextId = 1;
  private done = 0;
  private readonly expected: number;
  /** Pod name (in the target's namespace) → address and node, for every endpoint ever seen. */
  private readonly podInfo = new Map<string, { ip: string; node: string | null }>();
  /** Live connections by client (address << 16 | port): the cost model's attribution. */
  private readonly byFlow = new Map<number, Conn>();
  /** UDP datagrams in flight by id. */
  private readonly byId = new Map<number, Conn>();
  private endpointSig = '';
  private lastRevision = -1;
  private pendingLabel: string | undefined;
  private arrivalsOver = false;
  /** Arrivals scheduled so far, and the time of the latest that started (relative to t0). */
  private started = 0;
  private lastArrival = 0;

  constructor(private readonly exp: ExperimentSpec, private readonly mode: ProxyModeName, private readonly acc: ExperimentAccumulator, private readonly opts: RunModeOptions) {
    this.expected = exp.connections ?? Math.round(exp.ratePerSecond * exp.durationNs / SECOND);
  }

  async run(): Promise<void> {
    const exp = this.exp;
    const spec = clusterSpecFor(exp, this.mode, this.opts.cluster);
    this.cluster = await ClusterImpl.build(spec, {
      manifests: [...(this.opts.manifests ?? []), ...clientPodManifests(exp)],
      conntrackCleanup: exp.proxy.conntrackCleanup,
      appTap: (pod, _kind, port, data) => this.onTap(pod, port, data),
    });
    const c = this.cluster;
    try {
      // Arrivals and client choices come from the experiment's seed alone: every mode sees the same sequence (a paired comparison).
      this.rng = new Rng(`${exp.seed}/experiment-arrivals`);
      await this.applyServiceOverrides();
      await this.waitReady();
      this.setupClients();
      this.target = await this.resolveTarget();
      await this.declareTrafficPolicy();
      for (const cn of c.clusterNodes.values()) cn.netfilter.onRulesEvaluated = (pkt, _t, rules) => this.onRules(pkt, rules);
      this.t0 = c.sim.clock.now();
      await this.refreshEndpoints(undefined, true);
      await this.drive();
    } finally {
      await c.close();
    }
  }

  clientSummary(): ClientSummary {
    const sizes = this.clients.map((c) => c.reached.size).filter((n) => n > 0);
    return {
      clients: sizes.length,
      maxEndpointsPerClient: sizes.reduce((m, n) => Math.max(m, n), 0),
      meanEndpointsPerClient: sizes.length === 0 ? 0 : Number((sizes.reduce((s, n) => s + n, 0) / sizes.length).toFixed(6)),
    };
  }

  private now(): number {
    return this.cluster.sim.clock.now() - this.t0;
  }

  // ------------------------------------------------------------------ setup

  private async applyServiceOverrides(): Promise<void> {
    const s = this.exp.service;
    const t = this.exp.target;
    if (t.kind === 'Pod') return;
    const spec: Record<string, unknown> = {};
    if (s.sessionAffinity !== undefined) spec['sessionAffinity'] = s.sessionAffinity;
    if (s.affinityTimeoutNs !== undefined) spec['sessionAffinityConfig'] = { clientIP: { timeoutSeconds: Math.round(s.affinityTimeoutNs / SECOND) } };
    if (s.externalTrafficPolicy !== undefined) spec['externalTrafficPolicy'] = s.externalTrafficPolicy;
    if (s.internalTrafficPolicy !== undefined) spec['internalTrafficPolicy'] = s.internalTrafficPolicy;
    if (Object.keys(spec).length === 0) return;
    const r = resourceForKind('v1', 'Service');
    if (r === undefined) throw new Error('no Service resource');
    try {
      await this.cluster.control.registry.patch(r, t.service.namespace, t.service.name, 'merge', { spec }, {});
    } catch (e) {
      throw new ExperimentRunError(`service ${t.service.namespace}/${t.service.name}: ${(e as Error).message}`);
    }
  }

  /** Run until the target's endpoints (and the target pod) are ready and kube-proxy had time to sync. */
  private async waitReady(): Promise<void> {
    const c = this.cluster;
    const start = c.sim.clock.now();
    for (;;) {
      const eps = await this.readEndpoints();
      const want = await this.wantedReady();
      if (eps.length > 0 && eps.length >= want) break;
      if (c.sim.clock.now() - start > READY_TIMEOUT_NS) throw new ExperimentRunError(`the target has ${eps.length} ready endpoints of ${want} after ${READY_TIMEOUT_NS / SECOND} s`);
      await c.runFor(500 * MS);
    }
    // Let every kube-proxy sync (min sync period) and the informers settle.
    await c.runFor(this.cluster.spec.proxy.syncPeriodNs + 500 * MS);
  }

  /** Pods selected by the target Service that are not terminating. */
  private async wantedReady(): Promise<number> {
    const t = this.exp.target;
    if (t.kind === 'Pod') return 1;
    const svc = await this.service();
    const sel = svc.spec.selector;
    if (sel === undefined) return 0;
    const pods = await this.cluster.control.api.list<Pod>('pods', t.service.namespace);
    return pods.filter((p) => p.metadata.deletionTimestamp === undefined && Object.entries(sel).every(([k, v]) => p.metadata.labels?.[k] === v)).length;
  }

  private async service(): Promise<Service> {
    const t = this.exp.target;
    if (t.kind === 'Pod') throw new Error('no service');
    const svc = (await this.cluster.control.api.list<Service>('services', t.service.namespace)).find((s) => s.metadata.name === t.service.name);
    if (svc === undefined) throw new ExperimentRunError(`no Service ${t.service.namespace}/${t.service.name} in the cluster`);
    return svc;
  }

  /** The ready endpoints of the target, sorted by address. */
  private async readEndpoints(): Promise<EndpointDecl[]> {
    const t = this.exp.target;
    const c = this.cluster;
    if (t.kind === 'Pod') {
      const key = `${t.pod.namespace}/${t.pod.name}`;
      const p = c.pods.get(key);
      if (p === undefined) return [];
      return [{ ip: formatIpv4(p.ip), pod: t.pod.name, node: p.node }];
    }
    const slices = (await c.control.api.list<EndpointSlice>('endpointslices', t.service.namespace)).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === t.service.name);
    const out: EndpointDecl[] = [];
    const seen = new Set<string>();
    const byIp = new Map<string, string>();
    for (const p of c.pods.values()) byIp.set(formatIpv4(p.ip), p.key.slice(p.key.indexOf('/') + 1));
    for (const s of slices) {
      for (const e of s.endpoints ?? []) {
        const ip = e.addresses[0];
        if (ip === undefined || seen.has(ip) || e.conditions?.ready === false) continue;
        seen.add(ip);
        out.push({ ip, pod: byIp.get(ip) ?? ip, node: e.nodeName });
      }
    }
    return out.sort((a, b) => (parseIpv4(a.ip) - parseIpv4(b.ip)));
  }

  /** Re-read the endpoint set; tell the accumulator when it changed. */
  private async refreshEndpoints(label: string | undefined, force = false): Promise<void> {
    const rev = this.cluster.control.revision();
    if (!force && rev === this.lastRevision) return;
    this.lastRevision = rev;
    const eps = await this.readEndpoints();
    for (const e of eps) this.podInfo.set(e.pod, { ip: e.ip, node: e.node ?? null });
    const sig = eps.map((e) => `${e.ip}=${e.pod}`).join(',');
    if (!force && sig === this.endpointSig) return;
    this.endpointSig = sig;
    const l = force ? undefined : (label ?? this.pendingLabel ?? 'endpoints changed');
    this.acc.setEndpoints(this.mode, this.now(), eps, l === undefined ? undefined : `${l} (${eps.length} ready)`);
  }

  private setupClients(): void {
    const c = this.cluster;
    const clients: Client[] = [];
    for (const g of this.exp.clients) {
      if (g.placement.kind === 'nodes') {
        for (let i = 0; i < g.count; i++) {
          const key = `default/${`${this.exp.name}-${g.name}-${i}`.slice(0, 63).replace(/-+$/, '')}`;
          const p = c.pods.get(key);
          if (p === undefined) throw new ExperimentRunError(`client pod ${key} did not start (is node ${g.placement.nodes[i % g.placement.nodes.length] ?? '?'} in the cluster?)`);
          const resolvConf = p.resolvConf === undefined ? undefined : { ...p.resolvConf, nameservers: g.nameservers ?? p.resolvConf.nameservers, options: [...p.resolvConf.options, ...(g.resolverOptions ?? [])] };
          clients.push({ ns: p.ns, group: g.name, resolvConf, src: 0, node: p.node, udp: undefined, reached: new Set() });
        }
      } else {
        const host = c.external.get(g.placement.host);
        if (host === undefined) throw new ExperimentRunError(`client group ${g.name}: no outside host "${g.placement.host}" in the cluster spec`);
        const node = this.exp.target.kind === 'NodePort' ? this.exp.target.node : '(outside)';
        for (const src of this.outsideAddresses(host, g.count, g.sourceCIDR)) clients.push({ ns: host, group: g.name, resolvConf: undefined, src, node, udp: undefined, reached: new Set() });
      }
    }
    this.clients = clients;
  }

  private outsideAddresses(host: NetNamespace, count: number, cidr: string | undefined): Ipv4Addr[] {
    const outside = this.cluster.spec.outside;
    if (outside === undefined) throw new ExperimentRunError('outside clients need an outside network in the cluster spec');
    const net = Ipv4Cidr.parse(outside.cidr);
    const used = new Set<number>([parseIpv4(outside.router.outside), ...outside.hosts.map((h) => parseIpv4(h.address))]);
    const out: Ipv4Addr[] = [];
    if (cidr !== undefined) {
      const src = Ipv4Cidr.parse(cidr);
      if (!net.contains(src.network)) throw new ExperimentRunError(`sourceCIDR ${cidr} is outside the outside network ${outside.cidr}`);
      for (let a = src.network; out.length < count; a++) if (!used.has(a)) out.push(a);
    } else {
      const size = 2 ** (32 - net.prefixLen);
      for (let a = net.network + size - 2; out.length < count && a > net.network; a--) if (!used.has(a)) out.push(a);
      if (out.length < count) throw new ExperimentRunError(`the outside network ${outside.cidr} has no room for ${count} clients`);
    }
    for (const a of out) {
      if (a === host.primaryAddress('eth0')) continue;
      host.addAddress('eth0', `${formatIpv4(a)}/${net.prefixLen}`);
    }
    return out;
  }

  private async resolveTarget(): Promise<Target> {
    const t = this.exp.target;
    const c = this.cluster;
    if (t.kind === 'Pod') {
      const p = c.pods.get(`${t.pod.namespace}/${t.pod.name}`);
      if (p === undefined) throw new ExperimentRunError(`no pod ${t.pod.namespace}/${t.pod.name}`);
      return { ip: p.ip, port: t.port, service: undefined };
    }
    const svc = await this.service();
    const proto = this.exp.protocol === 'dns' ? 'UDP' : this.exp.protocol.toUpperCase();
    const port = (svc.spec.ports ?? []).find((p) => (p.protocol ?? 'TCP') === proto && (p.port === t.port || p.nodePort === t.port));
    if (port === undefined) throw new ExperimentRunError(`Service ${t.service.namespace}/${t.service.name} has no ${proto} port ${t.port}`);
    if (t.kind === 'NodePort') {
      const node = c.spec.nodes.find((n) => n.name === t.node);
      if (node === undefined) throw new ExperimentRunError(`target node "${t.node}" is not in the cluster`);
      if (port.nodePort === undefined) throw new ExperimentRunError(`Service ${t.service.name} has no nodePort (type ${svc.spec.type ?? 'ClusterIP'})`);
      return { ip: parseIpv4(node.address), port: port.nodePort, service: t.service };
    }
    if (t.kind === 'LoadBalancer') {
      // The load-balancer controller (the cluster spec's network.loadBalancerPool) gave the Service its ingress IP; the nodes announce it to the outside router.
      const lb = (svc.status as { loadBalancer?: { ingress?: Array<{ ip?: string }> } } | undefined)?.loadBalancer?.ingress?.[0]?.ip;
      if (lb === undefined) throw new ExperimentRunError(`Service ${t.service.namespace}/${t.service.name} has no load-balancer ingress IP (is it type LoadBalancer, and does the cluster spec set network.loadBalancerPool?)`);
      return { ip: parseIpv4(lb), port: port.port, service: t.service };
    }
    const ip = svc.spec.clusterIP;
    if (ip === undefined || ip === 'None') throw new ExperimentRunError(`Service ${t.service.name} has no ClusterIP`);
    return { ip: parseIpv4(ip), port: port.port, service: t.service };
  }

  /**
   * Under a Local traffic policy a connection can reach only the endpoints on the
   * node it enters (kube-proxy's KUBE-SVL-… chain, or its DROP when there is none):
   * externalTrafficPolicy for outside clients of a NodePort or LoadBalancer target
   * (pods' own traffic to a NodePort goes through the cluster-wide chain, as
   * kube-proxy's "pod traffic for … external destinations" rule sends it),
   * internalTrafficPolicy for client pods of a ClusterIP target. The accumulator
   * then expects each node's connections to spread over that node's endpoints.
   */
  private async declareTrafficPolicy(): Promise<void> {
    const t = this.exp.target;
    if (t.kind === 'Pod') return;
    const spec = (await this.service()).spec;
    const local = new Set<string>();
    if (t.kind === 'ClusterIP' && spec.internalTrafficPolicy === 'Local') {
      for (const c of this.clients) if (c.src === 0) local.add(c.node);
    } else if ((t.kind === 'NodePort' || t.kind === 'LoadBalancer') && spec.externalTrafficPolicy === 'Local') {
      if (this.clients.some((c) => c.src !== 0)) for (const n of t.kind === 'NodePort' ? [t.node] : this.cluster.spec.nodes.map((x) => x.name)) local.add(n);
    }
    if (local.size > 0) this.acc.setLocalTo(this.mode, local);
  }

  /** Outside clients of a LoadBalancer address enter where the router's best path points now. */
  private entryNode(client: Client): string {
    if (this.exp.target.kind !== 'LoadBalancer' || client.src === 0) return client.node;
    return this.cluster.loadBalancerRoutes?.routes.get(formatIpv4(this.target.ip))?.node ?? client.node;
  }

  // ------------------------------------------------------------------ driving

  private async drive(): Promise<void> {
    const c = this.cluster;
    const exp = this.exp;
    const events = [...exp.events];
    const tick = 100 * MS;
    this.scheduleArrival(0);
    // A lookup ends by itself: glibc's timeouts, retries and the single-request fallback can take ~30 s.
    const settle = (exp.protocol === 'dns' ? DNS_SETTLE_NS : RESPONSE_TIMEOUT_NS) + 500 * MS;
    let lastProgress = -1;
    // With an exact connection count the arrivals may run past the duration: the end follows the last one.
    while (this.now() < Math.max(exp.durationNs, this.lastArrival) + settle || !this.arrivalsOver) {
      while (events.length > 0 && (events[0] as ExperimentEvent).at <= this.now()) {
        const e = events.shift() as ExperimentEvent;
        this.pendingLabel = e.label;
        await this.applyEvent(e);
        await this.refreshEndpoints(e.label);
      }
      const nextEvent = events.length > 0 ? (events[0] as ExperimentEvent).at : Number.POSITIVE_INFINITY;
      const step = Math.max(1, Math.min(tick, nextEvent - this.now(), this.arrivalsOver ? Math.max(exp.durationNs, this.lastArrival) + settle - this.now() : tick));
      await c.runFor(step);
      await this.refreshEndpoints(undefined);
      if (this.done !== lastProgress) {
        lastProgress = this.done;
        this.opts.onProgress?.({ mode: this.mode, seed: this.exp.seed, done: this.done, expected: this.expected });
      }
      if (this.arrivalsOver && this.byFlow.size === 0 && this.byId.size === 0 && events.length === 0 && this.liveConns === 0) break;
    }
    this.opts.onProgress?.({ mode: this.mode, seed: this.exp.seed, done: this.done, expected: this.expected });
  }

  private liveConns = 0;
  /**
   * Connections by start time, for the response timeout: deadlines are start +
   * RESPONSE_TIMEOUT_NS and starts only grow, so one timer at the oldest deadline
   * serves them all (no scheduler event and cancellation per connection).
   */
  private readonly watching: Conn[] = [];
  private watchHead = 0;
  private watchArmed = false;

  private watch(conn: Conn): void {
    this.watching.push(conn);
    if (!this.watchArmed) this.armWatch();
  }

  private armWatch(): void {
    const w = this.watching;
    while (this.watchHead < w.length && (w[this.watchHead] as Conn).ended) this.watchHead++;
    if (this.watchHead === w.length) {
      w.length = 0;
      this.watchHead = 0;
      this.watchArmed = false;
      return;
    }
    if (this.watchHead > 1024 && this.watchHead * 2 > w.length) {
      w.splice(0, this.watchHead);
      this.watchHead = 0;
    }
    this.watchArmed = true;
    this.cluster.sim.clock.at((w[this.watchHead] as Conn).start + RESPONSE_TIMEOUT_NS, this.onWatch);
  }

  private readonly onWatch = (): void => {
    const w = this.watching;
    const now = this.cluster.sim.clock.now();
    while (this.watchHead < w.length) {
      const conn = w[this.watchHead] as Conn;
      if (!conn.ended) {
        if (conn.start + RESPONSE_TIMEOUT_NS > now) break;
        this.finish(conn, conn.gotBytes || conn.requests > 0 ? 'failed' : 'blackholed');
      }
      this.watchHead++;
    }
    this.armWatch();
  };

  /**
   * Arrivals until the duration ends, or, with `connections: N`, exactly N of them
   * (the N-th may come after the duration: Poisson gaps are random).
   */
  private scheduleArrival(at: number): void {
    const exp = this.exp;
    if (exp.connections !== undefined ? this.started >= exp.connections : at >= exp.durationNs) {
      this.arrivalsOver = true;
      return;
    }
    this.started++;
    this.nextArrival = at;
    this.cluster.sim.clock.at(this.t0 + at, this.onArrival);
  }

  /** The arrival scheduled for {@link nextArrival} (one at a time: each schedules the next), one callback for all. */
  private nextArrival = 0;
  private readonly onArrival = (): void => {
    const exp = this.exp;
    const at = this.nextArrival;
    this.lastArrival = at;
    this.startConnection();
    const gap = exp.arrival === 'constant' ? SECOND / exp.ratePerSecond : -Math.log(1 - this.rng.next()) * SECOND / exp.ratePerSecond;
    this.scheduleArrival(at + Math.max(1, Math.round(gap)));
  };

  private startConnection(): void {
    const client = this.clients[this.clients.length === 1 ? 0 : Math.floor(this.rng.next() * this.clients.length)] as Client;
    const now = this.cluster.sim.clock.now();
    const conn: Conn = { client, node: this.entryNode(client), start: now, t: now - this.t0, rules: 0, requests: 0, pod: undefined, key: -1, tcp: undefined, sock: undefined, ownSock: false, id: 0, buf: '', gotBytes: false, ended: false };
    this.liveConns++;
    if (this.exp.protocol === 'dns') {
      this.startLookup(conn);
      return;
    }
    this.watch(conn);
    if (this.exp.protocol === 'tcp') this.startTcp(conn);
    else this.startUdp(conn);
  }

  /**
   * protocol dns: one getaddrinfo from the client pod (apps/dns' glibc-like stub
   * resolver with the pod's resolv.conf: search path, A and AAAA from one socket,
   * 5 s timeout). Served when it resolved, failed otherwise; the latency is the
   * lookup's. The backend is the CoreDNS pod the answered A query was DNATed to,
   * read from the client node's conntrack entry of that query (an observation).
   */
  private startLookup(conn: Conn): void {
    const { client } = conn;
    if (client.resolvConf === undefined) throw new ExperimentRunError('protocol dns needs client pods (with a resolv.conf)');
    lookup(client.ns, this.exp.lookup ?? '', { resolvConf: client.resolvConf, hosts: '' }, (r) => {
      const answered = [...r.queries].reverse().find((q) => q.qtype === 'A' && q.outcome === 'answer' && q.transport === 'udp');
      if (answered !== undefined) conn.pod = this.dnsBackend(client, answered);
      conn.requests = r.ok ? 1 : 0;
      this.finish(conn, r.ok ? 'ok' : 'failed');
    });
  }

  private dnsBackend(client: Client, q: QueryLog): string | undefined {
    const ct = this.cluster.clusterNodes.get(client.node)?.netfilter.conntrack;
    const server = parseIpv4(q.server);
    const src = client.ns.lookupRoute(server)?.prefsrc;
    if (ct === undefined || src === undefined) return undefined;
    const ref = ct.find(IPPROTO_UDP, src, server, q.sport, 53);
    if (ref < 0) return undefined;
    const ip = formatIpv4(ct.tuple(ref >>> 1, 1).src);
    for (const [pod, info] of this.podInfo) if (info.ip === ip) return pod;
    return undefined;
  }

  private flowKey(addr: Ipv4Addr, port: number): number {
    return addr * 65536 + port;
  }

  private startTcp(conn: Conn): void {
    const { client } = conn;
    const tcp = client.ns.tcp.connect(this.target.ip, this.target.port, client.src !== 0 ? { src: client.src } : {});
    conn.tcp = tcp;
    conn.key = this.flowKey(tcp.localAddr, tcp.localPort);
    this.byFlow.set(conn.key, conn);
    const total = this.exp.requestsPerConnection;
    tcp.onConnect = () => sendRequest(tcp, conn.requests + 1 === total);
    tcp.onData = (d) => {
      conn.gotBytes = true;
      conn.buf += dec.decode(d);
      for (;;) {
        const buf = conn.buf;
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const len = contentLength(buf, head);
        const end = head + 4 + len;
        if (buf.length < end) return; // bodies are ASCII: characters = bytes
        conn.buf = end === buf.length ? '' : buf.slice(end);
        if (conn.pod === undefined) conn.pod = podFrom(buf, head + 4, end);
        conn.requests++;
        if (conn.requests >= total) {
          this.finish(conn, 'ok');
          return;
        }
        sendRequest(tcp, conn.requests + 1 === total);
      }
    };
    tcp.onClose = (reason) => {
      if (conn.ended) return;
      if (conn.requests >= total) this.finish(conn, 'ok');
      else this.finish(conn, reason === 'timeout' && !conn.gotBytes ? 'blackholed' : 'failed');
    };
  }

  private startUdp(conn: Conn): void {
    const { client } = conn;
    let sock: UdpSocket;
    if (this.exp.pattern === 'keep-alive') {
      if (client.udp === undefined) client.udp = this.newUdpSocket(client);
      sock = client.udp;
    } else {
      sock = this.newUdpSocket(client);
      conn.ownSock = true;
    }
    conn.sock = sock;
    const src = client.src !== 0 ? client.src : (client.ns.lookupRoute(this.target.ip)?.prefsrc ?? 0);
    conn.key = this.flowKey(src, sock.localPort);
    this.byFlow.set(conn.key, conn);
    this.sendDatagram(conn);
  }

  private newUdpSocket(client: Client): UdpSocket {
    const s = client.ns.udp.bind(0, client.src);
    s.onMessage = (m) => {
      if (m.data.length < 4) return;
      const id = ((m.data[0] as number) << 24 | (m.data[1] as number) << 16 | (m.data[2] as number) << 8 | (m.data[3] as number)) >>> 0;
      const conn = this.byId.get(id);
      if (conn === undefined) return;
      this.byId.delete(id);
      conn.gotBytes = true;
      conn.requests++;
      if (conn.requests >= this.exp.requestsPerConnection) this.finish(conn, 'ok');
      else this.sendDatagram(conn);
    };
    s.onError = (e) => {
      // An ICMP error names the datagram it quotes by its ports only: fail every datagram in flight from this socket.
      void e;
      for (const [id, conn] of this.byId) {
        if (conn.sock !== s) continue;
        this.byId.delete(id);
        this.finish(conn, 'failed');
      }
    };
    return s;
  }

  private sendDatagram(conn: Conn): void {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    conn.id = id;
    this.byId.set(id, conn);
    const data = new Uint8Array(16);
    data[0] = id >>> 24;
    data[1] = (id >>> 16) & 0xff;
    data[2] = (id >>> 8) & 0xff;
    data[3] = id & 0xff;
    data.set(DATAGRAM_TAIL, 4);
    (conn.sock as UdpSocket).send(this.target.ip, this.target.port, data);
  }

  /** appTap: an echo pod read a datagram of ours. */
  private onTap(pod: string, port: number, data: Uint8Array): void {
    if (this.target === undefined || data.length < 4) return;
    void port;
    const id = ((data[0] as number) << 24 | (data[1] as number) << 16 | (data[2] as number) << 8 | (data[3] as number)) >>> 0;
    const conn = this.byId.get(id);
    if (conn !== undefined && conn.pod === undefined) conn.pod = pod.slice(pod.indexOf('/') + 1);
  }

  /** Cost model: rules walked for a client's packets (original direction). */
  private onRules(pkt: Packet, rules: number): void {
    if (rules === 0 || this.byFlow.size === 0) return;
    const b = pkt.buf;
    const o = pkt.off;
    const proto = Ipv4.protocol(b, o);
    if (proto !== 6 && proto !== 17) return;
    const hl = Ipv4.headerLen(b, o);
    const src = Ipv4.src(b, o);
    const sport = L4.srcPort(b, o + hl);
    const conn = this.byFlow.get(src * 65536 + sport);
    if (conn !== undefined) conn.rules += rules;
  }

  private finish(conn: Conn, outcome: 'ok' | 'failed' | 'blackholed'): void {
    if (conn.ended) return;
    conn.ended = true;
    this.liveConns--;
    const c = this.cluster;
    if (this.byFlow.get(conn.key) === conn) this.byFlow.delete(conn.key);
    if (conn.id !== 0 && this.byId.get(conn.id) === conn) this.byId.delete(conn.id);
    if (conn.tcp !== undefined) {
      const tcp = conn.tcp;
      tcp.onData = undefined;
      tcp.onClose = undefined;
      if (outcome === 'ok') tcp.end();
      else tcp.abort();
    }
    if (conn.ownSock) conn.sock?.close();
    const info = conn.pod !== undefined ? this.podInfo.get(conn.pod) : undefined;
    const latency = c.sim.clock.now() - conn.start + conn.rules * RULE_COST_NS;
    if (conn.pod !== undefined) conn.client.reached.add(conn.pod);
    this.acc.recordConnection({
      mode: this.mode,
      node: conn.node,
      endpointIp: info?.ip ?? (conn.pod !== undefined ? conn.pod : undefined),
      pod: conn.pod,
      requests: conn.requests,
      failed: outcome === 'failed',
      blackholed: outcome === 'blackholed',
      latencyNs: latency,
      t: conn.t,
      end: c.sim.clock.now() - this.t0,
      group: this.exp.clients.length > 1 ? conn.client.group : undefined,
    });
    this.done++;
  }

  // ------------------------------------------------------------------ events

  /**
   * A pod named in an event: the pod of that name, else the first running pod (by
   * name) whose name starts with `NAME-` — so `pod: default/nginx-deployment` picks one
   * of the Deployment's generated pods, the same one for the same seed.
   */
  private podKey(p: { namespace: string; name: string }, at: number): string {
    const pods = this.cluster.pods;
    const exact = `${p.namespace}/${p.name}`;
    if (pods.has(exact)) return exact;
    const key = [...pods.keys()].find((k) => k.startsWith(`${exact}-`) && !this.isTerminating(k));
    if (key === undefined) throw new ExperimentRunError(`event at ${at / SECOND}s: no running pod ${exact} (nor one named ${exact}-…)`);
    return key;
  }

  private isTerminating(key: string): boolean {
    for (const n of this.cluster.clusterNodes.values()) for (const r of n.agent.pods.values()) if (r.key === key) return r.terminating;
    return false;
  }

  /** Do one event (experiments/events/: each kind knows what it does), then let the cluster react. */
  private async applyEvent(e: ExperimentEvent): Promise<void> {
    this.acc.recordEvent(this.mode, this.now(), e.label);
    const fail = (message: string): never => {
      throw new ExperimentRunError(`event at ${e.at / SECOND}s: ${message}`);
    };
    await eventKind(e.action).apply({ cluster: this.cluster, podKey: (p) => this.podKey(p, e.at), fail }, e);
    await this.cluster.reconcile();
  }
}

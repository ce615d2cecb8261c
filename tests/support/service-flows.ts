/**
 * A two-node emulated cluster for kube-proxy packet-flow tests, and a prober that
 * sends first packets and reports where they went.
 *
 * Topology (underlay 192.168.50.0/24):
 *   node01 192.168.50.11 (and .21) — runs kube-proxy (iptables or IPVS mode); cni0 10.244.1.1/24
 *   node02 192.168.50.12 — plain forwarding host; cni0 10.244.2.1/24 (remote endpoints)
 *   outside 192.168.50.1 — the clients outside the cluster and the nodes' default
 *     gateway; it also holds 203.0.113.7 and 198.18.0.7 (sources for
 *     loadBalancerSourceRanges) and routes LoadBalancer IPs and external IPs to node01.
 *
 * Every endpoint pod runs a UDP echo app on its target port that answers
 * "<pod name> <source address it saw>"; the prober sends one datagram per source port
 * and classifies each by the reply (which backend, the source the backend saw, the
 * address the reply came from) and by the packet's trace events (MASQUERADE, DROP,
 * REJECT). Nothing here reads rule text.
 */
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { attachNic, attachPod, createBridge, Segment } from '../../netsim/topology.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import { Ipvs } from '../../netsim/ipvs/ipvs.ts';
import { Ipsets } from '../../netsim/ipset/ipset.ts';
import { formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import type { TraceEvent } from '../../netsim/trace/trace-event.ts';
import { KubeProxy } from '../../proxy/kube-proxy.ts';
import { netsimKubeProxyNode } from '../../proxy/netsim-node.ts';
import { slice } from '../../proxy/fixtures.ts';
import type { EndpointSlice, Service } from '../../control/api/service.ts';

export const NODE01_IP = '192.168.50.11';
/** A second (secondary) address of node01: NodePorts answer on every node address. */
export const NODE01_IP2 = '192.168.50.21';
export const NODE02_IP = '192.168.50.12';
export const OUTSIDE_IP = '192.168.50.1';
export const CLUSTER_CIDR = '10.244.0.0/16';

export type Mode = 'iptables' | 'ipvs';

/** An endpoint pod: `node01` pods live in 10.244.1.0/24, `node02` pods in 10.244.2.0/24. */
export interface EndpointPod {
  readonly name: string;
  readonly ip: string;
  readonly node: 'node01' | 'node02';
  readonly port: number;
}

/** Where a probe can come from; `ip` is the source address it uses (undefined: the stack chooses). */
export interface Client {
  readonly label: string;
  readonly ns: NetNamespace;
  readonly ip?: string;
}

/**
 * What a row of probes observed: DROP, REJECT, or per reached backend how it was
 * reached — `masq` (source NATed to a node address), `src` (client source preserved),
 * `src-asym` (source preserved but the reply did not come back from the address the
 * client sent to: it bypassed the node and carries the endpoint's own address).
 */
export type Outcome = 'DROP' | 'REJECT' | Readonly<Record<string, 'masq' | 'src' | 'src-asym'>>;

export interface FlowCluster {
  readonly sim: Sim;
  readonly mode: Mode;
  readonly kp: KubeProxy;
  readonly node01: NetNamespace;
  readonly nf: NetfilterStack;
  readonly ipvs: Ipvs | undefined;
  readonly ipsets: Ipsets | undefined;
  readonly outside: NetNamespace;
  /** Endpoint pods and extra client pods by name. */
  readonly pods: ReadonlyMap<string, NetNamespace>;
  client(label: string): Client;
  /** Send `n` first packets (UDP, fresh source port each) and classify them; `detail` lists oddities. */
  probe(from: Client, dst: string, port: number, n?: number): { outcome: Outcome; detail: string[] };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function buildFlowCluster(mode: Mode, opts: { services: Service[]; endpoints: EndpointPod[]; slices: EndpointSlice[]; clientPods?: Array<{ name: string; ip: string }>; seed?: number }): FlowCluster {
  const sim = new Sim({ seed: opts.seed ?? 11 });
  const underlay = new Segment(sim, 'underlay', { latencyNs: 0, bandwidthBps: 0, loss: 0, queueLimit: 1000 });

  const outside = new NetNamespace(sim, 'outside', 'outside');
  attachNic(outside, underlay, 'eth0', `${OUTSIDE_IP}/24`);
  for (const a of ['203.0.113.7/32', '198.18.0.7/32']) outside.addAddress('eth0', a);
  for (const dst of ['198.51.100.0/24', '192.168.99.0/24']) outside.addRoute({ dst, via: NODE01_IP });

  const node01 = new NetNamespace(sim, 'node01', 'node01', { ipForward: true, bridgeNfCallIptables: true });
  attachNic(node01, underlay, 'eth0', `${NODE01_IP}/24`);
  node01.addAddress('eth0', `${NODE01_IP2}/24`);
  node01.addRoute({ dst: 'default', via: OUTSIDE_IP });
  node01.addRoute({ dst: '10.244.2.0/24', via: NODE02_IP });
  const br1 = createBridge(node01, 'cni0', '10.244.1.1/24');
  const nf = NetfilterStack.install(node01);

  const node02 = new NetNamespace(sim, 'node02', 'node02', { ipForward: true });
  attachNic(node02, underlay, 'eth0', `${NODE02_IP}/24`);
  node02.addRoute({ dst: 'default', via: OUTSIDE_IP });
  node02.addRoute({ dst: '10.244.1.0/24', via: NODE01_IP });
  const br2 = createBridge(node02, 'cni0', '10.244.2.1/24');

  const pods = new Map<string, NetNamespace>();
  const podNs = (name: string, ip: string, node: 'node01' | 'node02'): NetNamespace => {
    const existing = pods.get(name);
    if (existing !== undefined) return existing;
    const host = node === 'node01' ? node01 : node02;
    const pod = attachPod(host, node === 'node01' ? br1 : br2, { name: `default/${name}`, cidr: `${ip}/24`, gateway: node === 'node01' ? '10.244.1.1' : '10.244.2.1', hairpin: true });
    pods.set(name, pod.ns);
    return pod.ns;
  };
  const serving = new Set<string>();
  for (const e of opts.endpoints) {
    const ns = podNs(e.name, e.ip, e.node);
    if (serving.has(`${e.name}:${e.port}`)) continue;
    serving.add(`${e.name}:${e.port}`);
    const s = ns.udp.bind(e.port);
    s.onMessage = (m) => s.send(m.src, m.sport, enc.encode(`${e.name} ${formatIpv4(m.src)}`));
  }
  for (const c of opts.clientPods ?? []) podNs(c.name, c.ip, 'node01');

  const ipvs = mode === 'ipvs' ? new Ipvs(() => sim.clock.now()) : undefined;
  const ipsets = mode === 'ipvs' ? new Ipsets() : undefined;
  const node = netsimKubeProxyNode(node01, nf, ipvs !== undefined && ipsets !== undefined ? { ipvs, ipsets } : {});
  const kp = new KubeProxy(sim.clock, node, { mode, nodeName: 'node01', nodeIP: NODE01_IP, clusterCIDR: CLUSTER_CIDR });
  for (const s of opts.services) kp.onServiceAdd(s);
  for (const s of opts.slices) kp.onEndpointSliceAdd(s);
  kp.onServicesSynced();
  kp.onEndpointSlicesSynced();
  if (kp.errors.length > 0) throw kp.errors[0];

  const node01Addrs = (): Set<string> => new Set([...node01.devices.keys()].flatMap((d) => node01.addressesOf(d).map((a) => formatIpv4(a.addr))));

  let nextPort = 20000;
  const probeOne = (from: Client, dst: string, port: number): { kind: 'reply'; backend: string; seen: string; replyFrom: string; masq: boolean } | { kind: 'DROP' | 'REJECT' | 'LOST'; why: string } => {
    const sport = nextPort++;
    const sock = from.ns.udp.bind(sport, from.ip === undefined ? 0 : parseIpv4(from.ip));
    let reply: { data: string; from: string } | undefined;
    let icmp: string | undefined;
    sock.onMessage = (m) => {
      reply ??= { data: dec.decode(m.data), from: `${formatIpv4(m.src)}:${m.sport}` };
    };
    sock.onError = (e) => {
      icmp ??= `ICMP type ${e.type} code ${e.code}`;
    };
    const rec = recordTrace(sim.tracer);
    const { pkt } = sock.send(parseIpv4(dst), port, enc.encode('probe'));
    sim.clock.run(sim.clock.now() + 20 * MS);
    rec.stop();
    sock.close();
    const mine = rec.events.filter((e) => e.pkt === pkt);
    const masq = mine.some((e) => e.kind === 'nat' && /^MASQUERADE/.test(e.detail));
    const drop = mine.find((e): e is Extract<TraceEvent, { kind: 'drop' }> => e.kind === 'drop');
    if (reply !== undefined) {
      const [backend = '', seen = ''] = reply.data.split(' ');
      return { kind: 'reply', backend, seen, replyFrom: reply.from, masq };
    }
    if (drop?.reason === 'nf-reject' && icmp === 'ICMP type 3 code 3') return { kind: 'REJECT', why: drop.detail };
    if (drop?.reason === 'nf-drop' && icmp === undefined) return { kind: 'DROP', why: drop.detail };
    return { kind: 'LOST', why: `${drop !== undefined ? `${drop.reason}: ${drop.detail}` : 'no drop event'}${icmp !== undefined ? `; client got ${icmp}` : ''}` };
  };

  return {
    sim, mode, kp, node01, nf, ipvs, ipsets, outside, pods,
    client(label: string): Client {
      if (label === 'node01') return { label, ns: node01 };
      if (label === 'outside') return { label, ns: outside, ip: OUTSIDE_IP };
      if (label.startsWith('outside@')) return { label, ns: outside, ip: label.slice('outside@'.length) };
      const ns = pods.get(label);
      if (ns === undefined) throw new Error(`no client ${label}`);
      return { label, ns, ip: formatIpv4(ns.primaryAddress('eth0') ?? 0) };
    },
    probe(from, dst, port, n = 24) {
      const detail: string[] = [];
      const kinds = new Set<string>();
      const reached: Record<string, 'masq' | 'src' | 'src-asym'> = {};
      const local = node01Addrs();
      for (let i = 0; i < n; i++) {
        const r = probeOne(from, dst, port);
        if (r.kind !== 'reply') {
          kinds.add(r.kind);
          if (r.kind === 'LOST') detail.push(`probe ${i}: lost (${r.why})`);
          continue;
        }
        kinds.add('reply');
        const asym = r.replyFrom !== `${dst}:${port}`;
        let how: 'masq' | 'src' | 'src-asym';
        if (r.masq) {
          how = 'masq';
          if (!local.has(r.seen)) detail.push(`probe ${i}: masqueraded, yet ${r.backend} saw ${r.seen}, not a node01 address`);
          if (asym) detail.push(`probe ${i}: masqueraded, yet the reply came from ${r.replyFrom}`);
        } else {
          how = asym ? 'src-asym' : 'src';
          if (from.ip !== undefined && r.seen !== from.ip) detail.push(`probe ${i}: not masqueraded, yet ${r.backend} saw ${r.seen} instead of ${from.ip}`);
        }
        const prev = reached[r.backend];
        if (prev !== undefined && prev !== how) detail.push(`${r.backend} reached both ${prev} and ${how}`);
        reached[r.backend] = how;
      }
      if (kinds.size > 1) detail.push(`mixed outcomes: ${[...kinds].join(', ')}`);
      const outcome: Outcome = kinds.size === 1 && kinds.has('DROP') ? 'DROP' : kinds.size === 1 && kinds.has('REJECT') ? 'REJECT' : Object.fromEntries(Object.entries(reached).sort(([a], [b]) => a.localeCompare(b)));
      return { outcome, detail };
    },
  };
}

/** An EndpointSlice for `svc` (port name `p`, UDP) over endpoint pods. */
export function udpSlice(svc: string, eps: readonly EndpointPod[]): EndpointSlice {
  const port = eps[0]?.port ?? 8080;
  return slice('default', svc, [{ name: 'p', port, protocol: 'UDP' }], eps.map((e) => ({ ip: e.ip, node: e.node })));
}

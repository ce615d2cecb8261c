/**
 * The probe suites, generated from what the cluster says (pods, services, external
 * hosts) and from the node's iptables text — and its nft ruleset in kube-proxy's
 * nftables mode (nft-facts.ts) — (which pods back which service, which services have
 * no endpoints, which are ClientIP-sticky):
 *
 * - `pod-pod`: every ordered pair of the node's pods, ICMP echo, UDP and TCP SYN;
 * - `pod-remote`: each local pod to one pod of every other node (out through the overlay);
 * - `pod-clusterip`: a local pod to every service port's ClusterIP;
 * - `node-clusterip`: the node itself to every service port;
 * - `external-nodeport`: an outside host to every NodePort on the node's address,
 *   whatever its externalTrafficPolicy;
 * - `hairpin`: a pod to the ClusterIP of a service it backs;
 * - `no-endpoint`: the REJECT rules of services without endpoints (ClusterIP and NodePort);
 * - `pod-outside`: each local pod to each outside host (masquerade);
 * - `external-ip`: an outside host and a pod to every Service external IP;
 * - `load-balancer`: LoadBalancer IPs from outside — from inside and from outside
 *   `loadBalancerSourceRanges` when the Service has them — and from a pod;
 * - `nodeport-localhost`: the node to 127.0.0.1:NODEPORT (route_localnet);
 * - `hostport`: an outside host to every CNI hostPort on the node's address;
 * - `health-check`: an outside host to every health-check node port;
 * - `random`: a seeded mix of sources, destinations, protocols, ports and TTLs.
 *
 * Service probes come in groups of `samples` (random endpoint choice is judged over
 * the group); the others are one probe per group. Every probe of a group is the same
 * probe (source, destination, protocol, port): a group's first probe stands for it
 * when a side is asked again or the group is drawn again, so a group name carries the
 * protocol (a Service's UDP and TCP port 53 are two groups).
 */
import { Rng } from '../../netsim/time/rng.ts';
import { formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import type { EmulatedCluster } from '../emulated-cluster.ts';
import type { TwinPlan } from './twin.ts';
import type { ProbeProto, ProbeTemplate } from './probe.ts';
import { nftRulesFacts } from './nft-facts.ts';

export const SUITES = ['pod-pod', 'pod-remote', 'pod-clusterip', 'node-clusterip', 'external-nodeport', 'hairpin', 'no-endpoint', 'pod-outside', 'external-ip', 'load-balancer', 'nodeport-localhost', 'hostport', 'health-check', 'random'] as const;
export type SuiteName = (typeof SUITES)[number];

export interface RulesFacts {
  /** Service comment ("ns/name" or "ns/name:port") → endpoint IPs. */
  readonly endpoints: ReadonlyMap<string, ReadonlySet<string>>;
  /** Services without endpoints: whom their REJECT applies to (pods: the ClusterIP `dst`; the outside: a NodePort on the node, or the external `dst`). */
  readonly rejects: ReadonlyArray<{ readonly service: string; readonly from: 'pod' | 'outside'; readonly dst?: string; readonly proto: ProbeProto; readonly dport: number }>;
  /** Every port the rules name (service ports, target ports, node ports). */
  readonly ports: ReadonlySet<number>;
  /** Services with ClientIP session affinity (their SVC chains `-m recent --rcheck`). */
  readonly sticky: ReadonlySet<string>;
  /** Service ports by external IP ("ns/name:port external IP" rules). */
  readonly externalIPs: ReadonlyArray<ServiceAddress>;
  /** LoadBalancer IPs, with the source ranges of their KUBE-FW chain (empty: no firewall). */
  readonly loadBalancers: ReadonlyArray<ServiceAddress & { readonly ranges: readonly string[] }>;
  /** CNI hostPorts (portmap's CNI-DN chains). */
  readonly hostPorts: ReadonlyArray<{ readonly proto: ProbeProto; readonly port: number }>;
  /** Health-check node ports kube-proxy opens. */
  readonly healthChecks: ReadonlyArray<{ readonly service: string; readonly port: number }>;
}

export interface ServiceAddress {
  readonly service: string;
  readonly ip: string;
  readonly proto: ProbeProto;
  readonly port: number;
}

function commentOf(line: string): string | undefined {
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(line);
  return m === null ? undefined : (m[1] ?? m[2]);
}

/** Read what the probes need from an iptables-save text. */
export function rulesFacts(text: string | undefined): RulesFacts {
  const endpoints = new Map<string, Set<string>>();
  const rejects: Array<RulesFacts['rejects'][number]> = [];
  const ports = new Set<number>();
  const sticky = new Set<string>();
  const externalIPs: ServiceAddress[] = [];
  const lbs: Array<ServiceAddress & { chain: string }> = [];
  const fwRanges = new Map<string, string[]>();
  const hostPorts: Array<{ proto: ProbeProto; port: number }> = [];
  const healthChecks: Array<{ service: string; port: number }> = [];
  const addrOf = (line: string): ServiceAddress | undefined => {
    const ip = /-d (\d+\.\d+\.\d+\.\d+)\/32/.exec(line)?.[1];
    const port = Number(/--dport (\d+)/.exec(line)?.[1] ?? '0');
    const service = (commentOf(line) ?? '').split(/[: ]/)[0] as string;
    return ip === undefined || port === 0 ? undefined : { service, ip, proto: (/-p (tcp|udp)/.exec(line)?.[1] ?? 'tcp') as ProbeProto, port };
  };
  for (const line of (text ?? '').split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const comment = commentOf(line) ?? '';
    if (line.startsWith('-A KUBE-SERVICES ') && / external IP$/.test(comment)) {
      const a = addrOf(line);
      if (a !== undefined) externalIPs.push(a);
    }
    if (line.startsWith('-A KUBE-SERVICES ') && / loadbalancer IP$/.test(comment)) {
      const a = addrOf(line);
      const chain = / -j (KUBE-(?:FW|EXT)-\S+)/.exec(line)?.[1];
      if (a !== undefined && chain !== undefined) lbs.push({ ...a, chain });
    }
    const fw = /^-A (KUBE-FW-\S+) -s (\d+\.\d+\.\d+\.\d+\/\d+) .*-j KUBE-EXT-/.exec(line);
    if (fw !== null) fwRanges.set(fw[1] as string, [...(fwRanges.get(fw[1] as string) ?? []), fw[2] as string]);
    const hp = /^-A CNI-DN-\S+ .*-p (tcp|udp) .*--dport (\d+) -j DNAT /.exec(line);
    if (hp !== null && !hostPorts.some((h) => h.proto === hp[1] && h.port === Number(hp[2]))) hostPorts.push({ proto: hp[1] as ProbeProto, port: Number(hp[2]) });
    if (line.startsWith('-A KUBE-NODEPORTS ') && / health check node port$/.test(comment) && / -j ACCEPT$/.test(line)) {
      healthChecks.push({ service: comment.split(/[: ]/)[0] as string, port: Number(/--dport (\d+)/.exec(line)?.[1] ?? '0') });
    }
    if (line.startsWith('-A KUBE-SVC-') && / --rcheck /.test(line)) {
      const c = commentOf(line);
      if (c !== undefined) sticky.add(c.split(/[: ]/)[0] as string);
    }
    for (const m of line.matchAll(/--(?:dport|sport|to-ports) (\d+)/g)) ports.add(Number(m[1]));
    const dnat = /-j DNAT .*--to-destination (\d+\.\d+\.\d+\.\d+)(?::(\d+))?/.exec(line);
    if (dnat !== null) {
      if (dnat[2] !== undefined) ports.add(Number(dnat[2]));
      const svc = commentOf(line);
      if (svc !== undefined && line.startsWith('-A KUBE-SEP-')) {
        const key = svc.split(':')[0] ?? svc;
        const set = endpoints.get(key) ?? new Set<string>();
        set.add(dnat[1] as string);
        endpoints.set(key, set);
      }
    }
    if (/-j REJECT/.test(line) && /has no endpoints/.test(line)) {
      const chain = line.split(' ')[1] as string;
      if (chain !== 'KUBE-SERVICES' && chain !== 'KUBE-EXTERNAL-SERVICES') continue;
      const dst = /-d (\d+\.\d+\.\d+\.\d+)\/32/.exec(line)?.[1];
      const proto = (/-p (tcp|udp)/.exec(line)?.[1] ?? 'tcp') as ProbeProto;
      const dport = Number(/--dport (\d+)/.exec(line)?.[1] ?? '0');
      const service = (commentOf(line) ?? '').replace(/ has no endpoints$/, '');
      if (dport > 0) rejects.push({ service, from: chain === 'KUBE-SERVICES' ? 'pod' : 'outside', ...(dst !== undefined ? { dst } : {}), proto, dport });
    }
  }
  // A range that is the LB IP itself (/32) is the node's own allowance (traffic SNATed to the LB IP), not a client range.
  const loadBalancers = lbs.map(({ chain, ...a }) => ({ ...a, ranges: chain.startsWith('KUBE-FW-') ? (fwRanges.get(chain) ?? []).filter((r) => r !== `${a.ip}/32`) : [] }));
  return { endpoints, rejects, ports, sticky, externalIPs, loadBalancers, hostPorts, healthChecks };
}

/**
 * {@link rulesFacts} of a node of `cluster`, from its iptables-save view and, when
 * kube-proxy runs in nftables mode there (its `kube-proxy` table), from its nft
 * ruleset and its kube-proxy's health-check servers and LoadBalancer IPs
 * ({@link nftRulesFacts}); the CNI's hostPorts stay in iptables either way.
 */
export function nodeFacts(cluster: EmulatedCluster, node: string): RulesFacts {
  const ipt = rulesFacts(cluster.nodeView?.(node, 'iptables-save'));
  const nftText = cluster.nodeView?.(node, 'nft');
  return nftText !== undefined && /^table ip kube-proxy \{$/m.test(nftText) ? mergeFacts(ipt, nftRulesFacts(nftText, cluster.kubeProxyView?.(node))) : ipt;
}

function mergeFacts(a: RulesFacts, b: RulesFacts): RulesFacts {
  const endpoints = new Map<string, ReadonlySet<string>>(a.endpoints);
  for (const [k, v] of b.endpoints) endpoints.set(k, new Set([...(endpoints.get(k) ?? []), ...v]));
  return {
    endpoints,
    rejects: [...a.rejects, ...b.rejects],
    ports: new Set([...a.ports, ...b.ports]),
    sticky: new Set([...a.sticky, ...b.sticky]),
    externalIPs: [...a.externalIPs, ...b.externalIPs],
    loadBalancers: [...a.loadBalancers, ...b.loadBalancers],
    hostPorts: [...a.hostPorts, ...b.hostPorts],
    healthChecks: [...a.healthChecks, ...b.healthChecks],
  };
}

export interface SuiteOptions {
  readonly samples: number;
  readonly randomProbes: number;
  readonly seed: number;
  readonly suites?: readonly SuiteName[];
}

/** The address a namespace is known by: the first global address of a non-loopback device. */
function mainAddress(ns: { addrs: ReadonlyArray<{ dev: string; addr: Ipv4Addr; scope: string }> }): Ipv4Addr | undefined {
  return ns.addrs.find((a) => a.dev !== 'lo' && a.scope === 'global')?.addr;
}

export function generateProbes(cluster: EmulatedCluster, plan: TwinPlan, opts: SuiteOptions): ProbeTemplate[] {
  const want = new Set<SuiteName>(opts.suites ?? SUITES);
  const nodeNs = plan.stacks[0]?.ns;
  if (nodeNs === undefined) return [];
  const facts = nodeFacts(cluster, plan.node);
  const ipvs = plan.notVerifiable.find((r) => r.includes('IPVS'));
  const wire = plan.egress.find((e) => e.dev.linkType === 'ether' && nodeNs.addressesOf(e.dev.name).length > 0);
  const nodeIp = wire !== undefined ? nodeNs.primaryAddress(wire.dev.name) : mainAddress(nodeNs);
  const pods = plan.stacks.slice(1).map((s) => ({ label: s.label, ip: cluster.pods.get(s.label)?.ip ?? mainAddress(s.ns) })).filter((p): p is { label: string; ip: number } => p.ip !== undefined);
  const remote = new Map<string, { key: string; ip: Ipv4Addr }>();
  for (const p of cluster.pods.values()) if (p.node !== plan.node && !remote.has(p.node)) remote.set(p.node, { key: p.key, ip: p.ip });
  const externals = [...cluster.external.entries()].map(([name, ns]) => ({ name, ip: mainAddress(ns) })).filter((e): e is { name: string; ip: number } => e.ip !== undefined);
  const out: ProbeTemplate[] = [];
  const add = (suite: SuiteName, group: string, n: number, t: Omit<ProbeTemplate, 'suite' | 'group'>): void => {
    for (let i = 0; i < n; i++) out.push({ suite, group: `${suite}/${group}`, ...t });
  };
  const protos: ProbeProto[] = ['icmp', 'udp', 'tcp'];
  const svcSkip = ipvs !== undefined ? { skip: ipvs } : {};

  if (want.has('pod-pod')) {
    for (const a of pods) for (const b of pods) {
      if (a === b) continue;
      for (const proto of protos) add('pod-pod', `${a.label}>${b.label}/${proto}`, 1, { description: `${a.label} → ${b.label} (${proto})`, from: a.label, src: a.ip, dst: b.ip, proto, dport: proto === 'udp' ? 53 : 80, ttl: 64 });
    }
  }
  if (want.has('pod-remote')) {
    for (const a of pods) for (const r of remote.values()) {
      for (const proto of protos) add('pod-remote', `${a.label}>${r.key}/${proto}`, 1, { description: `${a.label} → ${r.key} on another node (${proto})`, from: a.label, src: a.ip, dst: r.ip, proto, dport: 80, ttl: 64 });
    }
  }
  const svcPorts = [...cluster.services.values()].flatMap((s) => s.ports.map((p) => ({ svc: s, port: p })));
  const backs = (podIp: Ipv4Addr, svcKey: string): boolean => facts.endpoints.get(svcKey)?.has(formatIpv4(podIp)) === true;
  if (want.has('pod-clusterip')) {
    for (const { svc, port } of svcPorts) {
      const src = pods.find((p) => !backs(p.ip, svc.key)) ?? pods[0];
      if (src === undefined) continue;
      add('pod-clusterip', `${src.label}>${svc.key}:${port.port}/${port.protocol}`, opts.samples, { service: svc.key, description: `${src.label} → ${svc.key} ClusterIP ${formatIpv4(svc.clusterIP)}:${port.port}/${port.protocol}`, from: src.label, src: src.ip, dst: svc.clusterIP, proto: port.protocol === 'UDP' ? 'udp' : 'tcp', dport: port.port, ttl: 64, ...svcSkip });
    }
  }
  if (want.has('node-clusterip') && nodeIp !== undefined) {
    for (const { svc, port } of svcPorts) {
      add('node-clusterip', `node>${svc.key}:${port.port}/${port.protocol}`, opts.samples, { service: svc.key, description: `${plan.node} → ${svc.key} ClusterIP ${formatIpv4(svc.clusterIP)}:${port.port}/${port.protocol}`, from: 'node', src: nodeIp, dst: svc.clusterIP, proto: port.protocol === 'UDP' ? 'udp' : 'tcp', dport: port.port, ttl: 64, ...svcSkip });
    }
  }
  const ext = externals[0];
  if (want.has('external-nodeport') && wire !== undefined && nodeIp !== undefined && ext !== undefined) {
    for (const { svc, port } of svcPorts) {
      if (port.nodePort === undefined) continue;
      add('external-nodeport', `${ext.name}>${svc.key}:${port.nodePort}/${port.protocol}`, opts.samples, { service: svc.key, description: `${ext.name} → ${plan.node} ${formatIpv4(nodeIp)}:${port.nodePort} (NodePort of ${svc.key})`, from: wire.label, src: ext.ip, dst: nodeIp, proto: port.protocol === 'UDP' ? 'udp' : 'tcp', dport: port.nodePort, ttl: 64, ...svcSkip });
    }
  }
  if (want.has('hairpin')) {
    for (const { svc, port } of svcPorts) {
      for (const p of pods) {
        if (!backs(p.ip, svc.key)) continue;
        add('hairpin', `${p.label}>${svc.key}:${port.port}/${port.protocol}`, opts.samples, { service: svc.key, description: `${p.label} → its own service ${svc.key} ${formatIpv4(svc.clusterIP)}:${port.port}`, from: p.label, src: p.ip, dst: svc.clusterIP, proto: port.protocol === 'UDP' ? 'udp' : 'tcp', dport: port.port, ttl: 64, ...svcSkip });
      }
    }
  }
  if (want.has('no-endpoint')) {
    for (const r of facts.rejects) {
      if (r.from === 'pod' && r.dst !== undefined && pods[0] !== undefined) {
        add('no-endpoint', `${pods[0].label}>${r.dst}:${r.dport}/${r.proto}`, 3, { description: `${pods[0].label} → ${r.service} ${r.dst}:${r.dport} (no endpoints: REJECT)`, from: pods[0].label, src: pods[0].ip, dst: parseIpv4(r.dst), proto: r.proto, dport: r.dport, ttl: 64 });
      } else if (r.from === 'outside' && ext !== undefined && wire !== undefined && nodeIp !== undefined) {
        const dst = r.dst !== undefined ? parseIpv4(r.dst) : nodeIp;
        add('no-endpoint', `${ext.name}>${formatIpv4(dst)}:${r.dport}/${r.proto}`, 3, { description: `${ext.name} → ${r.service} ${formatIpv4(dst)}:${r.dport} (no endpoints: REJECT)`, from: wire.label, src: ext.ip, dst, proto: r.proto, dport: r.dport, ttl: 64 });
      }
    }
  }
  if (want.has('pod-outside')) {
    for (const p of pods) for (const e of externals) {
      for (const proto of protos) add('pod-outside', `${p.label}>${e.name}/${proto}`, 1, { description: `${p.label} → outside ${e.name} (${proto}, masquerade)`, from: p.label, src: p.ip, dst: e.ip, proto, dport: 80, ttl: 64 });
    }
  }
  if (want.has('external-ip')) {
    for (const a of facts.externalIPs) {
      const dst = parseIpv4(a.ip);
      if (ext !== undefined && wire !== undefined) add('external-ip', `${ext.name}>${a.ip}:${a.port}/${a.proto}`, opts.samples, { service: a.service, description: `${ext.name} → ${a.service} external IP ${a.ip}:${a.port}`, from: wire.label, src: ext.ip, dst, proto: a.proto, dport: a.port, ttl: 64, ...svcSkip });
      const p = pods[0];
      if (p !== undefined) add('external-ip', `${p.label}>${a.ip}:${a.port}/${a.proto}`, opts.samples, { service: a.service, description: `${p.label} → ${a.service} external IP ${a.ip}:${a.port}`, from: p.label, src: p.ip, dst, proto: a.proto, dport: a.port, ttl: 64, ...svcSkip });
    }
  }
  if (want.has('load-balancer') && wire !== undefined) {
    for (const lb of facts.loadBalancers) {
      const dst = parseIpv4(lb.ip);
      const common = { service: lb.service, dst, proto: lb.proto, dport: lb.port, ttl: 64, ...svcSkip };
      if (lb.ranges.length === 0) {
        if (ext !== undefined) add('load-balancer', `${ext.name}>${lb.ip}:${lb.port}/${lb.proto}`, opts.samples, { ...common, description: `${ext.name} → ${lb.service} LoadBalancer IP ${lb.ip}:${lb.port}`, from: wire.label, src: ext.ip });
      } else {
        for (const r of lb.ranges) {
          // A client inside the range (its first host), and one outside every range.
          const [base, len] = r.split('/');
          const inside = (parseIpv4(base as string) + (Number(len) < 32 ? 1 : 0)) >>> 0;
          add('load-balancer', `in ${r}>${lb.ip}:${lb.port}/${lb.proto}`, opts.samples, { ...common, description: `${formatIpv4(inside)} (inside ${r}) → ${lb.service} LoadBalancer IP ${lb.ip}:${lb.port}`, from: wire.label, src: inside });
        }
        const outside = [parseIpv4('198.18.0.99'), parseIpv4('192.0.2.99'), parseIpv4('100.64.0.99')].find((a) => !lb.ranges.some((r) => cidrHas(r, a)));
        if (outside !== undefined) add('load-balancer', `out>${lb.ip}:${lb.port}/${lb.proto}`, opts.samples, { ...common, description: `${formatIpv4(outside)} (outside the source ranges) → ${lb.service} LoadBalancer IP ${lb.ip}:${lb.port}`, from: wire.label, src: outside });
      }
      const p = pods[0];
      if (p !== undefined) add('load-balancer', `${p.label}>${lb.ip}:${lb.port}/${lb.proto}`, opts.samples, { ...common, description: `${p.label} → ${lb.service} LoadBalancer IP ${lb.ip}:${lb.port}`, from: p.label, src: p.ip });
    }
  }
  if (want.has('nodeport-localhost')) {
    for (const { svc, port } of svcPorts) {
      if (port.nodePort === undefined) continue;
      add('nodeport-localhost', `node>127.0.0.1:${port.nodePort}/${port.protocol}`, opts.samples, { service: svc.key, description: `${plan.node} → 127.0.0.1:${port.nodePort} (NodePort of ${svc.key} on localhost)`, from: 'node', src: parseIpv4('127.0.0.1'), dst: parseIpv4('127.0.0.1'), proto: port.protocol === 'UDP' ? 'udp' : 'tcp', dport: port.nodePort, ttl: 64, ...svcSkip });
    }
  }
  if (want.has('hostport') && ext !== undefined && wire !== undefined && nodeIp !== undefined) {
    for (const h of facts.hostPorts) add('hostport', `${ext.name}>${h.proto}:${h.port}`, 3, { description: `${ext.name} → ${plan.node} ${formatIpv4(nodeIp)}:${h.port}/${h.proto} (hostPort)`, from: wire.label, src: ext.ip, dst: nodeIp, proto: h.proto, dport: h.port, ttl: 64 });
  }
  if (want.has('health-check') && ext !== undefined && wire !== undefined && nodeIp !== undefined) {
    for (const h of facts.healthChecks) add('health-check', `${ext.name}>${h.port}`, 3, { description: `${ext.name} → ${plan.node} ${formatIpv4(nodeIp)}:${h.port} (health-check node port of ${h.service})`, from: wire.label, src: ext.ip, dst: nodeIp, proto: 'tcp', dport: h.port, ttl: 64, ...svcSkip });
  }
  if (want.has('random') && opts.randomProbes > 0) out.push(...randomProbes(opts, { pods, remote: [...remote.values()], externals, nodeIp, wire: wire?.label, svcPorts, facts, svcSkip }));
  return out;
}

function cidrHas(cidr: string, a: Ipv4Addr): boolean {
  const [base, len] = cidr.split('/');
  const n = Number(len);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return ((parseIpv4(base as string) & mask) >>> 0) === ((a & mask) >>> 0);
}

interface RandomInputs {
  pods: Array<{ label: string; ip: Ipv4Addr }>;
  remote: Array<{ key: string; ip: Ipv4Addr }>;
  externals: Array<{ name: string; ip: Ipv4Addr }>;
  nodeIp: Ipv4Addr | undefined;
  wire: string | undefined;
  svcPorts: Array<{ svc: { key: string; clusterIP: Ipv4Addr }; port: { port: number; protocol: 'TCP' | 'UDP'; nodePort?: number } }>;
  facts: RulesFacts;
  svcSkip: { skip?: string };
}

function randomProbes(opts: SuiteOptions, r: RandomInputs): ProbeTemplate[] {
  const rng = new Rng(`netsim-verify/${opts.seed}`);
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[rng.int(xs.length)]);
  const out: ProbeTemplate[] = [];
  const ttls = [1, 2, 3, 64, 64, 64, 64, 255];
  for (let i = 0; out.length < opts.randomProbes && i < opts.randomProbes * 20; i++) {
    // Source: a pod (most often), the node, or the outside.
    const sk = rng.int(10);
    let from: string;
    let src: Ipv4Addr;
    if (sk < 6 && r.pods.length > 0) {
      const p = pick(r.pods) as { label: string; ip: Ipv4Addr };
      from = p.label;
      src = p.ip;
    } else if (sk < 8 && r.nodeIp !== undefined) {
      from = 'node';
      src = r.nodeIp;
    } else if (r.wire !== undefined && r.externals.length > 0) {
      from = r.wire;
      src = (pick(r.externals) as { ip: Ipv4Addr }).ip;
    } else continue;
    let proto = (['icmp', 'udp', 'tcp', 'tcp'] as const)[rng.int(4)] as ProbeProto;
    let dport = [53, 80, 443, 8080, rng.range(1, 65535)][rng.int(5)] as number;
    let dst: Ipv4Addr;
    let what: string;
    let skip: { skip?: string } = {};
    let service: { service?: string } = {};
    const dk = rng.int(8);
    const sp = pick(r.svcPorts);
    if (dk <= 1 && sp !== undefined) {
      dst = sp.svc.clusterIP;
      what = `${sp.svc.key} ClusterIP`;
      service = { service: sp.svc.key };
      if (rng.int(4) > 0) {
        proto = sp.port.protocol === 'UDP' ? 'udp' : 'tcp';
        dport = sp.port.port;
      }
      skip = r.svcSkip;
    } else if (dk === 2 && sp?.port.nodePort !== undefined && r.nodeIp !== undefined) {
      dst = r.nodeIp;
      what = `NodePort of ${sp.svc.key}`;
      service = { service: sp.svc.key };
      proto = sp.port.protocol === 'UDP' ? 'udp' : 'tcp';
      dport = sp.port.nodePort;
      skip = r.svcSkip;
    } else if (dk === 3 && r.pods.length > 0) {
      dst = (pick(r.pods) as { ip: Ipv4Addr }).ip;
      what = 'local pod';
    } else if (dk === 4 && r.remote.length > 0) {
      dst = (pick(r.remote) as { ip: Ipv4Addr }).ip;
      what = 'remote pod';
    } else if (dk === 5 && r.externals.length > 0) {
      dst = (pick(r.externals) as { ip: Ipv4Addr }).ip;
      what = 'outside host';
    } else if (dk === 6 && r.nodeIp !== undefined) {
      dst = r.nodeIp;
      what = 'the node';
    } else {
      // Somewhere in the pod network or beyond that nothing owns.
      dst = (rng.int(2) === 0 ? (parseIpv4('10.244.0.0') + rng.int(65536)) : rng.nextU32()) >>> 0;
      if (dst >>> 28 >= 14 || dst >>> 24 === 0 || dst >>> 24 === 127) continue;
      what = 'an arbitrary address';
    }
    if (proto === 'icmp') dport = 0;
    const ttl = ttls[rng.int(ttls.length)] as number;
    out.push({
      suite: 'random', group: `random/${out.length}`, description: `${proto} from ${from} to ${what} ${formatIpv4(dst)}${proto === 'icmp' ? '' : `:${dport}`} ttl ${ttl}`,
      from, src, dst, proto, dport, ttl, ...skip, ...service,
    });
  }
  return out;
}

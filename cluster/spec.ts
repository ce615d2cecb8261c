/**
 * The cluster spec: a YAML document describing nodes, networking, runtime, proxy
 * mode, the underlay, an outside network, the seed, and Kubernetes manifests.
 *
 * ```yaml
 * apiVersion: netsim/v1
 * kind: Cluster
 * metadata: { name: seed }
 * seed: 1
 * nodes:
 *   - { name: node01, address: 192.168.50.11 }
 *   - { name: node02, address: 192.168.50.12, cpus: 2 }   # cpus: default 1 (no conntrack insertion race)
 * nodePools:                          # and/or: many nodes in a line (spec-generators.ts)
 *   - { name: "worker{n:4}", count: 1000, addresses: 192.168.51.1-192.168.54.254 }
 * network:
 *   underlayCIDR: 192.168.50.0/24
 *   clusterCIDR: 10.244.0.0/16
 *   serviceCIDR: 10.96.0.0/12
 *   mtu: 1500
 *   flannel: { backend: udp }          # udp | vxlan | host-gw
 *   loadBalancerPool: 198.51.100.0/28  # optional: LoadBalancer IPs (CIDR, a-b range, IP, or a list of them)
 * runtime: docker                      # docker | cni
 * proxy: { mode: iptables }            # iptables | ipvs (scheduler: rr, wrr, lc, …) | nftables
 * networkPolicy: { enforcer: kube-router }  # none (default: flannel alone enforces nothing) | kube-router (as k3s embeds it)
 * underlay: { latency: 50us, bandwidth: 1Gbit, loss: 0 }
 * conntrack: { clashResolution: nat-identical, raceWindow: 5us }   # the insertion race on nodes with cpus > 1
 * scale: { share: true, lazyPods: true }   # share: nodes share what they hold alike (identical rulesets: netsim/netfilter/iptables/share.ts); lazyPods: pods kept as records until touched (cluster/lazy-pods.ts); false: off
 * outside:
 *   cidr: 203.0.113.0/24
 *   router: { underlay: 192.168.50.1, outside: 203.0.113.1 }
 *   hosts: [ { name: client, address: 203.0.113.10 } ]
 * dns:                                # the cluster DNS add-on (on by default), as kubeadm installs it
 *   enabled: true
 *   clusterDomain: cluster.local
 *   upstream: resolver                 # optional: an outside host CoreDNS forwards other names to
 *   records: { example.com: 203.0.113.10 }  # what that upstream answers (default: each outside host as NAME.example.com)
 *   nodeLocalCache: { enabled: true, address: 169.254.20.10 }  # NodeLocal DNSCache on every node (default off; cluster/node-local-dns.ts)
 * clients:                            # optional: traffic that runs on its own once the cluster settled
 *   - { name: poll, from: pod:webapp01, to: service:default/backend:80, proto: tcp, every: 2s, path: /hello.html }
 * workloads:                          # optional: N Deployments of M replicas, each behind a Service
 *   - { name: "web{n:5}", count: 1000, replicas: 3, image: "nginx:1.27", port: 80 }
 * manifests: |
 *   apiVersion: v1
 *   kind: Service
 *   ...
 * ```
 * Errors carry a stable code (`NETSIM_SPEC_*`), the file, the YAML line and column,
 * and the JSON path of the offending field. Beyond Kubernetes' envelope (5 000 nodes,
 * 150 000 pods, 110 a node, 10 000 Services: spec-envelope.ts) the code is NETSIM_SPEC_LIMIT.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments, parseDocument, isMap, isSeq, LineCounter } from 'yaml';
import type { Document } from 'yaml';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { Ipv4Cidr, formatIpv4, tryParseIpv4 } from '../netsim/wire/addr.ts';
import { MS, US, SECOND } from '../netsim/time/scheduler.ts';
import { parseAddressPool } from '../control/controllers/load-balancer.ts';
import { CodedError } from '../netsim/errors.ts';
import { NODE_LOCAL_DNS_ADDRESS } from '../apps/dns/node-cache.ts';
import { PROXY_MODE_NAMES } from '../proxy/proxier.ts';
import { addressRange, hasIndex, patternName, workloadManifests, workloadNamespaces, workloadPods } from './spec-generators.ts';
import type { NodePoolInput, WorkloadInput } from './spec-generators.ts';
import { ENVELOPE, manifestPods } from './spec-envelope.ts';
import type { ProxyMode } from '../proxy/proxier.ts';

export type { ProxyMode };
import { CLASH_RESOLUTIONS } from '../netsim/netfilter/conntrack/conntrack.ts';
import type { ClashResolution } from '../netsim/netfilter/conntrack/conntrack.ts';

export type FlannelBackendType = 'udp' | 'vxlan' | 'host-gw';
export type RuntimeKind = 'docker' | 'cni';
export type NetworkPolicyEnforcer = 'none' | 'kube-router';
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh'] as const;
export type IpvsScheduler = (typeof IPVS_SCHEDULERS)[number];

export interface NodeSpec {
  readonly name: string;
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  /** CPUs of the node (default 1): with more, conntrack's insertion race can happen (netsim/netfilter/conntrack). */
  readonly cpus?: number;
}
export interface OutsideHost { readonly name: string; readonly address: string }

/** The spec after validation and defaulting. */
export interface ClusterSpec {
  readonly name: string;
  readonly seed: number;
  readonly nodes: readonly NodeSpec[];
  readonly network: {
    readonly underlayCIDR: string;
    readonly clusterCIDR: string;
    readonly serviceCIDR: string;
    readonly mtu: number;
    readonly flannel: { readonly backend: FlannelBackendType; readonly port: number; readonly vni: number; readonly subnetLen: number; readonly ipMasq: boolean };
    /**
     * Addresses for `type: LoadBalancer` Services (CIDRs, `first-last` ranges, single IPs), handed
     * out by the emulated load-balancer controller and announced to the outside router; undefined:
     * no load-balancer controller (LoadBalancer Services stay `<pending>`, as on a bare cluster).
     */
    readonly loadBalancerPool: readonly string[] | undefined;
  };
  readonly runtime: RuntimeKind;
  readonly proxy: { readonly mode: ProxyMode; readonly scheduler: IpvsScheduler; readonly masqueradeAll: boolean; readonly syncPeriodNs: number };
  /**
   * The NetworkPolicy enforcer on every node: `none` (flannel alone, which enforces nothing), or
   * `kube-router` (its network policy controller, as k3s runs it beside flannel and kube-proxy;
   * policy/). `syncPeriodNs`: its --iptables-sync-period (default 300s, kube-router's 5 min).
   */
  readonly networkPolicy: { readonly enforcer: NetworkPolicyEnforcer; readonly syncPeriodNs: number };
  readonly underlay: { readonly latencyNs: number; readonly bandwidthBps: number; readonly loss: number };
  readonly outside: { readonly cidr: string; readonly router: { readonly underlay: string; readonly outside: string }; readonly hosts: readonly OutsideHost[] } | undefined;
  /** Kubernetes manifests as parsed objects (YAML 1.1, as kubectl reads them). */
  readonly manifests: readonly Record<string, unknown>[];
  /** Declared clients (cluster/clients.ts), started once the cluster has settled. */
  readonly clients: readonly ClientSpec[];
  /** The cluster DNS add-on (cluster/dns-addon.ts). */
  readonly dns: DnsSpec;
  /** Conntrack's insertion race on nodes with more than one CPU (default: nat-identical, 5 µs). */
  readonly conntrack?: { readonly clashResolution: ClashResolution; readonly raceWindowNs: number };
  /**
   * `share` (default true): nodes hold one copy of what they hold alike — each distinct
   * kube-proxy rule line parsed once, each distinct chain body kept and compiled once,
   * each distinct `nft` line parsed once, ipsets restored alike held once —
   * with counters, edits and everything a node shows its own. Off only to prove that it
   * changes nothing (tests/scale/share.test.ts) and to measure it (bench/scale-share.bench.ts).
   * `lazyPods` (default true): a node's pods are records until the node is touched
   * (cluster/lazy-pods.ts); off to prove it changes nothing (tests/scenarios/lazy-pods.test.ts).
   */
  readonly scale: { readonly share: boolean; readonly lazyPods: boolean };
}

export interface DnsSpec {
  /** Install kube-system/coredns and kube-system/kube-dns (default true, as kubeadm does). */
  readonly enabled: boolean;
  /** The cluster domain (kubelet's --cluster-domain; default cluster.local). */
  readonly clusterDomain: string;
  /** CoreDNS replicas (kubeadm: 2). */
  readonly replicas: number;
  /** The outside host that answers names outside the cluster domain (nodes' resolv.conf nameserver); undefined: none. */
  readonly upstream: string | undefined;
  /** What the upstream answers: name → IPv4 address. */
  readonly records: Readonly<Record<string, string>>;
  /**
   * NodeLocal DNSCache (k8s.io/dns node-cache) on every node, listening on `address`
   * (default 169.254.20.10), which kubelet then gives pods as their nameserver; undefined: off.
   */
  readonly nodeLocalCache: { readonly address: string } | undefined;
}

export interface ClientSpec {
  readonly name: string;
  /** A trace endpoint that can send: `pod:…`, `node:…`, `external:…`. */
  readonly from: string;
  /** Any trace endpoint: `pod:…`, `service:NS/NAME[:PORT]`, `ip:…`, `node:…`, `external:…`. */
  readonly to: string;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly port: number | undefined;
  readonly everyNs: number;
  readonly startNs: number;
  /** HTTP requests per connection (keep-alive when more than one). */
  readonly requests: number;
  readonly path: string;
  /** Stop after this many exchanges (default: never). */
  readonly count: number | undefined;
}

/** NETSIM_SPEC_LIMIT: beyond Kubernetes' scalability envelope (spec-envelope.ts). */
export type SpecErrorCode = 'NETSIM_SPEC_YAML' | 'NETSIM_SPEC_SCHEMA' | 'NETSIM_SPEC_VALUE' | 'NETSIM_SPEC_FILE' | 'NETSIM_SPEC_MANIFEST' | 'NETSIM_SPEC_LIMIT';

export class SpecError extends CodedError {
  constructor(readonly code: SpecErrorCode, message: string, readonly file: string, readonly path: string, readonly line?: number, readonly col?: number) {
    super(`${file}${line !== undefined ? `:${line}:${col ?? 1}` : ''}: ${path !== '' ? `${path}: ` : ''}${message}`);
    this.name = 'SpecError';
  }
}

const durationPattern = '^[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s)$';
const bandwidthPattern = '^[0-9]+(\\.[0-9]+)?(bit|kbit|Mbit|Gbit)$|^0$';
const name = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const ipString = { type: 'string', pattern: '^[0-9.]+$' };
const cidrString = { type: 'string', pattern: '^[0-9.]+/[0-9]{1,2}$' };
/** A node pool's or workload generator's name: a DNS label with `{n}` or `{n:W}` where the index goes. */
const namePattern = { type: 'string', pattern: '^[a-z0-9{]([-a-z0-9{}:]*[a-z0-9}])?$', maxLength: 63 };
const labels = { type: 'object', additionalProperties: { type: 'string' } };
const cpus = { type: 'integer', minimum: 1, maximum: 256 };

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'netsim/v1' },
    kind: { const: 'Cluster' },
    metadata: { type: 'object', additionalProperties: false, properties: { name } },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    nodes: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['name', 'address'], properties: { name, address: ipString, labels, cpus } },
    },
    nodePools: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'count', 'addresses'],
        properties: { name: namePattern, count: { type: 'integer', minimum: 1 }, addresses: { type: 'string', minLength: 1 }, labels, cpus },
      },
    },
    workloads: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'count'],
        properties: {
          name: namePattern, count: { type: 'integer', minimum: 1 }, replicas: { type: 'integer', minimum: 0 }, image: { type: 'string', minLength: 1 },
          port: { type: 'integer', minimum: 1, maximum: 65535 }, protocol: { enum: ['TCP', 'UDP'] }, namespace: name,
        },
      },
    },
    network: {
      type: 'object', additionalProperties: false,
      properties: {
        underlayCIDR: cidrString, clusterCIDR: cidrString, serviceCIDR: cidrString,
        mtu: { type: 'integer', minimum: 576, maximum: 9000 },
        flannel: {
          type: 'object', additionalProperties: false,
          properties: {
            backend: { enum: ['udp', 'vxlan', 'host-gw'] }, port: { type: 'integer', minimum: 1, maximum: 65535 },
            vni: { type: 'integer', minimum: 0, maximum: 16777215 }, subnetLen: { type: 'integer', minimum: 8, maximum: 30 }, ipMasq: { type: 'boolean' },
          },
        },
        loadBalancerPool: { oneOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }] },
      },
    },
    runtime: { enum: ['docker', 'cni'] },
    proxy: {
      type: 'object', additionalProperties: false,
      properties: { mode: { enum: [...PROXY_MODE_NAMES] }, scheduler: { enum: [...IPVS_SCHEDULERS] }, masqueradeAll: { type: 'boolean' }, syncPeriod: { type: 'string', pattern: durationPattern } },
    },
    networkPolicy: {
      type: 'object', additionalProperties: false,
      properties: { enforcer: { enum: ['none', 'kube-router'] }, syncPeriod: { type: 'string', pattern: durationPattern } },
    },
    underlay: {
      type: 'object', additionalProperties: false,
      properties: { latency: { type: 'string', pattern: durationPattern }, bandwidth: { type: 'string', pattern: bandwidthPattern }, loss: { type: 'number', minimum: 0, maximum: 1 } },
    },
    outside: {
      type: 'object', additionalProperties: false, required: ['cidr', 'router'],
      properties: {
        cidr: cidrString,
        router: { type: 'object', additionalProperties: false, required: ['underlay', 'outside'], properties: { underlay: ipString, outside: ipString } },
        hosts: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['name', 'address'], properties: { name, address: ipString } } },
      },
    },
    manifests: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }] },
    scale: { type: 'object', additionalProperties: false, properties: { share: { type: 'boolean' }, lazyPods: { type: 'boolean' } } },
    conntrack: {
      type: 'object', additionalProperties: false,
      properties: { clashResolution: { enum: [...CLASH_RESOLUTIONS] }, raceWindow: { type: 'string', pattern: durationPattern } },
    },
    dns: {
      type: 'object', additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        clusterDomain: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$', maxLength: 253 },
        replicas: { type: 'integer', minimum: 1, maximum: 10 },
        upstream: name,
        records: { type: 'object', additionalProperties: ipString },
        nodeLocalCache: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, address: ipString } },
      },
    },
    clients: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'from', 'to'],
        properties: {
          name, from: { type: 'string', minLength: 1 }, to: { type: 'string', minLength: 1 }, proto: { enum: ['tcp', 'udp', 'icmp'] },
          port: { type: 'integer', minimum: 1, maximum: 65535 }, every: { type: 'string', pattern: durationPattern }, start: { type: 'string', pattern: durationPattern },
          requests: { type: 'integer', minimum: 1, maximum: 1000 }, path: { type: 'string', pattern: '^/' }, count: { type: 'integer', minimum: 1 },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true });
const validate = ajv.compile(schema);

/** Parse `12ms`, `50us`, `1.5s` into virtual nanoseconds. */
export function parseDuration(s: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s)$/.exec(s);
  if (m === null) throw new RangeError(`bad duration "${s}" (use e.g. 50us, 2ms, 1s)`);
  const unit = m[2] === 'ns' ? 1 : m[2] === 's' ? SECOND : m[2] === 'ms' ? MS : US;
  return Math.round(Number(m[1]) * unit);
}

/** Parse `100Mbit`, `1Gbit`, `0` into bits per second (0 = unlimited). */
export function parseBandwidth(s: string): number {
  if (s === '0') return 0;
  const m = /^([0-9]+(?:\.[0-9]+)?)(bit|kbit|Mbit|Gbit)$/.exec(s);
  if (m === null) throw new RangeError(`bad bandwidth "${s}" (use e.g. 100Mbit, 1Gbit)`);
  const mult = m[2] === 'bit' ? 1 : m[2] === 'kbit' ? 1e3 : m[2] === 'Mbit' ? 1e6 : 1e9;
  return Number(m[1]) * mult;
}

function locate(doc: Document, lc: LineCounter, path: readonly (string | number)[]): { line?: number; col?: number } {
  let node: unknown = doc.contents;
  let range: [number, number, number] | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (pair === undefined) break;
      range = (pair.key as { range?: [number, number, number] }).range;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(key)];
      range = (node as { range?: [number, number, number] } | undefined)?.range;
    } else break;
  }
  range ??= (node as { range?: [number, number, number] } | undefined)?.range;
  if (range === undefined) return {};
  const p = lc.linePos(range[0]);
  return { line: p.line, col: p.col };
}

/** Where the content of a top-level block scalar (`key: |`) starts: the line of its indicator, and its indentation. */
function blockOffset(doc: Document, lc: LineCounter, text: string, key: string): { line: number; col: number } {
  const node = isMap(doc.contents) ? doc.contents.items.find((p) => (p.key as { value?: unknown } | null)?.value === key)?.value : undefined;
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  if (range === undefined) return { line: 0, col: 0 };
  const line = lc.linePos(range[0]).line;
  const first = text.split('\n').slice(line).find((l) => l.trim() !== '') ?? '';
  return { line, col: first.length - first.trimStart().length };
}

function pathOf(e: ErrorObject): (string | number)[] {
  return e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

function schemaMessage(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  if (e.keyword === 'enum') return `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'required') return `missing required field "${String((e.params as { missingProperty: string }).missingProperty)}"`;
  if (e.keyword === 'pattern') return `${e.message ?? 'bad format'}`.replace(/must match pattern .*/, 'has the wrong format');
  return e.message ?? 'invalid';
}

/** Document → plain value; the yaml package throws plain errors for e.g. unresolved aliases. */
function toJS(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new SpecError('NETSIM_SPEC_YAML', (e as Error).message, file, '');
  }
}

/** Parse and validate a spec document. `file` names it in errors. */
export function parseClusterSpec(text: string, file = '<spec>'): ClusterSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, version: '1.1', prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const p = lc.linePos(e.pos[0]);
    throw new SpecError('NETSIM_SPEC_YAML', e.message.split('\n')[0] ?? 'YAML error', file, '', p.line, p.col);
  }
  const raw: unknown = toJS(doc, file);
  if (!validate(raw)) {
    const e = (validate.errors ?? [])[0]!;
    const path = pathOf(e);
    const at = locate(doc, lc, path);
    throw new SpecError('NETSIM_SPEC_SCHEMA', schemaMessage(e), file, path.join('.'), at.line, at.col);
  }
  const r = raw as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const fail = (path: (string | number)[], msg: string): never => {
    const at = locate(doc, lc, path);
    throw new SpecError('NETSIM_SPEC_VALUE', msg, file, path.join('.'), at.line, at.col);
  };
  const cidr = (path: (string | number)[], v: string): string => {
    let c: Ipv4Cidr;
    try {
      c = Ipv4Cidr.parse(v);
    } catch (err) {
      return fail(path, `not an IPv4 CIDR: ${(err as Error).message}`);
    }
    // A network written with host bits (192.168.50.7/24) is a typo for an address or a network: refuse, name the network.
    if (c.toString() !== v) fail(path, `${v} has host bits set; the network is ${c.toString()}`);
    return c.toString();
  };
  const addr = (path: (string | number)[], v: string): string => (tryParseIpv4(v) === undefined ? fail(path, `not an IPv4 address: "${v}"`) : v);
  const net = r['network'] ?? {};
  const underlayCIDR = cidr(['network', 'underlayCIDR'], net.underlayCIDR ?? '192.168.50.0/24');
  const clusterCIDR = cidr(['network', 'clusterCIDR'], net.clusterCIDR ?? '10.244.0.0/16');
  const serviceCIDR = cidr(['network', 'serviceCIDR'], net.serviceCIDR ?? '10.96.0.0/12');
  const underNet = Ipv4Cidr.parse(underlayCIDR);
  const overlaps = (a: Ipv4Cidr, b: Ipv4Cidr): boolean => a.contains(b.network) || b.contains(a.network);
  // Pod and Service addresses must be told apart by routing and by kube-proxy's rules (kube-apiserver refuses the same overlap).
  if (overlaps(Ipv4Cidr.parse(serviceCIDR), Ipv4Cidr.parse(clusterCIDR))) fail(['network', 'serviceCIDR'], `${serviceCIDR} overlaps clusterCIDR ${clusterCIDR}`);
  const limit = (path: (string | number)[], msg: string): never => {
    const at = locate(doc, lc, path);
    throw new SpecError('NETSIM_SPEC_LIMIT', msg, file, path.join('.'), at.line, at.col);
  };
  const listed = (r['nodes'] ?? []) as Array<{ name: string; address: string; labels?: Record<string, string>; cpus?: number }>;
  const pools = (r['nodePools'] ?? []) as NodePoolInput[];
  // The envelope before anything is expanded: a typo'd count must not allocate millions of nodes first.
  let nodeCount = listed.length;
  if (nodeCount > ENVELOPE.nodes) limit(['nodes'], `${nodeCount} nodes: Kubernetes supports at most ${ENVELOPE.nodes} nodes in a cluster`);
  pools.forEach((p, i) => {
    nodeCount += p.count;
    if (nodeCount > ENVELOPE.nodes) limit(['nodePools', i, 'count'], `${nodeCount} nodes with this pool: Kubernetes supports at most ${ENVELOPE.nodes} nodes in a cluster`);
  });
  if (nodeCount === 0) fail(['nodes'], 'the cluster has no nodes: give `nodes` or `nodePools`');
  const seen = new Set<string>();
  const addrs = new Set<number>();
  const nodes: NodeSpec[] = listed.map((n, i) => {
    if (seen.has(n.name)) fail(['nodes', i, 'name'], `duplicate node name "${n.name}"`);
    seen.add(n.name);
    const a = tryParseIpv4(addr(['nodes', i, 'address'], n.address)) as number;
    if (!underNet.contains(a)) fail(['nodes', i, 'address'], `${n.address} is outside underlayCIDR ${underlayCIDR}`);
    if (addrs.has(a)) fail(['nodes', i, 'address'], `address ${n.address} is used by another node`);
    addrs.add(a);
    return { name: n.name, address: n.address, labels: n.labels ?? {}, ...(n.cpus !== undefined ? { cpus: n.cpus } : {}) };
  });
  const routerAddr = r['outside']?.router?.underlay !== undefined ? tryParseIpv4(String(r['outside'].router.underlay)) : undefined;
  pools.forEach((p, i) => {
    if (p.count > 1 && !hasIndex(p.name)) fail(['nodePools', i, 'name'], `"${p.name}" names ${p.count} nodes: put {n} (or {n:4} for zero-padded) where the index goes`);
    for (const k of [1, p.count]) {
      const n = patternName(p.name, k);
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n) || n.length > 63) fail(['nodePools', i, 'name'], `"${p.name}" gives "${n}", which is not a DNS label`);
    }
    const range = addressRange(p.addresses, tryParseIpv4);
    if (range === undefined) fail(['nodePools', i, 'addresses'], `"${p.addresses}" is not a CIDR (172.16.0.0/16), a range (172.16.0.10-172.16.3.254) or a first address`);
    const last = (range as [number, number])[1];
    let a = (range as [number, number])[0];
    for (let k = 1; k <= p.count; k++) {
      // Skip what is taken: listed nodes, earlier pools, the outside router, the underlay's network and broadcast addresses.
      while (a <= last && (addrs.has(a) || a === routerAddr || a === underNet.network || a === underNet.broadcast)) a++;
      if (a > last) fail(['nodePools', i, 'addresses'], `${p.addresses} has room for ${k - 1} of the pool's ${p.count} nodes`);
      if (!underNet.contains(a)) fail(['nodePools', i, 'addresses'], `${formatIpv4(a)} (node ${k} of the pool) is outside underlayCIDR ${underlayCIDR}`);
      const nodeName = patternName(p.name, k);
      if (seen.has(nodeName)) fail(['nodePools', i, 'name'], `duplicate node name "${nodeName}"`);
      seen.add(nodeName);
      addrs.add(a);
      nodes.push({ name: nodeName, address: formatIpv4(a), labels: p.labels ?? {}, ...(p.cpus !== undefined ? { cpus: p.cpus } : {}) });
      a++;
    }
  });
  // flannel gives each node one subnet of the cluster network (SubnetMin is the network's second subnet).
  const subnetsFree = 2 ** ((net.flannel?.subnetLen ?? 24) - Ipv4Cidr.parse(clusterCIDR).prefixLen) - 1;
  if (nodes.length > subnetsFree) fail(['network', 'clusterCIDR'], `${clusterCIDR} holds ${subnetsFree} node subnets of /${net.flannel?.subnetLen ?? 24} for ${nodes.length} nodes (use a wider network, e.g. 100.64.0.0/10)`);
  const fl = net.flannel ?? {};
  const backend: FlannelBackendType = fl.backend ?? 'udp';
  const subnetLen: number = fl.subnetLen ?? 24;
  if (subnetLen <= Ipv4Cidr.parse(clusterCIDR).prefixLen) fail(['network', 'flannel', 'subnetLen'], `subnetLen ${subnetLen} must be longer than the cluster CIDR prefix`);
  let loadBalancerPool: string[] | undefined;
  if (net.loadBalancerPool !== undefined) {
    const many = Array.isArray(net.loadBalancerPool);
    loadBalancerPool = (many ? net.loadBalancerPool as string[] : [net.loadBalancerPool as string]).map((e, i) => {
      const at: (string | number)[] = many ? ['network', 'loadBalancerPool', i] : ['network', 'loadBalancerPool'];
      let range: [number, number] | undefined;
      try {
        range = parseAddressPool([e])[0];
      } catch {
        return fail(at, `"${e}" is not a CIDR (198.51.100.0/28), a range (198.51.100.10-198.51.100.20) or an IPv4 address`);
      }
      const [first, last] = range as [number, number];
      for (const [what, c] of [['clusterCIDR', clusterCIDR], ['serviceCIDR', serviceCIDR]] as const) {
        const n = Ipv4Cidr.parse(c);
        if (n.contains(first) || n.contains(last) || (first < n.network && last > n.network)) fail(at, `${e.trim()} overlaps ${what} ${c}`);
      }
      for (const [i2, n] of nodes.entries()) {
        const a = tryParseIpv4(n.address) as number;
        if (a >= first && a <= last) fail(at, `${e.trim()} contains the address of node ${n.name} (nodes.${i2})`);
      }
      return e.trim();
    });
  }
  const px = r['proxy'] ?? {};
  const np = r['networkPolicy'] ?? {};
  const ul = r['underlay'] ?? {};
  let outside: ClusterSpec['outside'];
  if (r['outside'] !== undefined) {
    const o = r['outside'];
    const ocidr = cidr(['outside', 'cidr'], o.cidr);
    const onet = Ipv4Cidr.parse(ocidr);
    const ru = addr(['outside', 'router', 'underlay'], o.router.underlay);
    const ro = addr(['outside', 'router', 'outside'], o.router.outside);
    if (!underNet.contains(tryParseIpv4(ru) as number)) fail(['outside', 'router', 'underlay'], `${ru} is outside underlayCIDR ${underlayCIDR}`);
    if (!onet.contains(tryParseIpv4(ro) as number)) fail(['outside', 'router', 'outside'], `${ro} is outside ${ocidr}`);
    const hosts: OutsideHost[] = (o.hosts ?? []).map((h: OutsideHost, i: number) => {
      const a = addr(['outside', 'hosts', i, 'address'], h.address);
      if (!onet.contains(tryParseIpv4(a) as number)) fail(['outside', 'hosts', i, 'address'], `${a} is outside ${ocidr}`);
      if (seen.has(h.name)) fail(['outside', 'hosts', i, 'name'], `name "${h.name}" is already used`);
      seen.add(h.name);
      return { name: h.name, address: a };
    });
    outside = { cidr: ocidr, router: { underlay: ru, outside: ro }, hosts };
  }
  const d = r['dns'] ?? {};
  const upstream: string | undefined = d.upstream;
  if (upstream !== undefined && !(outside?.hosts ?? []).some((h) => h.name === upstream)) fail(['dns', 'upstream'], `no outside host named "${upstream}"${outside === undefined ? ' (the spec has no outside network)' : ''}`);
  const records: Record<string, string> = {};
  for (const [n, a] of Object.entries((d.records ?? {}) as Record<string, string>)) records[n.replace(/\.$/, '').toLowerCase()] = addr(['dns', 'records', n], a);
  if (d.records === undefined) for (const h of outside?.hosts ?? []) records[`${h.name}.example.com`] = h.address;
  const dnsEnabled: boolean = d.enabled ?? true;
  let nodeLocalCache: DnsSpec['nodeLocalCache'];
  if (d.nodeLocalCache !== undefined && d.nodeLocalCache.enabled === true) {
    const at = ['dns', 'nodeLocalCache', 'address'];
    if (!dnsEnabled) fail(['dns', 'nodeLocalCache', 'enabled'], 'the node-local cache forwards to kube-dns: it needs the DNS add-on (dns.enabled is false)');
    // node-cache connects to the kube-dns-upstream ClusterIP from the node's own namespace: like any locally generated packet it needs a route before kube-proxy's OUTPUT DNAT.
    if (outside === undefined) fail(['dns', 'nodeLocalCache', 'enabled'], 'the node-local cache reaches kube-dns from the node itself, which needs a default route: give the spec an outside network (its router is the nodes\' default gateway)');
    const address = addr(at, d.nodeLocalCache.address ?? NODE_LOCAL_DNS_ADDRESS);
    const a = tryParseIpv4(address) as number;
    // The address must be one no pod, Service, node or outside host has: each node binds it on its own dummy interface.
    const taken: Array<[string, string | undefined]> = [['clusterCIDR', clusterCIDR], ['serviceCIDR', serviceCIDR], ['underlayCIDR', underlayCIDR], ['outside.cidr', outside?.cidr], ['loopback', '127.0.0.0/8'], ['multicast', '224.0.0.0/3'], ['this network', '0.0.0.0/8']];
    for (const [what, c] of taken) if (c !== undefined && Ipv4Cidr.parse(c).contains(a)) fail(at, `${address} is inside ${what} ${c}; use an address no pod, Service or host has (upstream's default: ${NODE_LOCAL_DNS_ADDRESS})`);
    nodeLocalCache = { address };
  }
  const dns: DnsSpec = { enabled: dnsEnabled, clusterDomain: d.clusterDomain ?? 'cluster.local', replicas: d.replicas ?? 2, upstream, records, nodeLocalCache };
  const manifests = r['manifests'] === undefined ? [] : typeof r['manifests'] === 'string' ? parseManifests(r['manifests'], file, blockOffset(doc, lc, text, 'manifests')) : (r['manifests'] as Record<string, unknown>[]);
  manifests.push(...expandWorkloads((r['workloads'] ?? []) as WorkloadInput[], manifests, nodes.length, limit, fail));
  return {
    name: r['metadata']?.name ?? 'cluster',
    seed: r['seed'] ?? 1,
    nodes,
    network: { underlayCIDR, clusterCIDR, serviceCIDR, mtu: net.mtu ?? 1500, flannel: { backend, port: fl.port ?? (backend === 'vxlan' ? 8472 : 8285), vni: fl.vni ?? 1, subnetLen, ipMasq: fl.ipMasq ?? true }, loadBalancerPool },
    runtime: r['runtime'] ?? 'docker',
    proxy: { mode: px.mode ?? 'iptables', scheduler: px.scheduler ?? 'rr', masqueradeAll: px.masqueradeAll ?? false, syncPeriodNs: parseDuration(px.syncPeriod ?? '1s') },
    networkPolicy: { enforcer: np.enforcer ?? 'none', syncPeriodNs: parseDuration(np.syncPeriod ?? '300s') },
    underlay: { latencyNs: parseDuration(ul.latency ?? '50us'), bandwidthBps: parseBandwidth(ul.bandwidth ?? '1Gbit'), loss: ul.loss ?? 0 },
    outside,
    manifests,
    dns,
    scale: { share: r['scale']?.share ?? true, lazyPods: r['scale']?.lazyPods ?? true },
    ...(r['conntrack'] !== undefined ? { conntrack: { clashResolution: r['conntrack'].clashResolution ?? 'nat-identical', raceWindowNs: parseDuration(r['conntrack'].raceWindow ?? '5us') } } : {}),
    clients: ((r['clients'] ?? []) as Array<Record<string, any>>).map((c, i) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const everyNs = parseDuration(c['every'] ?? '1s');
      if (everyNs <= 0) fail(['clients', i, 'every'], 'must be longer than 0');
      if (r['clients'].slice(0, i).some((o: { name: string }) => o.name === c['name'])) fail(['clients', i, 'name'], `duplicate client name "${c['name']}"`);
      return {
        name: c['name'], from: c['from'], to: c['to'], proto: c['proto'] ?? 'tcp', port: c['port'], everyNs, startNs: parseDuration(c['start'] ?? '0s'),
        requests: c['requests'] ?? 1, path: c['path'] ?? '/', count: c['count'],
      };
    }),
  };
}

type Fail = (path: (string | number)[], msg: string) => never;

/**
 * The workload generators' objects, after checking the spec's pods and Services (the
 * manifests' and the generators') against the envelope: at most 150 000 pods, 110 per
 * node, and 10 000 Services.
 */
function expandWorkloads(ws: readonly WorkloadInput[], manifests: readonly Record<string, unknown>[], nodes: number, limit: Fail, fail: Fail): Record<string, unknown>[] {
  const maxPods = Math.min(ENVELOPE.pods, ENVELOPE.podsPerNode * nodes);
  const why = (pods: number): string => (maxPods === ENVELOPE.pods ? `Kubernetes supports at most ${ENVELOPE.pods} pods in a cluster` : `${nodes} nodes run at most ${maxPods} (kubelet's --max-pods ${ENVELOPE.podsPerNode} per node)`) + `; the spec asks for ${pods}`;
  let pods = 0;
  let services = 0;
  for (const m of manifests) {
    pods += manifestPods(m, nodes);
    if (m['kind'] === 'Service') services++;
  }
  if (pods > maxPods) limit(['manifests'], why(pods));
  if (services > ENVELOPE.services) limit(['manifests'], `${services} Services: Kubernetes supports at most ${ENVELOPE.services} in a cluster`);
  ws.forEach((w, i) => {
    if (w.count > 1 && !hasIndex(w.name)) fail(['workloads', i, 'name'], `"${w.name}" names ${w.count} workloads: put {n} (or {n:5} for zero-padded) where the index goes`);
    for (const k of [1, w.count]) {
      const n = patternName(w.name, k);
      // A Service name is a DNS-1035 label: it starts with a letter.
      if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(n) || n.length > 63) fail(['workloads', i, 'name'], `"${w.name}" gives "${n}", which is not a Service name (a DNS-1035 label)`);
    }
    pods += workloadPods(w);
    services += w.count;
    if (pods > maxPods) limit(['workloads', i, 'replicas'], why(pods));
    if (services > ENVELOPE.services) limit(['workloads', i, 'count'], `${services} Services with this generator: Kubernetes supports at most ${ENVELOPE.services} in a cluster`);
  });
  const out = workloadNamespaces(ws);
  for (const w of ws) for (let k = 1; k <= w.count; k++) out.push(...workloadManifests(w, k));
  return out;
}

/** Where a manifest came from: file, line and column of its document (for errors about it later, e.g. from the API server). */
export interface ManifestSource {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

const manifestSources = new WeakMap<object, ManifestSource>();

/** The file, line and column a manifest object was parsed from, when parseManifests read it. */
export function manifestSource(obj: object): ManifestSource | undefined {
  return manifestSources.get(obj);
}

/** `file:line:col: ` for messages about a manifest, or '' when its source is unknown. */
export function manifestLocation(obj: object): string {
  const at = manifestSources.get(obj);
  return at !== undefined ? `${at.file}:${at.line}:${at.col}: ` : '';
}

/**
 * Multi-document Kubernetes YAML (read as YAML 1.1, like kubectl). `offset` places a
 * block embedded in another file (a spec's `manifests: |`): lines after its first,
 * columns shifted by its indentation.
 */
export function parseManifests(text: string, file = '<manifest>', offset: { line: number; col: number } = { line: 0, col: 0 }): Record<string, unknown>[] {
  const lc = new LineCounter();
  const pos = (at: number): { line: number; col: number } => {
    const p = lc.linePos(at);
    return { line: p.line + offset.line, col: p.col + offset.col };
  };
  const docs = parseAllDocuments(text, { lineCounter: lc, version: '1.1' });
  if (!Array.isArray(docs)) return [];
  const out: Record<string, unknown>[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) {
      const e = d.errors[0]!;
      const p = pos(e.pos[0]);
      throw new SpecError('NETSIM_SPEC_YAML', e.message.split('\n')[0] ?? 'YAML error', file, '', p.line, p.col);
    }
    const v: unknown = toJS(d, file);
    if (v === null || v === undefined) continue;
    const p = d.contents?.range !== undefined ? pos(d.contents.range[0]) : undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw new SpecError('NETSIM_SPEC_MANIFEST', 'a manifest must be a mapping with apiVersion and kind', file, '', p?.line, p?.col);
    }
    const o = v as Record<string, unknown>;
    if (typeof o['apiVersion'] !== 'string' || typeof o['kind'] !== 'string') {
      throw new SpecError('NETSIM_SPEC_MANIFEST', 'manifest has no apiVersion/kind', file, '', p?.line, p?.col);
    }
    if (p !== undefined) manifestSources.set(o, { file, ...p });
    out.push(o);
  }
  return out;
}

/** Read and parse a spec file. */
export function loadClusterSpec(path: string): ClusterSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpecError('NETSIM_SPEC_FILE', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, path, '');
  }
  return parseClusterSpec(text, path);
}

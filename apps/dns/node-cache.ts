/**
 * NodeLocal DNSCache's agent (k8s.io/dns cmd/node-cache) in a node's host namespace:
 * the mitigation of the conntrack insertion race for DNS. What it does, as
 * cache_app.go does it:
 *
 * - the `nodelocaldns` dummy interface holding the local address(es) as /32
 *   (netif.EnsureDummyDevice; left down, its addresses are local all the same);
 * - upstream's iptables rules, each ensured at the top of its chain (EnsureRule
 *   Prepend): raw PREROUTING/OUTPUT NOTRACK for queries to and answers from the
 *   local address on 53 (and the health port), so pod ↔ cache traffic never enters
 *   conntrack — no entry to race on, no DNAT, no clash — and filter INPUT/OUTPUT
 *   ACCEPTs because untracked packets match no ESTABLISHED rule;
 * - CoreDNS with the addon's Corefile, bound to the local address: the cluster zone
 *   (`cache { success 9984 30; denial 9984 5 }`) and the reverse zones (`cache 30`)
 *   forwarded to the kube-dns-upstream Service's ClusterIP with `force_tcp`, every
 *   other name to the node's resolv.conf (`cache 30`); `health` on LOCAL:8080 and
 *   `prometheus :9253` as HTTP servers;
 * - on stop, TeardownNetworking: the rules and the interface go (SkipTeardown false).
 *
 * Not modelled: the periodic re-check of rules and interface (`-syncinterval`), the
 * ebtables variant, the kube-dns ConfigMap's stubDomains/upstreamNameservers, loop
 * detection, the forward plugin's connection reuse (each TCP query to kube-dns is its
 * own connection here), metrics values.
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import type { TableName } from '../../netsim/netfilter/eval-types.ts';
import { MissingChain, parseRuleSpec } from '../../netsim/netfilter/iptables/parse-rule.ts';
import { quote, renderRuleSpec } from '../../netsim/netfilter/iptables/render.ts';
import { DummyDevice } from '../../netsim/link/dummy.ts';
import { randomMac } from '../../netsim/topology.ts';
import { startHttpServer } from '../../netsim/apps/http.ts';
import type { HttpServer } from '../../netsim/apps/http.ts';
import { formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import { CoreDnsServer } from './coredns.ts';

/** node-cache's defaults (cmd/node-cache/main.go flags and the addon manifest). */
export const NODE_LOCAL_DNS_INTERFACE = 'nodelocaldns';
export const NODE_LOCAL_DNS_ADDRESS = '169.254.20.10';
export const NODE_CACHE_HEALTH_PORT = 8080;
export const NODE_CACHE_METRICS_PORT = 9253;
/** The Service node-cache forwards the cluster zone to (`-upstreamsvc`): kube-dns's pods under another name, so kube-dns's own address can be bound locally. */
export const KUBE_DNS_UPSTREAM = 'kube-dns-upstream';

/** One of node-cache's iptables rules: `-t TABLE -I CHAIN ARGS`. */
export interface NodeCacheRule {
  readonly table: TableName;
  readonly chain: string;
  readonly args: readonly string[];
}

/** The rules cache_app.go's initIptables builds for each local address, in its order. */
export function nodeCacheIptablesRules(localIPs: readonly string[], port = 53, healthPort = NODE_CACHE_HEALTH_PORT): NodeCacheRule[] {
  const p = String(port);
  const out: NodeCacheRule[] = [];
  for (const ip of localIPs) {
    const r = (table: TableName, chain: string, ...args: string[]): void => { out.push({ table, chain, args }); };
    for (const proto of ['tcp', 'udp']) r('raw', 'PREROUTING', '-p', proto, '-d', ip, '--dport', p, '-j', 'NOTRACK');
    // Untracked packets match no "ESTABLISHED,RELATED" ACCEPT: let them in and out explicitly.
    for (const proto of ['tcp', 'udp']) r('filter', 'INPUT', '-p', proto, '-d', ip, '--dport', p, '-j', 'ACCEPT');
    for (const proto of ['tcp', 'udp']) r('raw', 'OUTPUT', '-p', proto, '-s', ip, '--sport', p, '-j', 'NOTRACK');
    for (const proto of ['tcp', 'udp']) r('filter', 'OUTPUT', '-p', proto, '-s', ip, '--sport', p, '-j', 'ACCEPT');
    // Queries the node itself sends (host-network pods).
    for (const proto of ['tcp', 'udp']) r('raw', 'OUTPUT', '-p', proto, '-d', ip, '--dport', p, '-j', 'NOTRACK');
    // The liveness probe to the health plugin.
    r('raw', 'OUTPUT', '-p', 'tcp', '-d', ip, '--dport', String(healthPort), '-j', 'NOTRACK');
    r('raw', 'OUTPUT', '-p', 'tcp', '-s', ip, '--sport', String(healthPort), '-j', 'NOTRACK');
  }
  return out;
}

/** The rule as `iptables -t T -I CHAIN …` would show it in iptables-save (its canonical form). */
function canonical(ipt: Iptables, r: NodeCacheRule): string | undefined {
  const table = ipt.table(r.table);
  const rule = parseRuleSpec([...r.args], { userChain: (n) => table.chains.has(n) });
  return rule instanceof MissingChain ? undefined : renderRuleSpec(rule);
}

/** utiliptables EnsureRule(Prepend): `-C`, then `-I CHAIN 1` when absent. Returns whether it existed. */
function ensureRule(ipt: Iptables, r: NodeCacheRule): boolean {
  const want = canonical(ipt, r);
  if (ipt.chain(r.table, r.chain)?.rules.some((x) => renderRuleSpec(x) === want) === true) return true;
  ipt.restore(`*${r.table}\n-I ${r.chain} 1 ${r.args.map(quote).join(' ')}\nCOMMIT\n`, { noflush: true });
  return false;
}

/** DeleteRule until `-C` fails (TeardownNetworking's loop). */
function deleteRule(ipt: Iptables, r: NodeCacheRule): void {
  const want = canonical(ipt, r);
  for (;;) {
    const i = ipt.chain(r.table, r.chain)?.rules.findIndex((x) => renderRuleSpec(x) === want) ?? -1;
    if (i < 0) return;
    ipt.restore(`*${r.table}\n-D ${r.chain} ${i + 1}\nCOMMIT\n`, { noflush: true });
  }
}

export interface NodeCacheOptions {
  /** `-localip`: the addresses to bind and NOTRACK (the link-local address; kube-dns's too in the iptables-mode variant). */
  readonly localIPs: readonly string[];
  /** The cluster domain (the Corefile's `__PILLAR__DNS__DOMAIN__`). */
  readonly clusterDomain: string;
  /** The kube-dns-upstream Service's ClusterIP (`__PILLAR__CLUSTER__DNS__`), read when a query needs it; undefined while it is unknown. */
  readonly clusterDns: () => string | undefined;
  /** `__PILLAR__UPSTREAM__SERVERS__`: the node's resolv.conf nameservers. */
  readonly upstreams: readonly string[];
}

/** node-cache running on one node. */
export class NodeCache {
  readonly servers: CoreDnsServer[] = [];
  private http: HttpServer[] = [];
  readonly rules: readonly NodeCacheRule[];

  constructor(readonly ns: NetNamespace, private readonly iptables: Iptables, private readonly o: NodeCacheOptions) {
    this.rules = nodeCacheIptablesRules(o.localIPs);
  }

  /** Init + the first setupNetworking: interface, rules, then the server. */
  start(): void {
    const ns = this.ns;
    if (!ns.devices.has(NODE_LOCAL_DNS_INTERFACE)) ns.addDevice(new DummyDevice(ns.sim, NODE_LOCAL_DNS_INTERFACE, randomMac(ns.sim)));
    for (const ip of this.o.localIPs) {
      if (!ns.addressesOf(NODE_LOCAL_DNS_INTERFACE).some((a) => formatIpv4(a.addr) === ip)) ns.addAddress(NODE_LOCAL_DNS_INTERFACE, `${ip}/32`);
    }
    for (const r of this.rules) ensureRule(this.iptables, r);
    const toKubeDns = (): readonly Ipv4Addr[] => {
      const ip = this.o.clusterDns();
      return ip !== undefined ? [parseIpv4(ip)] : [];
    };
    const blocks = [
      { zone: this.o.clusterDomain, upstreams: toKubeDns, forceTcp: true, cacheSeconds: 30, denialSeconds: 5 },
      { zone: 'in-addr.arpa', upstreams: toKubeDns, forceTcp: true, cacheSeconds: 30 },
      { zone: 'ip6.arpa', upstreams: toKubeDns, forceTcp: true, cacheSeconds: 30 },
    ];
    for (const ip of this.o.localIPs) {
      const bind = parseIpv4(ip);
      this.servers.push(new CoreDnsServer(ns, { upstreams: this.o.upstreams.map(parseIpv4), cacheSeconds: 30, app: 'node-cache', bind, blocks }));
      this.http.push(startHttpServer(ns, { port: NODE_CACHE_HEALTH_PORT, address: bind, podName: ns.name, server: 'CoreDNS', pages: { '/health': 'OK' } }));
    }
    this.http.push(startHttpServer(ns, { port: NODE_CACHE_METRICS_PORT, podName: ns.name, server: 'CoreDNS', pages: { '/metrics': '# node-cache metrics are not modelled\n' } }));
  }

  /** The process ends: servers close, TeardownNetworking removes the interface and the rules. */
  stop(): void {
    for (const s of this.servers) s.close();
    for (const h of this.http) h.close();
    this.servers.length = 0;
    this.http = [];
    if (this.ns.devices.has(NODE_LOCAL_DNS_INTERFACE)) this.ns.removeDevice(NODE_LOCAL_DNS_INTERFACE);
    for (const r of this.rules) deleteRule(this.iptables, r);
  }
}

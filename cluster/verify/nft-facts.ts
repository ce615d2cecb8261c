/**
 * What the probes need, read from kube-proxy's nftables-mode ruleset (`nft list
 * ruleset` of the emulated node, the very text the twin loads with `nft -f`), as
 * upstream's proxy/nftables writes it:
 *
 * - each endpoint is a chain `endpoint-HASH-NS/NAME/PROTO/PORTNAME__IP/PORT`;
 * - a ClientIP-sticky Service has one `affinity-HASH-NS/NAME/…` set per endpoint;
 * - the `service-ips` map sends ClusterIPs (the `cluster-ips` set) to `service-` or
 *   `local-` chains and external IPs and LoadBalancer IPs to `external-` chains;
 * - the `firewall-ips` map sends LoadBalancer IPs with loadBalancerSourceRanges to a
 *   `firewall-` chain whose one rule drops `ip saddr != { RANGES }`;
 * - `no-endpoint-services` / `no-endpoint-nodeports` map Services without endpoints
 *   to `reject-chain`, with the Service as the element's comment.
 *
 * Two facts leave no trace in the ruleset, so they come from what the node's kube-proxy
 * holds ({@link KubeProxyView}) when it is given: a LoadBalancer IP without source ranges
 * is a `service-ips` element to the `external-` chain like an external IP (kube-proxy's
 * LoadBalancer IPs tell them apart; without them it counts as an external IP), and
 * health-check node ports are served but never filtered (upstream's nftables proxier
 * writes no rule for them: its health-check servers are the source).
 */
import type { ProbeProto } from './probe.ts';
import type { RulesFacts, ServiceAddress } from './suites.ts';
import type { KubeProxyView } from '../emulated-cluster.ts';

const IP = String.raw`\d+\.\d+\.\d+\.\d+`;
const ENDPOINT_CHAIN = new RegExp(String.raw`^\s*chain (endpoint-\S+__(${IP})\/(\d+)) \{$`);

/** The elements text of `map NAME { … }` (one element a line or several), '' when absent. */
function mapElements(text: string, name: string): string {
  const m = new RegExp(String.raw`^\s*map ${name} \{\n([\s\S]*?)^\s*\}`, 'm').exec(text);
  if (m === null) return '';
  const e = /elements = \{([\s\S]*?)\}\s*$/.exec(m[1] as string);
  return e === null ? '' : (e[1] as string);
}

/** "ns/name" of a kube-proxy chain or set name `KIND-HASH-NS/NAME/PROTO/PORTNAME…`. */
function serviceOf(chain: string): string | undefined {
  const m = /^[a-z]+-[A-Z0-9]+-([^/\s]+\/[^/\s]+)\//.exec(chain);
  return m === null ? undefined : m[1];
}

export function nftRulesFacts(text: string | undefined, proxy?: KubeProxyView): RulesFacts {
  const t = text ?? '';
  const endpoints = new Map<string, Set<string>>();
  const ports = new Set<number>();
  const sticky = new Set<string>();
  for (const line of t.split('\n')) {
    const ep = ENDPOINT_CHAIN.exec(line);
    const svc = ep === null ? undefined : serviceOf(ep[1] as string);
    if (ep !== null && svc !== undefined) {
      endpoints.set(svc, (endpoints.get(svc) ?? new Set<string>()).add(ep[2] as string));
      ports.add(Number(ep[3]));
    }
    const aff = /^\s*set (affinity-\S+) \{$/.exec(line);
    const affSvc = aff === null ? undefined : serviceOf(aff[1] as string);
    if (affSvc !== undefined) sticky.add(affSvc);
  }
  const clusterIps = new Set([...(/^\s*set cluster-ips \{\n[^}]*?elements = \{([\s\S]*?)\}/m.exec(t)?.[1] ?? '').matchAll(new RegExp(IP, 'g'))].map((m) => m[0]));
  const element = new RegExp(String.raw`(${IP}) \. (tcp|udp) \. (\d+)(?: comment "[^"]*")? : goto (\S+?)(?=,|\s|$)`, 'g');

  const externalIPs: ServiceAddress[] = [];
  const lbChains = new Map<string, string>();
  for (const m of mapElements(t, 'firewall-ips').matchAll(element)) lbChains.set(`${m[1]} ${m[2]} ${m[3]}`, m[4] as string);
  const loadBalancers: Array<ServiceAddress & { ranges: string[] }> = [];
  for (const m of mapElements(t, 'service-ips').matchAll(element)) {
    ports.add(Number(m[3]));
    const ip = m[1] as string;
    const service = serviceOf(m[4] as string);
    if (clusterIps.has(ip) || service === undefined) continue;
    const a: ServiceAddress = { service, ip, proto: m[2] as ProbeProto, port: Number(m[3]) };
    const fw = lbChains.get(`${ip} ${a.proto} ${a.port}`);
    if (fw === undefined) {
      if (proxy?.loadBalancerIPs.some((l) => l.service === service && l.ip === ip && l.proto === a.proto && l.port === a.port) === true) loadBalancers.push({ ...a, ranges: [] });
      else externalIPs.push(a);
      continue;
    }
    // The firewall chain's rule: `ip saddr != RANGE drop` or `ip saddr != { R1, R2 } drop`.
    const rule = new RegExp(String.raw`^\s*chain ${fw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \{\n\s*ip saddr != (\{[^}]*\}|\S+) drop`, 'm').exec(t);
    // A range that is the LB IP itself is the node's own allowance (traffic SNATed to the LB IP), not a client range.
    const ranges = [...(rule?.[1] ?? '').matchAll(new RegExp(String.raw`${IP}(?:\/\d+)?`, 'g'))].map((r) => (r[0].includes('/') ? r[0] : `${r[0]}/32`)).filter((r) => r !== `${ip}/32`);
    loadBalancers.push({ ...a, ranges });
  }
  for (const m of mapElements(t, 'service-nodeports').matchAll(/(tcp|udp) \. (\d+)/g)) ports.add(Number(m[2]));

  const rejects: RulesFacts['rejects'][number][] = [];
  for (const m of mapElements(t, 'no-endpoint-services').matchAll(new RegExp(String.raw`(${IP}) \. (tcp|udp) \. (\d+) comment "([^"]*)" : goto reject-chain`, 'g'))) {
    rejects.push({ service: m[4] as string, from: clusterIps.has(m[1] as string) ? 'pod' : 'outside', dst: m[1] as string, proto: m[2] as ProbeProto, dport: Number(m[3]) });
  }
  for (const m of mapElements(t, 'no-endpoint-nodeports').matchAll(/(tcp|udp) \. (\d+) comment "([^"]*)" : goto reject-chain/g)) {
    rejects.push({ service: m[3] as string, from: 'outside', proto: m[1] as ProbeProto, dport: Number(m[2]) });
  }
  const healthChecks = (proxy?.healthChecks ?? []).map(({ service, port }) => ({ service, port }));
  // As iptables mode's ACCEPT rule names it: a known port, not one a masquerade drew.
  for (const h of healthChecks) ports.add(h.port);
  return { endpoints, rejects, ports, sticky, externalIPs, loadBalancers, hostPorts: [], healthChecks };
}

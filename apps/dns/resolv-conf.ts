/**
 * /etc/resolv.conf and /etc/hosts as a pod gets them.
 *
 * - {@link podResolvConf}: kubelet's pkg/kubelet/network/dns (GetPodDNS): the
 *   dnsPolicy picks the source — ClusterFirst: the cluster DNS Service, the search
 *   path `NS.svc.DOMAIN svc.DOMAIN DOMAIN` (+ the node's search domains) and
 *   `ndots:5`; a hostNetwork pod with ClusterFirst gets the node's file (Default);
 *   ClusterFirstWithHostNet: cluster DNS even with hostNetwork; Default: the node's
 *   file; None: only dnsConfig. dnsConfig's nameservers and searches are appended
 *   (duplicates dropped), its options merged by name; then the limits apply (3
 *   nameservers, 32 search domains).
 * - {@link parseResolvConf}: what glibc's res_init reads of the file (nameserver ×3,
 *   search/domain — the last one wins, options ndots (≤15), timeout (≤30), attempts
 *   (≤5), rotate, single-request, single-request-reopen, use-vc, edns0, no-aaaa);
 *   unknown lines and options are ignored as glibc ignores them.
 * - {@link podHostsFile}: kubelet's managed /etc/hosts (the pod's own name, with its
 *   `hostname.subdomain.NS.svc.DOMAIN` FQDN when it has a subdomain, then hostAliases).
 */

export interface ResolvOptions {
  readonly ndots: number;
  readonly timeout: number;
  readonly attempts: number;
  readonly rotate: boolean;
  readonly singleRequest: boolean;
  readonly singleRequestReopen: boolean;
  readonly useVc: boolean;
  readonly edns0: boolean;
  readonly noAaaa: boolean;
}

export interface ResolvConf {
  readonly nameservers: readonly string[];
  readonly search: readonly string[];
  /** Raw option words, in file order (`ndots:5`, `single-request-reopen`). */
  readonly options: readonly string[];
}

/** glibc's defaults (resolv.h): RES_TIMEOUT 5, RES_DFLRETRY 2, ndots 1; limits RES_MAXNDOTS 15, RES_MAXRETRANS 30, RES_MAXRETRY 5. */
export const RES_DEFAULTS: ResolvOptions = { ndots: 1, timeout: 5, attempts: 2, rotate: false, singleRequest: false, singleRequestReopen: false, useVc: false, edns0: false, noAaaa: false };
const MAXNS = 3;
const MAXDNSRCH = 32;

/** The option words as glibc applies them (res_setoptions), later words winning. */
export function resolvOptions(words: readonly string[]): ResolvOptions {
  const o = { ...RES_DEFAULTS } as { -readonly [K in keyof ResolvOptions]: ResolvOptions[K] };
  for (const w of words) {
    const m = /^(ndots|timeout|attempts):(\d+)$/.exec(w);
    if (m !== null) {
      const n = Math.min(Number(m[2]), 1e9);
      if (m[1] === 'ndots') o.ndots = Math.min(n, 15);
      else if (m[1] === 'timeout') o.timeout = Math.max(1, Math.min(n, 30));
      else o.attempts = Math.max(1, Math.min(n, 5));
      continue;
    }
    if (w === 'rotate') o.rotate = true;
    else if (w === 'single-request') o.singleRequest = true;
    else if (w === 'single-request-reopen') o.singleRequestReopen = true;
    else if (w === 'use-vc') o.useVc = true;
    else if (w === 'edns0') o.edns0 = true;
    else if (w === 'no-aaaa') o.noAaaa = true;
  }
  return o;
}

const isIPv4 = (s: string): boolean => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s);

/** Parse resolv.conf text as res_init does. Never throws: a bad line is skipped. */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let search: string[] = [];
  const options: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[;#].*$/, '').trim();
    if (line === '') continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver') {
      const a = rest[0] ?? '';
      if (isIPv4(a) && nameservers.length < MAXNS) nameservers.push(a);
    } else if (key === 'search' || key === 'domain') {
      search = rest.filter((d) => d !== '').slice(0, key === 'domain' ? 1 : MAXDNSRCH).map((d) => d.replace(/\.$/, ''));
    } else if (key === 'options') options.push(...rest);
  }
  return { nameservers, search, options };
}

/** The file as kubelet/containerd writes it: search, nameservers, options. */
export function renderResolvConf(c: ResolvConf): string {
  let out = '';
  if (c.search.length > 0) out += `search ${c.search.join(' ')}\n`;
  for (const n of c.nameservers) out += `nameserver ${n}\n`;
  if (c.options.length > 0) out += `options ${c.options.join(' ')}\n`;
  return out;
}

export interface PodDnsInput {
  readonly namespace: string;
  readonly dnsPolicy?: string;
  readonly hostNetwork?: boolean;
  readonly dnsConfig?: { readonly nameservers?: readonly string[]; readonly searches?: readonly string[]; readonly options?: ReadonlyArray<{ readonly name: string; readonly value?: string }> };
  /** The cluster DNS Service addresses (kubelet --cluster-dns); empty: no cluster DNS. */
  readonly clusterDNS: readonly string[];
  readonly clusterDomain: string;
  /** The node's own resolv.conf (kubelet --resolv-conf). */
  readonly node: ResolvConf;
}

const uniq = (l: readonly string[]): string[] => l.filter((x, i) => l.indexOf(x) === i);

/** A pod's /etc/resolv.conf (kubelet GetPodDNS). */
export function podResolvConf(p: PodDnsInput): ResolvConf {
  const policy = p.dnsPolicy ?? 'ClusterFirst';
  let kind: 'cluster' | 'host' | 'none';
  if (policy === 'None') kind = 'none';
  else if (policy === 'Default') kind = 'host';
  else if (policy === 'ClusterFirstWithHostNet') kind = 'cluster';
  else kind = p.hostNetwork === true ? 'host' : 'cluster';
  // No cluster DNS configured: kubelet falls back to the node's file.
  if (kind === 'cluster' && p.clusterDNS.length === 0) kind = 'host';
  let nameservers: string[] = [];
  let search: string[] = [];
  let options: string[] = [];
  if (kind === 'cluster') {
    nameservers = [...p.clusterDNS];
    const d = p.clusterDomain;
    search = [`${p.namespace}.svc.${d}`, `svc.${d}`, d, ...p.node.search];
    options = ['ndots:5'];
  } else if (kind === 'host') {
    nameservers = [...p.node.nameservers];
    search = [...p.node.search];
    options = [...p.node.options];
  }
  const cfg = p.dnsConfig;
  if (cfg !== undefined) {
    nameservers = uniq([...nameservers, ...(cfg.nameservers ?? [])]);
    search = uniq([...search, ...(cfg.searches ?? [])]);
    // Options merge by name; a dnsConfig option replaces the same-named one.
    const byName = new Map<string, string>();
    for (const o of options) byName.set(o.split(':')[0] as string, o);
    for (const o of cfg.options ?? []) byName.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
    options = [...byName.values()];
  }
  return { nameservers: nameservers.slice(0, MAXNS), search: search.slice(0, MAXDNSRCH), options };
}

export interface PodHostsInput {
  readonly podName: string;
  readonly namespace: string;
  readonly podIP: string;
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly clusterDomain: string;
  readonly hostAliases?: ReadonlyArray<{ readonly ip: string; readonly hostnames?: readonly string[] }>;
}

/** kubelet's managedHostsFileContent. */
export function podHostsFile(p: PodHostsInput): string {
  const hostname = (p.hostname ?? p.podName).slice(0, 63);
  let out = '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n';
  out += p.subdomain !== undefined && p.subdomain !== ''
    ? `${p.podIP}\t${hostname}.${p.subdomain}.${p.namespace}.svc.${p.clusterDomain}\t${hostname}\n`
    : `${p.podIP}\t${hostname}\n`;
  if ((p.hostAliases ?? []).length > 0) {
    out += '\n# Entries added by HostAliases.\n';
    for (const a of p.hostAliases ?? []) out += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return out;
}

/** /etc/hosts lookup (nss files): the first IPv4 line naming `name` (case-insensitive). */
export function hostsFileLookup(hosts: string, name: string): string[] {
  const want = name.replace(/\.$/, '').toLowerCase();
  const out: string[] = [];
  for (const raw of hosts.split('\n')) {
    const [ip, ...names] = raw.replace(/#.*$/, '').trim().split(/\s+/);
    if (ip === undefined || !isIPv4(ip)) continue;
    if (names.some((n) => n.toLowerCase() === want) && !out.includes(ip)) out.push(ip);
  }
  return out;
}

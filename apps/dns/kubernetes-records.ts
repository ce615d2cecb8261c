/**
 * The record engine of CoreDNS's `kubernetes` plugin, answering from the Services,
 * EndpointSlices and Namespaces its informers deliver (plugin/kubernetes:
 * parse.go's name grammar, kubernetes.go's findServices/findPods, reverse.go,
 * ns.go; plugin/backend_lookup.go builds the records; handler.go picks NXDOMAIN or
 * NODATA). The DNS schema is Kubernetes' (kubernetes/dns docs/specification.md):
 *
 * - `svc.ns.svc.ZONE` A: the ClusterIP; headless: one A per ready endpoint address;
 *   ExternalName: a CNAME to the external name (chased by the server);
 * - `host.svc.ns.svc.ZONE` A: endpoints whose hostname (or dashed IP) is `host`;
 * - `_port._proto.svc.ns.svc.ZONE` SRV (and `svc.ns.svc.ZONE` SRV for every port),
 *   weight 100/n, targets' addresses in the additional section;
 * - `a-b-c-d.ns.pod.ZONE` A (pods insecure, kubeadm's Corefile: no check that a pod
 *   has the address, only that the namespace exists);
 * - PTR in in-addr.arpa for ClusterIPs and endpoint addresses (anything else falls
 *   through to the next plugin, `fallthrough in-addr.arpa ip6.arpa`);
 * - `dns-version.ZONE` TXT, `ns.dns.ZONE` A, the zone's NS and SOA;
 * - a name that does not exist is NXDOMAIN, a name that exists without records of
 *   the asked type is NOERROR with no answers (NODATA); both carry the zone's SOA
 *   (TTL and minimum = the plugin's ttl, default 5, serial = last change).
 *
 * Not modelled: IPv6 records (the emulator is IPv4; AAAA queries get NODATA where
 * A would answer), `pods verified`, `endpoint_pod_names`, multicluster and zonal
 * names, `ignore empty_service`, `namespaces`/`labels` filters, autopath.
 */
import type { Answer } from 'dns-packet';
import type { EndpointSlice, Namespace, Service } from '../../control/api/index.ts';

/** CoreDNS's default TTL for kubernetes answers (plugin/kubernetes defaultTTL). */
export const DEFAULT_TTL = 5;
/** The schema version `dns-version.ZONE` TXT answers (Kubernetes DNS spec 1.1.0), with TTL 28800. */
export const DNS_SCHEMA_VERSION = '1.1.0';

const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

/** One candidate answer, CoreDNS's msg.Service: an address or a name, a port, and the name it lives under. */
interface Candidate {
  /** An IPv4 address, an IPv6 address, or a domain name (CNAME target). */
  readonly host: string;
  readonly port: number;
  /** The FQDN of the object (the SRV target): `svc.ns.svc.zone.` or `host.svc.ns.svc.zone.`. */
  readonly target: string;
}

type LookupError = 'no-items' | 'ns-not-exposed' | 'invalid';

interface ServiceInfo {
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  readonly externalName: string | undefined;
  readonly ports: ReadonlyArray<{ readonly name: string; readonly protocol: string; readonly port: number }>;
}

interface EndpointAddress {
  readonly ip: string;
  readonly hostname: string | undefined;
}

interface EndpointsInfo {
  readonly service: string;
  readonly namespace: string;
  readonly addresses: readonly EndpointAddress[];
  readonly ports: ReadonlyArray<{ readonly name: string; readonly protocol: string; readonly port: number }>;
}

/** What the engine answers for one question. `next`: not ours, ask the next plugin (forward). */
export type RecordsResult =
  | { readonly kind: 'next' }
  | {
    readonly kind: 'answer';
    readonly rcode: 0 | 2 | 3;
    readonly answers: Answer[];
    readonly authorities: Answer[];
    readonly additionals: Answer[];
    /** A CNAME to a name outside the zone: the server resolves `chase` and appends its answers. */
    readonly chase?: { readonly name: string; readonly type: 'A' | 'AAAA' };
  };

/** A zone's answers, as the server's chain asks them (the kubernetes plugin, or a static zone). */
export interface RecordSource {
  serve(qname: string, qtype: string, selfIPs?: readonly string[]): RecordsResult;
}

export interface KubernetesRecordsOptions {
  /** The cluster domain (`cluster.local`). */
  readonly zone: string;
  /** TTL of every answer (default 5). */
  readonly ttl?: number;
  /** Unix seconds now: the SOA serial is the time of the last change. */
  readonly now: () => number;
}

const fqdn = (n: string): string => (n.endsWith('.') ? n : `${n}.`);
const isIPv4 = (s: string): boolean => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s);
const isIPv6 = (s: string): boolean => s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s) && s.split('::').length <= 2;
const isIP = (s: string): boolean => isIPv4(s) || isIPv6(s);

/** endpointHostname (kubernetes.go): the hostname, else the address with dots or colons as dashes. */
function endpointHostname(a: EndpointAddress): string {
  if (a.hostname !== undefined && a.hostname !== '') return a.hostname;
  return a.ip.replace(/[.:]/g, '-');
}

/** The address a reverse name stands for, or '' (dnsutil.ExtractAddressFromReverse, IPv4 only). */
export function addressFromReverse(name: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.$/.exec(name);
  if (m === null) return '';
  const ip = [m[4], m[3], m[2], m[1]].join('.');
  return isIPv4(ip) ? ip : '';
}

/** The in-addr.arpa name of an IPv4 address. */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa.`;
}

export class KubernetesRecords implements RecordSource {
  readonly zone: string;
  readonly ttl: number;
  private readonly services = new Map<string, ServiceInfo>();
  /** EndpointSlices by "ns/sliceName", each with the Service it belongs to. */
  private readonly slices = new Map<string, EndpointsInfo>();
  private readonly namespaces = new Set<string>();
  private modified = 0;
  /** Informers have delivered their first list (before that, misses are SERVFAIL, not NXDOMAIN). */
  synced = false;

  constructor(private readonly o: KubernetesRecordsOptions) {
    this.zone = fqdn(o.zone.toLowerCase());
    this.ttl = o.ttl ?? DEFAULT_TTL;
  }

  /** The zones the plugin serves (kubeadm's Corefile: `kubernetes cluster.local in-addr.arpa ip6.arpa`). */
  get zones(): readonly string[] {
    return [this.zone, 'in-addr.arpa.', 'ip6.arpa.'];
  }

  // ------------------------------------------------------------------ informer events

  private touch(): void {
    this.modified = this.o.now();
  }

  setService(s: Service): void {
    const ns = s.metadata.namespace ?? 'default';
    const name = s.metadata.name ?? '';
    const ips = (s.spec.clusterIPs ?? (s.spec.clusterIP !== undefined ? [s.spec.clusterIP] : [])).filter((ip) => ip !== '' && ip !== 'None');
    this.services.set(`${ns}/${name}`, {
      name, namespace: ns, type: s.spec.type ?? 'ClusterIP', clusterIPs: ips,
      headless: s.spec.clusterIP === 'None',
      externalName: s.spec.type === 'ExternalName' ? s.spec.externalName : undefined,
      ports: (s.spec.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port })),
    });
    this.touch();
  }

  deleteService(s: Service): void {
    this.services.delete(`${s.metadata.namespace ?? 'default'}/${s.metadata.name ?? ''}`);
    this.touch();
  }

  /** An EndpointSlice: ready endpoints only (object.EndpointSliceToEndpoints keeps Ready == nil or true). */
  setEndpointSlice(s: EndpointSlice): void {
    const ns = s.metadata.namespace ?? 'default';
    const service = s.metadata.labels?.[LABEL_SERVICE_NAME];
    const key = `${ns}/${s.metadata.name ?? ''}`;
    if (service === undefined || s.addressType === 'FQDN') {
      this.slices.delete(key);
      this.touch();
      return;
    }
    const addresses: EndpointAddress[] = [];
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const ip of e.addresses) addresses.push({ ip, hostname: e.hostname });
    }
    const ports = (s.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port ?? -1 }));
    this.slices.set(key, { service, namespace: ns, addresses, ports: ports.length > 0 ? ports : [{ name: '', protocol: '', port: -1 }] });
    this.touch();
  }

  deleteEndpointSlice(s: EndpointSlice): void {
    this.slices.delete(`${s.metadata.namespace ?? 'default'}/${s.metadata.name ?? ''}`);
    this.touch();
  }

  setNamespace(n: Namespace): void {
    this.namespaces.add(n.metadata.name ?? '');
  }

  deleteNamespace(n: Namespace): void {
    this.namespaces.delete(n.metadata.name ?? '');
  }

  private endpointsOf(svc: ServiceInfo): EndpointsInfo[] {
    const out: EndpointsInfo[] = [];
    for (const e of this.slices.values()) if (e.namespace === svc.namespace && e.service === svc.name) out.push(e);
    return out;
  }

  // ------------------------------------------------------------------ lookups

  /** The zone `name` (lowercase FQDN) falls in, longest match first (plugin.Zones.Matches). */
  private zoneOf(name: string): string | undefined {
    let best: string | undefined;
    for (const z of this.zones) if ((name === z || name.endsWith(`.${z}`)) && (best === undefined || z.length > best.length)) best = z;
    return best;
  }

  /** findServices/findPods for a forward name: candidates or a name error. */
  private records(name: string): { candidates: Candidate[]; err?: LookupError } {
    const base = name === this.zone ? '' : name.slice(0, name.length - this.zone.length - 1);
    if (base === '' || base === 'svc' || base === 'pod') return { candidates: [] };
    const segs = base.split('.');
    const podOrSvc = segs.pop() as string;
    if (podOrSvc !== 'svc' && podOrSvc !== 'pod') return { candidates: [], err: 'invalid' };
    const namespace = segs.pop();
    if (namespace === undefined) return { candidates: [] };
    const service = segs.pop();
    let endpoint = '';
    let port = '';
    let protocol = '';
    if (segs.length === 1) endpoint = segs[0] as string;
    else if (segs.length === 2) {
      protocol = (segs[1] as string).replace(/^_/, '');
      port = (segs[0] as string).replace(/^_/, '');
    } else if (segs.length > 2) return { candidates: [], err: 'invalid' };
    if (!this.namespaces.has(namespace)) return { candidates: [], err: 'ns-not-exposed' };
    if (service === undefined) return { candidates: [] };
    if (podOrSvc === 'pod') {
      // pods insecure: any well-formed address answers (findPods).
      if (endpoint !== '' || port !== '') return { candidates: [], err: 'no-items' };
      const ip = (service.match(/-/g)?.length ?? 0) === 3 && !service.includes('--') ? service.replace(/-/g, '.') : service.replace(/-/g, ':');
      if (!isIP(ip)) return { candidates: [], err: 'no-items' };
      return { candidates: [{ host: ip, port: 0, target: name }] };
    }
    const svc = this.services.get(`${namespace}/${service}`);
    if (svc === undefined) return { candidates: [], err: 'no-items' };
    const target = `${svc.name}.${svc.namespace}.svc.${this.zone}`;
    const matchPort = (pname: string, pproto: string): boolean => (port === '' || port === pname.toLowerCase()) && (protocol === '' || protocol === pproto.toLowerCase());
    if (svc.externalName !== undefined) {
      if (endpoint !== '' || isIP(svc.externalName)) return { candidates: [], err: 'no-items' };
      return { candidates: [{ host: fqdn(svc.externalName), port: 0, target }] };
    }
    const out: Candidate[] = [];
    let found = false;
    if (svc.headless || endpoint !== '') {
      for (const eps of this.endpointsOf(svc)) {
        for (const a of eps.addresses) {
          const host = endpointHostname(a);
          if (endpoint !== '' && endpoint !== host.toLowerCase()) continue;
          for (const p of eps.ports) {
            if (!matchPort(p.name, p.protocol)) continue;
            found = true;
            out.push({ host: a.ip, port: p.port, target: `${host}.${target}` });
          }
        }
      }
      return found ? { candidates: out } : { candidates: [], err: 'no-items' };
    }
    for (const p of svc.ports) {
      if (!matchPort(p.name, p.protocol)) continue;
      found = true;
      for (const ip of svc.clusterIPs) out.push({ host: ip, port: p.port, target });
    }
    return found ? { candidates: out } : { candidates: [], err: 'no-items' };
  }

  /** serviceRecordForIP (reverse.go): a ClusterIP first, then endpoint addresses. */
  private reverse(ip: string): string[] {
    for (const s of this.services.values()) if (s.clusterIPs.includes(ip)) return [`${s.name}.${s.namespace}.svc.${this.zone}`];
    const out: string[] = [];
    for (const e of this.slices.values()) {
      for (const a of e.addresses) if (a.ip === ip) out.push(`${endpointHostname(a)}.${e.service}.${e.namespace}.svc.${this.zone}`);
    }
    return out;
  }

  /** The addresses of the DNS service itself (nsAddrs in ns.go): ClusterIPs of Services whose endpoints include one of `selfIPs`. */
  private nsAddrs(selfIPs: readonly string[]): string[] {
    const out: string[] = [];
    for (const e of this.slices.values()) {
      if (!e.addresses.some((a) => selfIPs.includes(a.ip))) continue;
      const s = this.services.get(`${e.namespace}/${e.service}`);
      for (const ip of s?.clusterIPs ?? []) if (!out.includes(ip)) out.push(ip);
    }
    return out.length > 0 ? out : [...selfIPs];
  }

  private soa(zone: string): Answer {
    return {
      name: zone, type: 'SOA', class: 'IN', ttl: this.ttl,
      data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: this.modified >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    } as Answer;
  }

  private addressRecord(name: string, ip: string): Answer {
    return { name, type: isIPv4(ip) ? 'A' : 'AAAA', class: 'IN', ttl: this.ttl, data: ip } as Answer;
  }

  /**
   * Answer one question. `qname` keeps the asker's case for the records; matching is
   * case-insensitive. `selfIPs` are the answering pod's addresses (for `ns.dns`).
   */
  serve(qname: string, qtype: string, selfIPs: readonly string[] = []): RecordsResult {
    const name = fqdn(qname.toLowerCase());
    const owner = fqdn(qname);
    const zone = this.zoneOf(name);
    if (zone === undefined) return { kind: 'next' };
    const reverseZone = zone !== this.zone;
    const ok = (answers: Answer[], additionals: Answer[] = [], chase?: { name: string; type: 'A' | 'AAAA' }): RecordsResult =>
      answers.length === 0
        ? { kind: 'answer', rcode: 0, answers: [], authorities: [this.soa(zone)], additionals: [] }
        : { kind: 'answer', rcode: 0, answers: dedup(answers), authorities: [], additionals: dedup(additionals), ...(chase !== undefined ? { chase } : {}) };
    const nameError = (): RecordsResult => {
      // `fallthrough in-addr.arpa ip6.arpa`: reverse misses go to the next plugin.
      if (reverseZone) return { kind: 'next' };
      return { kind: 'answer', rcode: this.synced ? 3 : 2, answers: [], authorities: [this.soa(zone)], additionals: [] };
    };

    if (qtype === 'PTR') {
      const ip = reverseZone ? addressFromReverse(name) : '';
      if (ip === '') {
        if (reverseZone) return nameError();
        const r = this.records(name);
        return r.err !== undefined ? nameError() : ok([]);
      }
      const hosts = this.reverse(ip);
      if (hosts.length === 0) return nameError();
      return ok(hosts.map((h) => ({ name: owner, type: 'PTR', class: 'IN', ttl: this.ttl, data: h }) as Answer));
    }
    if (reverseZone) return nameError();

    if (qtype === 'NS' && name === zone) {
      const addrs = this.nsAddrs(selfIPs);
      return ok([{ name: owner, type: 'NS', class: 'IN', ttl: this.ttl, data: `ns.dns.${zone}` } as Answer], addrs.map((ip) => this.addressRecord(`ns.dns.${zone}`, ip)));
    }
    if (qtype === 'SOA') {
      if (name === zone) return ok([this.soa(zone)]);
      const r = this.records(name);
      return r.err !== undefined ? nameError() : ok([]);
    }
    if (qtype === 'TXT') {
      if (name === `dns-version.${zone}`) return ok([{ name: owner, type: 'TXT', class: 'IN', ttl: 28800, data: DNS_SCHEMA_VERSION } as Answer]);
      const r = this.records(name);
      return r.err !== undefined ? nameError() : ok([]);
    }
    if ((qtype === 'A' || qtype === 'AAAA') && name === `ns.dns.${zone}`) {
      return ok(this.nsAddrs(selfIPs).filter((ip) => (qtype === 'A') === isIPv4(ip)).map((ip) => this.addressRecord(owner, ip)));
    }

    const r = this.records(name);
    if (r.err !== undefined) return nameError();
    const cands = r.candidates;
    switch (qtype) {
      case 'A':
      case 'AAAA': {
        const answers: Answer[] = [];
        let chase: { name: string; type: 'A' | 'AAAA' } | undefined;
        for (const c of cands) {
          if (isIP(c.host)) {
            if ((qtype === 'A') === isIPv4(c.host)) answers.push(this.addressRecord(owner, c.host));
            continue;
          }
          // A CNAME (ExternalName): the alias, then the target's addresses — looked up here
          // when the target is in the zone, by the server's chain (upstream) otherwise.
          if (c.host.toLowerCase() === name) continue;
          answers.push({ name: owner, type: 'CNAME', class: 'IN', ttl: this.ttl, data: c.host.replace(/\.$/, '') } as Answer);
          if (this.zoneOf(c.host.toLowerCase()) === this.zone) {
            const inner = this.serve(c.host, qtype, selfIPs);
            if (inner.kind === 'answer') answers.push(...inner.answers);
          } else chase = { name: c.host, type: qtype };
        }
        return ok(answers, [], chase);
      }
      case 'CNAME':
        return ok(cands.filter((c) => !isIP(c.host)).map((c) => ({ name: owner, type: 'CNAME', class: 'IN', ttl: this.ttl, data: c.host.replace(/\.$/, '') }) as Answer));
      case 'SRV': {
        // SRV for ExternalName services is not implemented upstream either (Services() drops CNAMEs).
        const internal = cands.filter((c) => isIP(c.host) && c.port > 0);
        const weight = internal.length > 0 ? Math.floor(100 / internal.length) : 0;
        const answers: Answer[] = [];
        const extra: Answer[] = [];
        for (const c of internal) {
          answers.push({ name: owner, type: 'SRV', class: 'IN', ttl: this.ttl, data: { priority: 0, weight, port: c.port, target: c.target.replace(/\.$/, '') } } as Answer);
          extra.push(this.addressRecord(c.target, c.host));
        }
        return ok(answers, extra);
      }
      default:
        // Any other type: a fake A lookup told NXDOMAIN from NODATA above; here it is NODATA.
        return ok([]);
    }
  }
}

/** dnsutil.Dedup: the same record twice (name, type, data) is kept once. */
function dedup(rrs: Answer[]): Answer[] {
  const seen = new Set<string>();
  return rrs.filter((rr) => {
    const k = `${rr.name.toLowerCase()}|${rr.type}|${JSON.stringify((rr as { data?: unknown }).data)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Trace endpoints as users write them: `pod:NS/NAME` (or a bare pod name in
 * `default`), `service:NS/NAME[:PORT]`, `node:NAME`, `ip:A.B.C.D`, `external:NAME`, and
 * `name:DNS-NAME[:PORT]` — resolved at trace time by the source's stub resolver
 * (its resolv.conf: search path, ndots), so the trace shows the lookup.
 * Unknown names fail with a stable code and the closest existing names.
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { tryParseIpv4, formatIpv4 } from '../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../netsim/wire/addr.ts';
import type { EmulatedCluster } from './emulated-cluster.ts';
import { CodedError } from '../netsim/errors.ts';
import type { ResolvConf } from '../apps/dns/resolv-conf.ts';

export type EndpointKind = 'pod' | 'service' | 'node' | 'ip' | 'external' | 'name';

export interface ResolvedEndpoint {
  readonly kind: EndpointKind;
  /** As the user wrote it, normalised (e.g. `pod:default/webapp01`). */
  readonly label: string;
  /** The namespace that sends when this is the source (absent for `ip:` and `service:`). */
  readonly ns?: NetNamespace;
  readonly ip: Ipv4Addr;
  /** A port named by the endpoint (`service:ns/name:80`, or a service's only port). */
  readonly port?: number;
  readonly protocol?: 'TCP' | 'UDP';
  /** `name:` endpoints: the DNS name to resolve (ip is 0 until then). */
  readonly name?: string;
}

export type EndpointErrorCode = 'NETSIM_ERR_ENDPOINT_SYNTAX' | 'NETSIM_ERR_UNKNOWN_POD' | 'NETSIM_ERR_UNKNOWN_NODE' | 'NETSIM_ERR_UNKNOWN_SERVICE' | 'NETSIM_ERR_UNKNOWN_EXTERNAL' | 'NETSIM_ERR_SERVICE_PORT';

export class EndpointError extends CodedError {
  constructor(readonly code: EndpointErrorCode, message: string) {
    super(message);
    this.name = 'EndpointError';
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min((prev[j] as number) + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

/** Up to three names closest to `name` (by edit distance, then substring match). */
export function closeMatches(name: string, candidates: Iterable<string>): string[] {
  return [...candidates]
    .map((c) => ({ c, d: c.includes(name) || name.includes(c) ? 0 : editDistance(name, c) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(name.length / 2)))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, 3)
    .map((x) => x.c);
}

function unknown(code: EndpointErrorCode, what: string, name: string, all: Iterable<string>): EndpointError {
  const list = [...all];
  const close = closeMatches(name, list);
  const hint = close.length > 0 ? `; did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : list.length > 0 ? ` (have: ${list.slice(0, 8).join(', ')}${list.length > 8 ? ', …' : ''})` : '';
  return new EndpointError(code, `unknown ${what} "${name}"${hint}`);
}

export function resolveEndpoint(spec: string, cluster: EmulatedCluster): ResolvedEndpoint {
  const i = spec.indexOf(':');
  const kind = i < 0 ? 'pod' : spec.slice(0, i);
  const rest = i < 0 ? spec : spec.slice(i + 1);
  if (rest === '') throw new EndpointError('NETSIM_ERR_ENDPOINT_SYNTAX', `empty endpoint "${spec}"; use pod:NS/NAME, service:NS/NAME[:PORT], node:NAME, ip:A.B.C.D, external:NAME or name:DNS-NAME[:PORT]`);
  switch (kind) {
    case 'pod': {
      const key = rest.includes('/') ? rest : `default/${rest}`;
      const p = cluster.pods.get(key);
      if (p === undefined) throw unknown('NETSIM_ERR_UNKNOWN_POD', 'pod', key, cluster.pods.keys());
      return { kind: 'pod', label: `pod:${key}`, ns: p.ns, ip: p.ip };
    }
    case 'node': {
      const n = cluster.nodes.get(rest);
      if (n === undefined) throw unknown('NETSIM_ERR_UNKNOWN_NODE', 'node', rest, cluster.nodes.keys());
      const ip = n.primaryAddress('eth0');
      if (ip === undefined) throw new EndpointError('NETSIM_ERR_UNKNOWN_NODE', `node ${rest} has no eth0 address`);
      return { kind: 'node', label: `node:${rest}`, ns: n, ip };
    }
    case 'external': {
      const h = cluster.external.get(rest);
      if (h === undefined) throw unknown('NETSIM_ERR_UNKNOWN_EXTERNAL', 'external host', rest, cluster.external.keys());
      return { kind: 'external', label: `external:${rest}`, ns: h, ip: h.primaryAddress('eth0') ?? 0 };
    }
    case 'ip': {
      const ip = tryParseIpv4(rest);
      if (ip === undefined) throw new EndpointError('NETSIM_ERR_ENDPOINT_SYNTAX', `"${rest}" is not an IPv4 address`);
      return { kind: 'ip', label: `ip:${formatIpv4(ip)}`, ip };
    }
    case 'service': {
      const m = /^([^:]+?)(?::(\d+))?$/.exec(rest);
      const name = m?.[1] ?? rest;
      const key = name.includes('/') ? name : `default/${name}`;
      const s = cluster.services.get(key);
      if (s === undefined) throw unknown('NETSIM_ERR_UNKNOWN_SERVICE', 'service', key, cluster.services.keys());
      const want = m?.[2] !== undefined ? Number(m[2]) : undefined;
      const port = want !== undefined ? s.ports.find((p) => p.port === want) : s.ports.length === 1 ? s.ports[0] : undefined;
      if (port === undefined) {
        throw new EndpointError('NETSIM_ERR_SERVICE_PORT', `service ${key} ${want !== undefined ? `has no port ${want}` : 'has several ports; name one as service:NS/NAME:PORT'} (ports: ${s.ports.map((p) => p.port).join(', ')})`);
      }
      return { kind: 'service', label: `service:${key}:${port.port}`, ip: s.clusterIP, port: port.port, protocol: port.protocol };
    }
    case 'name': {
      const m = /^([A-Za-z0-9_]([-A-Za-z0-9_]{0,62})(\.[A-Za-z0-9_]([-A-Za-z0-9_]{0,62}))*\.?)(?::(\d{1,5}))?$/.exec(rest);
      const port = m?.[5] !== undefined ? Number(m[5]) : undefined;
      if (m === null || (m[1] as string).length > 254 || (port !== undefined && (port < 1 || port > 65535))) {
        throw new EndpointError('NETSIM_ERR_ENDPOINT_SYNTAX', `"${rest}" is not a DNS name with an optional :PORT (e.g. name:backend.default:80)`);
      }
      return { kind: 'name', label: `name:${m[1] as string}${port !== undefined ? `:${port}` : ''}`, ip: 0, name: m[1] as string, ...(port !== undefined ? { port } : {}) };
    }
    default:
      throw new EndpointError('NETSIM_ERR_ENDPOINT_SYNTAX', `unknown endpoint kind "${kind}:"; use pod:, service:, node:, ip:, external: or name:`);
  }
}

/** What a source's resolver reads: a pod's own files, else the node's resolv.conf. */
export function resolverFor(cluster: EmulatedCluster, from: ResolvedEndpoint): { resolvConf: ResolvConf; hosts: string } {
  const pod = from.kind === 'pod' ? cluster.pods.get(from.label.slice('pod:'.length)) : undefined;
  return {
    resolvConf: pod?.resolvConf ?? cluster.nodeResolvConf?.() ?? { nameservers: [], search: [], options: [] },
    hosts: pod?.hosts ?? '',
  };
}

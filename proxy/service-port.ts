/**
 * kube-proxy's view of services and endpoints, in its own internal types (the
 * shapes of upstream pkg/proxy's ServicePortName, BaseServicePortInfo and
 * BaseEndpointInfo), plus the adapters from core/v1 Service and discovery/v1
 * EndpointSlice (control/api).
 *
 * A Service with N ports is N service ports, each named "namespace/name:port"
 * ("namespace/name" when the port is unnamed). Headless services (clusterIP None)
 * and ExternalName services have no service ports: kube-proxy writes no rules for
 * them (proxyutil.ShouldSkipService).
 */
import type { EndpointSlice, Service } from '../control/api/service.ts';
import { LABEL_SERVICE_NAME } from '../control/api/service.ts';
import { canonicalIPv4, canonicalIPv4CIDR, ipv4Only } from './ip-family.ts';

export type L4Proto = 'tcp' | 'udp' | 'sctp';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

/** upstream ServicePortName: NamespacedName + port name + protocol. */
export interface ServicePortName {
  readonly namespace: string;
  readonly name: string;
  /** The port's name; "" for an unnamed port. */
  readonly port: string;
  readonly protocol: L4Proto;
}

/** ServicePortName.String(): "ns/name:port", or "ns/name" for an unnamed port. */
export function servicePortNameString(n: Pick<ServicePortName, 'namespace' | 'name' | 'port'>): string {
  return n.port === '' ? `${n.namespace}/${n.name}` : `${n.namespace}/${n.name}:${n.port}`;
}

/** One port of one service, as the proxiers read it. */
export interface ServicePortInfo {
  /** ServicePortName.String(). */
  readonly name: string;
  /** "namespace/name" of the Service (the change trackers' key). */
  readonly service: string;
  readonly portName: string;
  readonly protocol: L4Proto;
  readonly type: ServiceType;
  readonly clusterIP: string;
  readonly port: number;
  /** 0 when the service has no node port. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress[].ip (LoadBalancer services only). */
  readonly loadBalancerIPs: readonly string[];
  /** spec.loadBalancerSourceRanges: the IPv4 ones, whitespace trimmed (upstream tolerates " 1.2.3.0/24"), masked. */
  readonly loadBalancerSourceRanges: readonly string[];
  /** ClientIP session affinity timeout (seconds); undefined without affinity. */
  readonly stickyMaxAgeSeconds: number | undefined;
  /** externalTrafficPolicy Local on an externally reachable service. */
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  /** 0 when none. */
  readonly healthCheckNodePort: number;
}

/** upstream BaseServicePortInfo.ExternallyAccessible. */
export function externallyAccessible(sp: ServicePortInfo): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerIPs.length > 0 || sp.externalIPs.length > 0;
}

/** Cluster endpoints are needed for internal Cluster policy, and for any external traffic (short-circuit). */
export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}

/** One endpoint of one service port (upstream BaseEndpointInfo). */
export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** "ip:port" (Endpoint.String()). */
  readonly key: string;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | undefined;
  /** On this proxy's node. */
  readonly isLocal: boolean;
  readonly zone: string | undefined;
}

/** A Service reduced to what the service change tracker keeps: its ports (none for headless/ExternalName). */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly ServicePortInfo[];
}

/** An EndpointSlice reduced to what the endpoints change tracker keeps. */
export interface EndpointSliceInfo {
  readonly namespace: string;
  /** The owning Service (label kubernetes.io/service-name). */
  readonly serviceName: string;
  readonly sliceName: string;
  readonly ports: ReadonlyArray<{ readonly name: string; readonly port: number; readonly protocol: L4Proto }>;
  readonly endpoints: ReadonlyArray<{
    readonly addresses: readonly string[];
    readonly ready: boolean;
    readonly serving: boolean;
    readonly terminating: boolean;
    readonly nodeName?: string;
    readonly zone?: string;
  }>;
}

/** ServiceSpec defaulting of ClientIP affinity (core/v1 DefaultClientIPServiceAffinitySeconds). */
export const DEFAULT_STICKY_MAX_AGE_SECONDS = 10800;

/**
 * The Service's IPv4 ClusterIP (proxyutil.GetClusterIPByFamily): the IPv4 member of
 * clusterIPs, else clusterIP when it is IPv4; "" for headless, ExternalName-only and
 * IPv6-only Services, which an IPv4 proxier skips.
 */
function ipv4ClusterIP(spec: Service['spec']): string {
  if (spec.clusterIP === 'None') return '';
  const ips = spec.clusterIPs !== undefined && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? ''];
  for (const ip of ips) {
    const v4 = canonicalIPv4(ip);
    if (v4 !== undefined) return v4;
  }
  return '';
}

/**
 * core/v1 Service → ServiceInfo for an IPv4 proxier (upstream newBaseServiceInfo):
 * addresses of the other family are ignored, never an error; IPv4 strings with leading
 * zeros are read as decimal and written canonically; LoadBalancer ingress IPs with
 * ipMode Proxy are left out (the load balancer proxies them, so nodes must not
 * short-circuit them: proxyutil.IsVIPMode).
 */
export function serviceInfoFromApi(svc: Service): ServiceInfo {
  const spec = svc.spec;
  const namespace = svc.metadata.namespace ?? 'default';
  const name = svc.metadata.name;
  const type = spec.type ?? 'ClusterIP';
  const cip = ipv4ClusterIP(spec);
  if (type === 'ExternalName' || cip === '') return { namespace, name, ports: [] };
  const external = type === 'NodePort' || type === 'LoadBalancer';
  const externalIPs = ipv4Only(spec.externalIPs);
  const lbIPs = type === 'LoadBalancer' ? ipv4Only((svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip !== undefined && i.ip !== '' && i.ipMode !== 'Proxy' ? [i.ip] : []))) : [];
  const reachable = external || externalIPs.length > 0;
  const eLocal = spec.externalTrafficPolicy === 'Local' && reachable;
  const ports = (spec.ports ?? []).map((p): ServicePortInfo => {
    const portName = p.name ?? '';
    const protocol = (p.protocol ?? 'TCP').toLowerCase() as L4Proto;
    return {
      name: servicePortNameString({ namespace, name, port: portName }),
      service: `${namespace}/${name}`,
      portName,
      protocol,
      type,
      clusterIP: cip,
      port: p.port,
      nodePort: external ? (p.nodePort ?? 0) : 0,
      externalIPs,
      loadBalancerIPs: lbIPs,
      loadBalancerSourceRanges: (spec.loadBalancerSourceRanges ?? []).flatMap((r) => {
        const c = canonicalIPv4CIDR(r);
        return c === undefined ? [] : [c];
      }),
      stickyMaxAgeSeconds: spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_STICKY_MAX_AGE_SECONDS) : undefined,
      externalPolicyLocal: eLocal,
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      // apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local.
      healthCheckNodePort: eLocal && type === 'LoadBalancer' ? (spec.healthCheckNodePort ?? 0) : 0,
    };
  });
  return { namespace, name, ports };
}

/**
 * discovery/v1 EndpointSlice → EndpointSliceInfo; undefined for slices kube-proxy
 * ignores (other address families, no service-name label). Conditions default as in
 * upstream's endpointslicecache: ready unless false, serving defaults to ready,
 * terminating only when true.
 */
export function endpointSliceInfoFromApi(slice: EndpointSlice): EndpointSliceInfo | undefined {
  const serviceName = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  if (slice.addressType !== 'IPv4' || serviceName === undefined || serviceName === '') return undefined;
  return {
    namespace: slice.metadata.namespace ?? 'default',
    serviceName,
    sliceName: slice.metadata.name,
    ports: (slice.ports ?? []).flatMap((p) => (p.port === undefined ? [] : [{ name: p.name ?? '', port: p.port, protocol: (p.protocol ?? 'TCP').toLowerCase() as L4Proto }])),
    endpoints: slice.endpoints.map((e) => {
      const ready = e.conditions?.ready ?? true;
      return {
        addresses: ipv4Only(e.addresses),
        ready,
        serving: e.conditions?.serving ?? ready,
        terminating: e.conditions?.terminating ?? false,
        ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}),
        ...(e.zone !== undefined ? { zone: e.zone } : {}),
      };
    }),
  };
}

/**
 * upstream CategorizeEndpoints without topology hints: the endpoints Cluster policy
 * uses (ready ones, else serving-terminating ones), the ones Local policy uses (local
 * ready, else local serving-terminating), their union (every endpoint this node may
 * DNAT to) and whether the service has any usable endpoint anywhere.
 */
export function categorizeEndpoints(eps: readonly EndpointInfo[], sp: ServicePortInfo): {
  cluster: EndpointInfo[]; local: EndpointInfo[]; allReachable: EndpointInfo[]; hasAny: boolean;
} {
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasAny = false;
  if (usesClusterEndpoints(sp)) {
    cluster = eps.filter((e) => e.ready);
    if (cluster.length === 0) cluster = eps.filter((e) => e.serving && e.terminating);
    if (cluster.length > 0) hasAny = true;
  }
  if (!usesLocalEndpoints(sp)) return { cluster, local, allReachable: cluster, hasAny };
  let localReady = false;
  let localServingTerminating = false;
  for (const e of eps) {
    if (e.ready) {
      hasAny = true;
      if (e.isLocal) localReady = true;
    } else if (e.serving && e.terminating) {
      hasAny = true;
      if (e.isLocal) localServingTerminating = true;
    }
  }
  if (localReady) local = eps.filter((e) => e.isLocal && e.ready);
  else if (localServingTerminating) local = eps.filter((e) => e.isLocal && e.serving && e.terminating);
  if (!usesClusterEndpoints(sp)) return { cluster, local, allReachable: local, hasAny };
  const merged = new Map<string, EndpointInfo>();
  for (const e of cluster) merged.set(e.key, e);
  for (const e of local) merged.set(e.key, e);
  const allReachable = [...merged.values()].sort(byEndpoint);
  return { cluster, local, allReachable, hasAny };
}

/** upstream byEndpoint: endpoints sorted by their "ip:port" string. */
export function byEndpoint(a: EndpointInfo, b: EndpointInfo): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * kube-proxy's view of services: one ServicePort per (service, port) with the
 * endpoints that serve it, built from core/v1 Services and discovery/v1
 * EndpointSlices the way the upstream change trackers do (ready endpoints, sorted).
 */
import type { EndpointSlice, Service } from '../control/api/service.ts';
import { LABEL_SERVICE_NAME } from '../control/api/service.ts';

export type L4Proto = 'tcp' | 'udp' | 'sctp';

export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** On this node (for traffic policy Local). */
  readonly local: boolean;
  /** "ip:port". */
  readonly key: string;
}

export interface ServicePortInfo {
  /** "namespace/name:portName", or "namespace/name" for an unnamed port. */
  readonly name: string;
  readonly protocol: L4Proto;
  readonly clusterIP: string;
  readonly port: number;
  readonly nodePort: number | undefined;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  /** ClientIP session affinity timeout in seconds, when enabled. */
  readonly affinityTimeout: number | undefined;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  readonly healthCheckNodePort: number | undefined;
  readonly endpoints: readonly EndpointInfo[];
}

/** Service ports of a Service with their endpoints from its EndpointSlices. Headless and ExternalName services have none. */
export function servicePorts(svc: Service, slices: readonly EndpointSlice[], nodeName: string): ServicePortInfo[] {
  const spec = svc.spec;
  const ns = svc.metadata.namespace ?? 'default';
  const cip = spec.clusterIP ?? spec.clusterIPs?.[0];
  if (spec.type === 'ExternalName' || cip === undefined || cip === 'None' || cip === '') return [];
  const mine = slices.filter((s) => (s.metadata.namespace ?? 'default') === ns && s.metadata.labels?.[LABEL_SERVICE_NAME] === svc.metadata.name && s.addressType === 'IPv4');
  return (spec.ports ?? []).map((p) => {
    const protocol = (p.protocol ?? 'TCP').toLowerCase() as L4Proto;
    const name = `${ns}/${svc.metadata.name}${p.name !== undefined && p.name !== '' ? `:${p.name}` : ''}`;
    const eps = new Map<string, EndpointInfo>();
    for (const s of mine) {
      const sp = (s.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? '') && (x.protocol ?? 'TCP').toLowerCase() === protocol);
      if (sp?.port === undefined) continue;
      for (const e of s.endpoints) {
        const ready = e.conditions?.ready ?? true;
        const serving = e.conditions?.serving ?? ready;
        const terminating = e.conditions?.terminating ?? false;
        for (const ip of e.addresses) {
          const key = `${ip}:${sp.port}`;
          eps.set(key, { ip, port: sp.port, ready, serving, terminating, local: e.nodeName === nodeName, key });
        }
      }
    }
    const lbIPs = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip !== undefined ? [i.ip] : []));
    const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
    return {
      name, protocol, clusterIP: cip, port: p.port,
      nodePort: external ? p.nodePort : undefined,
      externalIPs: spec.externalIPs ?? [],
      loadBalancerIPs: spec.type === 'LoadBalancer' ? lbIPs : [],
      loadBalancerSourceRanges: spec.loadBalancerSourceRanges ?? [],
      affinityTimeout: spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined,
      externalPolicyLocal: spec.externalTrafficPolicy === 'Local' && (external || (spec.externalIPs ?? []).length > 0),
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort: spec.externalTrafficPolicy === 'Local' ? spec.healthCheckNodePort : undefined,
      endpoints: [...eps.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    };
  });
}

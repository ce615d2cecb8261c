/**
 * The parts of core/v1 Service and discovery.k8s.io/v1 EndpointSlice that service
 * proxies read (field names as in the Kubernetes API).
 */
export interface ObjectMetaLite {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePort {
  readonly name?: string;
  readonly protocol?: Protocol;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

export interface Service {
  readonly apiVersion?: 'v1';
  readonly kind?: 'Service';
  readonly metadata: ObjectMetaLite;
  readonly spec: {
    readonly type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly ports?: readonly ServicePort[];
    readonly selector?: Readonly<Record<string, string>>;
    readonly externalIPs?: readonly string[];
    readonly loadBalancerSourceRanges?: readonly string[];
    readonly sessionAffinity?: 'None' | 'ClientIP';
    readonly sessionAffinityConfig?: { readonly clientIP?: { readonly timeoutSeconds?: number } };
    readonly externalTrafficPolicy?: 'Cluster' | 'Local';
    readonly internalTrafficPolicy?: 'Cluster' | 'Local';
    readonly healthCheckNodePort?: number;
    readonly externalName?: string;
    readonly ipFamilies?: ReadonlyArray<'IPv4' | 'IPv6'>;
  };
  /** ingress[].ipMode (KEP-1860): VIP (default) or Proxy — a Proxy IP is not short-circuited by node proxies. */
  readonly status?: { readonly loadBalancer?: { readonly ingress?: ReadonlyArray<{ readonly ip?: string; readonly hostname?: string; readonly ipMode?: 'VIP' | 'Proxy' }> } };
}

export interface EndpointSlice {
  readonly apiVersion?: 'discovery.k8s.io/v1';
  readonly kind?: 'EndpointSlice';
  readonly metadata: ObjectMetaLite;
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: ReadonlyArray<{
    readonly addresses: readonly string[];
    readonly conditions?: { readonly ready?: boolean; readonly serving?: boolean; readonly terminating?: boolean };
    readonly nodeName?: string;
    readonly zone?: string;
  }>;
  readonly ports?: ReadonlyArray<{ readonly name?: string; readonly port?: number; readonly protocol?: Protocol }>;
}

/** The label EndpointSlices carry to name their Service. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

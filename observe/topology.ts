/**
 * The picture of a running cluster the web UI draws: nodes on the underlay with their
 * devices (eth0, the bridge, flannel's device, kube-ipvs0), pods behind their veths,
 * the outside router and hosts, and Services as VIPs with their endpoints. Plain JSON
 * data (`GET /netsim/v1/topology`, observe/topology-routes.ts), built from what the
 * nodes actually hold (topology-builder.ts), so it shows what a trace would cross.
 */

/** What a device is for, as the UI colours it. */
export type TopologyDeviceKind = 'nic' | 'bridge' | 'flannel' | 'ipvs' | 'other';

export interface TopologyDevice {
  /** The Linux name (`eth0`, `docker0`, `cni0`, `flannel0`, `flannel.1`, `kube-ipvs0`). */
  readonly name: string;
  readonly kind: TopologyDeviceKind;
  /** `ip addr`'s CIDR form (`10.244.1.1/24`); kube-ipvs0 carries one /32 per VIP. */
  readonly addresses: readonly string[];
}

export interface TopologyNode {
  readonly name: string;
  /** The underlay address (eth0). */
  readonly ip: string;
  /** flannel's subnet for the node's pods (subnet.env FLANNEL_SUBNET), when it has a lease. */
  readonly podSubnet?: string;
  /** Host devices: NICs, the bridge, flannel's device and kube-ipvs0; pod veths are on the pods. */
  readonly devices: readonly TopologyDevice[];
}

export interface TopologyPod {
  /** `namespace/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly node: string;
  /** The host end of its veth pair (a port of the node's bridge). */
  readonly hostVeth?: string;
  /** Whether the node agent counts it ready (its readiness probe passed, or it has none). */
  readonly ready: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

export interface TopologyHost {
  readonly name: string;
  readonly kind: 'router' | 'external';
  readonly addresses: readonly string[];
}

export interface TopologyEndpoint {
  readonly ip: string;
  /** `namespace/name` of the pod with that address, when there is one. */
  readonly pod?: string;
  readonly ready: boolean;
}

export interface TopologyService {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** The VIP; absent for a headless Service. */
  readonly clusterIP?: string;
  readonly ports: ReadonlyArray<{ readonly name: string; readonly port: number; readonly protocol: string; readonly nodePort?: number }>;
  readonly endpoints: readonly TopologyEndpoint[];
}

export interface Topology {
  readonly flannelBackend: string;
  readonly proxyMode: string;
  /** ipvs mode: the scheduler (rr, wrr, lc, …). */
  readonly ipvsScheduler?: string;
  readonly nodes: readonly TopologyNode[];
  readonly pods: readonly TopologyPod[];
  readonly outside: readonly TopologyHost[];
  readonly services: readonly TopologyService[];
}

/**
 * What kube-proxy's IPVS mode wants on a node for one service port (upstream
 * ipvs/proxier.go syncProxyRules' loop body over svcPortMap): its ipset entries, its
 * virtual servers (ClusterIP, external IPs, LoadBalancer IPs, one per NodePort
 * address) with their real servers, and which of them bind their address to
 * kube-ipvs0. A pure function of the service port, its endpoints, the node's NodePort
 * addresses and the proxier's options: the full sync joins it over every service port,
 * the partial sync (proxier.ts) computes it before and after a change for the changed
 * ports only.
 */
import type { EndpointInfo, ServicePortInfo } from '../service-port.ts';
import { categorizeEndpoints } from '../service-port.ts';
import { cidrContains } from '../iptables/rules.ts';
import type { VirtualServerSpec } from './interfaces.ts';
import { KUBE_CLUSTER_IP, KUBE_EXTERNAL_IP, KUBE_EXTERNAL_IP_LOCAL, KUBE_HEALTH_CHECK_NODE_PORT, KUBE_IPVS_IPS, KUBE_LOAD_BALANCER, KUBE_LOAD_BALANCER_FW, KUBE_LOAD_BALANCER_LOCAL, KUBE_LOAD_BALANCER_SOURCE_CIDR, KUBE_LOAD_BALANCER_SOURCE_IP, KUBE_LOOP_BACK, KUBE_NODE_PORT_LOCAL_SCTP, KUBE_NODE_PORT_LOCAL_TCP, KUBE_NODE_PORT_LOCAL_UDP, KUBE_NODE_PORT_SCTP, KUBE_NODE_PORT_TCP, KUBE_NODE_PORT_UDP } from './ipsets.ts';

export type VsKey = string;

export function vsKey(v: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>): VsKey {
  return `${v.protocol}/${v.address}:${v.port}`;
}

/** One virtual server a service port wants. */
export interface DesiredServer {
  readonly vs: VirtualServerSpec;
  /** Its address goes on kube-ipvs0 (every kind but NodePort). */
  readonly bind: boolean;
  readonly reals: readonly EndpointInfo[];
}

export interface PortDesired {
  /** Ipset entries, each `set entry` ({@link entryToken}); a set, so a port counts an entry once. */
  readonly entries: ReadonlySet<string>;
  /** In the order the sync programs them; a key met twice keeps its first place and its last value (as a Map's set). */
  readonly servers: ReadonlyMap<VsKey, DesiredServer>;
}

export interface DesiredOptions {
  readonly scheduler: string;
  readonly nodeIP?: string | undefined;
}

/** An ipset entry as one string: the set's name, a space, the entry (neither holds a space). */
function entryToken(set: string, entry: string): string {
  return `${set} ${entry}`;
}

export function splitToken(t: string): readonly [string, string] {
  const i = t.indexOf(' ');
  return [t.slice(0, i), t.slice(i + 1)];
}

/** upstream syncEndpoint's choice: Local policy uses local endpoints, falling back to cluster ones (kubernetes#97081). */
function endpointsFor(sp: ServicePortInfo, eps: readonly EndpointInfo[], onlyLocal: boolean): EndpointInfo[] {
  const { cluster, local } = categorizeEndpoints(eps, sp);
  if (onlyLocal) return local.length > 0 ? local : cluster;
  return cluster;
}

export function portDesired(sp: ServicePortInfo, eps: readonly EndpointInfo[], nodeIPs: readonly string[], opts: DesiredOptions): PortDesired {
  const entries = new Set<string>();
  const servers = new Map<VsKey, DesiredServer>();
  const add = (set: string, e: string): void => void entries.add(entryToken(set, e));
  const proto = sp.protocol === 'udp' ? 'UDP' : sp.protocol === 'sctp' ? 'SCTP' : 'TCP';
  const ipPort = (ip: string): string => `${ip},${sp.protocol}:${sp.port}`;
  for (const e of eps) if (e.isLocal) add(KUBE_LOOP_BACK, `${e.ip},${sp.protocol}:${e.port},${e.ip}`);
  const vsFor = (address: string, port: number): VirtualServerSpec => ({ address, port, protocol: proto, scheduler: opts.scheduler, ...(sp.stickyMaxAgeSeconds !== undefined ? { persistentTimeout: sp.stickyMaxAgeSeconds } : {}) });
  const want = (vs: VirtualServerSpec, bind: boolean, onlyLocal: boolean): void => {
    const k = vsKey(vs);
    const had = servers.get(k);
    servers.set(k, { vs, bind: bind || had?.bind === true, reals: endpointsFor(sp, eps, onlyLocal) });
    // Every address kube-ipvs0 will hold (KUBE-IPVS-FILTER rejects new connections to their other ports).
    if (bind) add(KUBE_IPVS_IPS, vs.address);
  };
  add(KUBE_CLUSTER_IP, ipPort(sp.clusterIP));
  want(vsFor(sp.clusterIP, sp.port), true, sp.internalPolicyLocal);
  for (const ip of sp.externalIPs) {
    add(sp.externalPolicyLocal ? KUBE_EXTERNAL_IP_LOCAL : KUBE_EXTERNAL_IP, ipPort(ip));
    want(vsFor(ip, sp.port), true, sp.externalPolicyLocal);
  }
  for (const ip of sp.loadBalancerIPs) {
    add(KUBE_LOAD_BALANCER, ipPort(ip));
    if (sp.externalPolicyLocal) add(KUBE_LOAD_BALANCER_LOCAL, ipPort(ip));
    if (sp.loadBalancerSourceRanges.length > 0) {
      add(KUBE_LOAD_BALANCER_FW, ipPort(ip));
      let allowFromNode = false;
      for (const cidr of sp.loadBalancerSourceRanges) {
        add(KUBE_LOAD_BALANCER_SOURCE_CIDR, `${ipPort(ip)},${cidr}`);
        if (opts.nodeIP !== undefined && cidrContains(cidr, opts.nodeIP)) allowFromNode = true;
      }
      if (allowFromNode) add(KUBE_LOAD_BALANCER_SOURCE_IP, `${ipPort(ip)},${ip}`);
    }
    want(vsFor(ip, sp.port), true, sp.externalPolicyLocal);
  }
  if (sp.nodePort !== 0) {
    if (proto === 'SCTP') {
      // SCTP NodePorts are hash:ip,port entries, one per node IP (upstream: bitmap:port cannot hold the protocol).
      for (const ip of nodeIPs) {
        add(KUBE_NODE_PORT_SCTP, `${ip},sctp:${sp.nodePort}`);
        if (sp.externalPolicyLocal) add(KUBE_NODE_PORT_LOCAL_SCTP, `${ip},sctp:${sp.nodePort}`);
      }
    } else {
      add(proto === 'TCP' ? KUBE_NODE_PORT_TCP : KUBE_NODE_PORT_UDP, String(sp.nodePort));
      if (sp.externalPolicyLocal) add(proto === 'TCP' ? KUBE_NODE_PORT_LOCAL_TCP : KUBE_NODE_PORT_LOCAL_UDP, String(sp.nodePort));
    }
    for (const ip of nodeIPs) want(vsFor(ip, sp.nodePort), false, sp.externalPolicyLocal);
  }
  if (sp.healthCheckNodePort !== 0) add(KUBE_HEALTH_CHECK_NODE_PORT, String(sp.healthCheckNodePort));
  return { entries, servers };
}

/**
 * Change tracking as upstream's pkg/proxy does it (servicechangetracker.go,
 * endpointschangetracker.go, endpointslicecache.go): informer events accumulate
 * as pending changes keyed by the Service's "namespace/name" with the state before
 * the first change (previous) and after the last (current); a change that returns
 * to the applied state is dropped. A sync applies the pending changes to the
 * ServicePortMap / EndpointsMap and learns which services changed (a partial sync
 * rewrites only their chains) and which UDP conntrack entries may have gone stale.
 */
import type { EndpointInfo, EndpointSliceInfo, L4Proto, ServiceInfo, ServicePortInfo } from './service-port.ts';
import { byEndpoint, servicePortNameString } from './service-port.ts';

/** Key of a service port in the maps: ServicePortName.String() + "/" + protocol (the name alone is not unique across protocols). */
export function servicePortKey(name: string, protocol: L4Proto): string {
  return `${name}/${protocol}`;
}

export function protocolOfKey(key: string): L4Proto {
  return key.slice(key.lastIndexOf('/') + 1) as L4Proto;
}

function portsOf(s: ServiceInfo | undefined): Map<string, ServicePortInfo> {
  const m = new Map<string, ServicePortInfo>();
  for (const p of s?.ports ?? []) m.set(servicePortKey(p.name, p.protocol), p);
  return m;
}

function sameJSON(a: unknown, b: unknown): boolean {
  // Maps print as their entries: of different sizes they differ (a Service added or removed, a first slice).
  if (a instanceof Map && b instanceof Map && a.size !== b.size) return false;
  return a === b || JSON.stringify(a, mapReplacer) === JSON.stringify(b, mapReplacer);
}

/** Two endpoints-per-port maps holding the same arrays (what {@link sliceEndpoints} hands out) are equal without printing them. */
function sameEndpoints(a: ReadonlyMap<string, EndpointInfo[]>, b: ReadonlyMap<string, EndpointInfo[]>): boolean {
  if (a.size === b.size) {
    let same = true;
    for (const [k, v] of a) if (b.get(k) !== v) same = false;
    if (same) return true;
  }
  return sameJSON(a, b);
}

/**
 * A service's endpoints per port from its one slice, as every node none of whose
 * endpoints are local sees them (isLocal false throughout), and the nodes they are on.
 * Keyed by the slice's converted object, which with `scale.share` is one object for
 * every node (proxy/shared-objects.ts): those nodes then hold one array per service
 * port instead of each its own copy, and a node's sync finds it by identity
 * (rules.ts derive). A pure function of the slice, so exact; weak, so a dropped
 * slice takes it along.
 */
const sliceEndpoints = new WeakMap<EndpointSliceInfo, { readonly byPort: ReadonlyMap<string, EndpointInfo[]>; readonly nodes: ReadonlySet<string | undefined> }>();

/**
 * A node's own endpoint list of a single-slice service port (some endpoint is local) →
 * the list a node with none local holds: the same endpoints in the same order, isLocal
 * false throughout. Where locality does not change the rules (no Local traffic policy),
 * kube-proxy's iptables rules are found by the latter (iptables/rules.ts), so nodes
 * with local endpoints of a Cluster-policy Service still share its rules and texts.
 */
const nonLocalTwins = new WeakMap<readonly EndpointInfo[], readonly EndpointInfo[]>();

/** The list `eps` as a node with no local endpoint holds it, where known (else `eps`): see nonLocalTwins. */
export function withoutLocality(eps: readonly EndpointInfo[]): readonly EndpointInfo[] {
  return nonLocalTwins.get(eps) ?? eps;
}

function mapReplacer(_k: string, v: unknown): unknown {
  return v instanceof Map ? [...(v as Map<unknown, unknown>).entries()] : v;
}

interface ServiceChange {
  readonly previous: Map<string, ServicePortInfo>;
  current: Map<string, ServicePortInfo>;
}

export class ServiceChangeTracker {
  private readonly items = new Map<string, ServiceChange>();

  /** OnServiceAdd (previous undefined), OnServiceUpdate, OnServiceDelete (current undefined). Returns whether changes are pending. */
  update(previous: ServiceInfo | undefined, current: ServiceInfo | undefined): boolean {
    const s = current ?? previous;
    if (s === undefined) return this.items.size > 0;
    const key = `${s.namespace}/${s.name}`;
    let change = this.items.get(key);
    if (change === undefined) {
      change = { previous: portsOf(previous), current: portsOf(current) };
      this.items.set(key, change);
    } else change.current = portsOf(current);
    if (sameJSON(change.previous, change.current)) this.items.delete(key);
    return this.items.size > 0;
  }

  pending(): number {
    return this.items.size;
  }

  /** Hand the pending changes over (and forget them). */
  checkout(): Map<string, ServiceChange> {
    const out = new Map(this.items);
    this.items.clear();
    return out;
  }
}

export interface UpdateServiceMapResult {
  /** "namespace/name" of every service whose ports changed. */
  readonly updatedServices: Set<string>;
  /** ClusterIPs of UDP service ports that went away (their conntrack entries are flushed). */
  readonly deletedUDPClusterIPs: Set<string>;
  /** Every service port key of the updated services, with what the map held under it before (undefined: nothing). */
  readonly previousPorts: Map<string, ServicePortInfo | undefined>;
}

/** upstream ServicePortMap: every service port this proxy serves, keyed by {@link servicePortKey}. */
export class ServicePortMap extends Map<string, ServicePortInfo> {
  update(tracker: ServiceChangeTracker): UpdateServiceMapResult {
    const updatedServices = new Set<string>();
    const deletedUDPClusterIPs = new Set<string>();
    const previousPorts = new Map<string, ServicePortInfo | undefined>();
    for (const [svc, change] of tracker.checkout()) {
      updatedServices.add(svc);
      for (const k of [...change.previous.keys(), ...change.current.keys()]) if (!previousPorts.has(k)) previousPorts.set(k, this.get(k));
      for (const [k, p] of change.previous) {
        if (change.current.has(k)) continue;
        this.delete(k);
        if (p.protocol === 'udp') deletedUDPClusterIPs.add(p.clusterIP);
      }
      for (const [k, p] of change.current) this.set(k, p);
    }
    // A UDP ClusterIP still used by another port keeps its entries (a scan of every port, so only when one went).
    if (deletedUDPClusterIPs.size > 0) for (const p of this.values()) if (p.protocol === 'udp') deletedUDPClusterIPs.delete(p.clusterIP);
    return { updatedServices, deletedUDPClusterIPs, previousPorts };
  }

  /** HealthCheckNodePorts: "namespace/name" → healthCheckNodePort, for the services that have one. */
  healthCheckNodePorts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const p of this.values()) if (p.healthCheckNodePort !== 0) out.set(p.service, p.healthCheckNodePort);
    return out;
  }

  /** Service ports in a stable order: by service, then port name, then protocol. */
  sorted(): Array<[string, ServicePortInfo]> {
    return [...this.entries()].sort(([, a], [, b]) => byServicePort(a, b));
  }
}

/** The order {@link ServicePortMap.sorted} gives: by service, then port name, then protocol. */
export function byServicePort(a: ServicePortInfo, b: ServicePortInfo): number {
  return cmp(a.service, b.service) || cmp(a.portName, b.portName) || cmp(a.protocol, b.protocol);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface EndpointsChange {
  readonly previous: Map<string, EndpointInfo[]>;
  readonly current: Map<string, EndpointInfo[]>;
}

/** upstream EndpointsChangeTracker over an EndpointSlice cache (applied slices + pending ones per service). */
export class EndpointsChangeTracker {
  private readonly applied = new Map<string, Map<string, EndpointSliceInfo>>();
  private readonly pendingSlices = new Map<string, Map<string, EndpointSliceInfo | undefined>>();

  constructor(readonly nodeName: string) {}

  /** OnEndpointSliceAdd/Update (remove false) and Delete (remove true). Returns whether anything changed. */
  endpointSliceUpdate(slice: EndpointSliceInfo, remove: boolean): boolean {
    const svc = `${slice.namespace}/${slice.serviceName}`;
    const applied = this.applied.get(svc)?.get(slice.sliceName);
    let pend = this.pendingSlices.get(svc);
    const next = remove ? undefined : slice;
    const same = next === undefined ? applied === undefined : applied !== undefined && sameJSON(applied, next);
    if (same) {
      // Back to the applied state: nothing to do for this slice.
      if (pend?.delete(slice.sliceName) === true && pend.size === 0) this.pendingSlices.delete(svc);
      return pend !== undefined && pend.size > 0;
    }
    if (pend === undefined) {
      pend = new Map();
      this.pendingSlices.set(svc, pend);
    }
    pend.set(slice.sliceName, next);
    return true;
  }

  pending(): number {
    return this.pendingSlices.size;
  }

  /** Apply pending slices to the cache; per changed service, its endpoints before and after. */
  checkout(): Map<string, EndpointsChange> {
    const out = new Map<string, EndpointsChange>();
    for (const [svc, pend] of this.pendingSlices) {
      const slices = this.applied.get(svc) ?? new Map<string, EndpointSliceInfo>();
      const previous = this.endpointsOf(slices);
      for (const [name, s] of pend) {
        if (s === undefined) slices.delete(name);
        else slices.set(name, s);
      }
      if (slices.size === 0) this.applied.delete(svc);
      else this.applied.set(svc, slices);
      const current = this.endpointsOf(slices);
      if (!sameEndpoints(previous, current)) out.set(svc, { previous, current });
    }
    this.pendingSlices.clear();
    return out;
  }

  /** Endpoints per service port from a service's slices; the first address of each endpoint, sorted by "ip:port". */
  private endpointsOf(slices: Map<string, EndpointSliceInfo>): Map<string, EndpointInfo[]> {
    if (slices.size === 1) {
      const only = slices.values().next().value as EndpointSliceInfo;
      let seen = sliceEndpoints.get(only);
      if (seen === undefined) {
        seen = { byPort: endpointsByPort(slices, undefined), nodes: new Set(only.endpoints.map((e) => e.nodeName)) };
        sliceEndpoints.set(only, seen);
      }
      if (!seen.nodes.has(this.nodeName)) return new Map(seen.byPort);
      const own = endpointsByPort(slices, this.nodeName);
      for (const [k, list] of own) {
        const twin = seen.byPort.get(k);
        if (twin !== undefined) nonLocalTwins.set(list, twin);
      }
      return own;
    }
    return endpointsByPort(slices, this.nodeName);
  }
}

/** Endpoints per service port from a service's slices, as node `nodeName` sees them (undefined: a node with none local). */
function endpointsByPort(slices: ReadonlyMap<string, EndpointSliceInfo>, nodeName: string | undefined): Map<string, EndpointInfo[]> {
  const byPort = new Map<string, Map<string, EndpointInfo>>();
  const names = [...slices.keys()].sort();
  for (const n of names) {
    const s = slices.get(n) as EndpointSliceInfo;
    for (const p of s.ports) {
      const key = servicePortKey(servicePortNameString({ namespace: s.namespace, name: s.serviceName, port: p.name }), p.protocol);
      let eps = byPort.get(key);
      if (eps === undefined) {
        eps = new Map();
        byPort.set(key, eps);
      }
      for (const e of s.endpoints) {
        const ip = e.addresses[0];
        if (ip === undefined) continue;
        const k = `${ip}:${p.port}`;
        const old = eps.get(k);
        // A duplicate (an endpoint moving between slices) keeps the ready copy.
        if (old !== undefined && (old.ready || !e.ready)) continue;
        eps.set(k, { ip, port: p.port, key: k, ready: e.ready, serving: e.serving, terminating: e.terminating, nodeName: e.nodeName, isLocal: nodeName !== undefined && e.nodeName === nodeName, zone: e.zone });
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [k, eps] of byPort) if (eps.size > 0) out.set(k, [...eps.values()].sort(byEndpoint));
  return out;
}

/** A UDP endpoint that went away (or stopped serving): conntrack entries DNATed to it are stale. */
export interface StaleEndpoint {
  readonly servicePort: string;
  readonly endpoint: EndpointInfo;
}

export interface UpdateEndpointsMapResult {
  readonly updatedServices: Set<string>;
  readonly deletedUDPEndpoints: StaleEndpoint[];
  /** UDP service ports that went from no serving endpoint to some (entries cached while they REJECTed are flushed). */
  readonly newlyActiveUDPServices: string[];
  /** Every service port key of the updated services' endpoints, with what the map held under it before (undefined: nothing). */
  readonly previousEndpoints: Map<string, EndpointInfo[] | undefined>;
}

/** upstream EndpointsMap: endpoints per service port, keyed by {@link servicePortKey}. */
export class EndpointsMap extends Map<string, EndpointInfo[]> {
  /**
   * LocalReadyEndpoints: "namespace/name" → how many distinct IPs of this node's ready
   * endpoints the service has (over all its ports; what its health check reports).
   */
  localReadyEndpoints(): Map<string, number> {
    const ips = new Map<string, Set<string>>();
    // Every kube-proxy sync asks (the health servers): the service's name is cut from the key only for a port with a local ready endpoint.
    for (const [key, eps] of this) {
      let s: Set<string> | undefined;
      for (const e of eps) {
        if (!e.ready || !e.isLocal) continue;
        if (s === undefined) {
          const svc = key.slice(0, key.lastIndexOf('/')).split(':')[0] as string;
          s = ips.get(svc);
          if (s === undefined) ips.set(svc, (s = new Set()));
        }
        s.add(e.ip);
      }
    }
    return new Map([...ips].map(([svc, s]) => [svc, s.size]));
  }

  update(tracker: EndpointsChangeTracker): UpdateEndpointsMapResult {
    const updatedServices = new Set<string>();
    const deletedUDPEndpoints: StaleEndpoint[] = [];
    const newlyActiveUDPServices: string[] = [];
    const previousEndpoints = new Map<string, EndpointInfo[] | undefined>();
    for (const [svc, change] of tracker.checkout()) {
      updatedServices.add(svc);
      for (const k of [...change.previous.keys(), ...change.current.keys()]) if (!previousEndpoints.has(k)) previousEndpoints.set(k, this.get(k));
      for (const k of change.previous.keys()) this.delete(k);
      for (const [k, eps] of change.current) this.set(k, eps);
      // detectStaleConntrackEntries
      for (const [k, old] of change.previous) {
        if (protocolOfKey(k) !== 'udp') continue;
        const now = change.current.get(k) ?? [];
        for (const e of old) {
          if (!e.serving) continue;
          const still = now.find((n) => n.key === e.key);
          if (still === undefined || !still.serving) deletedUDPEndpoints.push({ servicePort: k, endpoint: e });
        }
      }
      for (const [k, now] of change.current) {
        if (protocolOfKey(k) !== 'udp') continue;
        const before = change.previous.get(k) ?? [];
        if (now.some((e) => e.serving) && !before.some((e) => e.serving)) newlyActiveUDPServices.push(k);
      }
    }
    return { updatedServices, deletedUDPEndpoints, newlyActiveUDPServices, previousEndpoints };
  }
}

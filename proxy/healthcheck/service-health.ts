/**
 * The per-Service health check servers (upstream pkg/proxy/healthcheck/service_health.go):
 * one HTTP server per LoadBalancer Service with externalTrafficPolicy Local, on its
 * healthCheckNodePort, on every node address (0.0.0.0) or on the --nodeport-addresses
 * ones. Any path answers with the Service's local ready endpoint count: 200 when it has
 * some and kube-proxy is healthy, else 503 — the signal a cloud load balancer uses to
 * send traffic only to nodes with a local endpoint.
 *
 * SyncServices opens the new ports, closes the ones no longer wanted (or moved) and
 * leaves the rest; SyncEndpoints sets the counts (services it does not name get 0).
 */
import type { HttpReply, HttpRoute } from './http-reply.ts';

/** An open listener (the node's TCP socket on address:port). */
export interface HealthListener {
  close(): void;
}

/** Opens an HTTP server on `address:port` ("0.0.0.0" for every address); throws when the port is taken. */
export type HealthListen = (address: string, port: number, route: HttpRoute) => HealthListener;

interface Instance {
  readonly port: number;
  endpoints: number;
  readonly listeners: HealthListener[];
}

export class ServiceHealthServer {
  private readonly services = new Map<string, Instance>();

  /**
   * @param addresses where each server listens (["0.0.0.0"], or the node IPs inside --nodeport-addresses).
   * @param proxyHealthy kube-proxy's own health at request time.
   */
  constructor(private readonly listen: HealthListen, private readonly addresses: readonly string[], private readonly proxyHealthy: () => boolean) {}

  /** SyncServices: "namespace/name" → healthCheckNodePort. */
  syncServices(want: ReadonlyMap<string, number>): void {
    for (const [nsn, inst] of this.services) {
      if (want.get(nsn) === inst.port) continue;
      for (const l of inst.listeners) l.close();
      this.services.delete(nsn);
    }
    for (const [nsn, port] of want) {
      if (this.services.has(nsn)) continue;
      const inst: Instance = { port, endpoints: 0, listeners: [] };
      try {
        for (const a of this.addresses) inst.listeners.push(this.listen(a, port, (_m, _p) => this.reply(nsn)));
        this.services.set(nsn, inst);
      } catch {
        // The port is taken (upstream records a FailedToStartServiceHealthcheck event):
        // listenAndServeAll closes whatever it opened, so a later sync retries.
        for (const l of inst.listeners) l.close();
      }
    }
  }

  /** SyncEndpoints: "namespace/name" → local ready endpoints; services not named have none. */
  syncEndpoints(counts: ReadonlyMap<string, number>): void {
    for (const [nsn, inst] of this.services) inst.endpoints = counts.get(nsn) ?? 0;
  }

  /** The open health checks: "namespace/name" → port and local endpoint count. */
  list(): Array<{ service: string; port: number; localEndpoints: number }> {
    return [...this.services].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([service, i]) => ({ service, port: i.port, localEndpoints: i.endpoints }));
  }

  /** Close every server (kube-proxy stopped). */
  closeAll(): void {
    for (const inst of this.services.values()) for (const l of inst.listeners) l.close();
    this.services.clear();
  }

  /** hcHandler.ServeHTTP. */
  reply(nsn: string): HttpReply {
    const inst = this.services.get(nsn);
    // A request racing the server's close: upstream's handler writes nothing (Go sends 200 with no body).
    if (inst === undefined) return { status: 200, headers: {}, body: '' };
    const healthy = this.proxyHealthy();
    const [namespace, name] = splitNsn(nsn);
    const body = `{\n\t"service": {\n\t\t"namespace": ${JSON.stringify(namespace)},\n\t\t"name": ${JSON.stringify(name)}\n\t},\n\t"localEndpoints": ${inst.endpoints},\n\t"serviceProxyHealthy": ${healthy}\n}`;
    return {
      status: inst.endpoints !== 0 && healthy ? 200 : 503,
      headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'X-Load-Balancing-Endpoint-Weight': String(inst.endpoints) },
      body,
    };
  }
}

function splitNsn(nsn: string): [string, string] {
  const i = nsn.indexOf('/');
  return [nsn.slice(0, i), nsn.slice(i + 1)];
}

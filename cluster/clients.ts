/**
 * Declared clients (the spec's `clients:`): traffic that runs by itself on the
 * virtual clock once the cluster has settled — an HTTP GET (tcp), a UDP datagram
 * to an echo, or a ping, every `every`, from a pod, node or outside host to any
 * endpoint. Both ends are resolved again at each exchange, so a client follows a
 * pod that was replaced and counts the exchanges it could not start; a `name:`
 * destination is looked up by the client's stub resolver before each exchange (a
 * failed lookup counts as failed). Each client
 * keeps counts: sent, answered, failed, and answers per backend (the pod an HTTP
 * page or an echo came from).
 */
import { DRIVER_HOST, SECOND } from '../netsim/time/scheduler.ts';
import { httpGet } from '../netsim/apps/http.ts';
import { udpRequest } from '../netsim/apps/echo.ts';
import { ping } from '../netsim/apps/ping.ts';
import { formatIpv4, parseIpv4 } from '../netsim/wire/addr.ts';
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { lookup } from '../apps/dns/stub-resolver.ts';
import type { ClientSpec } from './spec.ts';
import type { EmulatedCluster } from './emulated-cluster.ts';
import { resolveEndpoint, resolverFor } from './endpoint.ts';
import type { ResolvedEndpoint } from './endpoint.ts';

export interface ClientStats {
  readonly name: string;
  sent: number;
  answered: number;
  failed: number;
  /** Exchanges not started because an end did not resolve (e.g. the pod was gone). */
  skipped: number;
  /** Answers per backend: the pod name on an HTTP page, else the address that answered. */
  readonly backends: Map<string, number>;
}

const enc = new TextEncoder();

/** Check that both ends resolve now (a typo fails the build, not every exchange later). */
export function checkClients(cluster: EmulatedCluster, specs: readonly ClientSpec[]): void {
  for (const c of specs) {
    resolveEndpoint(c.from, cluster);
    resolveEndpoint(c.to, cluster);
  }
}

/** The host a client runs on: where its `from` end is now ('' — the driver — when it does not resolve). */
export function clientHost(c: ClientSpec, cluster: EmulatedCluster): string {
  try {
    return resolveEndpoint(c.from, cluster).ns?.node ?? '';
  } catch {
    return '';
  }
}

export function startClients(cluster: EmulatedCluster, specs: readonly ClientSpec[]): ClientStats[] {
  const clock = cluster.sim.clock;
  return specs.map((c) => {
    const st: ClientStats = { name: c.name, sent: 0, answered: 0, failed: 0, skipped: 0, backends: new Map() };
    const answered = (backend: string): void => {
      st.answered++;
      st.backends.set(backend, (st.backends.get(backend) ?? 0) + 1);
    };
    const once = (): void => {
      let from;
      let to;
      try {
        from = resolveEndpoint(c.from, cluster);
        to = resolveEndpoint(c.to, cluster);
      } catch {
        st.skipped++;
        return;
      }
      if (from.ns === undefined) { st.skipped++; return; }
      st.sent++;
      if (to.kind === 'name' && to.name !== undefined) {
        // A name: the client's own resolver first (its resolv.conf), as getaddrinfo before connect.
        const src = from.ns;
        const target = to;
        lookup(src, to.name, resolverFor(cluster, from), (r) => {
          const addr = r.addresses[0];
          if (!r.ok || addr === undefined) st.failed++;
          else exchange(src, { ...target, ip: parseIpv4(addr) });
        });
        return;
      }
      exchange(from.ns, to);
    };
    const exchange = (src: NetNamespace, to: ResolvedEndpoint): void => {
      const from = { ns: src };
      const port = c.port ?? to.port ?? (c.proto === 'udp' ? 7 : 80);
      if (c.proto === 'tcp') {
        httpGet(from.ns, to.ip, port, { path: c.path, requests: c.requests, onDone: (s) => {
          const r = s.results[s.results.length - 1];
          if (s.error !== undefined || r === undefined) { st.failed++; return; }
          answered(/ from (\S+)\s*$/.exec(r.body)?.[1] ?? `${r.status}`);
        } });
      } else if (c.proto === 'udp') {
        const x = udpRequest(from.ns, to.ip, port, enc.encode(`netsim client ${c.name}\n`));
        clock.after(SECOND, () => {
          if (x.reply !== undefined) answered(formatIpv4(x.reply.from));
          else st.failed++;
        });
      } else {
        const p = ping(from.ns, to.ip);
        clock.after(SECOND, () => {
          const r = p.replies[0];
          if (r !== undefined) answered(formatIpv4(r.from));
          else st.failed++;
        });
      }
    };
    let left = c.count ?? Number.POSITIVE_INFINITY;
    const tick = (): void => {
      if (left-- <= 0) return;
      once();
      clock.after(c.everyNs, tick);
    };
    // The client runs on its host (its pod's node, the node, the outside host): its
    // exchanges are that host's events, whichever worker runs it (cluster/lockstep.ts).
    const host = clientHost(c, cluster);
    clock.atOn(clock.now() + c.startNs, host === '' ? DRIVER_HOST : clock.hostKey(host), tick);
    return st;
  });
}

/**
 * Load balancing as the flows show it: per Service, how many new connections each
 * endpoint got. A new connection is a flow sent to the Service's VIP (the flow names
 * the Service: it was DNATed from it) that opens one: a TCP SYN without ACK; for UDP
 * and ICMP every packet sent to the VIP counts. The expected share is what the proxy
 * promises: every ready endpoint alike (iptables' random probabilities, IPVS round
 * robin with equal weights).
 */
import type { Flow } from '../../observe/flow.ts';
import type { TopologyService } from '../../observe/topology.ts';

export function opensConnection(f: Flow): boolean {
  if (f.service === undefined || f.verdict !== 'FORWARDED') return false;
  if (f.protocol !== 'TCP') return true;
  const flags = f.tcpFlags ?? [];
  return flags.includes('SYN') && !flags.includes('ACK');
}

export interface LbBar {
  /** The endpoint's address (the flow's destination after DNAT). */
  readonly ip: string;
  /** `namespace/name` of its pod, when known. */
  readonly pod?: string;
  readonly count: number;
  /** count / total (0 with no connections yet). */
  readonly share: number;
  /** 1 / ready endpoints for a ready endpoint, 0 otherwise. */
  readonly expected: number;
  readonly ready: boolean;
}

export class LbCounter {
  /** Service key → endpoint IP → connections. */
  private readonly counts = new Map<string, Map<string, number>>();
  /** Endpoint IP → pod key, as the flows named it. */
  private readonly podOf = new Map<string, string>();

  add(f: Flow): void {
    if (!opensConnection(f)) return;
    const svc = f.service as string;
    let m = this.counts.get(svc);
    if (m === undefined) this.counts.set(svc, (m = new Map()));
    m.set(f.destination.ip, (m.get(f.destination.ip) ?? 0) + 1);
    if (f.destination.kind === 'pod' && f.destination.name !== undefined) this.podOf.set(f.destination.ip, `${f.destination.namespace ?? 'default'}/${f.destination.name}`);
  }

  /** Connections per endpoint of `svc`: its current endpoints, then any address that got some and is gone since. */
  bars(svc: TopologyService): LbBar[] {
    const m = this.counts.get(svc.key) ?? new Map<string, number>();
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const ready = svc.endpoints.filter((e) => e.ready).length;
    const bars: LbBar[] = svc.endpoints.map((e) => {
      const count = m.get(e.ip) ?? 0;
      return { ip: e.ip, ...(e.pod !== undefined ? { pod: e.pod } : {}), count, share: total > 0 ? count / total : 0, expected: e.ready && ready > 0 ? 1 / ready : 0, ready: e.ready };
    });
    for (const [ip, count] of m) {
      if (svc.endpoints.some((e) => e.ip === ip)) continue;
      const pod = this.podOf.get(ip);
      bars.push({ ip, ...(pod !== undefined ? { pod } : {}), count, share: total > 0 ? count / total : 0, expected: 0, ready: false });
    }
    return bars;
  }

  total(key: string): number {
    return [...(this.counts.get(key)?.values() ?? [])].reduce((a, b) => a + b, 0);
  }
}

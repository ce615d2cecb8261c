/**
 * The UDP conntrack deletions kube-proxy performs after a sync (upstream
 * deleteStaleServiceConntrackEntries / deleteStaleEndpointConntrackEntries, as
 * `conntrack -D` invocations). UDP has no connection teardown, so an entry DNATed to
 * an endpoint that went away keeps black-holing the client's flow until it times out
 * (kubernetes#19029); and while a service had no endpoints, entries created by the
 * REJECTed packets would keep the flow from reaching the first new endpoint
 * (kubernetes#48370). TCP is left alone: its entries die with the connection.
 */
import type { ServicePortMap, UpdateEndpointsMapResult, UpdateServiceMapResult } from './change-tracker.ts';

/** `conntrack -D -p udp [--orig-dst IP] [--dport PORT] [--dst-nat IP]` (--dst-nat matches the reply source). */
export interface ConntrackFilter {
  readonly proto: 'udp';
  readonly origDst?: string;
  readonly origDport?: number;
  /** The reply tuple's source, i.e. the address the entry was DNATed to. */
  readonly replySrc?: string;
}

/** How the proxier reaches the node's conntrack table. Returns the number of entries deleted. */
export interface ConntrackCleaner {
  deleteByFilter(filter: ConntrackFilter): number;
}

export interface ConntrackDeletion {
  /** The upstream helper this corresponds to, for traces and views. */
  readonly reason: 'ClearEntriesForIP' | 'ClearEntriesForPort' | 'ClearEntriesForNAT' | 'ClearEntriesForPortNAT';
  readonly filter: ConntrackFilter;
}

/** The deletions due after a sync, in upstream's order (services first, then endpoints). */
export function staleConntrackDeletions(svcMap: ServicePortMap, svcResult: UpdateServiceMapResult, epResult: UpdateEndpointsMapResult): ConntrackDeletion[] {
  const out: ConntrackDeletion[] = [];
  const seen = new Set<string>();
  const push = (d: ConntrackDeletion): void => {
    const k = JSON.stringify(d.filter);
    if (seen.has(k)) return;
    seen.add(k);
    out.push(d);
  };
  for (const ip of [...svcResult.deletedUDPClusterIPs].sort()) push({ reason: 'ClearEntriesForIP', filter: { proto: 'udp', origDst: ip } });
  for (const key of epResult.newlyActiveUDPServices) {
    const sp = svcMap.get(key);
    if (sp === undefined) continue;
    push({ reason: 'ClearEntriesForIP', filter: { proto: 'udp', origDst: sp.clusterIP } });
    for (const ip of sp.externalIPs) push({ reason: 'ClearEntriesForIP', filter: { proto: 'udp', origDst: ip } });
    for (const ip of sp.loadBalancerIPs) push({ reason: 'ClearEntriesForIP', filter: { proto: 'udp', origDst: ip } });
    if (sp.nodePort !== 0) push({ reason: 'ClearEntriesForPort', filter: { proto: 'udp', origDport: sp.nodePort } });
  }
  for (const { servicePort, endpoint } of epResult.deletedUDPEndpoints) {
    const sp = svcMap.get(servicePort);
    if (sp === undefined) continue;
    const ip = endpoint.ip;
    if (sp.nodePort !== 0) push({ reason: 'ClearEntriesForPortNAT', filter: { proto: 'udp', origDport: sp.nodePort, replySrc: ip } });
    push({ reason: 'ClearEntriesForNAT', filter: { proto: 'udp', origDst: sp.clusterIP, replySrc: ip } });
    for (const ext of sp.externalIPs) push({ reason: 'ClearEntriesForNAT', filter: { proto: 'udp', origDst: ext, replySrc: ip } });
    for (const lb of sp.loadBalancerIPs) push({ reason: 'ClearEntriesForNAT', filter: { proto: 'udp', origDst: lb, replySrc: ip } });
  }
  return out;
}

/** Run the deletions; returns how many entries went. */
export function applyConntrackDeletions(cleaner: ConntrackCleaner | undefined, dels: readonly ConntrackDeletion[]): number {
  if (cleaner === undefined) return 0;
  let n = 0;
  for (const d of dels) n += cleaner.deleteByFilter(d.filter);
  return n;
}

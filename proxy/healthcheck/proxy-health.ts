/**
 * kube-proxy's own health server (upstream pkg/proxy/healthcheck/proxy_health.go,
 * ProxyHealthServer): served on --healthz-bind-address (0.0.0.0:10256).
 *
 * A change kube-proxy hears of marks an update as queued (QueuedUpdate, the oldest
 * pending one kept); a successful sync clears it and records lastUpdated (Updated).
 * The proxier is healthy until it has synced once, while nothing is queued, and while
 * the oldest queued update is younger than the health timeout (2 × --iptables-sync-period).
 * `/healthz` is also 503 when the node is not eligible (being deleted, or tainted
 * ToBeDeletedByClusterAutoscaler); `/livez` ignores the node. A healthy answer reports
 * lastUpdated as the current time, as upstream keeps for old clients.
 *
 * One proxier (the IPv4 one): the status map has the single key "IPv4".
 */
import type { Node } from '../../control/api/types.ts';
import type { HttpReply } from './http-reply.ts';
import { GO_ZERO_TIME_JSON, goTimeJSON } from './http-reply.ts';

/** kube-proxy's default healthz port. */
export const HEALTHZ_PORT = 10256;
/** upstream ToBeDeletedTaint (the cluster autoscaler's). */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

const JSON_HEADERS = { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' } as const;

export interface ProxyHealth {
  readonly healthy: boolean;
  /** Virtual ns of the last successful sync; undefined before the first. */
  readonly lastUpdated: number | undefined;
}

export class ProxyHealthServer {
  private lastUpdated: number | undefined;
  private oldestPendingQueued: number | undefined;
  private node: Node | undefined;
  private nodeKnown = false;

  /**
   * @param healthTimeoutNs how long a queued update may wait for a sync.
   * @param unixNs the wall clock (ns since the Unix epoch) at a virtual time.
   */
  constructor(readonly healthTimeoutNs: number, private readonly unixNs: (virtualNs: number) => bigint) {}

  /** Updated(): the proxier synced at `now`. */
  updated(now: number): void {
    this.oldestPendingQueued = undefined;
    this.lastUpdated = now;
  }

  /** QueuedUpdate(): a change arrived at `now` that no sync has applied yet (the oldest one is kept). */
  queuedUpdate(now: number): void {
    if (this.oldestPendingQueued === undefined) this.oldestPendingQueued = now;
  }

  /** The node object kube-proxy watches (its own Node); undefined once deleted. */
  syncNode(node: Node | undefined): void {
    this.node = node;
    this.nodeKnown = true;
  }

  /** Health(): a proxier that has synced is unhealthy once its oldest queued update is healthTimeout old. */
  health(now: number): ProxyHealth {
    if (this.lastUpdated === undefined || this.oldestPendingQueued === undefined) return { healthy: true, lastUpdated: this.lastUpdated };
    return { healthy: now - this.oldestPendingQueued < this.healthTimeoutNs, lastUpdated: this.lastUpdated };
  }

  /**
   * NodeEligible(): not being deleted and not tainted for deletion. Before kube-proxy
   * has seen its Node (a proxier run without a control plane) the node counts as eligible.
   */
  nodeEligible(): boolean {
    if (!this.nodeKnown) return true;
    const n = this.node;
    if (n === undefined) return false;
    if (n.metadata.deletionTimestamp !== undefined) return false;
    return !(n.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
  }

  /** GET /healthz. */
  healthz(now: number): HttpReply {
    const h = this.health(now);
    const eligible = this.nodeEligible();
    const ok = h.healthy && eligible;
    return { status: ok ? 200 : 503, headers: JSON_HEADERS, body: this.body(now, h, ok, eligible) };
  }

  /** GET /livez. */
  livez(now: number): HttpReply {
    const h = this.health(now);
    return { status: h.healthy ? 200 : 503, headers: JSON_HEADERS, body: this.body(now, h, h.healthy, undefined) };
  }

  /** The route the healthz server's mux serves: /healthz, /livez, else Go's 404. */
  route(now: number, path: string): HttpReply {
    const p = path.split('?')[0];
    if (p === '/healthz') return this.healthz(now);
    if (p === '/livez') return this.livez(now);
    return { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }, body: '404 page not found\n' };
  }

  /** json.Marshal(ProxyHealth): lastUpdated, currentTime, nodeEligible (healthz only), healthy, status. */
  private body(now: number, h: ProxyHealth, reportNow: boolean, eligible: boolean | undefined): string {
    const t = (v: number): string => goTimeJSON(this.unixNs(v));
    const last = reportNow ? t(now) : h.lastUpdated !== undefined ? t(h.lastUpdated) : GO_ZERO_TIME_JSON;
    const status = h.lastUpdated === undefined ? '' : `,"status":{"IPv4":{"lastUpdated":"${t(h.lastUpdated)}","healthy":${h.healthy}}}`;
    return `{"lastUpdated":"${last}","currentTime":"${t(now)}"${eligible !== undefined ? `,"nodeEligible":${eligible}` : ''},"healthy":${h.healthy}${status}}`;
  }
}

/**
 * What every proxy mode implements (upstream proxy.Provider, reduced): informer
 * event sinks feeding the change trackers, and a sync that applies the pending
 * changes to the node. The runner (kube-proxy.ts) decides when syncs happen.
 */
import type { EndpointSliceInfo, ServiceInfo } from './service-port.ts';
import type { ConntrackDeletion } from './conntrack-cleanup.ts';
import type { EndpointsChangeTracker, EndpointsMap, ServiceChangeTracker, ServicePortMap } from './change-tracker.ts';

/** The modes kube-proxy.ts's PROXY_MODES registry implements (`--proxy-mode`). */
export const PROXY_MODE_NAMES = ['iptables', 'ipvs', 'nftables'] as const;
export type ProxyMode = (typeof PROXY_MODE_NAMES)[number];

export interface SyncResult {
  readonly mode: ProxyMode;
  /** Full sync (every chain rewritten) or partial (changed services only). */
  readonly full: boolean;
  /** "namespace/name" of services whose state changed in this sync. */
  readonly updatedServices: readonly string[];
  /** The iptables-restore input written by this sync ('' in nftables mode). */
  readonly iptablesText: string;
  /** The `nft -f` transaction written by this sync (nftables mode). */
  readonly nftText?: string;
  /** UDP conntrack deletions performed after the sync. */
  readonly conntrack: readonly ConntrackDeletion[];
  readonly conntrackDeleted: number;
  /** The sync had nothing to do and skipped the rebuild (Proxier.quietSyncs). */
  readonly quiet?: boolean;
}

export interface Proxier {
  readonly mode: ProxyMode;
  readonly serviceChanges: ServiceChangeTracker;
  readonly endpointsChanges: EndpointsChangeTracker;
  readonly svcPortMap: ServicePortMap;
  readonly endpointsMap: EndpointsMap;
  /** Returns whether changes are pending (a sync is wanted). */
  onServiceUpdate(previous: ServiceInfo | undefined, current: ServiceInfo | undefined): boolean;
  onEndpointSliceUpdate(slice: EndpointSliceInfo, remove: boolean): boolean;
  /** Apply pending changes; `full` forces every chain to be rewritten. Throws when the node refuses the rules (the next sync is then full). */
  sync(opts?: { full?: boolean }): SyncResult;
  /** Periodic housekeeping between syncs (IPVS graceful deletion); returns when it next wants to run, in ms from now, or undefined. */
  housekeeping?(): void;
  /**
   * Whether a sync with nothing to do skips the rebuild (iptables and IPVS modes; default
   * true). False only for differential tests, which show the skip is unobservable.
   */
  quietSyncs?: boolean;
  /**
   * Whether a sync reconciles only the changed service ports where the mode otherwise
   * redoes them all (IPVS mode; default true). False only for differential tests.
   */
  partialSyncs?: boolean;
}

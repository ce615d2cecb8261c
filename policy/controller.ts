/**
 * kube-router's NetworkPolicyController on one node (network_policy_controller.go
 * Run, RequestFullSync, fullPolicySync; pod.go, namespace.go and policy.go's event
 * handlers; v2.6.3), paced on the virtual clock. Every relevant informer event asks
 * for a full sync (a one-slot queue: requests while one is pending merge), and a
 * full sync also runs every syncPeriod. A sync:
 *
 *   1. ensures the top-level, default and common chains with single commands;
 *   2. builds the policies' info from the informer caches;
 *   3. reads `iptables-save -t filter` into its buffer;
 *   4. writes the policy chains into the buffer and restores their ipsets
 *      (`ipset restore -exist`, swap through TMP- sets);
 *   5. writes the pod firewall chains and moves the explicit accepts to the end;
 *   6. drops the stale chains' lines and loads the buffer with `iptables-restore -T filter`;
 *   7. destroys the KUBE-SRC-/KUBE-DST- sets no longer used.
 *
 * Chain names carry the sync's version (the wall clock in ns), so every sync writes
 * fresh chains and drops the previous ones, as upstream does. A sync that fails
 * aborts (and is reported in `errors`); the next request or period retries.
 */
import type { Namespace, NetworkPolicy, Pod } from '../control/api/index.ts';
import type { Scheduler, TimerId } from '../netsim/time/scheduler.ts';
import { MS } from '../netsim/time/scheduler.ts';
import type { IpsetCommands } from './ipset-handler.ts';
import { IpsetHandler } from './ipset-handler.ts';
import { buildNetworkPoliciesInfo, isNetPolActionable } from './policy-info.ts';
import type { NetworkPolicyInfo, PolicyListers } from './policy-info.ts';
import { syncNetworkPolicyChains } from './policy-chains.ts';
import type { WrittenRule } from './policy-chains.ts';
import { localPods, syncPodFirewallChains } from './pod-chains.ts';
import type { PodChainInfo } from './pod-chains.ts';
import { cleanupStaleRules, ensureCommonPolicyChain, ensureDefaultNetworkPolicyChain, ensureExplicitAccept, ensureTopLevelChains } from './top-level.ts';
import type { IptablesCommands, TopLevelConfig } from './top-level.ts';
import { KUBE_DST_PREFIX, KUBE_SRC_PREFIX } from './names.ts';

export interface NetworkPolicyControllerConfig extends TopLevelConfig {
  readonly nodeName: string;
  /** The node's addresses (krNode.GetNodeIPAddrs): pods whose hostIP is one of them are local. */
  readonly nodeIPs: readonly string[];
  /** --iptables-sync-period (kube-router's default 5 min). */
  readonly syncPeriodMs?: number;
}

export interface NetworkPolicyControllerDeps {
  readonly iptables: IptablesCommands;
  readonly ipset: IpsetCommands;
  /** The informers' caches. */
  readonly listers: PolicyListers;
  readonly clock: Scheduler;
  /** time.Now().UnixNano() (the sync version). */
  readonly nowUnixNano: () => bigint;
}

/** What one full sync did. */
export interface PolicySyncResult {
  readonly version: string;
  readonly policies: readonly NetworkPolicyInfo[];
  /** The `iptables-restore -T filter` input. */
  readonly restoreText: string;
  /** The `ipset restore -exist` input. */
  readonly ipsetText: string;
  /** Policies left out (malformed), with why. */
  readonly skipped: ReadonlyArray<{ policy: string; error: string }>;
  /** Pod chains of this sync, by chain name. */
  readonly podChains: ReadonlyMap<string, PodChainInfo>;
  /** Allow rules of this sync, per policy chain, in chain order (each is a MARK rule then a RETURN rule). */
  readonly policyRules: ReadonlyMap<string, readonly WrittenRule[]>;
}

/** Informer handlers (control/client Informer.on, cluster ListInformer.on). */
export interface InformerLike<T> {
  on(h: { add?(o: T): void; update?(a: T, b: T): void; delete?(o: T): void }): unknown;
}

const sameLabels = (a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean => JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

/** utils.go isPodUpdateNetPolRelevant. */
export function isPodUpdateNetPolRelevant(a: Pod, b: Pod): boolean {
  return a.status?.phase !== b.status?.phase || a.status?.podIP !== b.status?.podIP || JSON.stringify(a.status?.podIPs ?? null) !== JSON.stringify(b.status?.podIPs ?? null)
    || a.status?.hostIP !== b.status?.hostIP || !sameLabels(a.metadata.labels, b.metadata.labels);
}

export class NetworkPolicyController {
  private pending: TimerId | undefined;
  private periodic: TimerId | undefined;
  private running = false;
  private lastVersion = 0n;
  /** Recent syncs, newest last (bounded). */
  readonly syncs: PolicySyncResult[] = [];
  /** Aborted syncs ("Aborting sync …"), newest last (bounded). */
  readonly errors: Error[] = [];
  /** The last successful sync (what the node's rules are now). */
  last: PolicySyncResult | undefined;
  /** Called after every successful sync (the trace lookup refreshes from it). */
  onSync: ((r: PolicySyncResult) => void) | undefined;

  constructor(readonly config: NetworkPolicyControllerConfig, private readonly deps: NetworkPolicyControllerDeps) {}

  // ------------------------------------------------------------------ events

  /** Pod add: only an actionable pod matters (it will be updated when it becomes one). */
  onPodAdd(p: Pod): void {
    if (isNetPolActionable(p)) this.requestFullSync();
  }
  onPodUpdate(a: Pod, b: Pod): void {
    if (isPodUpdateNetPolRelevant(a, b)) this.requestFullSync();
  }
  onPodDelete(): void {
    this.requestFullSync();
  }
  /** Namespace add/delete: only one with labels; update: only a label change. */
  onNamespaceAdd(n: Namespace): void {
    if (n.metadata.labels !== undefined) this.requestFullSync();
  }
  onNamespaceUpdate(a: Namespace, b: Namespace): void {
    if (!sameLabels(a.metadata.labels, b.metadata.labels)) this.requestFullSync();
  }
  onNamespaceDelete(n: Namespace): void {
    if (n.metadata.labels !== undefined) this.requestFullSync();
  }
  onNetworkPolicyChange(): void {
    this.requestFullSync();
  }

  /** Wire the three informers' handlers. */
  watch(pods: InformerLike<Pod>, namespaces: InformerLike<Namespace>, policies: InformerLike<NetworkPolicy>): void {
    pods.on({ add: (p) => this.onPodAdd(p), update: (a, b) => this.onPodUpdate(a, b), delete: () => this.onPodDelete() });
    namespaces.on({ add: (n) => this.onNamespaceAdd(n), update: (a, b) => this.onNamespaceUpdate(a, b), delete: (n) => this.onNamespaceDelete(n) });
    policies.on({ add: () => this.onNetworkPolicyChange(), update: () => this.onNetworkPolicyChange(), delete: () => this.onNetworkPolicyChange() });
  }

  // ------------------------------------------------------------------ pacing

  /** Run: the first full sync now, then one every syncPeriod. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.requestFullSync();
    this.schedulePeriodic();
  }

  stop(): void {
    this.running = false;
    for (const t of [this.pending, this.periodic]) if (t !== undefined) this.deps.clock.cancel(t);
    this.pending = this.periodic = undefined;
  }

  /** RequestFullSync: the one-slot queue — a request while one waits is dropped. */
  requestFullSync(): void {
    if (!this.running || this.pending !== undefined) return;
    this.pending = this.deps.clock.after(0, () => {
      this.pending = undefined;
      this.fullPolicySync();
    });
  }

  private schedulePeriodic(): void {
    this.periodic = this.deps.clock.after((this.config.syncPeriodMs ?? 300_000) * MS, () => {
      this.periodic = undefined;
      if (!this.running) return;
      this.requestFullSync();
      this.schedulePeriodic();
    });
  }

  // ------------------------------------------------------------------ the sync

  /** fullPolicySync. Returns the result, or undefined when the sync aborted (see `errors`). */
  fullPolicySync(): PolicySyncResult | undefined {
    const ipt = this.deps.iptables;
    let v = this.deps.nowUnixNano();
    // Versions name chains: two syncs in one nanosecond of virtual time must still differ.
    if (v <= this.lastVersion) v = this.lastVersion + 1n;
    this.lastVersion = v;
    const version = v.toString(10);
    try {
      ensureTopLevelChains(ipt, this.config);
      ensureDefaultNetworkPolicyChain(ipt);
      ensureCommonPolicyChain(ipt);
      const built = buildNetworkPoliciesInfo(this.deps.listers);
      const out: string[] = [ipt.save('filter')];
      const ipsets = new IpsetHandler(this.deps.ipset);
      const pol = syncNetworkPolicyChains(built.policies, version, out, ipsets);
      const podChains = syncPodFirewallChains(built.policies, localPods(this.deps.listers.pods(), this.config.nodeIPs), version, out);
      const buffer = ensureExplicitAccept(out.join(''));
      const restoreText = cleanupStaleRules(buffer, ipt.listChains('filter'), pol.activePolicyChains, new Set(podChains.keys()));
      ipt.restore('filter', restoreText);
      this.cleanupStaleIPSets(ipsets, pol.activePolicyIPSets);
      const policyRules = new Map<string, WrittenRule[]>();
      for (const r of pol.rules) {
        const list = policyRules.get(r.chain) ?? [];
        list.push(r);
        policyRules.set(r.chain, list);
      }
      const result: PolicySyncResult = { version, policies: built.policies, restoreText, ipsetText: pol.ipsetText, skipped: built.errors, podChains, policyRules };
      this.last = result;
      this.syncs.push(result);
      if (this.syncs.length > 16) this.syncs.shift();
      this.onSync?.(result);
      return result;
    } catch (e) {
      this.errors.push(e instanceof Error ? e : new Error(String(e)));
      if (this.errors.length > 64) this.errors.shift();
      return undefined;
    }
  }

  /** cleanupStaleIPSets: destroy the policy sets this sync did not use. */
  private cleanupStaleIPSets(ipsets: IpsetHandler, active: ReadonlySet<string>): void {
    ipsets.save();
    for (const name of ipsets.names()) {
      if ((name.startsWith(KUBE_SRC_PREFIX) || name.startsWith(KUBE_DST_PREFIX)) && !active.has(name)) ipsets.destroy(name);
    }
  }
}

/**
 * kube-proxy in iptables mode on one node (upstream iptables Proxier.syncProxyRules):
 * on a full sync ensure the hook jumps (chains created, each jump prepended when
 * missing, as EnsureChain + EnsureRule(Prepend) do), then write the ruleset with one
 * `iptables-restore --noflush --counters`; a partial sync rewrites only the chains of
 * services that changed since the last sync. Stale per-service chains are deleted
 * (in large-cluster mode at most once per syncPeriod). After the restore, UDP
 * conntrack entries that would black-hole traffic are deleted.
 */
import type { EndpointSliceInfo, ServiceInfo } from '../service-port.ts';
import { EndpointsChangeTracker, EndpointsMap, ServiceChangeTracker, ServicePortMap } from '../change-tracker.ts';
import type { ConntrackCleaner } from '../conntrack-cleanup.ts';
import { applyConntrackDeletions, staleConntrackDeletions } from '../conntrack-cleanup.ts';
import type { Proxier, SyncResult } from '../proxier.ts';
import type { IptablesRulesOptions, JumpRule } from './rules.ts';
import { buildRuleset, JUMP_RULES, jumpRulesRestore, KUBELET_JUMP_RULES, NFACCT_COUNTERS, nodePortDestinations } from './rules.ts';
import { isServiceChainName } from './chain-names.ts';
import type { RuleFragments } from './rule-fragments.ts';

/** The node's iptables as kube-proxy uses it: `iptables-restore` and, when available, `iptables-save`. */
export interface IptablesBackend {
  restore(text: string, opts: { noflush: boolean; counters?: boolean }): void;
  save?(): string;
  /** `nfacct add NAME` unless it exists (upstream ensures its counters at start); false when the kernel has no nfacct. */
  ensureNfacct?(name: string): boolean;
  /** A number that moves whenever the node's iptables change (lets a sync with nothing to do skip the rebuild). */
  generation?(): number;
  /**
   * What kube-proxy reads back without `iptables-save` when the backend can tell it
   * directly: a table's chain names (the `:` lines), and whether a chain has a rule
   * (`iptables -C`, as upstream's EnsureRule asks). A node's tables hold every Service's
   * rules, which a save prints in full.
   */
  chainNames?(table: string): string[];
  hasRule?(table: string, chain: string, spec: string): boolean;
}

export interface IptablesProxierOptions extends IptablesRulesOptions {
  readonly nodeName: string;
  /** --iptables-sync-period in ms: in large-cluster mode stale chains are cleaned at most this often (default 30 s). */
  readonly syncPeriodMs?: number;
  /**
   * Create and use the nfacct counters (upstream does when the kernel has
   * xt_nfacct). Off by default: verify's real-kernel twin has no `nfacct` tool to
   * create them, and a rule naming a missing counter is refused.
   */
  readonly nfacct?: boolean;
}

export interface IptablesProxierDeps {
  readonly conntrack?: ConntrackCleaner;
  /** Virtual clock in ms (large-cluster cleanup pacing). */
  readonly nowMs?: () => number;
  /** The node's sysctls (route_localnet for localhost NodePorts). */
  readonly sysctl?: (key: string, value: number) => void;
  /** Service ports' rules kept for every node of the cluster (`scale.share`: proxy/shared-objects.ts). */
  readonly fragments?: RuleFragments;
}

/** upstream sysctlRouteLocalnet. */
export const SYSCTL_ROUTE_LOCALNET = 'net/ipv4/conf/all/route_localnet';

/** Tables, chains and rule lines of an iptables-save dump. */
export function parseSave(text: string): Map<string, { chains: Set<string>; rules: Set<string> }> {
  const out = new Map<string, { chains: Set<string>; rules: Set<string> }>();
  let cur: { chains: Set<string>; rules: Set<string> } | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      cur = { chains: new Set(), rules: new Set() };
      out.set(line.slice(1), cur);
    } else if (cur !== undefined && line.startsWith(':')) cur.chains.add(line.slice(1, line.indexOf(' ')));
    else if (cur !== undefined && line.startsWith('-A ')) cur.rules.add(line);
  }
  return out;
}

/**
 * `-Z` for every chain a restore of `text` declares that a partial sync with nothing
 * changed declares too (all but the per-Service chains): what such a restore does to them.
 */
export function zeroCountersText(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('*') || line === 'COMMIT') out.push(line);
    else if (line.startsWith(':')) {
      const chain = line.slice(1, line.indexOf(' '));
      if (!isServiceChainName(chain)) out.push(`-Z ${chain}`);
    }
  }
  out.push('');
  return out.join('\n');
}

/** The last few restore texts' `-Z` texts: the nodes of a cluster share their texts (rule-fragments.ts), and so these. */
const zeroTexts = new Map<string, string>();
function zeroTextOf(text: string): string {
  let z = zeroTexts.get(text);
  if (z === undefined) {
    z = zeroCountersText(text);
    zeroTexts.set(text, z);
    if (zeroTexts.size > 4) zeroTexts.delete(zeroTexts.keys().next().value as string);
  }
  return z;
}

export class IptablesProxier implements Proxier {
  readonly mode = 'iptables' as const;
  readonly serviceChanges = new ServiceChangeTracker();
  readonly endpointsChanges: EndpointsChangeTracker;
  readonly svcPortMap = new ServicePortMap();
  readonly endpointsMap = new EndpointsMap();
  private needFullSync = true;
  private jumpsInstalled = false;
  /** nat chains the kernel holds, as far as our own restores tell (kept only for a backend with neither chainNames nor save). */
  private readonly kernelNatChains = new Set<string>();
  private lastCleanupMs = Number.NEGATIVE_INFINITY;
  private lastLargeClusterMode = false;
  /** The iptables generation our last restore left, whether that sync deleted the stale chains, and its text (whose chains a no-change restore rewrites). */
  private after: { readonly generation: number; readonly cleanedUp: boolean; readonly text: string } | undefined;
  /** Skip the rebuild of a sync with nothing to do ({@link quietSync}); false: every sync rebuilds (differential tests). */
  quietSyncs = true;

  constructor(private readonly backend: IptablesBackend, readonly opts: IptablesProxierOptions, private readonly deps: IptablesProxierDeps = {}) {
    this.endpointsChanges = new EndpointsChangeTracker(opts.nodeName);
    // upstream NewProxier: localhost NodePorts need 127/8 routed off loopback (after the DNAT to a pod).
    if ((opts.localhostNodePorts ?? true) && nodePortDestinations(opts).ipv4Loopback) deps.sysctl?.(SYSCTL_ROUTE_LOCALNET, 1);
    if (opts.nfacct === true && opts.nfacctCounters === undefined) {
      // upstream NewProxier: ensure each counter, use the ones the kernel has.
      this.opts = { ...opts, nfacctCounters: NFACCT_COUNTERS.filter((n) => backend.ensureNfacct?.(n) === true) };
    }
  }

  onServiceUpdate(previous: ServiceInfo | undefined, current: ServiceInfo | undefined): boolean {
    return this.serviceChanges.update(previous, current);
  }

  onEndpointSliceUpdate(slice: EndpointSliceInfo, remove: boolean): boolean {
    return this.endpointsChanges.endpointSliceUpdate(slice, remove);
  }

  /** Jump rules kube-proxy ensures on every full sync. */
  jumpRules(): JumpRule[] {
    return [...JUMP_RULES, ...((this.opts.localhostNodePorts ?? true) ? KUBELET_JUMP_RULES : [])];
  }

  private ensureJumps(): string {
    const b = this.backend;
    const direct = b.chainNames !== undefined && b.hasRule !== undefined;
    const saved = !direct && b.save !== undefined ? parseSave(b.save()) : undefined;
    if (!direct && saved === undefined && this.jumpsInstalled) return '';
    const names = new Map<string, Set<string>>();
    const namesOf = (t: string): Set<string> => names.get(t) ?? names.set(t, new Set(b.chainNames?.(t))).get(t) as Set<string>;
    const text = jumpRulesRestore(this.jumpRules(), direct
      ? { hasChain: (t, c) => namesOf(t).has(c), hasRule: (t, c, spec) => b.hasRule?.(t, c, spec) ?? false }
      : { hasChain: (t, c) => saved?.get(t)?.chains.has(c) ?? false, hasRule: (t, c, spec) => saved?.get(t)?.rules.has(`-A ${c} ${spec}`) ?? false });
    if (text !== '') this.backend.restore(text, { noflush: true });
    this.jumpsInstalled = true;
    return text;
  }

  /**
   * A partial sync with nothing to do (periodic syncs of an idle cluster): no Service or
   * endpoint changed and the node's iptables are as our last restore left them, with no
   * stale chain waiting for a cleanup that is due. The restore upstream would write then
   * rewrites the top-level chains (KUBE-SERVICES, KUBE-NODEPORTS, the filter chains, …)
   * with the same rules, whose only observable effect is that their counters start from
   * zero; that is what is done, with `-Z` on those chains, instead of rebuilding every
   * Service's rules, rendering and parsing the kernel's ruleset and restoring it.
   */
  private quietSync(changes: number, cleanupDue: boolean, now: number): SyncResult | undefined {
    const a = this.after;
    if (!this.quietSyncs || a === undefined || changes > 0 || this.backend.generation?.() !== a.generation || (cleanupDue && !a.cleanedUp)) return undefined;
    const zeroText = zeroTextOf(a.text);
    this.backend.restore(zeroText, { noflush: true, counters: true });
    if (cleanupDue) this.lastCleanupMs = now;
    this.after = { ...a, generation: this.backend.generation?.() ?? a.generation };
    return { mode: 'iptables', full: false, updatedServices: [], iptablesText: zeroText, conntrack: [], conntrackDeleted: 0, quiet: true };
  }

  sync(opts: { full?: boolean } = {}): SyncResult {
    const full = this.needFullSync || opts.full === true;
    const svcResult = this.svcPortMap.update(this.serviceChanges);
    const epResult = this.endpointsMap.update(this.endpointsChanges);
    try {
      if (full) this.ensureJumps();
      const changed = new Set<string>([...svcResult.updatedServices, ...epResult.updatedServices]);
      const now = this.deps.nowMs?.() ?? 0;
      // Stale-chain cleanup needs the kernel's chain list; in large-cluster mode only once per syncPeriod.
      const cleanup = !this.lastLargeClusterMode || now - this.lastCleanupMs > (this.opts.syncPeriodMs ?? 30_000);
      const quiet = full ? undefined : this.quietSync(changed.size, cleanup, now);
      if (quiet !== undefined) return quiet;
      let existing: Iterable<string> | undefined;
      if (cleanup) {
        const b = this.backend;
        existing = b.chainNames !== undefined ? b.chainNames('nat') : b.save !== undefined ? (parseSave(b.save()).get('nat')?.chains ?? []) : this.kernelNatChains;
      }
      // Crossing the large-cluster threshold does not force a full sync (upstream neither): chains
      // written from now on lose (or regain) their comments, unchanged ones keep theirs.
      const out = buildRuleset({ services: this.svcPortMap, endpoints: this.endpointsMap, ...(full ? {} : { changed }), ...(existing !== undefined ? { existingNatChains: [...existing] } : {}), ...(this.deps.fragments !== undefined ? { fragments: this.deps.fragments } : {}) }, this.opts);
      this.backend.restore(out.text, { noflush: true, counters: true });
      if (cleanup) this.lastCleanupMs = now;
      this.lastLargeClusterMode = out.largeClusterMode;
      // Only a backend that cannot tell its chains needs them remembered (a Set per node of every Service's chains).
      if (this.backend.chainNames === undefined && this.backend.save === undefined) {
        for (const c of out.activeNatChains) this.kernelNatChains.add(c);
        for (const c of out.deletedChains) this.kernelNatChains.delete(c);
      }
      this.needFullSync = false;
      const generation = this.backend.generation?.();
      this.after = generation === undefined ? undefined : { generation, cleanedUp: cleanup, text: out.text };
      const conntrack = staleConntrackDeletions(this.svcPortMap, svcResult, epResult);
      const conntrackDeleted = applyConntrackDeletions(this.deps.conntrack, conntrack);
      return { mode: 'iptables', full, updatedServices: [...changed].sort(), iptablesText: out.text, conntrack, conntrackDeleted };
    } catch (e) {
      // The pending changes are already folded into the maps: only a full sync can catch up.
      this.needFullSync = true;
      throw e;
    }
  }
}

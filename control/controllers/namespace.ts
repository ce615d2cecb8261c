/**
 * Namespace controller (kube-controller-manager's pkg/controller/namespace): empties a
 * namespace the API server marked Terminating and then lets it go.
 *
 * A namespace is first looked at `deletionGraceMs` (upstream's namespaceDeletionGracePeriod,
 * 5 s) after its deletionTimestamp, as upstream enqueues namespace events with that delay so
 * that last-moment creations are seen; then each pass (namespacedResourcesDeleter.Delete):
 * phase Terminating; every namespaced resource's objects deleted (pods gracefully, so their
 * node agent stops them); what remains counted per resource and per finalizer into the five
 * deletion conditions, worded as status_condition_utils.go words them; once nothing remains,
 * the `kubernetes` finalizer is removed through `namespaces/NAME/finalize`, and the API
 * server deletes the namespace when its last finalizer is gone (a DELETE with the uid as
 * precondition otherwise).
 *
 * Not modelled: discovery of aggregated APIs (discovery never fails here, so
 * NamespaceDeletionDiscoveryFailure and NamespaceDeletionGroupVersionParsingFailure are
 * always False), deletecollection (objects are deleted one by one), the remaining-time
 * estimate (a pass runs on every change instead).
 */
import type { KubeObject, Namespace, NamespaceCondition, ResourceInfo } from '../api/index.ts';
import { RESOURCES } from '../resources/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace, rfc3339 } from './types.ts';

/** The finalizer the namespace controller owns (v1.FinalizerKubernetes). */
export const FINALIZER_KUBERNETES = 'kubernetes';

/** upstream namespaceDeletionGracePeriod. */
export const NAMESPACE_DELETION_GRACE_MS = 5000;

/** The condition types the deleter maintains, in upstream's order, with their "ok" reason and message. */
const OK: readonly (readonly [type: string, reason: string, message: string])[] = [
  ['NamespaceDeletionDiscoveryFailure', 'ResourcesDiscovered', 'All resources successfully discovered'],
  ['NamespaceDeletionGroupVersionParsingFailure', 'ParsedGroupVersions', 'All legacy kube types successfully parsed'],
  ['NamespaceDeletionContentFailure', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
  ['NamespaceContentRemaining', 'ContentRemoved', 'All content successfully removed'],
  ['NamespaceFinalizersRemaining', 'ContentRemoved', 'All content successfully removed'],
];

export interface ContentTotals {
  /** `pods.` / `deployments.apps` → objects still there. */
  readonly remaining: ReadonlyMap<string, number>;
  /** finalizer → objects still carrying it. */
  readonly finalizers: ReadonlyMap<string, number>;
  /** Delete errors (other than races), as messages. */
  readonly errors: readonly string[];
}

/**
 * The deletion conditions for what a pass found (namespaceConditionUpdater): a failing
 * condition where something remains or failed, the "ok" variant otherwise; a condition keeps
 * its lastTransitionTime while its status does not change.
 */
export function deletionConditions(prev: readonly NamespaceCondition[], t: ContentTotals, now: string): NamespaceCondition[] {
  const failing = new Map<string, [string, string]>();
  if (t.errors.length > 0) {
    const msgs = [...t.errors].sort();
    failing.set('NamespaceDeletionContentFailure', ['ContentDeletionFailed', `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}`]);
  }
  const rem = [...t.remaining].filter(([, n]) => n > 0).map(([gr, n]) => `${gr} has ${n} resource instances`).sort();
  if (rem.length > 0) failing.set('NamespaceContentRemaining', ['SomeResourcesRemain', `Some resources are remaining: ${rem.join(', ')}`]);
  const fin = [...t.finalizers].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`).sort();
  if (fin.length > 0) failing.set('NamespaceFinalizersRemaining', ['SomeFinalizersRemain', `Some content in the namespace has finalizers remaining: ${fin.join(', ')}`]);
  const out = prev.filter((c) => !OK.some(([type]) => type === c.type)).map((c) => ({ ...c }));
  for (const [type, okReason, okMessage] of OK) {
    const f = failing.get(type);
    const status = f !== undefined ? 'True' : 'False';
    const old = prev.find((c) => c.type === type);
    out.push({ type, status, lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime ?? now : now, reason: f?.[0] ?? okReason, message: f?.[1] ?? okMessage });
  }
  return out;
}

/** `pods.`, `deployments.apps`: how the deleter names a group-resource in its messages. */
function groupResource(r: ResourceInfo): string {
  return `${r.resource}.${r.group}`;
}

export interface NamespaceControllerOptions {
  readonly clock?: () => Date;
  /** Delay between a namespace's deletion and the controller acting on it (default 5 s, as upstream). */
  readonly deletionGraceMs?: number;
}

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private readonly clock: () => Date;
  private readonly graceMs: number;
  private wake: number | undefined;

  constructor(private readonly api: ControlApi, opts: NamespaceControllerOptions = {}) {
    this.clock = opts.clock ?? (() => new Date());
    this.graceMs = opts.deletionGraceMs ?? NAMESPACE_DELETION_GRACE_MS;
  }

  /** When a terminating namespace's grace ends (epoch ms), so a driver runs a pass then. */
  nextWakeMs(): number | undefined {
    return this.wake;
  }

  async sync(): Promise<number> {
    this.wake = undefined;
    let writes = 0;
    const now = this.clock().getTime();
    for (const ns of await this.api.list<Namespace>('namespaces')) {
      const del = ns.metadata.deletionTimestamp;
      if (del === undefined) continue;
      const due = Date.parse(del) + this.graceMs;
      if (now < due) {
        this.wake = Math.min(this.wake ?? due, due);
        continue;
      }
      try { writes += await this.syncTerminating(ns); } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }

  private async syncTerminating(nsIn: Namespace): Promise<number> {
    let ns = nsIn;
    const name = ns.metadata.name!;
    let writes = 0;
    const now = rfc3339(this.clock());
    if (ns.status?.phase !== 'Terminating') {
      ns = await this.api.updateStatus('namespaces', undefined, name, { ...ns, status: { ...ns.status, phase: 'Terminating' } });
      writes++;
    }
    if ((ns.spec?.finalizers ?? []).length === 0) {
      await this.api.delete('namespaces', undefined, name, { preconditions: { uid: ns.metadata.uid! } });
      return writes + 1;
    }
    if (!(ns.spec?.finalizers ?? []).includes(FINALIZER_KUBERNETES)) return writes;
    const totals = await this.deleteAllContent(name);
    writes += totals.writes;
    const prev = ns.status?.conditions ?? [];
    const conditions = deletionConditions(prev, totals, now);
    const untimed = (cs: readonly NamespaceCondition[]): string => JSON.stringify(cs.map(({ lastTransitionTime: _t, ...c }) => c));
    if (untimed(prev) !== untimed(conditions)) {
      ns = await this.api.updateStatus('namespaces', undefined, name, { ...ns, status: { ...ns.status, conditions } });
      writes++;
    }
    if ([...totals.remaining.values()].some((n) => n > 0) || totals.errors.length > 0) return writes;
    const finalizers = (ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES);
    await this.api.updateSubresource('namespaces', undefined, name, 'finalize', { ...ns, spec: { ...ns.spec, finalizers } });
    return writes + 1;
  }

  /** Delete every namespaced object of the namespace; count what is still there afterwards. */
  private async deleteAllContent(ns: string): Promise<ContentTotals & { writes: number }> {
    const remaining = new Map<string, number>();
    const finalizers = new Map<string, number>();
    const errors: string[] = [];
    let writes = 0;
    for (const r of RESOURCES) {
      if (!r.namespaced) continue;
      let items: KubeObject[];
      try {
        items = await this.api.list<KubeObject>(r.resource, ns);
        for (const o of items) {
          if (o.metadata?.deletionTimestamp !== undefined) continue;
          try { await this.api.delete(r.resource, ns, o.metadata!.name!); writes++; } catch (e) { if (!isRace(e)) throw e; }
        }
        items = await this.api.list<KubeObject>(r.resource, ns);
      } catch (e) {
        errors.push(`${groupResource(r)}: ${(e as Error).message}`);
        continue;
      }
      if (items.length > 0) remaining.set(groupResource(r), items.length);
      for (const o of items) for (const f of o.metadata?.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    }
    return { remaining, finalizers, errors, writes };
  }
}

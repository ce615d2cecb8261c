/**
 * Indexes a controller builds once per pass over the objects it listed, so a pass costs
 * O(objects + matches) instead of O(owners × objects): client-go's informer indexers
 * (cache.Indexer: by namespace, by controller owner), as the upstream controllers use them.
 * Every lookup returns objects in the order of the list they came from, so a controller
 * that iterates a bucket sees what a filter of the whole list would have given it.
 */
import type { LabelSelector, OwnerReference } from '../api/index.ts';
import { labelSelectorFromStruct, matchesLabels } from '../api/index.ts';

interface Meta { readonly metadata: { readonly namespace?: string; readonly labels?: Readonly<Record<string, string>>; readonly ownerReferences?: readonly OwnerReference[] } }

/** Objects by the uid of their controller owner reference. */
export function byControllerUid<T extends Meta>(items: readonly T[]): (uid: string | undefined) => readonly T[] {
  const m = new Map<string, T[]>();
  for (const o of items) {
    const uid = o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    if (uid === undefined) continue;
    const list = m.get(uid);
    if (list === undefined) m.set(uid, [o]);
    else list.push(o);
  }
  return (uid) => (uid === undefined ? [] : m.get(uid) ?? []);
}

/**
 * Objects by namespace and label pair, for equality selectors (a Service's selector,
 * matchLabels): the candidates are the bucket of the selector's rarest pair, then
 * checked against the whole selector.
 */
export class LabelIndex<T extends Meta> {
  private readonly byPair = new Map<string, T[]>();
  private readonly byNamespace = new Map<string, T[]>();

  constructor(items: readonly T[]) {
    for (const o of items) {
      const ns = o.metadata.namespace ?? '';
      push(this.byNamespace, ns, o);
      for (const [k, v] of Object.entries(o.metadata.labels ?? {})) push(this.byPair, pairKey(ns, k, v), o);
    }
  }

  /** The objects of `namespace` whose labels match the selector (an empty matchLabels selects all of the namespace). */
  select(namespace: string, selector: LabelSelector): readonly T[] {
    const parsed = labelSelectorFromStruct(selector) ?? [];
    const pairs = Object.entries(selector.matchLabels ?? {});
    let candidates = this.byNamespace.get(namespace) ?? [];
    for (const [k, v] of pairs) {
      const b = this.byPair.get(pairKey(namespace, k, v)) ?? [];
      if (b.length < candidates.length) candidates = b;
    }
    return candidates.filter((o) => matchesLabels(parsed, o.metadata.labels));
  }
}

function pairKey(ns: string, k: string, v: string): string {
  return `${ns}\u0000${k}\u0000${v}`;
}

function push<T>(m: Map<string, T[]>, k: string, o: T): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [o]);
  else list.push(o);
}

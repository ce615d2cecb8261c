/**
 * The two schema vocabularies a kind module declares its fields in:
 * - `FieldSchema`: which fields a kind knows, for `fieldValidation` (unknown-field
 *   detection) and server-side apply's "field not declared in schema";
 * - `SmpSchema`: the `patchStrategy`/`patchMergeKey` struct tags of k8s.io/api, for
 *   strategic merge patch and managed-field sets.
 * Plus the pieces every kind shares (ObjectMeta, conditions).
 */

/** `true`: anything; an object: a struct with these fields (`'*'`: a map of any keys); `[s]`: a list of s. */
export type FieldSchema = true | { readonly [field: string]: FieldSchema } | readonly [FieldSchema];

/** Patch strategy of a field: the `patchStrategy`/`patchMergeKey` struct tags of k8s.io/api. */
export interface SmpSchema {
  readonly fields?: Readonly<Record<string, SmpSchema>>;
  /** This field is a list merged by this key. */
  readonly mergeKey?: string;
  /** A list of primitives merged as a set (finalizers, podCIDRs). */
  readonly primitiveMerge?: boolean;
  /** Schema of list elements / map values. */
  readonly elem?: SmpSchema;
  readonly retainKeys?: boolean;
}

export const ANY = true as const;
export const MAP: FieldSchema = { '*': ANY };

/** A struct whose space-separated `names` are open (any content), plus `extra` typed fields. */
export function fields(names: string, extra: Record<string, FieldSchema> = {}): { [f: string]: FieldSchema } {
  const out: Record<string, FieldSchema> = {};
  for (const n of names.split(/\s+/).filter(Boolean)) out[n] = ANY;
  return { ...out, ...extra };
}

export const META_FIELDS = fields('name generateName namespace uid resourceVersion generation creationTimestamp deletionTimestamp deletionGracePeriodSeconds selfLink finalizers managedFields', {
  labels: MAP, annotations: MAP,
  ownerReferences: [fields('apiVersion kind name uid controller blockOwnerDeletion')],
});

/** A top-level object: type meta, metadata and the kind's own fields. */
export function topLevel(rest: Record<string, FieldSchema>): FieldSchema {
  return { apiVersion: ANY, kind: ANY, metadata: META_FIELDS, ...rest };
}

export const META_MERGE: SmpSchema = { fields: { ownerReferences: { mergeKey: 'uid' }, finalizers: { primitiveMerge: true } } };
export const CONDITIONS_MERGE: SmpSchema = { mergeKey: 'type' };

/** A top-level merge schema: metadata's keys plus the kind's own fields. */
export function mergeTop(rest: Record<string, SmpSchema> = {}): SmpSchema {
  return { fields: { metadata: META_MERGE, ...rest } };
}

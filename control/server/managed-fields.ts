/**
 * Field ownership for server-side apply (the `metadata.managedFields` model of
 * sigs.k8s.io/structured-merge-diff, reduced to what the emulator needs):
 *
 * - a FieldsV1 set is a tree of `f:<field>`, `k:<json key>` (keyed list item), `v:<json>`
 *   (set member) and `.` (the node itself) entries; its leaves are the owned fields;
 * - an apply by manager M conflicts with every other manager that owns one of the
 *   applied leaves when the apply would change that leaf's value (equal values are
 *   shared ownership, as upstream);
 * - `force=true` moves the conflicting leaves to M; a non-apply write (operation
 *   `Update`) silently takes the leaves whose values it changed.
 *
 * Not modelled: atomic maps/lists (`x-kubernetes-map-type: atomic`), version
 * conversion of field sets, and the compound merge key of container ports
 * (`containerPort`+`protocol`); items are keyed by the SMP merge key.
 */
import type { ManagedFieldsEntry, StatusCause } from '../api/index.ts';
import { ApiError } from './errors.ts';
import type { Json } from './patch.ts';
import { deepEqual, isObject } from './patch.ts';

type FieldSet = Record<string, Json>;

/** Leaves of a FieldsV1 set, each as its list of raw keys (`['f:spec', 'f:replicas']`). */
export function leafKeyPaths(set: FieldSet, prefix: readonly string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(set)) {
    if (k === '.') continue;
    const path = [...prefix, k];
    const children = isObject(v) ? Object.keys(v).filter((x) => x !== '.') : [];
    if (children.length === 0) out.push(path);
    else out.push(...leafKeyPaths(v as FieldSet, path));
  }
  return out;
}

/** Whether the set contains the node at `keys` (as a leaf or as an interior node). */
export function setHas(set: FieldSet, keys: readonly string[]): boolean {
  let cur: Json | undefined = set;
  for (const k of keys) {
    if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) return false;
    cur = cur[k];
  }
  return true;
}

/** The value an object holds at a field-set key path (undefined when absent). */
export function valueAtKeys(obj: Json | undefined, keys: readonly string[]): Json | undefined {
  let cur: Json | undefined = obj;
  for (const k of keys) {
    if (cur === undefined) return undefined;
    const body = k.slice(2);
    if (k.startsWith('f:')) cur = isObject(cur) && Object.prototype.hasOwnProperty.call(cur, body) ? cur[body] : undefined;
    else if (k.startsWith('k:')) {
      const sel = JSON.parse(body) as Record<string, Json>;
      cur = Array.isArray(cur) ? cur.find((e) => isObject(e) && Object.entries(sel).every(([sk, sv]) => deepEqual(e[sk], sv))) : undefined;
    } else if (k.startsWith('v:')) {
      const want = JSON.parse(body) as Json;
      cur = Array.isArray(cur) ? cur.find((e) => deepEqual(e, want)) : undefined;
    } else return undefined;
  }
  return cur;
}

/** A key path in upstream's `fieldpath.Path` notation: `.spec.containers[name="nginx"].image`. */
export function pathString(keys: readonly string[]): string {
  let s = '';
  for (const k of keys) {
    const body = k.slice(2);
    if (k.startsWith('f:')) s += `.${body}`;
    else if (k.startsWith('k:')) {
      const sel = JSON.parse(body) as Record<string, Json>;
      s += `[${Object.keys(sel).sort().map((f) => `${f}=${JSON.stringify(sel[f])}`).join(',')}]`;
    } else if (k.startsWith('v:')) s += `[=${body}]`;
  }
  return s;
}

/** Remove the nodes at `paths` from a set; interior nodes left without children disappear. */
export function removePaths(set: FieldSet, paths: readonly (readonly string[])[]): FieldSet {
  const out = JSON.parse(JSON.stringify(set)) as FieldSet;
  for (const p of paths) {
    const stack: FieldSet[] = [out];
    let cur: FieldSet = out;
    let ok = true;
    for (const k of p.slice(0, -1)) {
      const next = cur[k];
      if (!isObject(next)) { ok = false; break; }
      cur = next;
      stack.push(cur);
    }
    if (!ok) continue;
    delete cur[p[p.length - 1]!];
    // Prune parents that now own nothing but themselves.
    for (let i = stack.length - 1; i > 0; i--) {
      const node = stack[i]!;
      if (Object.keys(node).some((k) => k !== '.')) break;
      delete stack[i - 1]![p[i - 1]!];
    }
  }
  return out;
}

/** How upstream names a manager in conflict messages. */
export function describeManager(e: ManagedFieldsEntry): string {
  let s = JSON.stringify(e.manager ?? '');
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion ?? ''}`;
  return s;
}

export interface FieldConflict {
  /** Index of the owning entry in the live object's managedFields. */
  readonly entry: number;
  readonly manager: string;
  readonly keys: readonly string[];
}

/**
 * Conflicts of an apply by `manager` whose configuration has field set `applied`: leaves
 * owned by another entry whose value differs between the live object and the result.
 */
export function findConflicts(entries: readonly ManagedFieldsEntry[], manager: string, applied: FieldSet, live: Json, result: Json): FieldConflict[] {
  const out: FieldConflict[] = [];
  const leaves = leafKeyPaths(applied);
  entries.forEach((e, i) => {
    if (e.manager === manager && e.operation === 'Apply' && !e.subresource) return;
    if (e.subresource) return; // status/scale owners do not own main-resource fields here
    const owned = (e.fieldsV1 ?? {}) as FieldSet;
    for (const keys of leaves) {
      if (!setHas(owned, keys)) continue;
      if (deepEqual(valueAtKeys(live, keys), valueAtKeys(result, keys))) continue;
      out.push({ entry: i, manager: describeManager(e), keys });
    }
  });
  return out;
}

/** The 409 upstream answers for apply conflicts: reason Conflict, one cause per field. */
export function applyConflictError(conflicts: readonly FieldConflict[]): ApiError {
  const causes: StatusCause[] = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.manager}`, field: pathString(c.keys) }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${conflicts[0]!.manager}: ${pathString(conflicts[0]!.keys)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), pathString(c.keys)]);
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${m}:`);
      for (const p of byManager.get(m)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError('Conflict', message, { causes });
}

/** Entries with the given leaves taken away (entries left empty are dropped). */
export function takeOwnership(entries: readonly ManagedFieldsEntry[], take: readonly { entry: number; keys: readonly string[] }[]): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  entries.forEach((e, i) => {
    const mine = take.filter((t) => t.entry === i).map((t) => t.keys);
    if (mine.length === 0) { out.push(e); return; }
    const rest = removePaths((e.fieldsV1 ?? {}) as FieldSet, mine);
    if (Object.keys(rest).length > 0) out.push({ ...e, fieldsV1: rest });
  });
  return out;
}

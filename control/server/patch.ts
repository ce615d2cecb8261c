/**
 * The four PATCH flavours kube-apiserver accepts:
 * - JSON merge patch (RFC 7386): `application/merge-patch+json`;
 * - JSON patch (RFC 6902): `application/json-patch+json`;
 * - strategic merge patch: `application/strategic-merge-patch+json`, with the list merge keys of
 *   k8s.io/api (`patchMergeKey` tags) and the directives `$patch` (replace/delete/merge),
 *   `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`;
 * - server-side apply (`application/apply-patch+yaml`) uses `applyMerge` plus managed-field sets.
 * Errors are `PatchError`s (the server answers 400/422).
 */

import type { SmpSchema } from '../resources/index.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export class PatchError extends Error {
  constructor(message: string, readonly kind: 'BadRequest' | 'Invalid' = 'BadRequest') {
    super(message);
    this.name = 'PatchError';
  }
}

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepClone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a); const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------- RFC 7386

export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return deepClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** The merge patch that turns `from` into `to` (both objects). */
export function createMergePatch(from: Json, to: Json): Json {
  if (!isObject(from) || !isObject(to)) return deepClone(to);
  const out: JsonObject = {};
  for (const k of Object.keys(from)) if (!Object.prototype.hasOwnProperty.call(to, k)) out[k] = null;
  for (const [k, v] of Object.entries(to)) {
    const f = from[k];
    if (f !== undefined && deepEqual(f, v)) continue;
    if (isObject(v) && isObject(f)) out[k] = createMergePatch(f, v);
    else out[k] = deepClone(v);
  }
  return out;
}

// ---------------------------------------------------------------- RFC 6902

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchError(`invalid JSON pointer: ${JSON.stringify(p)}`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: Json, path: string[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (isObject(cur)) {
      cur = Object.prototype.hasOwnProperty.call(cur, seg) ? cur[seg] : undefined;
    } else return undefined;
  }
  return cur;
}

function parentOf(doc: Json, path: string[], op: string): { parent: Json[] | JsonObject; key: string } {
  if (path.length === 0) throw new PatchError(`${op} operation does not apply: the root cannot be the target`);
  const parent = getAt(doc, path.slice(0, -1));
  if (!Array.isArray(parent) && !isObject(parent)) throw new PatchError(`${op} operation does not apply: doc is missing path: "/${path.join('/')}"`, 'Invalid');
  return { parent, key: path[path.length - 1]! };
}

export function applyJsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new PatchError('json patch must be an array of operations');
  let root = deepClone(doc);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw new PatchError('invalid JSON patch operation: needs "op" and "path"');
    const op = raw.op;
    const path = parsePointer(raw.path);
    const add = (target: string[], value: Json): void => {
      if (target.length === 0) { root = value; return; }
      const { parent, key } = parentOf(root, target, op);
      if (Array.isArray(parent)) {
        const i = key === '-' ? parent.length : Number(key);
        if (!/^(0|[1-9]\d*|-)$/.test(key) || i > parent.length) throw new PatchError(`${op} operation does not apply: index out of range: ${key}`, 'Invalid');
        parent.splice(i, 0, value);
      } else parent[key] = value;
    };
    const remove = (target: string[]): Json => {
      const { parent, key } = parentOf(root, target, op);
      if (Array.isArray(parent)) {
        const i = Number(key);
        if (!/^(0|[1-9]\d*)$/.test(key) || i >= parent.length) throw new PatchError(`${op} operation does not apply: doc is missing path: "/${target.join('/')}"`, 'Invalid');
        return parent.splice(i, 1)[0]!;
      }
      if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(`${op} operation does not apply: doc is missing path: "/${target.join('/')}"`, 'Invalid');
      const v = parent[key]!;
      delete parent[key];
      return v;
    };
    switch (op) {
      case 'add':
        if (!('value' in raw)) throw new PatchError('add operation needs a value');
        add(path, deepClone(raw.value as Json));
        break;
      case 'remove': remove(path); break;
      case 'replace':
        if (!('value' in raw)) throw new PatchError('replace operation needs a value');
        if (path.length === 0) { root = deepClone(raw.value as Json); break; }
        remove(path); add(path, deepClone(raw.value as Json));
        break;
      case 'move': case 'copy': {
        if (typeof raw.from !== 'string') throw new PatchError(`${op} operation needs "from"`);
        const from = parsePointer(raw.from);
        const v = getAt(root, from);
        if (v === undefined) throw new PatchError(`${op} operation does not apply: doc is missing from path: "${raw.from}"`, 'Invalid');
        if (op === 'move') remove(from);
        add(path, deepClone(v));
        break;
      }
      case 'test': {
        const v = getAt(root, path);
        if (!deepEqual(v, raw.value)) throw new PatchError(`testing value ${raw.path} failed: test failed`, 'Invalid');
        break;
      }
      default: throw new PatchError(`Unexpected kind: ${op}`);
    }
  }
  return root;
}

// ---------------------------------------------------------------- strategic merge patch

const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

/** Remove SMP directives from a value that lands in the result without a counterpart. */
function stripDirectives(v: Json, schema: SmpSchema | undefined): Json {
  if (Array.isArray(v)) {
    return v.filter((e) => !(isObject(e) && (e.$patch === 'delete' || e.$patch === 'replace'))).map((e) => stripDirectives(e, schema?.elem));
  }
  if (!isObject(v)) return v;
  if (v.$patch === 'delete') return null;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x, schema?.fields?.[k]);
  }
  return out;
}

function keyOf(e: Json, key: string): string | undefined {
  return isObject(e) && e[key] !== undefined ? JSON.stringify(e[key]) : undefined;
}

function mergeList(orig: Json[], patch: Json[], schema: SmpSchema, order: Json[] | undefined, deletePrim: Json[] | undefined): Json[] {
  const mk = schema.mergeKey;
  if (mk) {
    if (patch.some((e) => isObject(e) && e.$patch === 'replace')) {
      return patch.filter((e) => !(isObject(e) && e.$patch === 'replace')).map((e) => stripDirectives(e, schema.elem));
    }
    let out = orig.map((e) => e);
    for (const pe of patch) {
      const k = keyOf(pe, mk);
      if (k === undefined) {
        if (isObject(pe) && pe.$patch !== undefined) continue;
        throw new PatchError(`map: ${JSON.stringify(pe)} does not contain declared merge key: ${mk}`);
      }
      const idx = out.findIndex((e) => keyOf(e, mk) === k);
      if (isObject(pe) && pe.$patch === 'delete') {
        if (idx >= 0) out = out.filter((_e, i) => i !== idx);
        continue;
      }
      if (idx >= 0) out[idx] = mergeValue(out[idx]!, pe, schema.elem);
      else out.push(stripDirectives(pe, schema.elem));
    }
    if (order) {
      const pos = new Map<string, number>();
      order.forEach((o, i) => { const k = keyOf(o, mk); if (k !== undefined) pos.set(k, i); });
      const listed = out.filter((e) => pos.has(keyOf(e, mk) ?? '')).sort((a, b) => pos.get(keyOf(a, mk)!)! - pos.get(keyOf(b, mk)!)!);
      const unlisted = out.filter((e) => !pos.has(keyOf(e, mk) ?? ''));
      out = [...listed, ...unlisted];
    }
    return out;
  }
  if (schema.primitiveMerge) {
    const out = [...orig];
    for (const p of patch) if (!out.some((e) => deepEqual(e, p))) out.push(p);
    const del = deletePrim ?? [];
    const res = out.filter((e) => !del.some((d) => deepEqual(d, e)));
    if (order) {
      const idx = (e: Json): number => { const i = order.findIndex((o) => deepEqual(o, e)); return i < 0 ? Number.MAX_SAFE_INTEGER : i; };
      return res.map((e, i) => ({ e, i })).sort((a, b) => idx(a.e) - idx(b.e) || a.i - b.i).map((x) => x.e);
    }
    return res;
  }
  return stripDirectives(patch, schema) as Json[];
}

function mergeValue(orig: Json, patch: Json, schema: SmpSchema | undefined): Json {
  if (isObject(patch)) {
    if (!isObject(orig)) return stripDirectives(patch, schema);
    return mergeMap(orig, patch, schema);
  }
  return stripDirectives(patch, schema);
}

function mergeMap(orig: JsonObject, patch: JsonObject, schema: SmpSchema | undefined): JsonObject {
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch, schema) as JsonObject;
  if (directive !== undefined && directive !== 'merge' && directive !== 'delete') throw new PatchError(`Unknown patch type: ${String(directive)}`);
  let out: JsonObject = { ...orig };
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new PatchError('$retainKeys must be a list');
    const keep = new Set(retain.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    const fs = schema?.fields?.[k];
    if (v === null) { delete out[k]; continue; }
    if (isObject(v) && v.$patch === 'delete') { delete out[k]; continue; }
    if (Array.isArray(v)) {
      const ov = out[k];
      const order = patch[SET_ORDER + k];
      const delp = patch[DELETE_PRIMITIVE + k];
      if (fs && (fs.mergeKey || fs.primitiveMerge)) {
        out[k] = mergeList(Array.isArray(ov) ? ov : [], v, fs, Array.isArray(order) ? order : undefined, Array.isArray(delp) ? delp : undefined);
      } else out[k] = stripDirectives(v, fs);
      continue;
    }
    out[k] = k in out ? mergeValue(out[k]!, v, fs) : stripDirectives(v, fs);
  }
  // Lists with only an order or deletion directive (no list in the patch).
  for (const [k, v] of Object.entries(patch)) {
    let field: string | undefined;
    if (k.startsWith(SET_ORDER)) field = k.slice(SET_ORDER.length);
    else if (k.startsWith(DELETE_PRIMITIVE)) field = k.slice(DELETE_PRIMITIVE.length);
    if (field === undefined || field in patch) continue;
    const fs = schema?.fields?.[field];
    const ov = out[field];
    if (!Array.isArray(ov) || !Array.isArray(v)) continue;
    if (fs && (fs.mergeKey || fs.primitiveMerge)) {
      const order = patch[SET_ORDER + field];
      const delp = patch[DELETE_PRIMITIVE + field];
      out[field] = mergeList(ov, [], fs, Array.isArray(order) ? order : undefined, Array.isArray(delp) ? delp : undefined);
    }
  }
  return out;
}

/** Apply a strategic merge patch to an object whose kind merges by `schema` (its module's `merge`). */
export function applyStrategicMergePatch(orig: Json, patch: Json, schema: SmpSchema | undefined): Json {
  if (!isObject(patch)) throw new PatchError('strategic merge patch must be a JSON object');
  if (patch.$patch === 'delete') throw new PatchError('$patch: delete is not allowed at the top level');
  return mergeMap(isObject(orig) ? orig : {}, patch, schema);
}

// ---------------------------------------------------------------- server-side apply fieldsets

/**
 * The managed-fields set of an applied configuration, in FieldsV1 form: `f:<name>` for map
 * keys, `k:{"name":"x"}` for keyed list items, `v:<json>` for set members, `.` for a leaf.
 */
export function fieldSet(v: Json, schema: SmpSchema | undefined): JsonObject {
  const out: JsonObject = {};
  if (!isObject(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    const fs = schema?.fields?.[k];
    const key = `f:${k}`;
    if (isObject(x) && Object.keys(x).length > 0) out[key] = { '.': {}, ...fieldSet(x, fs) };
    else if (Array.isArray(x) && fs?.mergeKey) {
      const items: JsonObject = {};
      for (const e of x) {
        if (!isObject(e) || e[fs.mergeKey] === undefined) continue;
        items[`k:${JSON.stringify({ [fs.mergeKey]: e[fs.mergeKey]! })}`] = { '.': {}, ...fieldSet(e, fs.elem) };
      }
      out[key] = items;
    } else if (Array.isArray(x) && fs?.primitiveMerge) {
      const items: JsonObject = {};
      for (const e of x) items[`v:${JSON.stringify(e)}`] = {};
      out[key] = items;
    } else out[key] = {};
  }
  if (Object.keys(out).length === 0) return out;
  return out;
}

/** Remove from `obj` the fields in `remove` (a FieldsV1 set) — fields an applier stopped applying. */
export function removeFields(obj: Json, remove: JsonObject, schema: SmpSchema | undefined): Json {
  if (!isObject(obj)) return obj;
  const out: JsonObject = { ...obj };
  for (const [fk, sub] of Object.entries(remove)) {
    if (!fk.startsWith('f:')) continue;
    const name = fk.slice(2);
    if (!(name in out)) continue;
    const fs = schema?.fields?.[name];
    const childKeys = isObject(sub) ? Object.keys(sub).filter((k) => k !== '.') : [];
    if (isObject(sub) && childKeys.length > 0) {
      const cur = out[name]!;
      if (Array.isArray(cur) && fs?.mergeKey) {
        const mk = fs.mergeKey;
        out[name] = cur.filter((e) => !(isObject(e) && `k:${JSON.stringify({ [mk]: e[mk]! })}` in sub && Object.keys(sub[`k:${JSON.stringify({ [mk]: e[mk]! })}`] as JsonObject).includes('.')))
          .map((e) => {
            const ek = isObject(e) ? `k:${JSON.stringify({ [mk]: e[mk]! })}` : '';
            const s = isObject(sub) ? sub[ek] : undefined;
            return isObject(s) ? removeFields(e, s, fs.elem) : e;
          });
      } else if (Array.isArray(cur) && fs?.primitiveMerge) {
        out[name] = cur.filter((e) => !(`v:${JSON.stringify(e)}` in sub));
      } else if (isObject(cur)) {
        out[name] = removeFields(cur, sub, fs);
      }
      if ('.' in sub && isObject(out[name]) && Object.keys(out[name] as JsonObject).length === 0) delete out[name];
    } else {
      delete out[name];
    }
  }
  return out;
}

/** `a` minus `b` for FieldsV1 sets (leaves and items in a that b does not have). */
export function subtractFieldSets(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(a)) {
    if (k === '.') continue;
    const bv = b[k];
    if (bv === undefined) { out[k] = isObject(v) && Object.keys(v).length > 0 ? { ...v, '.': {} } : {}; continue; }
    if (isObject(v) && isObject(bv)) {
      const sub = subtractFieldSets(v, bv);
      if (Object.keys(sub).length > 0) out[k] = sub;
    }
  }
  return out;
}

/** Leaf paths of a FieldsV1 set as `.spec.replicas` strings (for conflict messages). */
export function fieldSetLeaves(s: JsonObject, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(s)) {
    if (k === '.') continue;
    const seg = k.startsWith('f:') ? `.${k.slice(2)}` : `[${k.slice(2)}]`;
    const children = isObject(v) ? Object.keys(v).filter((x) => x !== '.') : [];
    if (children.length === 0) out.push(prefix + seg);
    else out.push(...fieldSetLeaves(v as JsonObject, prefix + seg));
  }
  return out;
}

export function valueAtFieldPath(obj: Json, path: string): Json | undefined {
  const segs = path.match(/\.[^.[]+|\[[^\]]+\]/g) ?? [];
  let cur: Json | undefined = obj;
  for (const s of segs) {
    if (s.startsWith('.')) cur = isObject(cur) ? cur[s.slice(1)] : undefined;
    else {
      const inner = s.slice(1, -1);
      if (!Array.isArray(cur)) return undefined;
      if (inner.startsWith('{')) {
        const sel = JSON.parse(inner) as JsonObject;
        cur = cur.find((e) => isObject(e) && Object.entries(sel).every(([k, v]) => deepEqual(e[k], v)));
      } else cur = cur.find((e) => deepEqual(e, JSON.parse(inner)));
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

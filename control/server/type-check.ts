/**
 * The type checks Go's JSON decoder makes when kube-apiserver decodes a request body
 * into the kind's Go struct (encoding/json as vendored in sigs.k8s.io/json): a value of
 * the wrong JSON type, a non-integer or out-of-range number for an int32/int64 field,
 * bytes that are not base64, a time that is not RFC 3339. Upstream refuses such a body
 * with 400 BadRequest naming the first error:
 * `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type map[string]string`;
 * here every error is also a `FieldValueTypeInvalid` cause with its field path.
 *
 * The Go types are data: the field tables of protobuf/schemas (generated from upstream
 * generated.proto), walked generically. Unknown fields are not this check's business
 * (fieldValidation is); `null` is accepted anywhere, as Go leaves the zero value (and a
 * known field that is null is dropped, so no later step meets a null where Go has none).
 */
import type { FieldError } from '../api/index.ts';
import { typeInvalid } from '../api/index.ts';
import type { FieldDef, MessageDef } from './protobuf/schema.ts';
import { messageDef, messageForKind } from './protobuf/schema.ts';
import { parseTime } from './protobuf/codec.ts';

export interface DecodeTypeError {
  /** Path with list indices, as field errors give it (`spec.ports[0].port`). */
  readonly field: string;
  /** The decoder's message for it. */
  readonly message: string;
  readonly value: unknown;
  /** The Go type expected (`int32`, `[]v1.ServicePort`). */
  readonly goType: string;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** int64 bounds as doubles (JSON numbers are doubles here). */
const INT64_LIMIT = 2 ** 63;

/** `v1.PodSpec`: the Go type name of a message (every served group's package is `v1`). */
function goMessage(type: string): string {
  const dot = type.indexOf('.');
  const pkg = type.slice(0, dot);
  const name = type.slice(dot + 1);
  if (pkg === 'intstr') return 'intstr.IntOrString';
  if (pkg === 'resource') return 'resource.Quantity';
  if (pkg === 'runtime') return `runtime.${name}`;
  return `v1.${name}`;
}

function goScalar(type: string): string {
  switch (type) {
    case 'bytes': return '[]uint8';
    case 'double': return 'float64';
    case 'float': return 'float32';
    default: return type;
  }
}

function goElem(f: FieldDef): string {
  return f.kind === 'scalar' ? goScalar(f.type) : goMessage(f.type);
}

function goType(f: FieldDef): string {
  const e = goElem(f);
  return f.label === 'repeated' ? `[]${e}` : f.label === 'map' ? `map[string]${e}` : e;
}

/** What encoding/json calls the JSON value in "cannot unmarshal X". */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Position of the first byte base64.StdEncoding refuses, or -1 when `s` decodes. */
export function base64Error(s: string): number {
  const clean = s.replace(/[\r\n]/g, '');
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i]!;
    if (c === '=') {
      // Padding: only at the end, completing a quantum of 4.
      const rest = clean.slice(i);
      if (!/^={1,2}$/.test(rest) || clean.length % 4 !== 0 || (rest.length === 2 && i % 4 !== 2) || (rest.length === 1 && i % 4 !== 3)) return i;
      return -1;
    }
    if (!/[A-Za-z0-9+/]/.test(c)) return i;
  }
  if (clean.length % 4 !== 0) return clean.length - (clean.length % 4);
  return -1;
}

const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

/** A field as found from a message's JSON, with the Go struct that declares it (embedded structs' own). */
interface Found { readonly f: FieldDef; readonly owner: string }
const found = new WeakMap<MessageDef, Map<string, Found | null>>();

/** Go's struct name of a message (`PodSpec`). */
const structName = (def: MessageDef): string => def.name.slice(def.name.indexOf('.') + 1);

/** A field of `def` by JSON name, looking into embedded (inline) structs; memoized per message. */
function lookup(def: MessageDef, json: string): Found | undefined {
  let m = found.get(def);
  if (m === undefined) { m = new Map(); found.set(def, m); }
  const hit = m.get(json);
  if (hit !== undefined) return hit ?? undefined;
  let out: Found | null = null;
  const f = def.byJson.get(json);
  if (f !== undefined && !f.inline) out = { f, owner: structName(def) };
  else {
    for (const g of def.fields) {
      if (!g.inline) continue;
      const inner = messageDef(g.type);
      const h = inner === undefined ? undefined : lookup(inner, json);
      if (h !== undefined) { out = h; break; }
    }
  }
  m.set(json, out);
  return out ?? undefined;
}

/** The zero value Go decodes a null list element or map value to (null where Go keeps a nil). */
function zeroOf(f: FieldDef): unknown {
  if (f.kind === 'message') return {};
  switch (f.type) {
    case 'string': case 'bytes': case 'resource.Quantity': return '';
    case 'bool': return false;
    case 'int32': case 'int64': case 'double': case 'float': case 'intstr.IntOrString': return 0;
    default: return null;
  }
}

/** Walks a value along its message; paths are kept as segments and joined only for an error. */
class Checker {
  readonly errors: DecodeTypeError[] = [];
  /** `.key` and `[index]` segments of the current position. */
  private readonly path: string[] = [];
  /** JSON keys only: Go's UnmarshalTypeError field path. */
  private readonly goPath: string[] = [];
  private owner = '';

  private here(): string {
    const s = this.path.join('');
    return s.startsWith('.') ? s.slice(1) : s;
  }

  private fail(value: unknown, type: string, what = jsonKind(value)): void {
    this.errors.push({ field: this.here(), value, goType: type, message: `json: cannot unmarshal ${what} into Go struct field ${this.owner}.${this.goPath.join('.')} of type ${type}` });
  }

  private other(value: unknown, type: string, message: string): void {
    this.errors.push({ field: this.here(), value, goType: type, message });
  }

  /** Check `obj` against message `def`. */
  message(def: MessageDef, obj: Record<string, unknown>, depth: number): void {
    if (depth > 64) return;
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      if (v === undefined) continue;
      const hit = lookup(def, k);
      if (hit === undefined) continue;
      // Go's decoder leaves a field given as null at its zero value: gone from the object.
      if (v === null) { delete obj[k]; continue; }
      const owner = this.owner;
      this.path.push(`.${k}`);
      this.goPath.push(k);
      this.owner = hit.owner;
      this.field(hit.f, v, depth);
      this.owner = owner;
      this.goPath.pop();
      this.path.pop();
    }
  }

  private field(f: FieldDef, v: unknown, depth: number): void {
    if (f.label === 'repeated') {
      if (!Array.isArray(v)) { this.fail(v, goType(f)); return; }
      for (let i = 0; i < v.length; i++) {
        if (v[i] === null) { v[i] = zeroOf(f); continue; }
        this.path.push(`[${i}]`);
        this.value(f, v[i], depth);
        this.path.pop();
      }
      return;
    }
    if (f.label === 'map') {
      if (typeof v !== 'object' || Array.isArray(v)) { this.fail(v, goType(f)); return; }
      for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
        if (e === null) { (v as Record<string, unknown>)[k] = zeroOf(f); continue; }
        this.path.push(`[${k}]`);
        this.value(f, e, depth);
        this.path.pop();
      }
      return;
    }
    this.value(f, v, depth);
  }

  private value(f: FieldDef, v: unknown, depth: number): void {
    switch (f.type) {
      case 'string': if (typeof v !== 'string') this.fail(v, 'string'); return;
      case 'bool': if (typeof v !== 'boolean') this.fail(v, 'bool'); return;
      case 'double': case 'float': if (typeof v !== 'number') this.fail(v, goScalar(f.type)); return;
      case 'int32': case 'int64': {
        if (typeof v !== 'number') { this.fail(v, f.type); return; }
        const ok = Number.isInteger(v) && (f.type === 'int32' ? v >= INT32_MIN && v <= INT32_MAX : v >= -INT64_LIMIT && v < INT64_LIMIT);
        if (!ok) this.fail(v, f.type, `number ${String(v)}`);
        return;
      }
      case 'bytes': {
        if (typeof v !== 'string') { this.fail(v, '[]uint8'); return; }
        const at = base64Error(v);
        if (at >= 0) this.other(v, '[]uint8', `illegal base64 data at input byte ${at}`);
        return;
      }
      case 'meta.Time': case 'meta.MicroTime':
        if (typeof v !== 'string') this.fail(v, 'string');
        else if (v !== '' && parseTime(v) === undefined) this.other(v, goElem(f), `parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(v)} as "2006"`);
        return;
      case 'intstr.IntOrString':
        if (typeof v === 'string') return;
        if (typeof v !== 'number') this.fail(v, 'intstr.IntOrString');
        else if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) this.fail(v, 'int32', `number ${String(v)}`);
        return;
      case 'resource.Quantity':
        if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string' || !QUANTITY.test(v)) {
          this.other(v, 'resource.Quantity', "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
        }
        return;
      case 'meta.FieldsV1':
        if (typeof v !== 'object' || Array.isArray(v)) this.fail(v, goElem(f));
        return;
      case 'runtime.RawExtension':
        return;
    }
    const def = messageDef(f.type);
    if (def === undefined) return;
    if (typeof v !== 'object' || Array.isArray(v)) { this.fail(v, goElem(f)); return; }
    this.message(def, v as Record<string, unknown>, depth + 1);
  }
}

/**
 * The type errors of `obj` as an object of `apiVersion`/`kind`, in document order;
 * empty when it decodes (or when the kind has no field table). Known fields given as
 * `null` are removed from `obj`, as decoding leaves them unset, and null list elements
 * and map values become their type's zero value (`{}`, `""`, 0, false), as in Go.
 */
export function typeErrors(obj: Record<string, unknown>, apiVersion: string, kind: string): DecodeTypeError[] {
  const def = messageForKind(apiVersion, kind);
  if (def === undefined) return [];
  const c = new Checker();
  c.message(def, obj, 0);
  return c.errors;
}

/** The errors as `FieldValueTypeInvalid` field errors (Status causes). */
export function typeFieldErrors(errs: readonly DecodeTypeError[]): FieldError[] {
  return errs.map((e) => typeInvalid(e.field, e.value, `must be of type ${e.goType}`));
}

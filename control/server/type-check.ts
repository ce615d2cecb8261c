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
 * (fieldValidation is); `null` is accepted anywhere, as Go leaves the zero value.
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

class Checker {
  readonly errors: DecodeTypeError[] = [];

  private fail(field: string, goField: string, value: unknown, type: string, what = jsonKind(value)): void {
    this.errors.push({ field, value, goType: type, message: `json: cannot unmarshal ${what} into Go struct field ${goField} of type ${type}` });
  }

  /** Check `obj` against message `def`; `goPath` is the JSON path without indices, for messages. */
  message(def: MessageDef, obj: Record<string, unknown>, path: string, goPath: string, depth: number): void {
    if (depth > 64) return;
    const struct = def.name.slice(def.name.indexOf('.') + 1);
    for (const [k, v] of Object.entries(obj)) {
      const f = this.lookup(def, k);
      if (f === undefined || v === null || v === undefined) continue;
      const p = path === '' ? k : `${path}.${k}`;
      const gp = goPath === '' ? k : `${goPath}.${k}`;
      this.field(f, v, p, `${f.owner ?? struct}.${gp}`, gp, depth);
    }
  }

  /** A field of `def` by JSON name, looking into embedded (inline) structs. */
  private lookup(def: MessageDef, json: string): (FieldDef & { owner?: string }) | undefined {
    const f = def.byJson.get(json);
    if (f !== undefined && !f.inline) return f;
    for (const g of def.fields) {
      if (!g.inline) continue;
      const inner = messageDef(g.type);
      const hit = inner === undefined ? undefined : this.lookup(inner, json);
      if (hit !== undefined) return { ...hit, owner: hit.owner ?? inner!.name.slice(inner!.name.indexOf('.') + 1) };
    }
    return undefined;
  }

  private field(f: FieldDef, v: unknown, path: string, goField: string, goPath: string, depth: number): void {
    if (f.label === 'repeated') {
      if (!Array.isArray(v)) { this.fail(path, goField, v, goType(f)); return; }
      v.forEach((e, i) => { if (e !== null) this.value(f, e, `${path}[${i}]`, goField, goPath, depth); });
      return;
    }
    if (f.label === 'map') {
      if (typeof v !== 'object' || Array.isArray(v)) { this.fail(path, goField, v, goType(f)); return; }
      for (const [k, e] of Object.entries(v as Record<string, unknown>)) if (e !== null) this.value(f, e, `${path}[${k}]`, goField, goPath, depth);
      return;
    }
    this.value(f, v, path, goField, goPath, depth);
  }

  private value(f: FieldDef, v: unknown, path: string, goField: string, goPath: string, depth: number): void {
    const t = goElem(f);
    switch (f.type) {
      case 'string': if (typeof v !== 'string') this.fail(path, goField, v, t); return;
      case 'bool': if (typeof v !== 'boolean') this.fail(path, goField, v, t); return;
      case 'double': case 'float': if (typeof v !== 'number') this.fail(path, goField, v, t); return;
      case 'int32': case 'int64': {
        if (typeof v !== 'number') { this.fail(path, goField, v, t); return; }
        const ok = Number.isInteger(v) && (f.type === 'int32' ? v >= INT32_MIN && v <= INT32_MAX : v >= -INT64_LIMIT && v < INT64_LIMIT);
        if (!ok) this.fail(path, goField, v, t, `number ${String(v)}`);
        return;
      }
      case 'bytes': {
        if (typeof v !== 'string') { this.fail(path, goField, v, t); return; }
        const at = base64Error(v);
        if (at >= 0) this.errors.push({ field: path, value: v, goType: t, message: `illegal base64 data at input byte ${at}` });
        return;
      }
      case 'meta.Time': case 'meta.MicroTime':
        if (typeof v !== 'string') this.fail(path, goField, v, 'string');
        else if (v !== '' && parseTime(v) === undefined) this.errors.push({ field: path, value: v, goType: t, message: `parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(v)} as "2006"` });
        return;
      case 'intstr.IntOrString':
        if (typeof v === 'string') return;
        if (typeof v !== 'number') this.fail(path, goField, v, t);
        else if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) this.fail(path, goField, v, 'int32', `number ${String(v)}`);
        return;
      case 'resource.Quantity':
        if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string' || !QUANTITY.test(v)) {
          this.errors.push({ field: path, value: v, goType: t, message: "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" });
        }
        return;
      case 'meta.FieldsV1':
        if (typeof v !== 'object' || Array.isArray(v)) this.fail(path, goField, v, t);
        return;
      case 'runtime.RawExtension':
        return;
    }
    const def = messageDef(f.type);
    if (def === undefined) return;
    if (typeof v !== 'object' || Array.isArray(v)) { this.fail(path, goField, v, t); return; }
    this.message(def, v as Record<string, unknown>, path, goPath, depth + 1);
  }
}

/**
 * The type errors of `obj` as an object of `apiVersion`/`kind`, in document order;
 * empty when it decodes (or when the kind has no field table).
 */
export function typeErrors(obj: Record<string, unknown>, apiVersion: string, kind: string): DecodeTypeError[] {
  const def = messageForKind(apiVersion, kind);
  if (def === undefined) return [];
  const c = new Checker();
  c.message(def, obj, '', '', 0);
  return c.errors;
}

/** The errors as `FieldValueTypeInvalid` field errors (Status causes). */
export function typeFieldErrors(errs: readonly DecodeTypeError[]): FieldError[] {
  return errs.map((e) => typeInvalid(e.field, e.value, `must be of type ${e.goType}`));
}

/**
 * One generic codec between JSON objects and protobuf messages, driven by the field
 * tables (schema.ts), as gogo-protobuf's generated Marshal/Unmarshal for k8s.io/api
 * types do field by field.
 *
 * Encoding writes what the JSON holds: a field the table does not know, or a value
 * of the wrong JSON type, is left out (a stored object is never refused). Decoding
 * throws `ProtobufDecodeError` on anything malformed (truncated varints and lengths,
 * a wire type that does not match the field, an invalid time, bad FieldsV1 JSON) and
 * skips unknown field numbers, as Go's decoder does. A decoded scalar that holds its
 * zero value is dropped unless the Go field is a pointer: Go's encoders write every
 * non-pointer field, and the JSON of the same object leaves `omitempty` zeros out.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { FieldDef, MessageDef } from './schema.ts';
import { messageDef } from './schema.ts';

export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';
}

/** Messages nest at most this deep (the served kinds reach about 12). */
const MAX_DEPTH = 64;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);

// ------------------------------------------------------------------ encode

export function encodeMessage(def: MessageDef, obj: Json): Uint8Array {
  const w = new BinaryWriter();
  writeFields(w, def, obj, 0);
  return w.finish();
}

function writeFields(w: BinaryWriter, def: MessageDef, obj: Json, depth: number): void {
  if (depth > MAX_DEPTH) return;
  for (const f of def.fields) {
    // An embedded struct's fields are the parent's own JSON fields.
    const v = f.inline ? obj : obj[f.json];
    if (v === undefined || v === null) continue;
    if (f.label === 'repeated') {
      if (Array.isArray(v)) for (const item of v) if (item !== null && item !== undefined) writeValue(w, f.num, f, item, depth);
    } else if (f.label === 'map') {
      if (!isObject(v)) continue;
      // Go marshals map entries in sorted key order.
      for (const k of Object.keys(v).sort()) {
        const item = v[k];
        if (item === undefined || item === null) continue;
        w.tag(f.num, WireType.LengthDelimited).fork();
        w.tag(1, WireType.LengthDelimited).string(k);
        writeValue(w, 2, f, item, depth);
        w.join();
      }
    } else {
      writeValue(w, f.num, f, v, depth);
    }
  }
}

function writeValue(w: BinaryWriter, num: number, f: FieldDef, v: unknown, depth: number): void {
  if (f.kind === 'scalar') {
    switch (f.type) {
      case 'string': if (typeof v === 'string') w.tag(num, WireType.LengthDelimited).string(v); return;
      case 'bytes': if (typeof v === 'string') w.tag(num, WireType.LengthDelimited).bytes(Buffer.from(v, 'base64')); return;
      case 'bool': if (typeof v === 'boolean') w.tag(num, WireType.Varint).bool(v); return;
      case 'int32': if (Number.isInteger(v) && (v as number) >= -0x80000000 && (v as number) <= 0x7fffffff) w.tag(num, WireType.Varint).int32(v as number); return;
      case 'int64': if (Number.isSafeInteger(v)) w.tag(num, WireType.Varint).int64(v as number); return;
      case 'double': if (typeof v === 'number') w.tag(num, WireType.Bit64).double(v); return;
      case 'float': if (typeof v === 'number') w.tag(num, WireType.Bit32).float(v); return;
    }
    return;
  }
  if (f.kind === 'builtin') { writeBuiltin(w, num, f.type, v); return; }
  const sub = messageDef(f.type);
  if (!sub || !isObject(v)) return;
  w.tag(num, WireType.LengthDelimited).fork();
  writeFields(w, sub, v, depth + 1);
  w.join();
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** `2024-05-01T10:00:00.123456Z` -> Timestamp parts, or undefined when not RFC 3339. */
export function parseTime(s: string): { seconds: number; nanos: number } | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]!}${m[3]!}`);
  if (Number.isNaN(ms)) return undefined;
  return { seconds: Math.floor(ms / 1000), nanos: m[2] === undefined ? 0 : Number(m[2].padEnd(9, '0')) };
}

function writeBuiltin(w: BinaryWriter, num: number, type: string, v: unknown): void {
  switch (type) {
    case 'meta.Time':
    case 'meta.MicroTime': {
      const t = typeof v === 'string' ? parseTime(v) : undefined;
      if (!t) return;
      w.tag(num, WireType.LengthDelimited).fork();
      if (t.seconds !== 0) w.tag(1, WireType.Varint).int64(t.seconds);
      if (t.nanos !== 0) w.tag(2, WireType.Varint).int32(t.nanos);
      w.join();
      return;
    }
    case 'intstr.IntOrString': {
      if (typeof v === 'string') w.tag(num, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(1).tag(3, WireType.LengthDelimited).string(v).join();
      else if (Number.isInteger(v) && (v as number) >= -0x80000000 && (v as number) <= 0x7fffffff) w.tag(num, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(0).tag(2, WireType.Varint).int32(v as number).join();
      return;
    }
    case 'resource.Quantity':
      if (typeof v === 'string' || typeof v === 'number') w.tag(num, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(String(v)).join();
      return;
    case 'meta.FieldsV1':
    case 'runtime.RawExtension': {
      // RawExtension carries bytes already encoded by the caller (a watch event's object).
      const raw = v instanceof Uint8Array ? v : isObject(v) ? Buffer.from(JSON.stringify(v)) : undefined;
      if (raw) w.tag(num, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).bytes(raw).join();
      return;
    }
  }
}

// ------------------------------------------------------------------ decode

export function decodeMessage(def: MessageDef, bytes: Uint8Array): Json {
  const r = new BinaryReader(bytes);
  return readFields(def, r, r.len, 0);
}

/**
 * Nested messages are read in place from one reader, bounded by their length prefix
 * (a reader per message cost a third of the decode time).
 */
function sub(r: BinaryReader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new ProtobufDecodeError('premature EOF');
  return end;
}

function readFields(def: MessageDef, r: BinaryReader, end: number, depth: number): Json {
  if (depth > MAX_DEPTH) throw new ProtobufDecodeError(`message nesting exceeds ${MAX_DEPTH}`);
  const out: Json = {};
  while (r.pos < end) {
    const [num, wt] = r.tag();
    const f = def.byNum.get(num);
    if (!f) { r.skip(wt, num); continue; }
    if (f.label === 'map') {
      expectWire(def, f, wt, WireType.LengthDelimited);
      const [k, v] = readMapEntry(def, f, r, sub(r), depth);
      const m = (isObject(out[f.json]) ? out[f.json] : (out[f.json] = {})) as Json;
      // defineProperty: a key named `__proto__` is data, as JSON.parse makes it, never a prototype.
      Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
      continue;
    }
    if (f.label === 'repeated') {
      const list = (Array.isArray(out[f.json]) ? out[f.json] : (out[f.json] = [])) as unknown[];
      if (wt === WireType.LengthDelimited && f.kind === 'scalar' && f.type !== 'string' && f.type !== 'bytes') {
        // Packed encoding of a repeated number (proto3 writers use it; Go's proto2 does not).
        const stop = sub(r);
        while (r.pos < stop) list.push(readScalar(def, f, r, scalarWire(f.type)));
        if (r.pos !== stop) throw new ProtobufDecodeError(`packed ${f.json} of ${def.name} overruns its length`);
      } else {
        list.push(readValue(def, f, r, wt, depth));
      }
      continue;
    }
    const v = readValue(def, f, r, wt, depth);
    if (f.inline) { Object.assign(out, v); continue; }
    if (v === undefined || (f.kind === 'scalar' && !f.pointer && (v === '' || v === 0 || v === false))) delete out[f.json];
    else out[f.json] = v;
  }
  if (r.pos !== end) throw new ProtobufDecodeError(`a field of ${def.name} overruns the message`);
  return out;
}

function expectWire(def: MessageDef, f: FieldDef, got: WireType, want: WireType): void {
  if (got !== want) throw new ProtobufDecodeError(`proto: wrong wireType = ${got} for field ${f.json} of ${def.name}`);
}

function scalarWire(type: string): WireType {
  return type === 'string' || type === 'bytes' ? WireType.LengthDelimited : type === 'double' ? WireType.Bit64 : type === 'float' ? WireType.Bit32 : WireType.Varint;
}

function int64(r: BinaryReader): number {
  return Number(r.int64());
}

function readScalar(def: MessageDef, f: FieldDef, r: BinaryReader, wt: WireType): unknown {
  expectWire(def, f, wt, scalarWire(f.type));
  switch (f.type) {
    case 'string': return r.string();
    case 'bytes': return Buffer.from(r.bytes()).toString('base64');
    case 'bool': return r.bool();
    case 'int32': return r.int32();
    case 'int64': return int64(r);
    case 'double': return r.double();
    default: return r.float();
  }
}

function readValue(def: MessageDef, f: FieldDef, r: BinaryReader, wt: WireType, depth: number): unknown {
  if (f.kind === 'scalar') return readScalar(def, f, r, wt);
  expectWire(def, f, wt, WireType.LengthDelimited);
  const end = sub(r);
  if (f.kind === 'builtin') return readBuiltin(f.type, r, end);
  const m = messageDef(f.type);
  if (!m) throw new ProtobufDecodeError(`no message ${f.type}`);
  return readFields(m, r, end, depth + 1);
}

function readMapEntry(def: MessageDef, f: FieldDef, r: BinaryReader, end: number, depth: number): [string, unknown] {
  let key = '';
  let value: unknown;
  const single: FieldDef = { ...f, label: 'single' };
  while (r.pos < end) {
    const [num, wt] = r.tag();
    if (num === 1) {
      if (wt !== WireType.LengthDelimited) throw new ProtobufDecodeError(`proto: wrong wireType = ${wt} for the key of ${f.json}`);
      key = r.string();
    } else if (num === 2) {
      value = readValue(def, single, r, wt, depth);
    } else {
      r.skip(wt, num);
    }
  }
  if (r.pos !== end) throw new ProtobufDecodeError(`an entry of ${f.json} overruns its length`);
  // A missing value is the type's zero value, as Go's map decoder leaves it.
  if (value === undefined) value = f.kind === 'message' ? {} : f.type === 'bool' ? false : f.type === 'string' || f.type === 'bytes' || f.type === 'resource.Quantity' ? '' : f.kind === 'scalar' ? 0 : null;
  return [key, value];
}

/** Timestamp parts as Go's metav1.Time (seconds) or MicroTime (microseconds) marshal them to JSON. */
export function formatTime(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000);
  const year = d.getUTCFullYear();
  // encoding/json refuses years outside [0, 9999] (time.Time.MarshalJSON).
  if (Number.isNaN(d.getTime()) || year < 0 || year > 9999 || nanos < 0 || nanos > 999_999_999) throw new ProtobufDecodeError(`time out of range: ${seconds}s ${nanos}ns`);
  const base = d.toISOString().slice(0, 19);
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

function readBuiltin(type: string, r: BinaryReader, end: number): unknown {
  const fields = new Map<number, unknown>();
  while (r.pos < end) {
    const [num, wt] = r.tag();
    const want = BUILTIN_WIRE[type]?.[num];
    if (want === undefined) { r.skip(wt, num); continue; }
    if (wt !== want) throw new ProtobufDecodeError(`proto: wrong wireType = ${wt} for field ${num} of ${type}`);
    fields.set(num, want === WireType.Varint ? (type === 'intstr.IntOrString' && num === 2 ? r.int32() : int64(r)) : num === 1 && (type === 'meta.FieldsV1' || type === 'runtime.RawExtension') ? r.bytes() : r.string());
  }
  if (r.pos !== end) throw new ProtobufDecodeError(`a field of ${type} overruns the message`);
  switch (type) {
    case 'meta.Time':
    case 'meta.MicroTime': {
      const seconds = (fields.get(1) as number | undefined) ?? 0;
      const nanos = (fields.get(2) as number | undefined) ?? 0;
      // An empty Timestamp is Go's zero time, which marshals to JSON null.
      if (seconds === 0 && nanos === 0) return undefined;
      return formatTime(seconds, nanos, type === 'meta.MicroTime');
    }
    case 'intstr.IntOrString':
      return fields.get(1) === 1 ? (fields.get(3) ?? '') : (fields.get(2) ?? 0);
    case 'resource.Quantity':
      return fields.get(1) ?? '0';
    default: {
      const raw = fields.get(1) as Uint8Array | undefined;
      if (raw === undefined || raw.length === 0) return undefined;
      try { return JSON.parse(Buffer.from(raw).toString('utf8')) as unknown; } catch { throw new ProtobufDecodeError(`${type} does not hold JSON`); }
    }
  }
}

const BUILTIN_WIRE: Readonly<Record<string, Readonly<Record<number, WireType>>>> = {
  'meta.Time': { 1: WireType.Varint, 2: WireType.Varint },
  'meta.MicroTime': { 1: WireType.Varint, 2: WireType.Varint },
  'intstr.IntOrString': { 1: WireType.Varint, 2: WireType.Varint, 3: WireType.LengthDelimited },
  'resource.Quantity': { 1: WireType.LengthDelimited },
  'meta.FieldsV1': { 1: WireType.LengthDelimited },
  'runtime.RawExtension': { 1: WireType.LengthDelimited },
};

/**
 * The message catalogue: the generated field tables (schemas/*.ts) parsed into
 * field definitions, looked up by qualified name (`core.Pod`, `meta.ObjectMeta`).
 * A handful of upstream types have a JSON form that is not their fields: the
 * BUILTIN_TYPES, which the codec implements itself.
 */
import { CORE } from './schemas/core.ts';
import { APPS } from './schemas/apps.ts';
import { BATCH } from './schemas/batch.ts';
import { NETWORKING } from './schemas/networking.ts';
import { DISCOVERY } from './schemas/discovery.ts';
import { AUTOSCALING } from './schemas/autoscaling.ts';
import { META } from './schemas/meta.ts';
import { RUNTIME } from './schemas/runtime.ts';

/**
 * Types whose JSON form differs from their proto fields: metav1.Time / MicroTime (an
 * RFC 3339 string <-> Timestamp{seconds=1, nanos=2}), metav1.FieldsV1 (a JSON object
 * <-> its bytes in field 1), intstr.IntOrString (number or string <-> {type=1,
 * intVal=2, strVal=3}), resource.Quantity (string <-> {string=1}),
 * runtime.RawExtension (an embedded object <-> its bytes in field 1).
 */
export const BUILTIN_TYPES = ['meta.Time', 'meta.MicroTime', 'meta.FieldsV1', 'intstr.IntOrString', 'resource.Quantity', 'runtime.RawExtension'] as const;

export interface FieldDef {
  readonly json: string;
  readonly num: number;
  /** A scalar, a builtin, or the qualified name of a message. */
  readonly type: string;
  readonly kind: 'scalar' | 'builtin' | 'message';
  readonly label: 'single' | 'repeated' | 'map';
  /** A Go pointer: a present zero value is kept on decode (replicas: 0, ready: false). */
  readonly pointer: boolean;
  /** Required in the OpenAPI schema (openapi-gen's rule, from types.go). */
  readonly required: boolean;
  /** An embedded Go struct: its fields sit in the parent's JSON object (`json:",inline"`). */
  readonly inline: boolean;
}

export interface MessageDef {
  readonly name: string;
  readonly fields: readonly FieldDef[];
  readonly byNum: ReadonlyMap<number, FieldDef>;
  readonly byJson: ReadonlyMap<string, FieldDef>;
}

const TABLES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  core: CORE, apps: APPS, batch: BATCH, networking: NETWORKING, discovery: DISCOVERY, autoscaling: AUTOSCALING, meta: META, runtime: RUNTIME,
};
const SCALARS = new Set<string>(['string', 'int32', 'int64', 'bool', 'bytes', 'double', 'float']);
const BUILTINS = new Set<string>(BUILTIN_TYPES);

const cache = new Map<string, MessageDef>();

function parseField(pkg: string, spec: string): FieldDef {
  const m = /^(\w+)=(\d+):(\[\]|\{\}|\*|~)?([\w.]+)(!)?$/.exec(spec);
  if (!m) throw new Error(`bad field spec ${pkg}: ${spec}`);
  const [, json, num, pre, t, req] = m as unknown as [string, string, string, string | undefined, string, string | undefined];
  const type = SCALARS.has(t) || t.includes('.') ? t : `${pkg}.${t}`;
  const kind = SCALARS.has(type) ? 'scalar' : BUILTINS.has(type) ? 'builtin' : 'message';
  return { json, num: Number(num), type, kind, label: pre === '[]' ? 'repeated' : pre === '{}' ? 'map' : 'single', pointer: pre === '*', required: req === '!', inline: pre === '~' };
}

/** The message named `pkg.Name`, or undefined. */
export function messageDef(name: string): MessageDef | undefined {
  const hit = cache.get(name);
  if (hit) return hit;
  const dot = name.indexOf('.');
  const pkg = name.slice(0, dot);
  const spec = TABLES[pkg]?.[name.slice(dot + 1)];
  if (spec === undefined) return undefined;
  const fields = spec.split(' ').filter((s) => s !== '').map((s) => parseField(pkg, s));
  fields.sort((a, b) => a.num - b.num); // Go marshals in field-number order
  const def: MessageDef = { name, fields, byNum: new Map(fields.map((f) => [f.num, f])), byJson: new Map(fields.map((f) => [f.json, f])) };
  cache.set(name, def);
  return def;
}

/** Every message name in the catalogue (for tests that walk them all). */
export function allMessageNames(): string[] {
  return Object.entries(TABLES).flatMap(([pkg, t]) => Object.keys(t).map((n) => `${pkg}.${n}`));
}

/** apiVersion -> table package, for the kinds served. */
const GROUP_PACKAGES: Readonly<Record<string, string>> = {
  v1: 'core', 'apps/v1': 'apps', 'batch/v1': 'batch', 'networking.k8s.io/v1': 'networking',
  'discovery.k8s.io/v1': 'discovery', 'autoscaling/v1': 'autoscaling',
};
/** Kinds every group-version carries (kube-apiserver registers them with each; metav1.AddToGroupVersion). */
const META_KINDS: Readonly<Record<string, string>> = { Status: 'meta.Status', DeleteOptions: 'meta.DeleteOptions', WatchEvent: 'meta.WatchEvent' };

/** The message of a top-level object with this apiVersion and kind, or undefined when not registered. */
export function messageForKind(apiVersion: string, kind: string): MessageDef | undefined {
  if (!/^[A-Z]\w*$/.test(kind)) return undefined;
  const meta = META_KINDS[kind];
  if (meta !== undefined && (apiVersion === 'v1' || apiVersion === 'meta.k8s.io/v1' || GROUP_PACKAGES[apiVersion] !== undefined)) return messageDef(meta);
  const pkg = GROUP_PACKAGES[apiVersion];
  if (pkg === undefined) return undefined;
  const def = messageDef(`${pkg}.${kind}`);
  // Only objects with metadata are kinds; PodSpec and friends are not.
  return def && def.byNum.get(1)?.json === 'metadata' ? def : undefined;
}

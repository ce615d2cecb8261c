/**
 * OpenAPI schemas of the served kinds, derived from the same field tables the
 * protobuf codec walks (../protobuf/schemas), so the two cannot disagree about a
 * field; descriptions and enums come from descriptions.ts. Component names are
 * kube-apiserver's (`io.k8s.api.core.v1.Pod`), because `kubectl explain` prints the
 * last part of a `$ref` as the field's type (`<[]ContainerPort>`).
 */
import type { FieldDef, MessageDef } from '../protobuf/schema.ts';
import { messageDef } from '../protobuf/schema.ts';
import { DESCRIPTIONS, ENUMS, describe } from './descriptions.ts';

/** Table package -> the Go package path kube-apiserver's definition names start with. */
const PACKAGE_PREFIX: Readonly<Record<string, string>> = {
  core: 'io.k8s.api.core.v1', apps: 'io.k8s.api.apps.v1', batch: 'io.k8s.api.batch.v1', networking: 'io.k8s.api.networking.v1',
  discovery: 'io.k8s.api.discovery.v1', autoscaling: 'io.k8s.api.autoscaling.v1', meta: 'io.k8s.apimachinery.pkg.apis.meta.v1',
  runtime: 'io.k8s.apimachinery.pkg.runtime', intstr: 'io.k8s.apimachinery.pkg.util.intstr', resource: 'io.k8s.apimachinery.pkg.api.resource',
};

export function definitionName(qualified: string): string {
  const dot = qualified.indexOf('.');
  return `${PACKAGE_PREFIX[qualified.slice(0, dot)] ?? qualified.slice(0, dot)}.${qualified.slice(dot + 1)}`;
}

export type Schema = Record<string, unknown>;

/** The types whose JSON is not their fields (see ../protobuf/schema.ts BUILTIN_TYPES), as kube-apiserver publishes them. */
const BUILTIN_SCHEMAS: Readonly<Record<string, Schema>> = {
  'meta.Time': { type: 'string', format: 'date-time' },
  'meta.MicroTime': { type: 'string', format: 'date-time' },
  'meta.FieldsV1': { type: 'object' },
  'runtime.RawExtension': { type: 'object' },
  'intstr.IntOrString': { 'x-kubernetes-int-or-string': true, format: 'int-or-string' },
  'resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

const SCALAR_SCHEMAS: Readonly<Record<string, Schema>> = {
  string: { type: 'string' }, int32: { type: 'integer', format: 'int32' }, int64: { type: 'integer', format: 'int64' },
  bool: { type: 'boolean' }, bytes: { type: 'string', format: 'byte' }, double: { type: 'number', format: 'double' }, float: { type: 'number', format: 'float' },
};

/** How a schema refers to another: v3 `#/components/schemas/X`, v2 `#/definitions/X`. */
export type RefStyle = 'v3' | 'v2';

function ref(name: string, style: RefStyle): Schema {
  return { $ref: `${style === 'v3' ? '#/components/schemas/' : '#/definitions/'}${definitionName(name)}` };
}

function valueSchema(f: FieldDef, style: RefStyle): Schema {
  if (f.kind === 'scalar') return { ...SCALAR_SCHEMAS[f.type] };
  // v3 wraps a ref in allOf so the property can carry its own description beside it.
  return style === 'v3' ? { allOf: [ref(f.type, style)] } : ref(f.type, style);
}

/** A kind or a list: its message starts with metadata (ObjectMeta or ListMeta). */
const isTopLevel = (def: MessageDef): boolean => def.byNum.get(1)?.json === 'metadata';

function propertySchema(owner: MessageDef, f: FieldDef, style: RefStyle): Schema {
  const value = valueSchema(f, style);
  const s: Schema = f.label === 'repeated' ? { type: 'array', items: value } : f.label === 'map' ? { type: 'object', additionalProperties: value } : value;
  const d = describe(owner.name, f.json, isTopLevel(owner));
  if (d !== undefined) s['description'] = d;
  const e = ENUMS[`${owner.name}.${f.json}`];
  if (e !== undefined) {
    if (f.label === 'repeated') (s['items'] as Schema)['enum'] = e;
    else s['enum'] = e;
  }
  return s;
}

/** The properties and required list of a message, with embedded structs' fields merged in. */
function collect(def: MessageDef, style: RefStyle, props: Record<string, Schema>, required: string[]): void {
  for (const f of def.fields) {
    if (f.inline) {
      const sub = messageDef(f.type);
      if (sub) collect(sub, style, props, required);
      continue;
    }
    props[f.json] = propertySchema(def, f, style);
    if (f.required) required.push(f.json);
  }
}

interface Gvk { readonly group: string; readonly version: string; readonly kind: string }

/** One definition: a message's object schema, or a builtin's. */
export function messageSchema(name: string, style: RefStyle, gvk?: Gvk): Schema | undefined {
  const builtin = BUILTIN_SCHEMAS[name];
  let desc = DESCRIPTIONS[name];
  if (builtin) return desc === undefined ? { ...builtin } : { description: desc, ...builtin };
  const def = messageDef(name);
  if (!def) return undefined;
  const props: Record<string, Schema> = {};
  const required: string[] = [];
  if (isTopLevel(def)) {
    // TypeMeta is inline in every top-level object and not part of its message.
    props['apiVersion'] = { type: 'string', description: describe(name, 'apiVersion', true) };
    props['kind'] = { type: 'string', description: describe(name, 'kind', true) };
    const item = def.byJson.get('items');
    if (desc === undefined && item?.kind === 'message') desc = `A list of ${item.type.slice(item.type.indexOf('.') + 1)} objects.`;
  }
  collect(def, style, props, required);
  const s: Schema = {};
  if (desc !== undefined) s['description'] = desc;
  s['type'] = 'object';
  s['properties'] = Object.fromEntries(Object.keys(props).sort().map((k) => [k, props[k]]));
  if (required.length > 0) s['required'] = required.sort();
  if (gvk) s['x-kubernetes-group-version-kind'] = [gvk];
  return s;
}

/** Every message and builtin `roots` reach, by qualified name. */
export function closure(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const walk = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const f of messageDef(name)?.fields ?? []) if (f.kind !== 'scalar') walk(f.type);
  };
  roots.forEach(walk);
  return [...seen].sort();
}

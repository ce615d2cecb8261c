/**
 * fast-check arbitraries of objects shaped by the message tables, for tests: `exact`
 * objects survive encode/decode unchanged (non-pointer scalars are never their zero
 * value, times carry their type's precision); `wild` objects are well-typed but
 * otherwise anything (zeros, negative ports, odd strings), for probing the server.
 */
import fc from 'fast-check';
import type { FieldDef } from './schema.ts';
import { messageDef } from './schema.ts';
import { formatTime } from './codec.ts';

export type Mode = 'exact' | 'wild';

const MAX_DEPTH = 4;
const text = fc.string({ unit: 'grapheme', maxLength: 8 });
const wildText = fc.oneof(fc.constantFrom('', 'a', 'web', 'TCP', 'UDP', 'http', '10.0.0.1', '-1', 'None', 'ClusterIP', 'NodePort', 'app'), fc.string({ maxLength: 6 }));
const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const seconds = fc.integer({ min: 1, max: 253402300799 });

/** Objects of message `name` (qualified, e.g. `core.Pod`), embedded structs' fields merged in as JSON has them. */
export function arbMessage(name: string, mode: Mode, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const def = messageDef(name);
  if (!def) throw new Error(`no message ${name}`);
  if (depth >= MAX_DEPTH) return fc.constant({});
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  const inline: fc.Arbitrary<Record<string, unknown>>[] = [];
  for (const f of def.fields) {
    if (f.inline) inline.push(arbMessage(f.type, mode, depth + 1));
    else rec[f.json] = arbField(f, mode, depth);
  }
  return fc.tuple(fc.record(rec, { requiredKeys: [], noNullPrototype: true }), ...inline).map((parts) => Object.assign({}, ...parts) as Record<string, unknown>);
}

function arbField(f: FieldDef, mode: Mode, depth: number): fc.Arbitrary<unknown> {
  const one = arbValue(f, mode, depth, mode === 'wild' || f.label !== 'single' || f.pointer);
  // An empty list or map is not on the wire: exact objects have at least one element.
  const min = mode === 'exact' ? 1 : 0;
  if (f.label === 'repeated') return fc.array(one, { minLength: min, maxLength: 2 });
  if (f.label === 'map') return fc.dictionary(mode === 'exact' ? text : wildText, one, { minKeys: min, maxKeys: 2, noNullPrototype: true });
  return one;
}

function arbValue(f: FieldDef, mode: Mode, depth: number, zeroOk: boolean): fc.Arbitrary<unknown> {
  const wild = mode === 'wild';
  switch (f.type) {
    case 'string': return wild ? wildText : zeroOk ? text : fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 });
    case 'int32': return (wild ? fc.oneof(fc.integer({ min: -3, max: 70000 }), int32) : int32).filter((n) => zeroOk || n !== 0);
    case 'int64': return (wild ? fc.oneof(fc.integer({ min: -3, max: 70000 }), fc.maxSafeInteger()) : fc.maxSafeInteger()).filter((n) => zeroOk || n !== 0);
    case 'bool': return zeroOk ? fc.boolean() : fc.constant(true);
    case 'bytes': return fc.uint8Array({ minLength: zeroOk ? 0 : 1, maxLength: 6 }).map((b) => Buffer.from(b).toString('base64'));
    case 'meta.Time': return seconds.map((s) => formatTime(s, 0, false));
    case 'meta.MicroTime': return fc.tuple(seconds, fc.integer({ min: 0, max: 999_999 })).map(([s, us]) => formatTime(s, us * 1000, true));
    case 'intstr.IntOrString': return fc.oneof(wild ? fc.integer({ min: -5, max: 70000 }) : int32, wild ? wildText : text);
    case 'resource.Quantity': return fc.constantFrom('1', '100m', '2Gi', '0.5', '1e3', ...(wild ? ['x', ''] : []));
    case 'meta.FieldsV1': return fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant({})), { maxKeys: 3, noNullPrototype: true });
    default: return arbMessage(f.type, mode, depth + 1);
  }
}

/**
 * core/v1 ConfigMap (pkg/registry/core/configmap): keys as IsConfigMapKey allows them,
 * a key in both data and binaryData refused, 1 MiB in total, and nothing changes once
 * `immutable` is set. Stored as given.
 */
import type { ConfigMap, FieldError } from '../api/index.ts';
import { forbidden, invalid, tooLong, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, MAP, mergeTop, topLevel } from './schema.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

/** core.MaxSecretSize: the data of a ConfigMap or Secret together. */
export const MAX_DATA_SIZE = 1024 * 1024;

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** validation.IsConfigMapKey: problems with a data key, empty when valid. */
export function configMapKeyErrors(key: string): string[] {
  const out: string[] = [];
  if (key.length > 253) out.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) out.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  if (key === '.') out.push("must not be '.'");
  else if (key === '..') out.push("must not be '..'");
  else if (key.startsWith('..')) out.push("must not start with '..'");
  return out;
}

/** Decoded length of a base64 value (Go holds the bytes). */
export function base64Size(v: string): number {
  const clean = v.replace(/[\r\n]/g, '');
  const pad = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((clean.length * 3) / 4) - pad);
}

/** Keys of a data map (`data`, `binaryData`) checked as IsConfigMapKey. */
export function validateDataKeys(m: Record<string, unknown> | undefined, path: string, errs: FieldError[]): void {
  for (const k of Object.keys(m ?? {})) for (const msg of configMapKeyErrors(k)) errs.push(invalid(`${path}[${k}]`, k, msg));
}

/** Nothing in `fields` may change once the stored object is immutable, nor may it become mutable again. */
export function validateImmutable(next: { immutable?: boolean } & Record<string, unknown>, old: { immutable?: boolean } & Record<string, unknown>, fields: readonly string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  for (const f of fields) if (JSON.stringify(next[f] ?? {}) !== JSON.stringify(old[f] ?? {})) errs.push(forbidden(f, 'field is immutable when `immutable` is set'));
  if (next.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  return errs;
}

export const configMap = defineKind<ConfigMap>({
  info: { group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', listKind: 'ConfigMapList', namespaced: true, shortNames: ['cm'], categories: [], subresources: [], hasStatus: false },
  fields: topLevel({ data: MAP, binaryData: MAP, immutable: ANY }),
  merge: mergeTop(),
  validate(cm) {
    const errs = validateObjectMeta(cm.metadata, true, 'dns1123-subdomain');
    validateDataKeys(cm.data, 'data', errs);
    validateDataKeys(cm.binaryData, 'binaryData', errs);
    let size = 0;
    for (const [k, v] of Object.entries(cm.data ?? {})) size += k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) {
      if (cm.data && Object.prototype.hasOwnProperty.call(cm.data, k)) errs.push(invalid(`binaryData[${k}]`, k, 'duplicate of key present in data'));
      size += k.length + (typeof v === 'string' ? base64Size(v) : 0);
    }
    if (size > MAX_DATA_SIZE) errs.push(tooLong('data', `must have at most ${MAX_DATA_SIZE} bytes`));
    return errs;
  },
  validateUpdate: (cm, old) => validateImmutable(cm as never, old as never, ['data', 'binaryData']),
  table: {
    columns: [NAME_COLUMN, ['Data', 'string', 0, 'Data contains the configuration data.'], AGE_COLUMN],
    cells: (cm, now) => [cm.metadata.name ?? '', Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(cm, now)],
  },
});

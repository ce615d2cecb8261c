/**
 * core/v1 Secret (pkg/registry/core/secret): stored as given (no encryption at rest);
 * `stringData` merged into `data` as the v1 conversion does (its values win), `data`
 * base64 checked by the decoder's type checks, keys as IsConfigMapKey, 1 MiB in total,
 * the keys each well-known `type` requires, `type` immutable, nothing changes once
 * `immutable` is set; the `type` field selector.
 */
import type { FieldError, Secret } from '../api/index.ts';
import { invalid, required, tooLong, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, MAP, mergeTop, topLevel } from './schema.ts';
import { base64Size, MAX_DATA_SIZE, validateDataKeys, validateImmutable } from './configmap.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

/** The data keys each well-known Secret type must carry (ValidateSecret). */
const REQUIRED_KEYS: Readonly<Record<string, readonly string[]>> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

export function validateSecret(s: Secret): FieldError[] {
  const errs = validateObjectMeta(s.metadata, true, 'dns1123-subdomain');
  const data = s.data ?? {};
  validateDataKeys(data, 'data', errs);
  let size = 0;
  for (const [k, v] of Object.entries(data)) size += k.length + (typeof v === 'string' ? base64Size(v) : 0);
  if (size > MAX_DATA_SIZE) errs.push(tooLong('data', `must have at most ${MAX_DATA_SIZE} bytes`));
  const type = s.type ?? 'Opaque';
  for (const k of REQUIRED_KEYS[type] ?? []) if (!Object.prototype.hasOwnProperty.call(data, k)) errs.push(required(`data[${k}]`));
  if (type === 'kubernetes.io/service-account-token' && !s.metadata.annotations?.['kubernetes.io/service-account.name']) {
    errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
  }
  if (type === 'kubernetes.io/basic-auth' && data['username'] === undefined && data['password'] === undefined) {
    errs.push(required('data[username]'), required('data[password]'));
  }
  return errs;
}

export const secret = defineKind<Secret>({
  info: { group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', listKind: 'SecretList', namespaced: true, shortNames: [], categories: [], subresources: [], hasStatus: false },
  fields: topLevel({ data: MAP, stringData: MAP, type: ANY, immutable: ANY }),
  merge: mergeTop(),
  convert(s) {
    // Convert_v1_Secret_To_core_Secret: stringData overwrites data, then is dropped.
    if (s.stringData && typeof s.stringData === 'object') {
      s.data = { ...(s.data ?? {}) };
      for (const [k, v] of Object.entries(s.stringData)) if (typeof v === 'string') s.data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    delete s.stringData;
  },
  defaults(s) { s.type ??= 'Opaque'; },
  validate: validateSecret,
  validateUpdate(s, old) {
    const errs = validateImmutable(s as never, old as never, ['data']);
    if ((s.type ?? 'Opaque') !== (old.type ?? 'Opaque')) errs.push(invalid('type', s.type, 'field is immutable'));
    return errs;
  },
  fieldSelectors: { type: (s) => s.type ?? '' },
  table: {
    columns: [NAME_COLUMN, ['Type', 'string', 0, 'The type of the secret'], ['Data', 'string', 0, 'The number of entries in data'], AGE_COLUMN],
    cells: (s, now) => [s.metadata.name ?? '', s.type ?? 'Opaque', Object.keys(s.data ?? {}).length, age(s, now)],
  },
});

/**
 * core/v1 ServiceAccount (pkg/registry/core/serviceaccount): names and the printer's
 * columns. The `default` ServiceAccount of each namespace comes from the
 * serviceaccounts controller (control/controllers). Not modelled: tokens (the
 * TokenRequest subresource, token Secrets), the emulator has no authorization to use them.
 */
import type { ServiceAccount } from '../api/index.ts';
import { validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, fields, mergeTop, topLevel } from './schema.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

export const serviceAccount = defineKind<ServiceAccount>({
  info: { group: '', version: 'v1', resource: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', listKind: 'ServiceAccountList', namespaced: true, shortNames: ['sa'], categories: [], subresources: [], hasStatus: false },
  fields: topLevel({
    secrets: [fields('kind namespace name uid apiVersion resourceVersion fieldPath')],
    imagePullSecrets: [fields('name')],
    automountServiceAccountToken: ANY,
  }),
  merge: mergeTop({ secrets: { mergeKey: 'name' }, imagePullSecrets: { mergeKey: 'name' } }),
  validate: (sa) => validateObjectMeta(sa.metadata, true, 'dns1123-subdomain'),
  table: {
    columns: [NAME_COLUMN, ['Secrets', 'string', 0, 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'], AGE_COLUMN],
    cells: (sa, now) => [sa.metadata.name ?? '', (sa.secrets ?? []).length, age(sa, now)],
  },
});

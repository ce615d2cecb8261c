/** core/v1 Endpoints: address and port validation, the printer's columns (at most three endpoints, then "+ N more..."). */
import type { Endpoints } from '../api/index.ts';
import { invalid, isValidIP, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { fields, mergeTop, topLevel } from './schema.ts';
import { validatePort } from './pod-template.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

function formatEndpoints(ep: Endpoints): string {
  const list: string[] = [];
  let total = 0;
  for (const s of ep.subsets ?? []) {
    const ports = s.ports && s.ports.length ? s.ports : [undefined];
    for (const a of s.addresses ?? []) for (const p of ports) {
      total++;
      if (list.length < 3) list.push(p ? `${a.ip}:${p.port}` : a.ip);
    }
  }
  if (total === 0) return '<none>';
  return total > 3 ? `${list.join(',')} + ${total - 3} more...` : list.join(',');
}

export const endpoints = defineKind<Endpoints>({
  info: { group: '', version: 'v1', resource: 'endpoints', singular: 'endpoints', kind: 'Endpoints', listKind: 'EndpointsList', namespaced: true, shortNames: ['ep'], categories: [], subresources: [], hasStatus: false },
  fields: topLevel({ subsets: [fields('addresses notReadyAddresses ports')] }),
  merge: mergeTop(),
  defaults(ep) {
    if (Array.isArray(ep.subsets)) for (const s of ep.subsets) if (s && Array.isArray(s.ports)) for (const p of s.ports) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  },
  validate(ep) {
    const errs = validateObjectMeta(ep.metadata, true, 'dns1123-subdomain');
    (ep.subsets ?? []).forEach((s, i) => {
      [...(s.addresses ?? []).map((a) => ['addresses', a] as const), ...(s.notReadyAddresses ?? []).map((a) => ['notReadyAddresses', a] as const)].forEach(([kind, a], j) => {
        if (!a || !isValidIP(a.ip)) errs.push(invalid(`subsets[${i}].${kind}[${j}].ip`, a?.ip, 'must be a valid IP address'));
      });
      (s.ports ?? []).forEach((p, j) => validatePort(p.port, `subsets[${i}].ports[${j}].port`, errs));
    });
    return errs;
  },
  table: {
    columns: [NAME_COLUMN, ['Endpoints', 'string', 0, 'Endpoints of the service'], AGE_COLUMN],
    cells: (ep, now) => [ep.metadata.name ?? '', formatEndpoints(ep), age(ep, now)],
  },
});

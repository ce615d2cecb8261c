/** discovery.k8s.io/v1 EndpointSlice: address type and address validation, the printer's columns. */
import type { EndpointSlice } from '../api/index.ts';
import { invalid, isValidIP, notSupported, required, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, fields, mergeTop, topLevel } from './schema.ts';
import { validatePort } from './pod-template.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

export const endpointSlice = defineKind<EndpointSlice>({
  info: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', listKind: 'EndpointSliceList', namespaced: true, shortNames: [], categories: [], subresources: [], hasStatus: false },
  fields: topLevel({
    addressType: ANY, ports: ANY,
    endpoints: [fields('addresses conditions hostname targetRef nodeName zone hints deprecatedTopology')],
  }),
  merge: mergeTop(),
  defaults(s) {
    if (Array.isArray(s.ports)) for (const p of s.ports) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  },
  validate(s) {
    const errs = validateObjectMeta(s.metadata, true, 'dns1123-subdomain');
    if (!['IPv4', 'IPv6', 'FQDN'].includes(s.addressType)) errs.push(notSupported('addressType', s.addressType, ['FQDN', 'IPv4', 'IPv6']));
    if (!Array.isArray(s.endpoints)) errs.push(required('endpoints'));
    else s.endpoints.forEach((e, i) => {
      if (!Array.isArray(e?.addresses) || e.addresses.length === 0) errs.push(required(`endpoints[${i}].addresses`));
      else e.addresses.forEach((a, j) => {
        if (s.addressType !== 'FQDN' && !isValidIP(a)) errs.push(invalid(`endpoints[${i}].addresses[${j}]`, a, 'must be a valid IP address'));
      });
    });
    (s.ports ?? []).forEach((p, j) => { if (p.port !== undefined && p.port !== null) validatePort(p.port, `ports[${j}].port`, errs); });
    return errs;
  },
  table: {
    columns: [NAME_COLUMN, ['AddressType', 'string', 0, 'addressType specifies the type of address carried by this EndpointSlice.'], ['Ports', 'string', 0, 'ports specifies the list of network ports exposed by each endpoint in this slice.'], ['Endpoints', 'string', 0, 'endpoints is a list of unique endpoints in this slice.'], AGE_COLUMN],
    cells(s, now) {
      const ports = (s.ports ?? []).map((p) => String(p.port ?? '')).join(',') || '<unset>';
      const addrs = s.endpoints.flatMap((e) => e.addresses);
      const eps = addrs.length === 0 ? '<unset>' : addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
      return [s.metadata.name ?? '', s.addressType, ports, eps, age(s, now)];
    },
  },
});

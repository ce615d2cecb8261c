/**
 * Discovery documents: legacy (`APIVersions`, `APIGroupList`, `APIResourceList`) and
 * aggregated (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`, served only when the
 * Accept header asks for exactly that, as client-go decides by the response's media type).
 */
import type { ResourceInfo } from '../api/index.ts';
import { RESOURCES, groupVersions } from '../resources/index.ts';

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUB_VERBS: Record<string, string[]> = { status: ['get', 'patch', 'update'], scale: ['get', 'patch', 'update'], binding: ['create'], finalize: ['update'], log: ['get'], exec: ['create', 'get'], attach: ['create', 'get'], portforward: ['create', 'get'] };
/** The option kinds kube-apiserver names for connect subresources. */
const CONNECT_KINDS: Record<string, string> = { exec: 'PodExecOptions', attach: 'PodAttachOptions', portforward: 'PodPortForwardOptions' };

export interface MediaType { readonly type: string; readonly params: Readonly<Record<string, string>> }

export function parseAccept(accept: string | undefined): MediaType[] {
  if (!accept) return [];
  return accept.split(',').map((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const p: Record<string, string> = {};
    for (const kv of params) {
      const i = kv.indexOf('=');
      if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
    }
    return { type: (type ?? '').toLowerCase(), params: p };
  });
}

/** 'v2', 'v2beta1' when the client asks for aggregated discovery; undefined for legacy. */
export function aggregatedVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const m of parseAccept(accept)) {
    if (m.params.g === 'apidiscovery.k8s.io' && m.params.as === 'APIGroupDiscoveryList' && (m.params.v === 'v2' || m.params.v === 'v2beta1')) return m.params.v;
  }
  return undefined;
}

export function wantsTable(accept: string | undefined): boolean {
  return parseAccept(accept).some((m) => m.params.as === 'Table' && m.params.g === 'meta.k8s.io' && (m.params.v === 'v1' || m.params.v === 'v1beta1'));
}

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function apiGroupList(): object {
  const groups = groupVersions().filter((g) => g.group !== '').map((g) => ({
    name: g.group,
    versions: [{ groupVersion: `${g.group}/${g.version}`, version: g.version }],
    preferredVersion: { groupVersion: `${g.group}/${g.version}`, version: g.version },
  }));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

function inGroup(group: string, version: string): ResourceInfo[] {
  return RESOURCES.filter((r) => r.group === group && r.version === version);
}

export function apiResourceList(group: string, version: string): object | undefined {
  const rs = inGroup(group, version);
  if (rs.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of rs) {
    const main: Record<string, unknown> = { name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: VERBS };
    if (r.shortNames.length) main.shortNames = r.shortNames;
    if (r.categories.length) main.categories = r.categories;
    resources.push(main);
    for (const s of r.subresources) {
      const sub: Record<string, unknown> = { name: `${r.resource}/${s}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: SUB_VERBS[s] };
      if (s === 'scale') Object.assign(sub, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
      if (s === 'binding') sub.kind = 'Binding';
      if (CONNECT_KINDS[s] !== undefined) sub.kind = CONNECT_KINDS[s];
      resources.push(sub);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function discoveryResources(group: string, version: string): object[] {
  return inGroup(group, version).map((r) => {
    const o: Record<string, unknown> = {
      resource: r.resource, responseKind: { group: r.group, version: r.version, kind: r.kind },
      scope: r.namespaced ? 'Namespaced' : 'Cluster', singularResource: r.singular, verbs: VERBS,
    };
    if (r.shortNames.length) o.shortNames = r.shortNames;
    if (r.categories.length) o.categories = r.categories;
    if (r.subresources.length) {
      o.subresources = r.subresources.map((s) => ({
        subresource: s,
        responseKind: s === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : s === 'binding' ? { group: '', version: 'v1', kind: 'Binding' } : { group: r.group, version: r.version, kind: CONNECT_KINDS[s] ?? r.kind },
        verbs: SUB_VERBS[s],
      }));
    }
    return o;
  });
}

/** `/api` (core: true) or `/apis` as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(core: boolean, version: 'v2' | 'v2beta1'): object {
  const items = groupVersions().filter((g) => (g.group === '') === core).map((g) => ({
    metadata: core ? { creationTimestamp: null } : { name: g.group, creationTimestamp: null },
    versions: [{ version: g.version, resources: discoveryResources(g.group, g.version), freshness: 'Current' }],
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

/**
 * The resource table: every kind the emulated API server serves, with the names
 * discovery, URLs, storage keys and error messages use (kube-apiserver's
 * `APIResource`). One source of truth for the server, the client and the controllers.
 */

export interface ResourceInfo {
  /** API group, '' for core. */
  readonly group: string;
  readonly version: string;
  /** Plural resource name used in URLs (`pods`). */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly ('status' | 'scale' | 'binding')[];
  /** Whether writes to the main resource ignore `status` and `/status` writes ignore everything else. */
  readonly hasStatus: boolean;
}

const ALL = ['all'] as const;

export const RESOURCES: readonly ResourceInfo[] = [
  { group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', listKind: 'NamespaceList', namespaced: false, shortNames: ['ns'], categories: [], subresources: ['status'], hasStatus: true },
  { group: '', version: 'v1', resource: 'nodes', singular: 'node', kind: 'Node', listKind: 'NodeList', namespaced: false, shortNames: ['no'], categories: [], subresources: ['status'], hasStatus: true },
  { group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod', listKind: 'PodList', namespaced: true, shortNames: ['po'], categories: ALL, subresources: ['status', 'binding'], hasStatus: true },
  { group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service', listKind: 'ServiceList', namespaced: true, shortNames: ['svc'], categories: ALL, subresources: ['status'], hasStatus: true },
  { group: '', version: 'v1', resource: 'endpoints', singular: 'endpoints', kind: 'Endpoints', listKind: 'EndpointsList', namespaced: true, shortNames: ['ep'], categories: [], subresources: [], hasStatus: false },
  { group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', listKind: 'EventList', namespaced: true, shortNames: ['ev'], categories: [], subresources: [], hasStatus: false },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', listKind: 'EndpointSliceList', namespaced: true, shortNames: [], categories: [], subresources: [], hasStatus: false },
  { group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment', listKind: 'DeploymentList', namespaced: true, shortNames: ['deploy'], categories: ALL, subresources: ['status', 'scale'], hasStatus: true },
  { group: 'apps', version: 'v1', resource: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', listKind: 'ReplicaSetList', namespaced: true, shortNames: ['rs'], categories: ALL, subresources: ['status', 'scale'], hasStatus: true },
];

export function apiVersionOf(r: ResourceInfo): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** `deployments.apps`, `pods`: the qualified resource kube-apiserver puts in messages. */
export function qualifiedResource(r: ResourceInfo): string {
  return r.group === '' ? r.resource : `${r.resource}.${r.group}`;
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

export function resourceByName(resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.resource === resource);
}

/** The group-versions served, core first. */
export function groupVersions(): { group: string; version: string }[] {
  const out: { group: string; version: string }[] = [];
  for (const r of RESOURCES) {
    if (!out.some((g) => g.group === r.group && g.version === r.version)) out.push({ group: r.group, version: r.version });
  }
  return out;
}

/** URL path of a collection or object (`/apis/apps/v1/namespaces/default/deployments/web`). */
export function resourcePath(r: ResourceInfo, namespace?: string, name?: string, subresource?: string): string {
  let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (r.namespaced && namespace !== undefined) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.resource}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}

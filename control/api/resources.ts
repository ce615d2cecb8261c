/**
 * The names of a served resource (kube-apiserver's `APIResource`) and the URLs and
 * messages made from them. The table of served kinds is `RESOURCES` in
 * control/resources, where each kind module declares its names.
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
  /** Stored (status, scale, binding, finalize) and connect (log, exec, attach, portforward) subresources. */
  readonly subresources: readonly ('status' | 'scale' | 'binding' | 'finalize' | 'log' | 'exec' | 'attach' | 'portforward')[];
  /** Whether writes to the main resource ignore `status` and `/status` writes ignore everything else. */
  readonly hasStatus: boolean;
}

export function apiVersionOf(r: ResourceInfo): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** `deployments.apps`, `pods`: the qualified resource kube-apiserver puts in messages. */
export function qualifiedResource(r: ResourceInfo): string {
  return r.group === '' ? r.resource : `${r.resource}.${r.group}`;
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

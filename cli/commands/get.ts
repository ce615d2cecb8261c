/**
 * `netsim get RESOURCE [NAME]` (any kind control/resources serves, by plural, singular or short name):
 * the objects of the emulated cluster (or of a running `netsim up` with --server, asked
 * for the API server's Table as kubectl asks), printed with the API server's own Table
 * columns the way kubectl prints them, or as JSON or YAML.
 */
import { stringify } from 'yaml';
import type { KubeObject, ResourceInfo, Table } from '../../control/api/index.ts';
import { resourcePath } from '../../control/api/index.ts';
import { RESOURCES, resourceByName, toTable } from '../../control/resources/index.ts';
import { CliError } from '../cli-error.ts';
import { remoteFailure, remoteJson, remoteRequest } from '../remote.ts';
import type { KubeconfigEntry } from '../up/kubeconfig.ts';

export type GetOutput = 'table' | 'wide' | 'json' | 'yaml';
export interface GetOptions {
  readonly output: GetOutput;
  readonly allNamespaces: boolean;
  readonly namespace: string;
  readonly name?: string;
}

/** The plural resource name of a plural, singular or short name (as kubectl's RESTMapper resolves them). */
export function resolveResource(name: string): string {
  const r = RESOURCES.find((x) => x.resource === name || x.singular === name || x.shortNames.includes(name) || x.resource === `${name}s`);
  if (r === undefined) throw new CliError('NETSIM_ERR_RESOURCE', `the server doesn't have a resource type "${name}"`);
  return r.resource;
}

/** A Table as kubectl prints it: upper-case headers, columns padded to the widest cell plus 3 spaces. */
export function renderTable(t: Table, o: { wide: boolean; namespaceColumn: boolean }): string {
  const cols = t.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => o.wide || c.priority === 0);
  const header = [...(o.namespaceColumn ? ['NAMESPACE'] : []), ...cols.map(({ c }) => c.name.toUpperCase())];
  const rows = t.rows.map((r) => {
    const ns = (r.object as KubeObject | undefined)?.metadata?.namespace ?? '';
    return [...(o.namespaceColumn ? [ns] : []), ...cols.map(({ i }) => {
      const v = r.cells[i];
      return v === undefined || v === null || v === '' ? (typeof v === 'string' ? '' : '<none>') : String(v);
    })];
  });
  if (rows.length === 0) return 'No resources found\n';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

function resourceInfo(resource: string): ResourceInfo {
  const r = resourceByName(resource);
  if (r === undefined) throw new CliError('NETSIM_ERR_RESOURCE', `the server doesn't have a resource type "${resource}"`);
  return r;
}

const notFound = (r: ResourceInfo, name: string): CliError => new CliError('NETSIM_ERR_RESOURCE', `${r.resource}${r.group !== '' ? `.${r.group}` : ''} "${name}" not found`);

/** One object as it is printed alone, or a List of objects, each with its apiVersion and kind (as kubectl fills them in). */
function renderObjects(r: ResourceInfo, items: readonly KubeObject[], single: boolean, output: 'json' | 'yaml'): string {
  const apiVersion = r.group === '' ? r.version : `${r.group}/${r.version}`;
  const full = items.map((x) => ({ apiVersion, kind: r.kind, ...x }));
  const doc = single ? full[0] : { apiVersion: 'v1', kind: 'List', items: full };
  return output === 'json' ? JSON.stringify(doc, null, 2) + '\n' : stringify(doc);
}

export function renderGet(resource: string, items: readonly KubeObject[], now: Date, o: GetOptions): string {
  const r = resourceInfo(resource);
  const shown = items.filter((x) => (!r.namespaced || o.allNamespaces || (x.metadata?.namespace ?? 'default') === o.namespace) && (o.name === undefined || x.metadata?.name === o.name));
  if (o.name !== undefined && shown.length === 0) throw notFound(r, o.name);
  if (o.output === 'json' || o.output === 'yaml') return renderObjects(r, shown, o.name !== undefined, o.output);
  const t = toTable(r, shown, now, {}, 'Metadata');
  return renderTable(t, { wide: o.output === 'wide', namespaceColumn: r.namespaced && o.allNamespaces });
}

/** The same from a running `netsim up`: a Table for the table outputs, the objects for json and yaml. */
export async function getRemoteCommand(remote: KubeconfigEntry, resource: string, o: GetOptions, print: (s: string) => void): Promise<number> {
  const r = resourceInfo(resource);
  const table = o.output === 'table' || o.output === 'wide';
  const path = resourcePath(r, r.namespaced && !(o.allNamespaces && o.name === undefined) ? o.namespace : undefined, o.name) + (table ? '?includeObject=Metadata' : '');
  const res = await remoteRequest(remote, 'GET', path, { accept: table ? 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' : 'application/json' });
  if (res.status === 404 && o.name !== undefined) throw notFound(r, o.name);
  if (res.status !== 200) throw remoteFailure(remote, res);
  const body = remoteJson<Table & { items?: KubeObject[] }>(remote, res);
  if (table) print(renderTable(body, { wide: o.output === 'wide', namespaceColumn: r.namespaced && o.allNamespaces && o.name === undefined }));
  else print(renderObjects(r, o.name !== undefined ? [body as unknown as KubeObject] : body.items ?? [], o.name !== undefined, o.output as 'json' | 'yaml'));
  return 0;
}

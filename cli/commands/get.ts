/**
 * `netsim get RESOURCE` (any kind control/resources serves, by plural, singular or short name):
 * the objects of the emulated cluster (or of a running `netsim up` with --server),
 * printed with the API server's own Table columns, the way kubectl prints them.
 */
import type { KubeObject, Table } from '../../control/api/index.ts';
import { RESOURCES, resourceByName, toTable } from '../../control/resources/index.ts';
import { CliError } from '../cli-error.ts';

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

export function renderGet(resource: string, items: readonly KubeObject[], now: Date, o: { output: 'table' | 'wide' | 'json'; allNamespaces: boolean; namespace: string }): string {
  const r = resourceByName(resource);
  if (r === undefined) throw new CliError('NETSIM_ERR_RESOURCE', `the server doesn't have a resource type "${resource}"`);
  const shown = items.filter((x) => !r.namespaced || o.allNamespaces || (x.metadata?.namespace ?? 'default') === o.namespace);
  if (o.output === 'json') return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: shown }, null, 2) + '\n';
  const t = toTable(r, shown, now, {}, 'Metadata');
  return renderTable(t, { wide: o.output === 'wide', namespaceColumn: r.namespaced && o.allNamespaces });
}

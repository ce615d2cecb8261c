/**
 * `meta.k8s.io/v1` Table rendering (kube-apiserver's TableConvertor over the printers of
 * pkg/printers/internalversion/printers.go): the generic part. Each kind module declares
 * its columns and cells; kubectl prints priority-0 columns, and priority-1 ones with `-o wide`.
 */
import type { KubeObject, Table, TableColumnDefinition, TableRow } from '../api/index.ts';
import type { Column, TableSpec } from './strategy.ts';

export const NAME_COLUMN: Column = ['Name', 'string', 0, 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names', 'name'];
export const AGE_COLUMN: Column = ['Age', 'string', 0, 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata'];

/** The default table (DefaultTableConvertor): Name, Age. */
export const DEFAULT_TABLE: TableSpec<KubeObject> = {
  columns: [NAME_COLUMN, AGE_COLUMN],
  cells: (obj, now) => [obj.metadata?.name ?? '', age(obj, now)],
};

export function columnDefinitions(spec: TableSpec<KubeObject>): TableColumnDefinition[] {
  return spec.columns.map(([name, type, priority, description, format]) => ({ name, type, format: format ?? '', description, priority }));
}

/** duration.HumanDuration as kubectl prints ages: 45s, 5m10s, 3h4m, 2d5h, 400d. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

/** The Age cell: time since creationTimestamp. */
export function age(obj: { readonly metadata?: { readonly creationTimestamp?: string } }, now: Date): string {
  const t = obj.metadata?.creationTimestamp;
  if (!t) return '<unknown>';
  return humanDuration(now.getTime() - Date.parse(t));
}

export function tableRow(spec: TableSpec<KubeObject>, obj: KubeObject, now: Date, includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata'): TableRow {
  const row: TableRow = { cells: spec.cells(obj, now) };
  if (includeObject === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} };
  else if (includeObject === 'Object') row.object = obj;
  return row;
}

/** A Table of `items` of one kind; `headers` false leaves out the column definitions (watch events after the first). */
export function renderTable(spec: TableSpec<KubeObject>, kind: string, items: readonly KubeObject[], now: Date, meta: Table['metadata'], includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata', headers = true): Table {
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: meta,
    columnDefinitions: headers ? columnDefinitions(spec) : [],
    rows: items.map((o) => tableRow(spec, { ...o, kind }, now, includeObject)),
  };
}

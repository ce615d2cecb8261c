/**
 * What one resource kind owns, in the manner of kube-apiserver's registry strategies
 * (`pkg/registry/<group>/<kind>/strategy.go`: PrepareForCreate, Validate, ValidateUpdate,
 * CheckGracefulDelete; `GetAttrs` for field selectors; the storage's admission and
 * BeforeDelete hooks; the printers' TableGenerator). The generic registry in
 * control/server calls these and never branches on a kind.
 */
import type { FieldError, KubeObject, ResourceInfo, TableColumnDefinition } from '../api/index.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { FieldSchema, SmpSchema } from './schema.ts';

/** Server-wide settings strategies read (kube-apiserver flags). */
export interface ServerConfig {
  /** --service-cluster-ip-range (IPv4). */
  readonly serviceCIDR: string;
  /** --service-node-port-range as base and size. */
  readonly nodePortBase: number;
  readonly nodePortSize: number;
}

/** A column of the kind's Table: name, type, priority (1: `-o wide` only), description, format. */
export type Column = readonly [name: string, type: TableColumnDefinition['type'], priority: number, description: string, format?: string];

export interface TableSpec<T> {
  readonly columns: readonly Column[];
  /** One cell per column, in order. */
  cells(obj: T, now: Date): unknown[];
}

/** What admission can reach: the store, the server's settings and this kind's keys. */
export interface AdmissionContext {
  readonly store: ObjectStore;
  readonly config: ServerConfig;
  /** Storage prefix of this kind across namespaces (`/registry/services/`). */
  readonly prefix: string;
  key(namespace: string | undefined, name: string): string;
}

export interface AdmissionResult {
  /** Field errors: the write is refused with 422 Invalid. */
  readonly errors?: readonly FieldError[];
  /** Releases what admission reserved; called once the write is stored or abandoned. */
  readonly release?: () => void;
}

/** Admission that needs other objects (an allocator, an index), one instance per Registry. */
export interface Admission<T> {
  admit(obj: T, old: T | undefined, dryRun: boolean): Promise<AdmissionResult>;
  /** A write of this kind made by this Registry was stored (`obj` undefined: deleted). */
  stored?(key: string, obj: T | undefined, revision: number): void;
}

export interface KindStrategy<T = KubeObject> {
  /** Names: group, version, plural, kind, scope, short names, subresources. */
  readonly info: ResourceInfo;
  /** Known fields (fieldValidation, server-side apply). */
  readonly fields: FieldSchema;
  /** Strategic-merge keys (patch, managed fields); absent: JSON-merge semantics. */
  readonly merge?: SmpSchema;
  /** Table columns as kubectl prints them; absent: Name, Age. */
  readonly table?: TableSpec<T>;
  /**
   * Field selectors beyond `metadata.name` and `metadata.namespace` (GetAttrs /
   * the conversion's field label list): label → the object's value as a string.
   * Any other label is refused with 400, as kube-apiserver does.
   */
  readonly fieldSelectors?: Readonly<Record<string, (obj: T) => string>>;
  /**
   * Conversion from the request's versioned form, on every write after the type checks
   * and before defaults (Secret: `stringData` merged into `data`).
   */
  convert?(obj: T): void;
  /** SetDefaults_*: fill defaults in place (idempotent). */
  defaults?(obj: T): void;
  /** PrepareForCreate: what the server resets on create. Default: drop `status` when the kind has one. */
  prepareForCreate?(obj: T): void;
  /** Validate (create and update). */
  validate(obj: T, config: ServerConfig): FieldError[];
  /** ValidateUpdate: rules comparing with the stored object (immutable fields). */
  validateUpdate?(obj: T, old: T): FieldError[];
  /** Admission with state: one instance per Registry, made on first use. */
  admission?(ctx: AdmissionContext): Admission<T>;
  /** CheckGracefulDelete: seconds of graceful deletion, or undefined to remove the object at once. */
  gracefulDelete?(obj: T, gracePeriodSeconds: number | undefined): number | undefined;
  /** PrepareForUpdate: what a write to the main resource may not change (besides status), copied from the stored object. */
  prepareForUpdate?(obj: T, old: T): void;
  /**
   * PUT of a subresource other than status and scale (a namespace's `finalize`): the
   * object to store, built from the request body and the stored object.
   */
  readonly subresourceUpdates?: Readonly<Record<string, (body: T, old: T) => T>>;
  /**
   * Finalizers the kind keeps beyond metadata.finalizers (a namespace's spec.finalizers):
   * a DELETE only marks the object while any remain, and the write that removes the last
   * one deletes it.
   */
  finalizers?(obj: T): readonly string[];
  /** What a DELETE that marks the object also changes (a namespace's phase Terminating). */
  markDeleted?(obj: T): void;
  /** A DELETE of an object already marked is a Conflict with this message (the namespace's) instead of a no-op. */
  readonly deletePendingMessage?: string;
}

/** Type a kind module against its own object type, then store it with the others. */
export function defineKind<T>(s: KindStrategy<T>): KindStrategy {
  return s as unknown as KindStrategy;
}

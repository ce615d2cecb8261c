/**
 * The generic resource registry behind the HTTP routes (kube-apiserver's
 * `genericregistry.Store`): keys in the ObjectStore, object bookkeeping (uid,
 * creationTimestamp, generation, resourceVersion = modRevision), defaulting, validation,
 * admission (namespace existence, service allocation, pod binding), the status/scale
 * subresources, optimistic concurrency, dryRun, patches, and filtered watches.
 * Controllers in the same process use it directly through `RegistryClient`.
 */
import type { ObjectStore, KeyValue, StoreWatchEvent, WatchHandle } from '../store/object-store.ts';
import { StoreError } from '../store/object-store.ts';
import type {
  KubeObject, List, ResourceInfo, Scale, Pod, WatchEvent, ManagedFieldsEntry, Deployment, ReplicaSet, Binding, Status,
  FieldRequirement, ParsedLabelSelector, DeleteOptions, FieldError, StatusDetails,
} from '../api/index.ts';
import {
  apiVersionOf, forbidden, notSupported, invalidMessage, fieldErrorCauses, parseLabelSelector, parseFieldSelector, fieldValue,
  matchesLabels, SelectorError, invalid, labelSelectorStructToString, canonicalJson, safeEncode, safeDigits, fnv32a,
} from '../api/index.ts';
import type { Admission, KindStrategy, ServerConfig, SmpSchema } from '../resources/index.ts';
import { resourceByName, strategyOf } from '../resources/index.ts';
import { META_MERGE } from '../resources/schema.ts';
import { ApiError, errAlreadyExists, errBadRequest, errConflict, errExpired, errInvalid, errNamespaceTerminating, errNotFound, statusOf } from './errors.ts';
import type { Json } from './patch.ts';
import {
  applyJsonPatch, applyMergePatch, applyStrategicMergePatch, createMergePatch, deepClone, deepEqual, fieldSet, isObject,
  PatchError, removeFields, subtractFieldSets,
} from './patch.ts';
import { unknownFields } from './field-validation.ts';
import { applyConflictError, findConflicts, leafKeyPaths, removePaths, setHas, takeOwnership, valueAtKeys } from './managed-fields.ts';
import { typeErrors, typeFieldErrors } from './type-check.ts';
import { MAX_DEPTH, MAX_OBJECT_BYTES, valueDepth } from './limits.ts';

/**
 * A store write lost a race: the object changed between the read and the write. Writes
 * without a resourceVersion precondition read again and retry, as kube-apiserver's
 * GuaranteedUpdate does, so clients never see these; `conflict` is what the client gets
 * if the retries run out.
 */
class StoreRace extends Error {
  constructor(readonly conflict: ApiError) { super(conflict.message); }
}

/** Creates with `generateName` whose name is taken try this many names in all before a 409 (upstream's RetryGenerateName). */
const GENERATE_NAME_ATTEMPTS = 8;

/** How often a write retries a lost race before answering 409 (upstream retries without bound). */
const MAX_RACE_RETRIES = 1000;

/** `resourceVersion` as the storage layer parses it (a decimal revision); a 400 otherwise. */
export function parseResourceVersion(rv: string): number {
  if (!/^\d{1,15}$/.test(rv)) throw errBadRequest(`invalid resource version: resourceVersion: Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`);
  return Number(rv);
}

/** The autoscaling/v1 Scale of the scale subresource merges like any object's metadata. */
const SCALE_MERGE: SmpSchema = { fields: { metadata: META_MERGE } };

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export interface WriteOptions {
  readonly dryRun?: boolean;
  readonly fieldManager?: string;
  readonly force?: boolean;
  /** `Strict` | `Warn` | `Ignore`; absent: not checked (in-process callers such as controllers). */
  readonly fieldValidation?: string;
  /** Keys the request body repeated (found by the HTTP layer in the raw JSON). */
  readonly duplicateFields?: readonly string[];
  /** Sink for `Warning` headers (fieldValidation=Warn findings). */
  readonly warnings?: string[];
}

export interface ListQuery {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
  readonly resourceVersion?: string;
  /** `Exact` | `NotOlderThan` (with resourceVersion). */
  readonly resourceVersionMatch?: string;
  /**
   * In-process readers (the controllers' ControlApi): items are decoded once per stored
   * revision and shared between lists, deep-frozen — callers must not mutate them (copy
   * what they change, as controllers do with spreads).
   */
  readonly shared?: boolean;
}

export interface WatchQuery {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly resourceVersion?: string;
  readonly sendInitialEvents?: boolean;
}

export interface RegistryOptions {
  readonly store: ObjectStore;
  readonly clock?: () => Date;
  readonly uid?: () => string;
  /** Default 10.96.0.0/12 (kubeadm's --service-cluster-ip-range). */
  readonly serviceCIDR?: string;
  readonly nodePortRange?: { readonly base: number; readonly size: number };
  /**
   * Pods bound to a node get a deletionTimestamp on DELETE and are removed by the node
   * agent (FakeKubelet) as on a real cluster; false (default): removed at once.
   */
  readonly gracefulPodDeletion?: boolean;
}

interface Filter {
  readonly labels: ParsedLabelSelector;
  /** Each field requirement with the value getter of its label. */
  readonly fields: readonly (FieldRequirement & { readonly get: (obj: KubeObject) => string })[];
}

const META_SELECTABLE = ['metadata.name', 'metadata.namespace'];

/** Fields of a kind that a write to the main resource may not change (they belong to /status). */
function hasSpecLike(obj: KubeObject): boolean {
  return Object.keys(obj).some((k) => !['apiVersion', 'kind', 'metadata', 'status'].includes(k));
}

function specPart(obj: KubeObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) out[k] = v;
  return out;
}

const SYSTEM_META = new Set(['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']);

function unionSets(a: Record<string, Json>, b: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isObject(cur) && isObject(v) ? unionSets(cur, v) : v;
  }
  return out;
}

function stripNulls(v: Json): Json {
  if (!isObject(v)) return v;
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = stripNulls(x);
  return out;
}

export class Registry {
  /** Each kind's admission plugin, made on first use. */
  private readonly admissions = new Map<KindStrategy, Admission<KubeObject> | undefined>();
  readonly store: ObjectStore;
  readonly clock: () => Date;
  private readonly uidGen: () => string;
  readonly alloc: ServerConfig;
  readonly gracefulPodDeletion: boolean;
  private nameSeq = 0;
  /**
   * Decoded objects kept next to their stored bytes (the store's KeyValue of a revision):
   * `shared` lists decode an object once per revision, not once per list — at 150 000
   * pods every controller pass lists them all. Frozen, so a caller that mutates one fails
   * loudly instead of corrupting every other reader's copy.
   */
  private readonly decodedCache = new WeakMap<KeyValue, KubeObject>();
  /** Per store event: decoded objects and WatchEvents shared by `shared` watchers. */
  private readonly watchCache = new WeakMap<StoreWatchEvent, { kv?: KubeObject; prevKv?: KubeObject; ADDED?: WatchEvent; MODIFIED?: WatchEvent; DELETED?: WatchEvent }>();

  constructor(opts: RegistryOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? (() => new Date());
    this.uidGen = opts.uid ?? (() => crypto.randomUUID());
    this.alloc = { serviceCIDR: opts.serviceCIDR ?? '10.96.0.0/12', nodePortBase: opts.nodePortRange?.base ?? 30000, nodePortSize: opts.nodePortRange?.size ?? 2768 };
    this.gracefulPodDeletion = opts.gracefulPodDeletion ?? false;
  }

  now(): string {
    return this.clock().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  // ------------------------------------------------------------ keys and codec

  prefix(r: ResourceInfo, ns?: string): string {
    const base = `/registry/${r.group ? `${r.group}/` : ''}${r.resource}/`;
    return r.namespaced && ns !== undefined ? `${base}${ns}/` : base;
  }

  key(r: ResourceInfo, ns: string | undefined, name: string): string {
    return r.namespaced ? `${this.prefix(r, ns ?? '')}${name}` : `${this.prefix(r)}${name}`;
  }

  decode(kv: KeyValue, rv = kv.modRevision): KubeObject {
    let obj: KubeObject;
    try { obj = JSON.parse(kv.value) as KubeObject; } catch { throw new ApiError('InternalError', `stored object at ${kv.key} is not valid JSON`); }
    obj.metadata ??= {};
    obj.metadata.resourceVersion = String(rv);
    return obj;
  }

  /** {@link decode}, once per stored revision, frozen (for `shared` lists). */
  private decodeShared(kv: KeyValue): KubeObject {
    let obj = this.decodedCache.get(kv);
    if (obj === undefined) {
      obj = deepFreeze(this.decode(kv));
      this.decodedCache.set(kv, obj);
    }
    return obj;
  }

  private encode(obj: KubeObject): string {
    const copy = { ...obj, metadata: { ...obj.metadata } };
    delete copy.metadata.resourceVersion;
    if (valueDepth(copy) > MAX_DEPTH) throw errBadRequest(`the object nests deeper than ${MAX_DEPTH} levels`);
    const text = JSON.stringify(copy);
    if (text.length > MAX_OBJECT_BYTES / 4 && Buffer.byteLength(text) > MAX_OBJECT_BYTES) {
      throw new ApiError('RequestEntityTooLarge', `Request entity too large: the object is ${Buffer.byteLength(text)} bytes, the limit is ${MAX_OBJECT_BYTES} bytes`);
    }
    return text;
  }

  private storeError(e: unknown, r: ResourceInfo, name: string): never {
    if (e instanceof StoreError) {
      switch (e.code) {
        case 'STORE_NOT_FOUND': throw errNotFound(r, name);
        case 'STORE_ALREADY_EXISTS': throw errAlreadyExists(r, name);
        case 'STORE_CONFLICT': throw errConflict(r, name);
        case 'STORE_EXPIRED': throw errExpired(e.message);
        case 'STORE_UNAVAILABLE': throw new ApiError('ServiceUnavailable', e.message, undefined, { cause: e });
        default: throw new ApiError('InternalError', e.message, undefined, { cause: e });
      }
    }
    throw e;
  }

  // ------------------------------------------------------------ reads

  async getOrUndefined(r: ResourceInfo, ns: string | undefined, name: string): Promise<KubeObject | undefined> {
    const kv = await this.store.get(this.key(r, ns, name));
    return kv ? this.decode(kv) : undefined;
  }

  async get(r: ResourceInfo, ns: string | undefined, name: string, sub?: string): Promise<KubeObject> {
    const obj = await this.getOrUndefined(r, ns, name);
    if (!obj) throw errNotFound(r, name);
    if (sub === 'scale') return this.toScale(r, obj) as unknown as KubeObject;
    return obj;
  }

  /**
   * Parse the selectors of a list or watch of `r`. A field label the kind does not
   * select on is a 400, with the message of its conversion function.
   */
  parseFilter(r: ResourceInfo, labelSelector: string | undefined, fieldSelector: string | undefined): Filter {
    let labels: ParsedLabelSelector;
    let reqs: FieldRequirement[];
    try {
      labels = parseLabelSelector(labelSelector ?? '');
      reqs = parseFieldSelector(fieldSelector ?? '');
    } catch (e) {
      if (e instanceof SelectorError) throw errBadRequest(e.message);
      throw e;
    }
    const selectable = strategyOf(r).fieldSelectors ?? {};
    const fields = reqs.map((q) => {
      const get = META_SELECTABLE.includes(q.field) ? (o: KubeObject) => fieldValue(o, q.field) : selectable[q.field];
      if (get === undefined) {
        throw errBadRequest(Object.keys(selectable).length === 0
          ? `"${q.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`
          : `field label not supported: ${q.field}`);
      }
      return { ...q, get };
    });
    return { labels, fields };
  }

  private matches(f: Filter, obj: KubeObject): boolean {
    return matchesLabels(f.labels, obj.metadata?.labels) && f.fields.every((q) => (q.get(obj) === q.value) === (q.op === '='));
  }

  /**
   * List (kube-apiserver's GetList). `resourceVersion` unset: the latest state; `0` or
   * NotOlderThan: any state at least that new (here, the latest); `Exact`: the state at
   * that revision, 410 Expired once compacted. The options are checked as upstream's
   * ValidateListOptions does (422 ListOptions.meta.k8s.io).
   */
  async list(r: ResourceInfo, ns: string | undefined, q: ListQuery = {}): Promise<List> {
    const filter = this.parseFilter(r, q.labelSelector, q.fieldSelector);
    const prefix = this.prefix(r, ns);
    let startAfter: string | undefined;
    let revision: number | undefined;
    const rvText = q.resourceVersion ?? '';
    const match = q.resourceVersionMatch ?? '';
    const optErrs: FieldError[] = [];
    if (match !== '') {
      if (rvText === '') optErrs.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
      if (q.continue) optErrs.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
      if (match !== 'Exact' && match !== 'NotOlderThan') optErrs.push(notSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan', '']));
      if (match === 'Exact' && rvText === '0') optErrs.push(forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    }
    if (optErrs.length) throw new ApiError('Invalid', invalidMessage('ListOptions.meta.k8s.io', '', optErrs), { kind: 'ListOptions', group: 'meta.k8s.io', name: '', causes: fieldErrorCauses(optErrs) });
    if (rvText !== '') {
      const rv = parseResourceVersion(rvText);
      if (q.continue) throw errBadRequest('specifying resource version is not allowed when using continue');
      const current = this.store.revision();
      if (rv > current) throw new ApiError('Timeout', `Too large resource version: ${rv}, current: ${current}`, { retryAfterSeconds: 1 });
      // Exact: read at that revision (the store answers STORE_EXPIRED once it is compacted).
      if (match === 'Exact') revision = rv;
    }
    if (q.continue) {
      try {
        const c = JSON.parse(Buffer.from(q.continue, 'base64url').toString('utf8')) as { k?: unknown; rv?: unknown };
        if (typeof c.k !== 'string' || typeof c.rv !== 'number') throw new Error('bad');
        startAfter = prefix + c.k;
        revision = c.rv;
      } catch {
        throw errBadRequest('continue key is not valid: invalid continue token');
      }
    }
    const limit = q.limit && q.limit > 0 ? q.limit : 0;
    const selective = filter.labels.length > 0 || filter.fields.length > 0;
    const items: KubeObject[] = [];
    let more = false;
    let listRev = 0;
    let lastKey: string | undefined;
    // Filtered paging: keep reading pages until `limit` matches (as the apiserver does).
    for (let guard = 0; guard < 10000; guard++) {
      let res;
      try {
        res = await this.store.list(prefix, { ...(limit ? { limit: Math.max(limit - items.length, 1) } : {}), ...(startAfter !== undefined ? { startAfter } : {}), ...(revision !== undefined ? { revision } : {}) });
      } catch (e) {
        if (e instanceof StoreError && e.code === 'STORE_EXPIRED') {
          if (!q.continue) throw errExpired('The resourceVersion for the provided list is too old.');
          throw new ApiError('Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
        }
        return this.storeError(e, r, '');
      }
      listRev = res.revision;
      revision ??= res.revision;
      for (const kv of res.items) {
        lastKey = kv.key;
        if (q.shared === true) {
          const obj = this.decodeShared(kv);
          if (this.matches(filter, obj)) items.push(obj);
        } else if (selective) {
          // Selectors are checked on the cached decoded object: only the matches are decoded afresh for the caller.
          if (this.matches(filter, this.decodeShared(kv))) items.push(this.decode(kv));
        } else items.push(this.decode(kv));
      }
      more = res.more;
      if (!limit || !more || items.length >= limit) break;
      startAfter = lastKey;
    }
    const list: List = { apiVersion: apiVersionOf(r), kind: r.listKind, metadata: { resourceVersion: String(revision ?? listRev) }, items };
    if (limit && more && lastKey !== undefined) {
      list.metadata.continue = Buffer.from(JSON.stringify({ k: lastKey.slice(prefix.length), rv: revision ?? listRev })).toString('base64url');
    }
    return list;
  }

  // ------------------------------------------------------------ writes

  private checkTypeMeta(r: ResourceInfo, obj: KubeObject, kind = r.kind, apiVersion = apiVersionOf(r)): void {
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw errBadRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== kind) {
      throw errBadRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${kind})`);
    }
    obj.apiVersion = apiVersion;
    obj.kind = kind;
  }

  private checkNamespace(r: ResourceInfo, ns: string | undefined, obj: KubeObject): void {
    if (!isObject(obj.metadata as Json)) {
      if (obj.metadata !== undefined) throw errBadRequest('metadata must be an object');
      obj.metadata = {};
    }
    const meta = obj.metadata!;
    if (r.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== ns) {
        throw errBadRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = ns!;
    } else if (meta.namespace === '') delete meta.namespace;
  }

  private async ensureNamespace(r: ResourceInfo, ns: string | undefined, name: string): Promise<void> {
    if (!r.namespaced || ns === undefined) return;
    const nsr = resourceByName('namespaces')!;
    const kv = await this.store.get(this.key(nsr, undefined, ns));
    if (!kv) throw errNotFound(nsr, ns);
    const nsObj = this.decode(kv);
    if (nsObj.metadata?.deletionTimestamp) {
      throw errNamespaceTerminating(r, name, ns);
    }
  }

  /** fieldValidation: unknown/duplicate fields are an error (Strict), a warning (Warn) or dropped (Ignore). */
  private checkFields(r: ResourceInfo, obj: KubeObject, opts: WriteOptions, verb: 'create' | 'update' | 'patch'): void {
    const mode = opts.fieldValidation;
    if (mode === undefined || mode === '') return;
    const unknown = unknownFields(obj, strategyOf(r).fields, mode !== 'Strict');
    const problems = [...(opts.duplicateFields ?? []).map((p) => `duplicate field "${p}"`), ...unknown.map((p) => `unknown field "${p}"`)];
    if (problems.length === 0) return;
    if (mode === 'Strict') {
      const msg = `strict decoding error: ${problems.join(', ')}`;
      throw errBadRequest(verb === 'patch' ? msg : `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${msg}`);
    }
    if (mode === 'Warn') opts.warnings?.push(...problems);
  }

  /** Server-side apply needs every applied field in the schema, whatever fieldValidation says. */
  private checkApplyFields(r: ResourceInfo, ns: string | undefined, name: string, config: unknown): void {
    const unknown = unknownFields(config, strategyOf(r).fields, false);
    if (unknown.length === 0) return;
    throw errBadRequest(`failed to create typed patch object (${ns !== undefined ? `${ns}/` : ''}${name}; ${apiVersionOf(r)}, Kind=${r.kind}): ${unknown.map((p) => `.${p.replace(/\[\d+\]/g, '')}: field not declared in schema`).join(', ')}`);
  }

  private validate(r: ResourceInfo, obj: KubeObject, old?: KubeObject): void {
    const s = strategyOf(r);
    const errs = s.validate(obj, this.alloc);
    if (old !== undefined && s.validateUpdate) errs.push(...s.validateUpdate(obj, old));
    if (errs.length) throw errInvalid(r, obj.metadata?.name ?? '', errs);
  }

  private admission(r: ResourceInfo): Admission<KubeObject> | undefined {
    const s = strategyOf(r);
    if (!this.admissions.has(s)) {
      this.admissions.set(s, s.admission?.({ store: this.store, config: this.alloc, prefix: this.prefix(r), key: (ns, name) => this.key(r, ns, name) }));
    }
    return this.admissions.get(s);
  }

  /**
   * Admission checks that need other objects (the kind's admission plugin). Returns the
   * release of what it reserved: call it once the write is stored (after `stored`) or abandoned.
   */
  private async admit(r: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, dryRun: boolean | undefined): Promise<(() => void) | undefined> {
    const a = this.admission(r);
    if (a === undefined) return undefined;
    const res = await a.admit(obj, old, dryRun ?? false);
    if (res.errors?.length) {
      res.release?.();
      throw errInvalid(r, obj.metadata!.name!, res.errors);
    }
    return res.release;
  }

  /** Tell the kind's admission plugin about a write this Registry stored (`obj` undefined: deleted). */
  private stored(r: ResourceInfo, kv: KeyValue, obj: KubeObject | undefined): void {
    this.admission(r)?.stored?.(kv.key, obj, kv.modRevision);
  }

  private managedEntry(manager: string | undefined, operation: 'Apply' | 'Update', apiVersion: string, fields: Record<string, Json>, sub?: string): ManagedFieldsEntry | undefined {
    if (!manager) return undefined;
    const e: ManagedFieldsEntry = { manager, operation, apiVersion, time: this.now(), fieldsType: 'FieldsV1', fieldsV1: fields };
    if (sub) e.subresource = sub;
    return e;
  }

  private recordManaged(r: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, manager: string | undefined, operation: 'Apply' | 'Update', sub?: string, applied?: Json): void {
    if (!manager) return;
    const meta = obj.metadata!;
    const same = (e: ManagedFieldsEntry): boolean => e.manager === manager && e.operation === operation && (e.subresource ?? '') === (sub ?? '');
    let entries = old?.metadata?.managedFields ?? meta.managedFields ?? [];
    const prev = (old?.metadata?.managedFields ?? []).find(same);
    const schema = strategyOf(r).merge;
    let fields: Record<string, Json>;
    if (operation === 'Apply') fields = fieldSet(this.userFields(applied as KubeObject), schema);
    else {
      const changed = old ? stripNulls(createMergePatch(this.userFields(old) as unknown as Json, this.userFields(obj) as unknown as Json)) : (this.userFields(obj) as unknown as Json);
      fields = unionSets((prev?.fieldsV1 ?? {}) as Record<string, Json>, fieldSet(changed, schema));
      if (old) {
        // A non-apply write takes the fields whose values it changed from every other manager.
        const oldUser = this.userFields(old) as unknown as Json;
        const newUser = this.userFields(obj) as unknown as Json;
        const taken = leafKeyPaths(fieldSet(newUser, schema)).filter((k) => !deepEqual(valueAtKeys(oldUser, k), valueAtKeys(newUser, k)));
        if (taken.length) {
          const take = entries.flatMap((e, i) => (same(e) || (e.subresource ?? '') !== (sub ?? '') ? [] : taken.map((keys) => ({ entry: i, keys }))));
          entries = takeOwnership(entries, take);
        }
      }
    }
    const entry = Object.keys(fields).length === 0 && !prev ? undefined : this.managedEntry(manager, operation, obj.apiVersion ?? '', fields, sub);
    const at = entries.findIndex(same);
    const next = entries.filter((e) => !same(e));
    if (entry) next.splice(at >= 0 ? at : next.length, 0, entry);
    if (next.length) meta.managedFields = next; else delete meta.managedFields;
  }

  /** The user-owned part of an object (no system metadata, no status) for field sets. */
  private userFields(obj: KubeObject | undefined): Record<string, Json> {
    if (!obj) return {};
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'status' || k === 'apiVersion' || k === 'kind') continue;
      if (k === 'metadata' && isObject(v as Json)) {
        const m: Record<string, Json> = {};
        for (const [mk, mv] of Object.entries(v as Record<string, Json>)) if (!SYSTEM_META.has(mk) && mk !== 'name' && mk !== 'namespace') m[mk] = mv;
        if (Object.keys(m).length) out.metadata = m;
        continue;
      }
      out[k] = v as Json;
    }
    return out;
  }

  /**
   * A name for a create with `generateName`: the prefix and five characters of the safe
   * alphabet (names.SimpleNameGenerator). The first attempt spells the leading decimal
   * digits of a hash, which gives about 10⁵ names, so a ReplicaSet of a few thousand
   * pods meets a taken one; the apiserver then tries again (upstream's RetryGenerateName,
   * 8 attempts in all), and the retries draw each character from the whole alphabet (27⁵).
   */
  private generateName(prefix: string, attempt: number): string {
    const n = fnv32a(`${prefix}/${this.uidGen()}/${this.nameSeq++}`);
    return `${prefix}${attempt === 0 ? safeEncode(n).slice(0, 5).padEnd(5, 'x') : safeDigits(n, 5)}`;
  }

  /** Go's decoder's type errors (wrong JSON types, int32 range, base64): a 400 naming the first, every one a cause. */
  private checkTypes(r: ResourceInfo, obj: KubeObject, kind = r.kind, apiVersion = apiVersionOf(r)): void {
    const errs = typeErrors(obj, apiVersion, kind);
    if (errs.length === 0) return;
    const details: StatusDetails = { name: typeof obj.metadata?.name === 'string' ? obj.metadata.name : '', kind, causes: fieldErrorCauses(typeFieldErrors(errs)) };
    if (r.group) details.group = r.group;
    throw new ApiError('BadRequest', `${kind} in version "${apiVersion.split('/').pop()!}" cannot be handled as a ${kind}: ${errs[0]!.message}`, details);
  }

  async create(r: ResourceInfo, ns: string | undefined, body: unknown, opts: WriteOptions = {}, operation: 'Apply' | 'Update' = 'Update'): Promise<KubeObject> {
    if (!isObject(body as Json)) throw errBadRequest('the request body must be a JSON object');
    const obj = deepClone(body as KubeObject);
    this.checkTypeMeta(r, obj);
    this.checkTypes(r, obj);
    strategyOf(r).convert?.(obj);
    this.checkNamespace(r, ns, obj);
    if (operation === 'Update') this.checkFields(r, obj, opts, 'create');
    const meta = obj.metadata!;
    const generateFrom = !meta.name && meta.generateName ? meta.generateName : undefined;
    if (generateFrom !== undefined) meta.name = this.generateName(generateFrom, 0);
    for (const k of ['uid', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'] as const) delete meta[k as keyof typeof meta];
    meta.uid = this.uidGen();
    meta.creationTimestamp = this.now();
    if (hasSpecLike(obj)) meta.generation = 1; else delete meta.generation;
    const strategy = strategyOf(r);
    if (strategy.prepareForCreate) strategy.prepareForCreate(obj);
    else if (r.hasStatus) delete obj.status;
    strategy.defaults?.(obj);
    this.validate(r, obj);
    await this.ensureNamespace(r, ns, meta.name ?? '');
    const release = await this.admit(r, obj, undefined, opts.dryRun);
    try {
      this.recordManaged(r, obj, undefined, opts.fieldManager, operation, undefined, operation === 'Apply' ? (body as Json) : undefined);
      if (opts.dryRun) {
        // A dry run goes as far as the store's own check (kube-apiserver's dry-run storage).
        for (let attempt = 1; await this.store.get(this.key(r, ns, meta.name!)); attempt++) {
          if (generateFrom === undefined || attempt >= GENERATE_NAME_ATTEMPTS) throw errAlreadyExists(r, meta.name!);
          meta.name = this.generateName(generateFrom, attempt);
        }
        return obj;
      }
      let kv: KeyValue | undefined;
      for (let attempt = 1; kv === undefined; attempt++) {
        try {
          kv = await this.store.create(this.key(r, ns, meta.name!), this.encode(obj));
        } catch (e) {
          const taken = e instanceof StoreError && e.code === 'STORE_ALREADY_EXISTS';
          if (!taken || generateFrom === undefined || attempt >= GENERATE_NAME_ATTEMPTS) return this.storeError(e, r, meta.name!);
          meta.name = this.generateName(generateFrom, attempt);
        }
      }
      this.stored(r, kv, obj);
      return this.decode(kv);
    } finally {
      release?.();
    }
  }

  /** PUT (full replacement) of the object or its status/scale subresource. */
  async update(r: ResourceInfo, ns: string | undefined, name: string, body: unknown, opts: WriteOptions = {}, sub?: string): Promise<KubeObject> {
    if (!isObject(body as Json)) throw errBadRequest('the request body must be a JSON object');
    if (sub === 'scale') return this.guaranteed(() => this.updateScale(r, ns, name, body as unknown as Scale, opts));
    return this.guaranteed(async () => {
      const old = await this.get(r, ns, name);
      const obj = deepClone(body as KubeObject);
      // Warnings of every attempt are the same findings; the HTTP layer sends each once.
      this.checkFields(r, obj, opts, 'update');
      return this.replace(r, ns, name, old, obj, opts, sub, 'Update');
    });
  }

  /**
   * GuaranteedUpdate: run `attempt` (read, compute, write) again while its write loses a
   * race. A resourceVersion the client pinned fails in the next attempt's own check.
   */
  private async guaranteed<T>(attempt: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof StoreRace)) throw e;
        if (i >= MAX_RACE_RETRIES) throw e.conflict;
      }
    }
  }

  /** A failed store write of an object read before: a lost race becomes `StoreRace`. */
  private writeError(e: unknown, r: ResourceInfo, name: string): never {
    if (e instanceof StoreError && e.code === 'STORE_CONFLICT') throw new StoreRace(errConflict(r, name));
    return this.storeError(e, r, name);
  }

  private async replace(r: ResourceInfo, ns: string | undefined, name: string, old: KubeObject, objIn: KubeObject, opts: WriteOptions, sub: string | undefined, operation: 'Apply' | 'Update', applied?: Json): Promise<KubeObject> {
    let obj = objIn;
    this.checkTypeMeta(r, obj);
    this.checkTypes(r, obj);
    strategyOf(r).convert?.(obj);
    this.checkNamespace(r, ns, obj);
    const meta = obj.metadata!;
    if (meta.name !== undefined && meta.name !== name) {
      throw errBadRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    meta.name = name;
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '' && meta.resourceVersion !== old.metadata!.resourceVersion) {
      throw errConflict(r, name);
    }
    if (meta.uid !== undefined && meta.uid !== '' && meta.uid !== old.metadata!.uid) {
      throw errConflict(r, name, `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${old.metadata!.uid ?? ''}`);
    }
    const strategy = strategyOf(r);
    const subUpdate = sub !== undefined ? strategy.subresourceUpdates?.[sub] : undefined;
    if (sub === 'status') {
      // Status writes change only status (and nothing in metadata but the managed fields).
      obj = { ...deepClone(old), status: obj.status };
    } else if (subUpdate !== undefined) {
      obj = subUpdate(obj, deepClone(old));
    } else if (r.hasStatus && sub === undefined) {
      if (old.status === undefined) delete obj.status; else obj.status = deepClone(old.status);
    }
    if (sub === undefined) strategy.prepareForUpdate?.(obj, old);
    const m = obj.metadata!;
    m.uid = old.metadata!.uid!;
    m.creationTimestamp = old.metadata!.creationTimestamp!;
    if (old.metadata!.deletionTimestamp) m.deletionTimestamp = old.metadata!.deletionTimestamp;
    else delete m.deletionTimestamp;
    if (old.metadata!.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = old.metadata!.deletionGracePeriodSeconds;
    if (old.metadata!.managedFields && operation === 'Update' && m.managedFields === undefined) m.managedFields = old.metadata!.managedFields;
    delete m.resourceVersion;
    strategy.defaults?.(obj);
    const oldGen = old.metadata!.generation;
    if (oldGen !== undefined || hasSpecLike(obj)) {
      m.generation = (oldGen ?? 0) + (deepEqual(specPart(old), specPart(obj)) ? 0 : 1);
      if (m.generation === 0) m.generation = 1;
    }
    this.validate(r, obj, old);
    const release = await this.admit(r, obj, old, opts.dryRun);
    try {
      this.recordManaged(r, obj, old, opts.fieldManager, operation, sub, applied);
      const untimed = (mf: ManagedFieldsEntry[] | undefined): unknown => mf?.map(({ time: _t, ...e }) => e);
      const oldCmp = { ...old, metadata: { ...old.metadata, resourceVersion: undefined, managedFields: untimed(old.metadata?.managedFields) } };
      const newCmp = { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined, managedFields: untimed(obj.metadata?.managedFields) } };
      if (deepEqual(JSON.parse(JSON.stringify(oldCmp)), JSON.parse(JSON.stringify(newCmp)))) return old;
      if (opts.dryRun) { m.resourceVersion = old.metadata!.resourceVersion!; return obj; }
      let kv: KeyValue;
      try {
        kv = await this.store.update(this.key(r, ns, name), this.encode(obj), Number(old.metadata!.resourceVersion));
        if (this.finalized(r, obj)) kv = await this.store.delete(this.key(r, ns, name), kv.modRevision);
      } catch (e) {
        return this.writeError(e, r, name);
      }
      this.stored(r, kv, this.finalized(r, obj) ? undefined : obj);
      return this.decode(kv);
    } finally {
      release?.();
    }
  }

  // ------------------------------------------------------------ scale

  toScale(r: ResourceInfo, obj: KubeObject): Scale {
    const w = obj as unknown as Deployment | ReplicaSet;
    return {
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name: w.metadata.name!, namespace: w.metadata.namespace!, uid: w.metadata.uid!, resourceVersion: w.metadata.resourceVersion!, creationTimestamp: w.metadata.creationTimestamp! },
      spec: { replicas: w.spec.replicas ?? 1 },
      status: { replicas: w.status?.replicas ?? 0, selector: labelSelectorStructToString(w.spec.selector) },
    };
  }

  /** Write the scale subresource; `read` is the object the Scale was computed from (a patch's), else it is read now. */
  private async updateScale(r: ResourceInfo, ns: string | undefined, name: string, scale: Scale, opts: WriteOptions, read?: KubeObject): Promise<KubeObject> {
    if (scale.kind !== undefined && scale.kind !== 'Scale') throw errBadRequest(`the kind in the data (${String(scale.kind)}) does not match the expected kind (Scale)`);
    this.checkTypes(r, scale as unknown as KubeObject, 'Scale', 'autoscaling/v1');
    const old = read ?? await this.get(r, ns, name);
    const replicas = scale.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw errInvalid({ ...r, kind: 'Scale' }, name, [invalid('spec.replicas', replicas, 'must be greater than or equal to 0')]);
    }
    if (scale.metadata?.resourceVersion && scale.metadata.resourceVersion !== old.metadata!.resourceVersion) throw errConflict(r, name);
    const next = deepClone(old) as unknown as Deployment;
    next.spec.replicas = replicas;
    const res = await this.replace(r, ns, name, old, next as unknown as KubeObject, { ...opts }, undefined, 'Update');
    return this.toScale(r, res) as unknown as KubeObject;
  }

  // ------------------------------------------------------------ patch

  async patch(r: ResourceInfo, ns: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions = {}, sub?: string): Promise<{ obj: KubeObject; created: boolean }> {
    // Each attempt applies the patch to the object as it is now; a resourceVersion the
    // patch sets is checked against it (and fails for good once someone else wrote).
    return this.guaranteed(() => this.patchOnce(r, ns, name, type, patch, opts, sub));
  }

  private async patchOnce(r: ResourceInfo, ns: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions, sub?: string): Promise<{ obj: KubeObject; created: boolean }> {
    if (type === 'apply' && sub === undefined) this.checkApplyFields(r, ns, name, patch);
    const old = await this.getOrUndefined(r, ns, name);
    if (!old) {
      if (type === 'apply' && sub === undefined) {
        if (!isObject(patch as Json)) throw errBadRequest('the apply configuration must be an object');
        const body = deepClone(patch as KubeObject);
        body.metadata ??= {};
        if (body.metadata.name !== undefined && body.metadata.name !== name) throw errBadRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
        body.metadata.name = name;
        return { obj: await this.create(r, ns, body, opts, 'Apply'), created: true };
      }
      throw errNotFound(r, name);
    }
    const base: Json = deepClone((sub === 'scale' ? this.toScale(r, old) : old) as unknown as Json);
    const schema = sub === 'scale' ? SCALE_MERGE : strategyOf(r).merge;
    let next: Json;
    try {
      switch (type) {
        case 'merge': next = applyMergePatch(base, patch as Json); break;
        case 'json': next = applyJsonPatch(base, patch); break;
        case 'strategic': next = applyStrategicMergePatch(base, patch as Json, schema); break;
        case 'apply': next = this.applyConfig(base, patch as Json, schema, opts.fieldManager, old); break;
      }
    } catch (e) {
      if (e instanceof PatchError) {
        if (e.kind === 'Invalid') throw new ApiError('Invalid', e.message);
        throw errBadRequest(e.message);
      }
      throw e;
    }
    if (!isObject(next)) throw errBadRequest('the patched object is not a JSON object');
    if (sub === 'scale') {
      const scaled = await this.updateScale(r, ns, name, next as unknown as Scale, opts, old);
      return { obj: scaled, created: false };
    }
    const obj = next as unknown as KubeObject;
    if (type !== 'apply') this.checkFields(r, obj, opts, 'patch');
    if (type === 'apply' && sub === undefined) {
      const entries = old.metadata?.managedFields ?? [];
      const applied = fieldSet(this.userFields(patch as KubeObject), schema);
      const conflicts = findConflicts(entries, opts.fieldManager!, applied, this.userFields(old) as unknown as Json, this.userFields(obj) as unknown as Json);
      if (conflicts.length > 0) {
        if (!opts.force) throw applyConflictError(conflicts);
        old.metadata!.managedFields = takeOwnership(entries, conflicts);
      }
    }
    const patchedRv = obj.metadata?.resourceVersion;
    if (patchedRv !== undefined && patchedRv !== old.metadata!.resourceVersion) throw errConflict(r, name);
    return { obj: await this.replace(r, ns, name, old, obj, opts, sub, type === 'apply' ? 'Apply' : 'Update', type === 'apply' ? (patch as Json) : undefined), created: false };
  }

  /** Server-side apply, simplified: merge the configuration (SMP list keys), drop fields this manager applied before but no longer does. */
  private applyConfig(live: Json, config: Json, schema: SmpSchema | undefined, manager: string | undefined, old: KubeObject): Json {
    if (!isObject(config)) throw new PatchError('the apply configuration must be an object');
    if (!manager) throw new ApiError('BadRequest', 'PATCH, application/apply-patch+yaml requires fieldManager to be set');
    let merged = applyStrategicMergePatch(live, stripNulls(config), schema);
    const prev = (old.metadata?.managedFields ?? []).find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource);
    if (prev?.fieldsV1) {
      const now = fieldSet(this.userFields(config as KubeObject), schema);
      let gone = subtractFieldSets(prev.fieldsV1 as Record<string, Json>, now);
      // A field another manager also owns stays (shared ownership); only this manager lets go of it.
      const others = (old.metadata?.managedFields ?? []).filter((e) => e !== prev && !e.subresource).map((e) => (e.fieldsV1 ?? {}) as Record<string, Json>);
      gone = removePaths(gone, leafKeyPaths(gone).filter((k) => others.some((o) => setHas(o, k))));
      if (Object.keys(gone).length) merged = removeFields(merged, gone, schema);
    }
    return merged;
  }

  // ------------------------------------------------------------ delete

  async delete(r: ResourceInfo, ns: string | undefined, name: string, opts: Omit<DeleteOptions, 'dryRun'> & { dryRun?: boolean } = {}): Promise<KubeObject> {
    return this.guaranteed(() => this.deleteOnce(r, ns, name, opts));
  }

  private async deleteOnce(r: ResourceInfo, ns: string | undefined, name: string, opts: Omit<DeleteOptions, 'dryRun'> & { dryRun?: boolean }): Promise<KubeObject> {
    const old = await this.get(r, ns, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata!.uid) throw errConflict(r, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata!.uid ?? ''}`);
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata!.resourceVersion) throw errConflict(r, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata!.resourceVersion ?? ''}`);
    if (opts.dryRun) return old;
    const strategy = strategyOf(r);
    // CheckGracefulDelete: the object gets a deletionTimestamp and its owner (the node agent) removes it.
    const grace = this.gracefulPodDeletion ? strategy.gracefulDelete?.(old, opts.gracePeriodSeconds) : undefined;
    if (grace !== undefined) {
      if (old.metadata!.deletionTimestamp) return old;
      const next = deepClone(old);
      next.metadata!.deletionTimestamp = new Date(this.clock().getTime() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      next.metadata!.deletionGracePeriodSeconds = grace;
      try {
        const kv = await this.store.update(this.key(r, ns, name), this.encode(next), Number(old.metadata!.resourceVersion));
        return this.decode(kv);
      } catch (e) {
        return this.writeError(e, r, name);
      }
    }
    const pending = this.pendingFinalizers(r, old);
    if (pending.length > 0) return this.markDeleted(r, ns, name, old);
    let kv: KeyValue;
    try {
      kv = await this.store.delete(this.key(r, ns, name), Number(old.metadata!.resourceVersion));
    } catch (e) {
      return this.writeError(e, r, name);
    }
    this.stored(r, kv, undefined);
    return this.decode(kv);
  }

  /** metadata.finalizers and the kind's own (a namespace's spec.finalizers). */
  private pendingFinalizers(r: ResourceInfo, obj: KubeObject): readonly string[] {
    return [...(obj.metadata?.finalizers ?? []), ...(strategyOf(r).finalizers?.(obj) ?? [])];
  }

  /**
   * An object marked for deletion whose last finalizer is gone is deleted by the update
   * that removed it (genericregistry `ShouldDeleteDuringUpdate`).
   */
  private finalized(r: ResourceInfo, obj: KubeObject): boolean {
    const m = obj.metadata!;
    return m.deletionTimestamp !== undefined && m.deletionGracePeriodSeconds === 0 && this.pendingFinalizers(r, obj).length === 0;
  }

  /**
   * A DELETE of an object with finalizers only marks it (the generic store's BeforeDelete
   * once graceful deletion is over): deletionTimestamp now (kept if set),
   * deletionGracePeriodSeconds 0, and what the kind changes then (a namespace: Terminating).
   * A repeated DELETE is a no-op, or the kind's Conflict.
   */
  private async markDeleted(r: ResourceInfo, ns: string | undefined, name: string, old: KubeObject): Promise<KubeObject> {
    const strategy = strategyOf(r);
    const meta = old.metadata!;
    if (meta.deletionTimestamp !== undefined && meta.deletionGracePeriodSeconds === 0) {
      if (strategy.deletePendingMessage !== undefined) throw errConflict(r, name, strategy.deletePendingMessage);
      return old;
    }
    const next = deepClone(old);
    next.metadata!.deletionTimestamp ??= this.now();
    next.metadata!.deletionGracePeriodSeconds = 0;
    strategy.markDeleted?.(next);
    try {
      return this.decode(await this.store.update(this.key(r, ns, name), this.encode(next), Number(meta.resourceVersion)));
    } catch (e) {
      return this.writeError(e, r, name);
    }
  }

  // ------------------------------------------------------------ binding

  async bind(ns: string, name: string, body: unknown, opts: WriteOptions = {}): Promise<Status> {
    const r = resourceByName('pods')!;
    const b = body as Binding;
    if (!isObject(body as Json) || !isObject(b.target as unknown as Json) || typeof b.target.name !== 'string' || b.target.name === '') {
      throw errInvalid({ ...r, kind: 'Binding' }, name, [{ type: 'FieldValueRequired', field: 'target.name', detail: '' }]);
    }
    return this.guaranteed(() => this.bindOnce(r, ns, name, b, opts));
  }

  private async bindOnce(r: ResourceInfo, ns: string, name: string, b: Binding, opts: WriteOptions): Promise<Status> {
    const old = await this.get(r, ns, name) as unknown as Pod;
    if (old.metadata.deletionTimestamp) throw errConflict(r, name, 'pod is being deleted, cannot be assigned to a host');
    if (old.spec.nodeName) throw errConflict(r, name, `pod ${name} is already assigned to node "${old.spec.nodeName}"`);
    const next = deepClone(old);
    next.spec.nodeName = b.target.name;
    next.status ??= {};
    next.status.conditions = [...(next.status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: this.now() }];
    if (!opts.dryRun) {
      try {
        await this.store.update(this.key(r, ns, name), this.encode(next as unknown as KubeObject), Number(old.metadata.resourceVersion));
      } catch (e) {
        this.writeError(e, r, name);
      }
    }
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  }

  // ------------------------------------------------------------ watch

  /**
   * Watch a collection. Events are filtered per watcher: an object that stops matching the
   * selectors is sent as DELETED, one that starts matching as ADDED (as kube-apiserver's cacher).
   * `resourceVersion` '' or '0' (or `sendInitialEvents`) first sends the current objects as ADDED.
   * Expired history is reported as an ERROR event with a 410 Expired Status and ends the watch.
   */
  async watch(r: ResourceInfo, ns: string | undefined, q: WatchQuery, onEvent: (ev: WatchEvent) => void, onEnd: () => void = () => {}, opts: { readonly shared?: boolean } = {}): Promise<WatchHandle> {
    const filter = this.parseFilter(r, q.labelSelector, q.fieldSelector);
    const prefix = this.prefix(r, ns);
    const rv = q.resourceVersion === undefined || q.resourceVersion === '' ? undefined : parseResourceVersion(q.resourceVersion);
    let from: number;
    if (rv === undefined || rv === 0 || q.sendInitialEvents) {
      const list = await this.store.list(prefix, rv !== undefined && rv !== 0 && q.sendInitialEvents ? { revision: rv } : {});
      for (const kv of list.items) {
        const obj = this.decode(kv);
        if (this.matches(filter, obj)) onEvent({ type: 'ADDED', object: obj });
      }
      from = list.revision;
      if (q.sendInitialEvents) {
        onEvent({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(from), annotations: { 'k8s.io/initial-events-end': 'true' } } } });
      }
    } else {
      from = rv;
    }
    // With `shared`, watchers of one store event get the same decoded objects and WatchEvent
    // instances (decode once per event, not once per watcher); callers must not mutate them.
    const cache = opts.shared ? this.watchCache : undefined;
    const out = (ev: StoreWatchEvent, type: 'ADDED' | 'MODIFIED' | 'DELETED', make: () => KubeObject): WatchEvent => {
      if (!cache) return { type, object: make() };
      let c = cache.get(ev);
      if (!c) { c = {}; cache.set(ev, c); }
      return (c[type] ??= { type, object: make() });
    };
    const decoded = (ev: StoreWatchEvent, which: 'kv' | 'prevKv'): KubeObject => {
      const kv = ev[which]!;
      if (!cache) return this.decode(kv);
      let c = cache.get(ev);
      if (!c) { c = {}; cache.set(ev, c); }
      return (c[which] ??= this.decode(kv));
    };
    const handler = (ev: StoreWatchEvent): void => {
      if (ev.type === 'DELETE') {
        const obj = cache ? out(ev, 'DELETED', () => this.decode(ev.kv, ev.revision)).object as KubeObject : this.decode(ev.kv, ev.revision);
        if (this.matches(filter, obj)) onEvent(out(ev, 'DELETED', () => obj));
        return;
      }
      const obj = decoded(ev, 'kv');
      const now = this.matches(filter, obj);
      const before = ev.prevKv ? this.matches(filter, decoded(ev, 'prevKv')) : false;
      if (now && before) onEvent(out(ev, 'MODIFIED', () => obj));
      else if (now) onEvent(out(ev, 'ADDED', () => obj));
      else if (before && ev.prevKv) onEvent(out(ev, 'DELETED', () => this.decode(ev.prevKv!, ev.revision)));
    };
    try {
      return this.store.watch(prefix, from, handler);
    } catch (e) {
      if (e instanceof StoreError && (e.code === 'STORE_EXPIRED' || e.code === 'STORE_UNAVAILABLE')) {
        const status = e.code === 'STORE_EXPIRED'
          ? statusOf('Expired', `too old resource version: ${from} (${this.store.revision()})`)
          : statusOf('Timeout', `Too large resource version: ${from}, current: ${this.store.revision()}`, { retryAfterSeconds: 1 });
        onEvent({ type: 'ERROR', object: status });
        onEnd();
        return { cancel: () => {} };
      }
      throw e;
    }
  }

  /** Canonical JSON of an object (for tests and change detection). */
  static canonical(obj: unknown): string {
    return canonicalJson(obj);
  }
}

/** The one empty object every frozen decoded copy holds in place of its own `{}`s. */
export const FROZEN_EMPTY: Readonly<Record<string, never>> = Object.freeze({});

function isEmptyObject(v: object): boolean {
  if (Array.isArray(v)) return false;
  for (const _ in v) return false;
  return true;
}

/**
 * Object.freeze all the way down (a decoded JSON value: plain objects and arrays). Every
 * empty object becomes {@link FROZEN_EMPTY}: managedFields' field sets are mostly `{}`
 * leaves (about 30 a Pod, 45 a ReplicaSet), each a whole object in a decoded copy, and a
 * frozen `{}` cannot be told from another but by identity.
 */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const c = o[k];
      if (typeof c !== 'object' || c === null) continue;
      if (isEmptyObject(c)) o[k] = FROZEN_EMPTY;
      else deepFreeze(c);
    }
    Object.freeze(v);
  }
  return v;
}

/**
 * EtcdStore: the ObjectStore over a real etcd v3 server, through etcd's built-in
 * gRPC-gateway (JSON over HTTP/1.1, `/v3/...`, present in etcd 3.4+) with Node's own
 * `fetch` — no client library. Keys and values travel base64-encoded and int64 fields
 * as decimal strings; proto3 leaves out zero values (a PUT event has no `type`, a failed
 * txn no `succeeded`).
 *
 * Mapping (kube-apiserver's etcd3 storage does the same with the Go client):
 *   get           POST /v3/kv/range {key}
 *   list          POST /v3/kv/range {key: from, range_end: prefix+1, limit, revision}
 *   create        POST /v3/kv/txn   if create_revision(key) == 0 then put else range
 *   update        POST /v3/kv/txn   if version(key) > 0 [and mod_revision == expected] then put(prev_kv) else range
 *   delete        POST /v3/kv/txn   same compare, then delete_range(prev_kv) else range
 *   watch         POST /v3/watch    {create_request: {key, range_end, start_revision: after+1, prev_kv}}
 *                                    — a held-open response of newline-delimited JSON messages
 *   history       POST /v3/kv/compaction, issued by the store to keep about
 *                 `historyWindow`..2×`historyWindow` revisions (kube-apiserver compacts
 *                 every 5 minutes instead)
 *
 * Errors: "required revision has been compacted" (HTTP 400) and a watch answered with
 * `compact_revision` are STORE_EXPIRED; "future revision" and connection failures are
 * STORE_UNAVAILABLE. A watch whose stream breaks ends with `onError(STORE_UNAVAILABLE)`;
 * it is not resumed here — callers re-watch from their last revision, as informers do.
 *
 * Revisions are etcd's own: a fresh etcd starts at revision 1, and other clients of the
 * same etcd advance the revision too. `revision()` is the highest revision this client has
 * seen in any response or watch event. `namespace` (like kube-apiserver's
 * `--etcd-prefix`) is prepended to every key and stripped from results, so several stores
 * (tests, clusters) can share one etcd without seeing each other's keys.
 *
 * Watch delivery is asynchronous (events arrive over HTTP), in revision order per watch.
 */
import { StoreError } from './object-store.ts';
import type { KeyValue, ListOptions, ListResult, ObjectStore, StoreWatchEvent, WatchHandle } from './object-store.ts';
import { checkKey, DEFAULT_HISTORY_WINDOW } from './mvcc.ts';

export interface EtcdStoreOptions {
  /** Client URL, e.g. `http://127.0.0.1:2379`. */
  readonly endpoint: string;
  /** Prepended to every key (e.g. `/netsim`); default none. */
  readonly namespace?: string;
  /**
   * Compact etcd so that at least this many revisions stay watchable (default 10 000);
   * `null` leaves compaction to etcd's own `--auto-compaction-*` flags.
   */
  readonly historyWindow?: number | null;
  /** Per-request timeout in ms (default 10 000). */
  readonly requestTimeoutMs?: number;
  /** A watch callback threw. Default console.error. */
  readonly onWatcherError?: (err: unknown, ev: StoreWatchEvent) => void;
}

/** mvccpb.KeyValue as the gateway renders it. */
interface JsonKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
}
interface JsonHeader { revision?: string }
interface JsonRange { header?: JsonHeader; kvs?: JsonKv[]; more?: boolean; count?: string }
interface JsonTxn {
  header?: JsonHeader;
  succeeded?: boolean;
  responses?: Array<{ response_put?: { prev_kv?: JsonKv }; response_range?: JsonRange; response_delete_range?: { prev_kvs?: JsonKv[] } }>;
}
interface JsonWatchResult {
  header?: JsonHeader;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: Array<{ type?: 'PUT' | 'DELETE'; kv?: JsonKv; prev_kv?: JsonKv }>;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));
const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

/** etcd's prefix range end: the key with its last byte incremented (dropping trailing 0xff); "\0" = to the end. */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if ((bytes[i] as number) < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = (end[i] as number) + 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

interface ActiveWatch {
  readonly abort: AbortController;
  readonly onError: ((err: StoreError) => void) | undefined;
  done: boolean;
}

export class EtcdStore implements ObjectStore {
  private readonly base: string;
  private readonly ns: string;
  private readonly window: number | null;
  private readonly timeoutMs: number;
  private readonly onWatcherError: (err: unknown, ev: StoreWatchEvent) => void;
  private rev = 0;
  /** Revision this client last compacted etcd to (reads below it are gone). */
  private compactedTo = 0;
  private compacting: Promise<void> | undefined;
  private closed = false;
  private readonly watches = new Set<ActiveWatch>();

  private constructor(opts: EtcdStoreOptions) {
    this.base = opts.endpoint.replace(/\/+$/, '');
    this.ns = opts.namespace ?? '';
    this.window = opts.historyWindow === undefined ? DEFAULT_HISTORY_WINDOW : opts.historyWindow;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.onWatcherError = opts.onWatcherError ?? ((err, ev) => console.error(`store: watcher callback threw on ${ev.type} ${ev.kv.key}@${ev.revision}:`, err));
  }

  /** Connect and learn the current revision (STORE_UNAVAILABLE if etcd does not answer). */
  static async connect(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const s = new EtcdStore(opts);
    await s.call<JsonRange>('/v3/kv/range', { key: b64(s.ns + '\0'), count_only: true });
    s.compactedTo = s.rev;
    return s;
  }

  private open(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'store is closed');
  }

  private seen(h: JsonHeader | undefined): void {
    const r = num(h?.revision);
    if (r > this.rev) this.rev = r;
  }

  private async call<T extends { header?: JsonHeader }>(path: string, body: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new StoreError('STORE_UNAVAILABLE', `etcd ${this.base}${path}: ${cause}`);
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StoreError('STORE_UNAVAILABLE', `etcd ${this.base}${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const msg = (json as { message?: string; error?: string }).message ?? (json as { error?: string }).error ?? text;
      if (msg.includes('required revision has been compacted')) throw new StoreError('STORE_EXPIRED', `etcd: ${msg}`);
      throw new StoreError('STORE_UNAVAILABLE', `etcd ${path}: HTTP ${res.status}: ${msg}`);
    }
    const out = json as T;
    this.seen(out.header);
    return out;
  }

  private toKv(kv: JsonKv): KeyValue {
    return { key: unb64(kv.key).slice(this.ns.length), value: unb64(kv.value), createRevision: num(kv.create_revision), modRevision: num(kv.mod_revision) };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.open();
    checkKey(key);
    const r = await this.call<JsonRange>('/v3/kv/range', { key: b64(this.ns + key) });
    const kv = r.kvs?.[0];
    return kv === undefined ? undefined : this.toKv(kv);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.open();
    const full = this.ns + prefix;
    const from = opts.startAfter !== undefined && opts.startAfter >= prefix ? `${this.ns}${opts.startAfter}\0` : full;
    const body: Record<string, unknown> = { key: full === '' ? b64('\0') : b64(from), range_end: prefixRangeEnd(full) };
    if (opts.limit !== undefined && opts.limit > 0) body.limit = String(opts.limit);
    if (opts.revision !== undefined && opts.revision > 0) {
      if (opts.revision > this.rev) await this.call<JsonRange>('/v3/kv/range', { key: b64(this.ns + '\0'), count_only: true });
      if (opts.revision > this.rev) throw new StoreError('STORE_UNAVAILABLE', `revision ${opts.revision} is a future revision (current ${this.rev})`);
      body.revision = String(opts.revision);
    }
    let r: JsonRange;
    try {
      r = await this.call<JsonRange>('/v3/kv/range', body);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'STORE_EXPIRED') throw new StoreError('STORE_EXPIRED', `list at revision ${opts.revision}: ${e.message}`);
      throw e;
    }
    return { items: (r.kvs ?? []).map((kv) => this.toKv(kv)), revision: opts.revision !== undefined && opts.revision > 0 ? opts.revision : num(r.header?.revision), more: r.more === true };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.open();
    checkKey(key);
    if (typeof value !== 'string') throw new TypeError('store value must be a string (JSON text)');
    const k = b64(this.ns + key);
    const t = await this.call<JsonTxn>('/v3/kv/txn', {
      compare: [{ key: k, target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
      success: [{ request_put: { key: k, value: b64(value) } }],
      failure: [{ request_range: { key: k } }],
    });
    if (t.succeeded !== true) {
      const cur = t.responses?.[0]?.response_range?.kvs?.[0];
      throw new StoreError('STORE_ALREADY_EXISTS', `key ${key} already exists (modRevision ${num(cur?.mod_revision)})`, key);
    }
    const rev = num(t.header?.revision);
    await this.maybeCompact();
    return { key, value, createRevision: rev, modRevision: rev };
  }

  private guard(k: string, expectedModRevision: number | undefined): unknown[] {
    const c: unknown[] = [{ key: k, target: 'VERSION', result: 'GREATER', version: '0' }];
    if (expectedModRevision !== undefined) c.push({ key: k, target: 'MOD', result: 'EQUAL', mod_revision: String(expectedModRevision) });
    return c;
  }

  private refused(key: string, t: JsonTxn, expected: number | undefined): StoreError {
    const cur = t.responses?.[0]?.response_range?.kvs?.[0];
    if (cur === undefined) return new StoreError('STORE_NOT_FOUND', `key ${key} not found`, key);
    return new StoreError('STORE_CONFLICT', `key ${key} has modRevision ${num(cur.mod_revision)}, expected ${expected}`, key);
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    this.open();
    checkKey(key);
    if (typeof value !== 'string') throw new TypeError('store value must be a string (JSON text)');
    const k = b64(this.ns + key);
    const t = await this.call<JsonTxn>('/v3/kv/txn', {
      compare: this.guard(k, expectedModRevision),
      success: [{ request_put: { key: k, value: b64(value), prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (t.succeeded !== true) throw this.refused(key, t, expectedModRevision);
    const rev = num(t.header?.revision);
    const prev = t.responses?.[0]?.response_put?.prev_kv;
    await this.maybeCompact();
    return { key, value, createRevision: prev !== undefined ? num(prev.create_revision) : rev, modRevision: rev };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.open();
    checkKey(key);
    const k = b64(this.ns + key);
    const t = await this.call<JsonTxn>('/v3/kv/txn', {
      compare: this.guard(k, expectedModRevision),
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (t.succeeded !== true) throw this.refused(key, t, expectedModRevision);
    const rev = num(t.header?.revision);
    const prev = t.responses?.[0]?.response_delete_range?.prev_kvs?.[0];
    await this.maybeCompact();
    return { key, value: unb64(prev?.value), createRevision: num(prev?.create_revision), modRevision: rev };
  }

  /** Keep the retained history between `window` and 2×`window` revisions. */
  private async maybeCompact(): Promise<void> {
    if (this.window === null) return;
    const w = Math.max(this.window, 1);
    if (this.rev - this.compactedTo < 2 * w || this.compacting !== undefined) return;
    const to = this.rev - w;
    this.compacting = this.call('/v3/kv/compaction', { revision: String(to) })
      .then(() => { this.compactedTo = Math.max(this.compactedTo, to); })
      .catch((e: unknown) => {
        // Already compacted further (by another client): fine. Anything else: the write
        // itself succeeded; the next write tries again.
        if (e instanceof StoreError && e.code === 'STORE_EXPIRED') this.compactedTo = Math.max(this.compactedTo, to);
      })
      .finally(() => { this.compacting = undefined; });
    await this.compacting;
  }

  watch(prefix: string, afterRevision: number, onEvent: (ev: StoreWatchEvent) => void, onError?: (err: StoreError) => void): WatchHandle {
    this.open();
    if (typeof prefix !== 'string') throw new TypeError('watch prefix must be a string');
    const after = Math.max(0, Math.floor(afterRevision));
    // etcd keeps revision C after compacting to C, so watching from after >= C-1 works.
    if (after + 1 < this.compactedTo) {
      throw new StoreError('STORE_EXPIRED', `watch from revision ${after} is older than the retained history (etcd compacted to ${this.compactedTo}, current ${this.rev})`);
    }
    const w: ActiveWatch = { abort: new AbortController(), onError, done: false };
    this.watches.add(w);
    const finish = (err: StoreError | undefined): void => {
      if (w.done) return;
      w.done = true;
      this.watches.delete(w);
      w.abort.abort();
      if (err !== undefined) {
        try { onError?.(err); } catch { /* consumer bug must not escape into the stream reader */ }
      }
    };
    void this.runWatch(prefix, after, onEvent, w, finish);
    return { cancel: () => finish(undefined) };
  }

  private async runWatch(prefix: string, after: number, onEvent: (ev: StoreWatchEvent) => void, w: ActiveWatch, finish: (err: StoreError | undefined) => void): Promise<void> {
    const full = this.ns + prefix;
    const create = { create_request: { key: full === '' ? b64('\0') : b64(full), range_end: prefixRangeEnd(full), start_revision: String(after + 1), prev_kv: true } };
    try {
      const res = await fetch(`${this.base}/v3/watch`, { method: 'POST', body: JSON.stringify(create), headers: { 'content-type': 'application/json' }, signal: w.abort.signal });
      if (!res.ok || res.body === null) {
        finish(new StoreError('STORE_UNAVAILABLE', `etcd watch: HTTP ${res.status}: ${await res.text().catch(() => '')}`));
        return;
      }
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === '' || w.done) continue;
          const msg = JSON.parse(line) as { result?: JsonWatchResult; error?: { message?: string } };
          if (msg.error !== undefined) {
            finish(new StoreError('STORE_UNAVAILABLE', `etcd watch: ${msg.error.message ?? JSON.stringify(msg.error)}`));
            return;
          }
          const r = msg.result ?? {};
          this.seen(r.header);
          if (r.compact_revision !== undefined && num(r.compact_revision) > 0) {
            const c = num(r.compact_revision);
            this.compactedTo = Math.max(this.compactedTo, c);
            finish(new StoreError('STORE_EXPIRED', `watch from revision ${after} is older than the retained history (etcd compacted to ${c})`));
            return;
          }
          if (r.canceled === true) {
            finish(new StoreError('STORE_UNAVAILABLE', `etcd canceled the watch: ${r.cancel_reason ?? 'no reason given'}`));
            return;
          }
          for (const e of r.events ?? []) {
            if (w.done) return;
            const ev = this.toEvent(e);
            if (ev.revision > this.rev) this.rev = ev.revision;
            try {
              onEvent(ev);
            } catch (err) {
              try { this.onWatcherError(err, ev); } catch { /* ignore */ }
            }
          }
        }
      }
      finish(new StoreError(this.closed ? 'STORE_CLOSED' : 'STORE_UNAVAILABLE', 'etcd watch stream ended'));
    } catch (e) {
      if (w.done) return;
      finish(new StoreError(this.closed ? 'STORE_CLOSED' : 'STORE_UNAVAILABLE', `etcd watch: ${(e as Error).message}`));
    }
  }

  private toEvent(e: { type?: 'PUT' | 'DELETE'; kv?: JsonKv; prev_kv?: JsonKv }): StoreWatchEvent {
    const kv = e.kv ?? {};
    const revision = num(kv.mod_revision);
    const prev = e.prev_kv !== undefined ? this.toKv(e.prev_kv) : undefined;
    if (e.type === 'DELETE') {
      const key = unb64(kv.key).slice(this.ns.length);
      const deleted: KeyValue = { key, value: prev?.value ?? '', createRevision: prev?.createRevision ?? 0, modRevision: revision };
      return prev !== undefined ? { type: 'DELETE', kv: deleted, prevKv: prev, revision } : { type: 'DELETE', kv: deleted, revision };
    }
    const cur = this.toKv(kv);
    return prev !== undefined ? { type: 'PUT', kv: cur, prevKv: prev, revision } : { type: 'PUT', kv: cur, revision };
  }

  revision(): number {
    return this.rev;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new StoreError('STORE_CLOSED', 'store closed');
    for (const w of [...this.watches]) {
      w.done = true;
      this.watches.delete(w);
      w.abort.abort();
      try { w.onError?.(err); } catch { /* ignore */ }
    }
    await this.compacting?.catch(() => {});
  }
}

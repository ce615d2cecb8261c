/**
 * Typed HTTP client of the emulated API server (fetch-based): list/get/create/update/
 * updateStatus/patch/delete/watch per resource, errors as `ApiStatusError` carrying the
 * server's `Status`. Also implements the controllers' `ControlApi`, so controllers can
 * run out of process.
 */
import type { KubeObject, List, ResourceInfo, Status, WatchEvent } from '../api/index.ts';
import { resourcePath } from '../api/index.ts';
import { resourceByName } from '../resources/index.ts';
import type { ControlApi } from '../controllers/types.ts';

export class ApiStatusError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'ApiStatusError';
    this.code = status.code;
    this.reason = status.reason ?? '';
  }
}

export interface ClientOptions {
  /** `http://127.0.0.1:6443` */
  readonly server: string;
  readonly token?: string;
  readonly fieldManager?: string;
  readonly fetch?: typeof fetch;
}

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
  readonly resourceVersion?: string;
}

export interface WatchOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly resourceVersion?: string;
  readonly allowWatchBookmarks?: boolean;
  readonly timeoutSeconds?: number;
}

export type PatchKind = 'merge' | 'strategic' | 'json' | 'apply';
const PATCH_CONTENT: Record<PatchKind, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface Watch {
  /** Stop the watch (idempotent). */
  stop(): void;
  /** Resolves when the stream ends (server close, error or stop). */
  readonly done: Promise<void>;
}

function query(o: Record<string, string | number | boolean | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

function info(resource: string | ResourceInfo): ResourceInfo {
  if (typeof resource !== 'string') return resource;
  const r = resourceByName(resource);
  if (!r) throw new Error(`unknown resource ${resource}`);
  return r;
}

export class KubeClient {
  private readonly f: typeof fetch;
  constructor(readonly opts: ClientOptions) {
    this.f = opts.fetch ?? fetch;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    return h;
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const init: RequestInit = { method, headers: this.headers(body !== undefined ? { 'content-type': contentType } : {}) };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await this.f(this.opts.server + path, init);
    const text = await res.text();
    let parsed: unknown;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
    if (!res.ok) {
      const st = parsed as Status | undefined;
      throw new ApiStatusError(st && st.kind === 'Status' ? st : { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: text || res.statusText, code: res.status });
    }
    return parsed as T;
  }

  private fm(): { fieldManager?: string } {
    return this.opts.fieldManager ? { fieldManager: this.opts.fieldManager } : {};
  }

  list<T = KubeObject>(resource: string | ResourceInfo, namespace?: string, o: ListOptions = {}): Promise<List<T>> {
    const r = info(resource);
    return this.request('GET', resourcePath(r, namespace) + query({ ...o }));
  }
  get<T = KubeObject>(resource: string | ResourceInfo, namespace: string | undefined, name: string): Promise<T> {
    return this.request('GET', resourcePath(info(resource), namespace, name));
  }
  create<T = KubeObject>(resource: string | ResourceInfo, namespace: string | undefined, obj: T, o: { dryRun?: boolean } = {}): Promise<T> {
    return this.request('POST', resourcePath(info(resource), namespace) + query({ ...this.fm(), dryRun: o.dryRun ? 'All' : undefined }), obj);
  }
  update<T = KubeObject>(resource: string | ResourceInfo, namespace: string | undefined, name: string, obj: T): Promise<T> {
    return this.request('PUT', resourcePath(info(resource), namespace, name) + query(this.fm()), obj);
  }
  updateStatus<T = KubeObject>(resource: string | ResourceInfo, namespace: string | undefined, name: string, obj: T): Promise<T> {
    return this.updateSubresource(resource, namespace, name, 'status', obj);
  }
  updateSubresource<T = KubeObject>(resource: string | ResourceInfo, namespace: string | undefined, name: string, subresource: string, obj: T): Promise<T> {
    return this.request('PUT', resourcePath(info(resource), namespace, name, subresource) + query(this.fm()), obj);
  }
  patch<T = KubeObject>(resource: string | ResourceInfo, namespace: string | undefined, name: string, kind: PatchKind, patch: unknown, o: { subresource?: string; force?: boolean } = {}): Promise<T> {
    const q = query({ ...this.fm(), ...(kind === 'apply' && !this.opts.fieldManager ? { fieldManager: 'netsim-client' } : {}), force: o.force ? true : undefined });
    return this.request('PATCH', resourcePath(info(resource), namespace, name, o.subresource) + q, patch, PATCH_CONTENT[kind]);
  }
  async delete(resource: string | ResourceInfo, namespace: string | undefined, name: string, opts: { gracePeriodSeconds?: number; preconditions?: { uid?: string } } = {}): Promise<void> {
    const body = opts.preconditions !== undefined ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: opts.preconditions } : undefined;
    await this.request('DELETE', resourcePath(info(resource), namespace, name) + query({ gracePeriodSeconds: opts.gracePeriodSeconds }), body);
  }
  async bind(namespace: string, podName: string, nodeName: string): Promise<void> {
    await this.request('POST', resourcePath(info('pods'), namespace, podName, 'binding'), { apiVersion: 'v1', kind: 'Binding', metadata: { name: podName }, target: { kind: 'Node', name: nodeName } });
  }

  /**
   * Watch a collection: newline-delimited JSON events until the server closes the stream or
   * `stop()`. ERROR events (e.g. 410 Expired) are delivered like others; the stream then ends.
   */
  watch<T = KubeObject>(resource: string | ResourceInfo, namespace: string | undefined, o: WatchOptions, onEvent: (ev: WatchEvent<T>) => void): Watch {
    const ac = new AbortController();
    const url = this.opts.server + resourcePath(info(resource), namespace) + query({ watch: true, ...o });
    const done = (async () => {
      let res: Response;
      try { res = await this.f(url, { headers: this.headers(), signal: ac.signal }); } catch (e) { if (ac.signal.aborted) return; throw e; }
      if (!res.ok || !res.body) {
        const text = await res.text();
        let st: Status;
        try { st = JSON.parse(text) as Status; } catch { st = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: text, code: res.status }; }
        throw new ApiStatusError(st);
      }
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
          }
        }
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();
    return { stop: () => ac.abort(), done };
  }

  /** ControlApi.list: all items. */
  async listItems<T = KubeObject>(resource: string, namespace?: string): Promise<T[]> {
    return (await this.list<T>(resource, namespace)).items;
  }
}

/** The controllers' ControlApi over HTTP. */
export function controlApiOf(c: KubeClient): ControlApi {
  return {
    list: (r, ns) => c.listItems(r, ns),
    get: async (r, ns, name) => {
      try {
        return await c.get(r, ns, name);
      } catch (e) {
        if (e instanceof ApiStatusError && e.code === 404) return undefined;
        throw e;
      }
    },
    create: (r, ns, obj) => c.create(r, ns, obj),
    update: (r, ns, name, obj) => c.update(r, ns, name, obj),
    updateStatus: (r, ns, name, obj) => c.updateStatus(r, ns, name, obj),
    updateSubresource: (r, ns, name, sub, obj) => c.updateSubresource(r, ns, name, sub, obj),
    delete: (r, ns, name, o) => c.delete(r, ns, name, o ?? {}),
    bind: (ns, pod, node) => c.bind(ns, pod, node),
  };
}

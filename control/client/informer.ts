/**
 * Informer (client-go's reflector + store + handlers, simplified): list, then watch from
 * the list's resourceVersion; on a 410 Expired ERROR (or a dropped stream) relist and
 * diff against the cache; periodic resync re-delivers every cached object as an update.
 * Handlers run in event order; the cache is keyed `namespace/name`.
 */
import type { KubeObject, Status } from '../api/index.ts';
import type { KubeClient, Watch } from './client.ts';
import type { Timer } from '../controllers/types.ts';
import { realTimer } from '../controllers/types.ts';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Re-deliver all cached objects as updates this often (0: never; default 0). */
  readonly resyncMs?: number;
  /** Delay before re-watching after the stream ends (default 100 ms). */
  readonly rewatchDelayMs?: number;
  readonly timer?: Timer;
}

function keyOf(o: HasMeta): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Anything with object metadata (typed kinds like `Service` or plain `KubeObject`). */
export interface HasMeta { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }

export class Informer<T extends HasMeta = KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private watch: Watch | undefined;
  private running = false;
  private synced = false;
  private rv = '';
  private resyncHandle: unknown;
  private retryHandle: unknown;
  private readonly timer: Timer;
  /** Number of full lists done (1 + relists). */
  lists = 0;

  constructor(private readonly client: KubeClient, readonly resource: string, private readonly opts: InformerOptions = {}) {
    this.timer = opts.timer ?? realTimer;
  }

  on(h: InformerHandlers<T>): this {
    this.handlers.push(h);
    return this;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get resourceVersion(): string {
    return this.rv;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.relist();
    this.startWatch();
    if (this.opts.resyncMs) this.scheduleResync();
  }

  stop(): void {
    this.running = false;
    this.watch?.stop();
    if (this.resyncHandle !== undefined) this.timer.clearTimeout(this.resyncHandle);
    if (this.retryHandle !== undefined) this.timer.clearTimeout(this.retryHandle);
  }

  private emit(kind: 'add' | 'update' | 'delete', a: T, b?: T): void {
    for (const h of this.handlers) {
      if (kind === 'add') h.add?.(a);
      else if (kind === 'update') h.update?.(a, b!);
      else h.delete?.(a);
    }
  }

  private async relist(): Promise<void> {
    const list = await this.client.list<T>(this.resource, this.opts.namespace, {
      ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
      ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
    });
    this.lists++;
    const seen = new Set<string>();
    for (const o of list.items) {
      const k = keyOf(o);
      seen.add(k);
      const old = this.cache.get(k);
      this.cache.set(k, o);
      if (!old) this.emit('add', o);
      else if (old.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.emit('update', old, o);
    }
    for (const [k, o] of [...this.cache]) if (!seen.has(k)) { this.cache.delete(k); this.emit('delete', o); }
    this.rv = list.metadata.resourceVersion ?? '';
    this.synced = true;
  }

  private startWatch(): void {
    if (!this.running) return;
    let expired = false;
    const w = this.client.watch<T>(this.resource, this.opts.namespace, {
      resourceVersion: this.rv, allowWatchBookmarks: true,
      ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
      ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
    }, (ev) => {
      if (ev.type === 'ERROR') { if ((ev.object as Status).code === 410) expired = true; return; }
      const o = ev.object as T;
      if (o.metadata?.resourceVersion) this.rv = o.metadata.resourceVersion;
      if (ev.type === 'BOOKMARK') return;
      const k = keyOf(o);
      const old = this.cache.get(k);
      if (ev.type === 'DELETED') { this.cache.delete(k); this.emit('delete', o); return; }
      this.cache.set(k, o);
      if (old) this.emit('update', old, o); else this.emit('add', o);
    });
    this.watch = w;
    const again = (): void => {
      if (!this.running) return;
      this.retryHandle = this.timer.setTimeout(() => {
        this.retryHandle = undefined;
        void (async () => {
          try { if (expired) await this.relist(); } catch { /* retried next round */ }
          this.startWatch();
        })();
      }, this.opts.rewatchDelayMs ?? 100);
    };
    w.done.then(again, () => { expired = true; again(); });
  }

  private scheduleResync(): void {
    this.resyncHandle = this.timer.setTimeout(() => {
      if (!this.running) return;
      for (const o of this.cache.values()) this.emit('update', o, o);
      this.scheduleResync();
    }, this.opts.resyncMs!);
  }
}

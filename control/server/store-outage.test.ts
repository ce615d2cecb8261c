// A store that cannot answer (etcd down, a FileStore whose WAL failed) is the server's
// temporary state: every verb answers 503 ServiceUnavailable with Retry-After, as
// kube-apiserver does, never 500 — and the same requests succeed once the store is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory-store.ts';
import { StoreError } from '../store/object-store.ts';
import type { KeyValue, ListOptions, ListResult, ObjectStore, StoreWatchEvent, WatchHandle } from '../store/object-store.ts';
import { buildApp } from './app.ts';

/** A MemoryStore that can be switched off: every call then fails as EtcdStore's do when etcd is down. */
class OutageStore implements ObjectStore {
  readonly inner = new MemoryStore();
  down = false;
  private gate<T>(f: () => Promise<T>): Promise<T> {
    return this.down ? Promise.reject(new StoreError('STORE_UNAVAILABLE', 'etcd http://127.0.0.1:2379/v3/kv/range: connect ECONNREFUSED')) : f();
  }
  get(key: string): Promise<KeyValue | undefined> { return this.gate(() => this.inner.get(key)); }
  list(prefix: string, opts?: ListOptions): Promise<ListResult> { return this.gate(() => this.inner.list(prefix, opts)); }
  create(key: string, value: string): Promise<KeyValue> { return this.gate(() => this.inner.create(key, value)); }
  update(key: string, value: string, rev?: number): Promise<KeyValue> { return this.gate(() => this.inner.update(key, value, rev)); }
  delete(key: string, rev?: number): Promise<KeyValue> { return this.gate(() => this.inner.delete(key, rev)); }
  watch(prefix: string, after: number, onEvent: (ev: StoreWatchEvent) => void, onError?: (err: StoreError) => void): WatchHandle {
    if (this.down) throw new StoreError('STORE_UNAVAILABLE', 'etcd watch: connect ECONNREFUSED');
    return this.inner.watch(prefix, after, onEvent, onError);
  }
  revision(): number { return this.inner.revision(); }
  close(): Promise<void> { return this.inner.close(); }
}

test('store outage: 503 ServiceUnavailable with Retry-After for every verb, then normal service', async () => {
  const store = new OutageStore();
  const app = buildApp({ store });
  await app.ready();
  try {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } };
    const requests = [
      { method: 'GET' as const, url: '/api/v1/namespaces/default/services/kubernetes' },
      { method: 'GET' as const, url: '/api/v1/services' },
      { method: 'POST' as const, url: '/api/v1/namespaces/default/services', payload: svc },
      { method: 'PATCH' as const, url: '/api/v1/namespaces/default/services/kubernetes', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { labels: { a: 'b' } } } },
      { method: 'DELETE' as const, url: '/api/v1/namespaces/default/services/kubernetes' },
    ];
    store.down = true;
    for (const r of requests) {
      const res = await app.inject(r);
      assert.equal(res.statusCode, 503, `${r.method} ${r.url}: ${res.body}`);
      assert.equal(res.headers['retry-after'], '1');
      const s = JSON.parse(res.body) as { kind: string; reason: string; code: number; message: string };
      assert.deepEqual([s.kind, s.reason, s.code], ['Status', 'ServiceUnavailable', 503]);
      assert.match(s.message, /ECONNREFUSED/);
    }
    store.down = false;
    assert.equal((await app.inject(requests[0]!)).statusCode, 200);
    assert.equal((await app.inject(requests[2]!)).statusCode, 201);
  } finally {
    await app.close();
  }
});

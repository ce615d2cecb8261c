/**
 * The ObjectStore conformance suite: one set of node:test tests that every store
 * implementation must pass (memory, file, etcd). `runStoreConformance` registers the
 * tests inside a `describe(name)`; each test gets a fresh store from `makeStore` and
 * closes it afterwards.
 *
 * Stores may share a revision counter with other users (etcd), so the suite asserts
 * revisions relative to `store.revision()` before the test's first write, never
 * absolute values. Watch delivery may be asynchronous (etcd), so watch assertions wait
 * for the expected number of events with a bounded timeout.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from './object-store.ts';
import type { KeyValue, ObjectStore, StoreErrorCode, StoreWatchEvent, WatchHandle } from './object-store.ts';

export interface ConformanceStoreOptions {
  /**
   * Events the store must retain for watch resume. A store may retain more (up to twice
   * as many, e.g. etcd compacting in steps), never fewer.
   */
  readonly historyWindow: number;
}

export type MakeStore = (opts: ConformanceStoreOptions) => Promise<ObjectStore>;

export interface ConformanceOptions {
  /** Skip the whole suite with this reason (e.g. etcd not installed). */
  readonly skip?: string | undefined;
  /** Per-test timeout (ms); default 20 000. */
  readonly timeout?: number;
}

const WAIT_MS = 5000;

const isCode = (c: StoreErrorCode) => (e: unknown): boolean => {
  if (e instanceof StoreError && e.code === c) return true;
  throw new assert.AssertionError({ message: `expected StoreError ${c}, got ${e instanceof StoreError ? e.code : String(e)}`, actual: e, expected: c });
};

interface Collector {
  readonly events: StoreWatchEvent[];
  readonly errors: StoreError[];
  readonly handle: WatchHandle;
  /** Resolves once at least `n` events arrived; rejects after WAIT_MS. */
  waitFor(n: number): Promise<StoreWatchEvent[]>;
}

function collect(store: ObjectStore, prefix: string, after: number): Collector {
  const events: StoreWatchEvent[] = [];
  const errors: StoreError[] = [];
  let wake: (() => void) | undefined;
  const handle = store.watch(prefix, after, (ev) => { events.push(ev); wake?.(); }, (err) => { errors.push(err); wake?.(); });
  return {
    events,
    errors,
    handle,
    async waitFor(n) {
      const deadline = Date.now() + WAIT_MS;
      while (events.length < n && errors.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 100));
          wake = () => { clearTimeout(t); resolve(); };
        });
        wake = undefined;
      }
      if (errors.length > 0) throw errors[0];
      if (events.length < n) assert.fail(`watch ${prefix} from ${after}: got ${events.length} events, expected ${n} within ${WAIT_MS} ms`);
      return events;
    },
  };
}

/** Let a store deliver anything it would deliver (bounded). */
const settle = (ms = 150): Promise<void> => new Promise((r) => setTimeout(r, ms));

const summary = (ev: StoreWatchEvent): string => `${ev.type} ${ev.kv.key}=${ev.kv.value}@${ev.revision}`;

export function runStoreConformance(name: string, makeStore: MakeStore, opts: ConformanceOptions = {}): void {
  const timeout = opts.timeout ?? 20_000;
  describe(`ObjectStore conformance: ${name}`, { skip: opts.skip ?? false, timeout }, () => {
    /** Run `body` against a fresh store, closing it however the body ends. */
    const withStore = (historyWindow: number, body: (s: ObjectStore) => Promise<void>) => async (): Promise<void> => {
      const s = await makeStore({ historyWindow });
      try {
        await body(s);
      } finally {
        await s.close();
      }
    };

    test('create, get, update, delete: each write takes exactly the next revision', withStore(1000, async (s) => {
      const r0 = s.revision();
      const value = JSON.stringify({ metadata: { name: 'nginx-1', labels: { app: 'nginx' } }, note: 'ünïcødé ✓ 𝄞', big: 'x'.repeat(10_000) });
      const a = await s.create('/registry/pods/default/nginx-1', value);
      assert.deepEqual(a, { key: '/registry/pods/default/nginx-1', value, createRevision: r0 + 1, modRevision: r0 + 1 });
      assert.equal(s.revision(), r0 + 1);
      assert.deepEqual(await s.get('/registry/pods/default/nginx-1'), a);
      const u = await s.update('/registry/pods/default/nginx-1', '{"v":2}', a.modRevision);
      assert.deepEqual(u, { key: '/registry/pods/default/nginx-1', value: '{"v":2}', createRevision: r0 + 1, modRevision: r0 + 2 });
      const u2 = await s.update('/registry/pods/default/nginx-1', '{"v":3}');
      assert.equal(u2.modRevision, r0 + 3);
      assert.equal(u2.createRevision, r0 + 1);
      const d = await s.delete('/registry/pods/default/nginx-1', u2.modRevision);
      assert.equal(d.value, '{"v":3}');
      assert.equal(d.modRevision, r0 + 4);
      assert.equal(await s.get('/registry/pods/default/nginx-1'), undefined);
      assert.equal(s.revision(), r0 + 4);
      // Re-creating a deleted key starts a new life: new createRevision.
      const again = await s.create('/registry/pods/default/nginx-1', '{}');
      assert.equal(again.createRevision, r0 + 5);
    }));

    test('preconditions: already exists, not found, conflict — and failed writes take no revision', withStore(1000, async (s) => {
      const a = await s.create('/registry/services/default/web', '{"a":1}');
      const r = s.revision();
      await assert.rejects(s.create('/registry/services/default/web', '{}'), isCode('STORE_ALREADY_EXISTS'));
      await assert.rejects(s.update('/registry/services/default/nope', '{}'), isCode('STORE_NOT_FOUND'));
      await assert.rejects(s.update('/registry/services/default/nope', '{}', 5), isCode('STORE_NOT_FOUND'));
      await assert.rejects(s.delete('/registry/services/default/nope'), isCode('STORE_NOT_FOUND'));
      await assert.rejects(s.update('/registry/services/default/web', '{"a":2}', a.modRevision + 100), isCode('STORE_CONFLICT'));
      await assert.rejects(s.delete('/registry/services/default/web', a.modRevision - 1), isCode('STORE_CONFLICT'));
      assert.equal(s.revision(), r);
      assert.deepEqual(await s.get('/registry/services/default/web'), a);
      try {
        await s.create('/registry/services/default/web', '{}');
      } catch (e) {
        assert.ok(e instanceof StoreError);
        assert.equal(e.key, '/registry/services/default/web', 'StoreError names the key');
      }
    }));

    test('optimistic concurrency: of two updates from the same revision exactly one wins', withStore(1000, async (s) => {
      const a = await s.create('/registry/pods/default/p', '{"n":0}');
      const results = await Promise.allSettled([
        s.update('/registry/pods/default/p', '{"n":1}', a.modRevision),
        s.update('/registry/pods/default/p', '{"n":2}', a.modRevision),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const bad = results.filter((r) => r.status === 'rejected');
      assert.equal(ok.length, 1);
      assert.equal(bad.length, 1);
      assert.ok(bad[0]?.status === 'rejected' && bad[0].reason instanceof StoreError && bad[0].reason.code === 'STORE_CONFLICT');
      const winner = (ok[0] as PromiseFulfilledResult<KeyValue>).value;
      assert.deepEqual(await s.get('/registry/pods/default/p'), winner);
    }));

    test('list: lexical order, limit/startAfter paging, `more`, pinned revision across pages', withStore(1000, async (s) => {
      const names = Array.from({ length: 25 }, (_, i) => `/registry/pods/ns/p${String(i).padStart(2, '0')}`);
      for (const k of [...names].reverse()) await s.create(k, JSON.stringify({ k }));
      await s.create('/registry/pods/other/x', '{}');
      const first = await s.list('/registry/pods/ns/', { limit: 10 });
      assert.equal(first.revision, s.revision());
      assert.equal(first.more, true);
      assert.deepEqual(first.items.map((kv) => kv.key), names.slice(0, 10));
      // Writes between pages must not show in later pages read at the first page's revision.
      await s.delete(names[15] as string);
      await s.update(names[16] as string, '{"changed":true}');
      await s.create('/registry/pods/ns/p12a', '{}');
      const pages = [first];
      let last = first;
      while (last.more) {
        last = await s.list('/registry/pods/ns/', { limit: 10, startAfter: (last.items.at(-1) as KeyValue).key, revision: first.revision });
        assert.equal(last.revision, first.revision);
        pages.push(last);
      }
      assert.deepEqual(pages.map((p) => p.items.length), [10, 10, 5]);
      assert.deepEqual(pages.flatMap((p) => p.items.map((kv) => kv.key)), names);
      assert.equal(pages[1]?.items[6]?.value, JSON.stringify({ k: names[16] }));
      // The latest view has the changes.
      const now = await s.list('/registry/pods/ns/');
      assert.equal(now.more, false);
      assert.equal(now.items.length, 25);
      assert.ok(now.items.some((kv) => kv.key === '/registry/pods/ns/p12a'));
      assert.ok(!now.items.some((kv) => kv.key === names[15]));
      // limit exactly equal to the count: no more.
      const exact = await s.list('/registry/pods/ns/', { limit: 25 });
      assert.equal(exact.more, false);
      const empty = await s.list('/registry/nothing-here/');
      assert.deepEqual(empty.items, []);
      assert.equal(empty.more, false);
    }));

    test('list at an older revision shows the values of that revision', withStore(1000, async (s) => {
      const a1 = await s.create('/registry/nodes/n1', '{"v":1}');
      await s.create('/registry/nodes/n2', '{"v":1}');
      const r = s.revision();
      await s.update('/registry/nodes/n1', '{"v":2}');
      await s.delete('/registry/nodes/n2');
      await s.create('/registry/nodes/n3', '{"v":1}');
      const old = await s.list('/registry/nodes/', { revision: r });
      assert.equal(old.revision, r);
      assert.deepEqual(old.items.map((kv) => [kv.key, kv.value]), [['/registry/nodes/n1', '{"v":1}'], ['/registry/nodes/n2', '{"v":1}']]);
      assert.deepEqual(old.items[0], a1);
      const now = await s.list('/registry/nodes/');
      assert.deepEqual(now.items.map((kv) => [kv.key, kv.value]), [['/registry/nodes/n1', '{"v":2}'], ['/registry/nodes/n3', '{"v":1}']]);
    }));

    test('prefix isolation: /registry/pods/ never matches /registry/podsx/ (list and watch)', withStore(1000, async (s) => {
      const r0 = s.revision();
      const w = collect(s, '/registry/pods/', r0);
      await s.create('/registry/podsx/default/a', '{}');
      await s.create('/registry/pods/default/a', '{}');
      await s.create('/registry/pods', '{}');
      await s.create('/registry/pods0/b', '{}');
      await s.create('/registry/pods/default/b', '{}');
      const l = await s.list('/registry/pods/');
      assert.deepEqual(l.items.map((kv) => kv.key), ['/registry/pods/default/a', '/registry/pods/default/b']);
      const lx = await s.list('/registry/podsx/');
      assert.deepEqual(lx.items.map((kv) => kv.key), ['/registry/podsx/default/a']);
      await w.waitFor(2);
      await settle();
      assert.deepEqual(w.events.map((e) => e.kv.key), ['/registry/pods/default/a', '/registry/pods/default/b']);
      w.handle.cancel();
    }));

    test('watch from a revision: retained history first, then live events, in revision order', withStore(1000, async (s) => {
      const r0 = s.revision();
      await s.create('/registry/pods/ns/a', 'a1'); // r0+1
      await s.create('/registry/pods/ns/b', 'b1'); // r0+2
      await s.update('/registry/pods/ns/a', 'a2'); // r0+3
      const w = collect(s, '/registry/pods/', r0 + 1);
      await w.waitFor(2);
      await s.delete('/registry/pods/ns/b'); // r0+4
      await s.create('/registry/pods/ns/c', 'c1'); // r0+5
      await w.waitFor(4);
      assert.deepEqual(w.events.map(summary), [
        `PUT /registry/pods/ns/b=b1@${r0 + 2}`,
        `PUT /registry/pods/ns/a=a2@${r0 + 3}`,
        `DELETE /registry/pods/ns/b=b1@${r0 + 4}`,
        `PUT /registry/pods/ns/c=c1@${r0 + 5}`,
      ]);
      const upd = w.events[1] as StoreWatchEvent;
      assert.equal(upd.kv.modRevision, r0 + 3);
      assert.equal(upd.kv.createRevision, r0 + 1);
      assert.equal(upd.prevKv?.value, 'a1');
      assert.equal(upd.prevKv?.modRevision, r0 + 1);
      const del = w.events[2] as StoreWatchEvent;
      assert.equal(del.kv.modRevision, r0 + 4);
      assert.equal(del.prevKv?.modRevision, r0 + 2);
      const created = w.events[3] as StoreWatchEvent;
      assert.equal(created.prevKv, undefined);
      // Watching from the current revision delivers only what follows.
      const w2 = collect(s, '/registry/pods/', s.revision());
      await settle();
      assert.equal(w2.events.length, 0);
      await s.update('/registry/pods/ns/c', 'c2');
      await w2.waitFor(1);
      assert.equal(w2.events[0]?.kv.value, 'c2');
      w.handle.cancel();
      w2.handle.cancel();
    }));

    test('watch cancel stops delivery and is idempotent', withStore(1000, async (s) => {
      const w = collect(s, '/k/', s.revision());
      await s.create('/k/a', '1');
      await w.waitFor(1);
      w.handle.cancel();
      w.handle.cancel();
      await settle(50);
      await s.create('/k/b', '1');
      await settle();
      assert.equal(w.events.length, 1);
    }));

    test('ordering: concurrent writes get distinct revisions and watchers see them in revision order', withStore(1000, async (s) => {
      const r0 = s.revision();
      const w1 = collect(s, '/registry/', r0);
      const w2 = collect(s, '/registry/pods/', r0);
      const kvs = await Promise.all(Array.from({ length: 40 }, (_, i) => s.create(`/registry/${i % 2 === 0 ? 'pods' : 'services'}/ns/o${i}`, String(i))));
      const revs = kvs.map((kv) => kv.modRevision).sort((a, b) => a - b);
      assert.deepEqual(revs, Array.from({ length: 40 }, (_, i) => r0 + 1 + i));
      await w1.waitFor(40);
      await w2.waitFor(20);
      assert.deepEqual(w1.events.map((e) => e.revision), revs);
      const podRevs = kvs.filter((kv) => kv.key.startsWith('/registry/pods/')).map((kv) => kv.modRevision).sort((a, b) => a - b);
      assert.deepEqual(w2.events.map((e) => e.revision), podRevs);
      for (const ev of w1.events) assert.equal(ev.kv.value, kvs.find((kv) => kv.key === ev.kv.key)?.value);
      w1.handle.cancel();
      w2.handle.cancel();
    }));

    test('history expiry: watching from before the window fails STORE_EXPIRED; within it works', withStore(4, async (s) => {
      const r0 = s.revision();
      for (let i = 0; i < 20; i++) await s.create(`/registry/events/e${i}`, String(i));
      const latest = s.revision();
      assert.equal(latest, r0 + 20);
      let expired: unknown;
      try {
        const w = collect(s, '/registry/events/', r0);
        try { await w.waitFor(20); } catch (e) { expired = e; }
        w.handle.cancel();
      } catch (e) {
        expired = e;
      }
      assert.ok(expired instanceof StoreError && expired.code === 'STORE_EXPIRED', `expected STORE_EXPIRED, got ${String(expired)}`);
      await assert.rejects(s.list('/registry/events/', { revision: r0 + 1 }), isCode('STORE_EXPIRED'));
      const w = collect(s, '/registry/events/', latest - 4);
      await w.waitFor(4);
      assert.deepEqual(w.events.map((e) => e.kv.value), ['16', '17', '18', '19']);
      w.handle.cancel();
    }));

    test('a watcher whose callback throws does not break writes or other watchers', withStore(1000, async (s) => {
      const r0 = s.revision();
      const bad = s.watch('/t/', r0, () => { throw new Error('consumer bug'); }, () => {});
      const w = collect(s, '/t/', r0);
      const origError = console.error;
      console.error = () => {};
      try {
        await s.create('/t/a', '1');
        await s.create('/t/b', '2');
        await w.waitFor(2);
        await settle(); // remote stores deliver to the throwing watcher asynchronously too
      } finally {
        console.error = origError;
      }
      assert.deepEqual(w.events.map((e) => e.kv.key), ['/t/a', '/t/b']);
      assert.equal((await s.get('/t/b'))?.value, '2');
      bad.cancel();
      w.handle.cancel();
    }));

    test('closed store: operations fail STORE_CLOSED', async () => {
      const s = await makeStore({ historyWindow: 10 });
      await s.create('/c/a', '1');
      await s.close();
      await assert.rejects(s.get('/c/a'), isCode('STORE_CLOSED'));
      await assert.rejects(s.list('/c/'), isCode('STORE_CLOSED'));
      await assert.rejects(s.create('/c/b', '1'), isCode('STORE_CLOSED'));
      await assert.rejects(s.update('/c/a', '1'), isCode('STORE_CLOSED'));
      await assert.rejects(s.delete('/c/a'), isCode('STORE_CLOSED'));
      await s.close();
    });
  });
}

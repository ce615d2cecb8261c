import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdStore, prefixRangeEnd } from './etcd-store.ts';
import { StoreError } from './object-store.ts';
import { runStoreConformance } from './conformance.ts';
import { findEtcd, LocalEtcd, ETCD_SKIP_REASON } from './etcd-harness.ts';
import { runWriterAndKill, verifyAcks } from './crash-harness.ts';
import type { Ack } from './crash-harness.ts';

const binary = findEtcd();
const skip = binary === undefined ? ETCD_SKIP_REASON : undefined;
if (skip !== undefined) console.log(`# etcd-store tests skipped: ${skip}`);

let etcd: LocalEtcd | undefined;
let dir: string | undefined;
let n = 0;
const ns = (): string => `/netsim-test-${process.pid}-${n++}`;
const endpoint = (): string => (etcd as LocalEtcd).endpoint;

before(async () => {
  if (binary === undefined) return;
  dir = mkdtempSync(join(tmpdir(), 'netsim-etcd-'));
  etcd = await LocalEtcd.start(binary, dir);
});

after(async () => {
  try {
    await etcd?.stop();
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
});

test('prefixRangeEnd increments the last byte below 0xff (etcd WithPrefix)', () => {
  assert.equal(Buffer.from(prefixRangeEnd('/registry/pods/'), 'base64').toString(), '/registry/pods0');
  assert.deepEqual([...Buffer.from(prefixRangeEnd('a\u00ff'), 'base64')], [0x61, 0xc3, 0xc0]);
  assert.deepEqual([...Buffer.from(prefixRangeEnd(''), 'base64')], [0]);
});

runStoreConformance('EtcdStore', ({ historyWindow }) => EtcdStore.connect({ endpoint: endpoint(), namespace: ns(), historyWindow }), { skip });

describe('EtcdStore against a real etcd', { skip }, () => {
  test('namespace isolates stores sharing one etcd', async () => {
    const a = await EtcdStore.connect({ endpoint: endpoint(), namespace: ns() });
    const b = await EtcdStore.connect({ endpoint: endpoint(), namespace: ns() });
    try {
      await a.create('/registry/pods/x', '{"a":1}');
      assert.equal(await b.get('/registry/pods/x'), undefined);
      assert.deepEqual((await b.list('/')).items, []);
      const all = await a.list('');
      assert.deepEqual(all.items.map((kv) => kv.key), ['/registry/pods/x']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('flannel-style keys and values round-trip as etcdctl would see them', async () => {
    const space = ns();
    const s = await EtcdStore.connect({ endpoint: endpoint(), namespace: space });
    try {
      const cfg = '{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"udp","Port":8285}}';
      await s.create('/coreos.com/network/config', cfg);
      // Read it back with a raw gateway call, as `etcdctl get` would.
      const r = await fetch(`${endpoint()}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(`${space}/coreos.com/network/config`).toString('base64') }) });
      const body = (await r.json()) as { kvs?: Array<{ value?: string }> };
      assert.equal(Buffer.from(body.kvs?.[0]?.value ?? '', 'base64').toString(), cfg);
    } finally {
      await s.close();
    }
  });

  test('writer SIGKILLed mid-stream: every acknowledged write is in etcd; then etcd itself restarts with the data', { timeout: 90_000 }, async () => {
    const space = ns();
    const all: Ack[] = [];
    for (const [round, killAfter] of [[1, 40], [2, 300]] as const) {
      all.push(...await runWriterAndKill({ kind: 'etcd', endpoint: endpoint(), namespace: space, concurrency: 8 }, `r${round}`, killAfter));
      const s = await EtcdStore.connect({ endpoint: endpoint(), namespace: space });
      try {
        await verifyAcks(s, all);
        const next = await s.create(`/crash/after-r${round}`, '{}');
        assert.ok(next.modRevision > Math.max(...all.map((a) => a.rev)));
        all.push({ key: next.key, rev: next.modRevision, value: next.value });
      } finally {
        await s.close();
      }
    }
    // kill -9 etcd itself, restart on the same data dir: everything is still there.
    await (etcd as LocalEtcd).stop('SIGKILL');
    const down = await EtcdStore.connect({ endpoint: endpoint(), namespace: space }).catch((e: unknown) => e);
    assert.ok(down instanceof StoreError && down.code === 'STORE_UNAVAILABLE', `expected STORE_UNAVAILABLE while etcd is down, got ${String(down)}`);
    await (etcd as LocalEtcd).restart();
    const s = await EtcdStore.connect({ endpoint: endpoint(), namespace: space });
    try {
      await verifyAcks(s, all);
      assert.ok((await s.create('/crash/after-restart', '{}')).modRevision > Math.max(...all.map((a) => a.rev)));
    } finally {
      await s.close();
    }
  });

  test('a watch loses its stream when etcd goes away: onError(STORE_UNAVAILABLE)', { timeout: 30_000 }, async () => {
    const s = await EtcdStore.connect({ endpoint: endpoint(), namespace: ns() });
    try {
      const errors: StoreError[] = [];
      const got = new Promise<void>((resolve) => s.watch('/', s.revision(), () => {}, (e) => { errors.push(e); resolve(); }));
      await new Promise((r) => setTimeout(r, 200));
      await (etcd as LocalEtcd).stop();
      await got;
      assert.equal(errors[0]?.code, 'STORE_UNAVAILABLE');
      await assert.rejects(s.get('/x'), (e: unknown) => e instanceof StoreError && e.code === 'STORE_UNAVAILABLE');
    } finally {
      await (etcd as LocalEtcd).restart();
      await s.close();
    }
  });
});

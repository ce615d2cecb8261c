import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stores, openStore, isStoreKind, STORE_KINDS, MemoryStore, FileStore } from './index.ts';

test('registry: every StoreKind has a factory, and each opens its implementation', async () => {
  assert.deepEqual(Object.keys(stores).sort(), [...STORE_KINDS].sort());
  assert.ok(isStoreKind('file'));
  assert.ok(!isStoreKind('sqlite'));
  const m = await openStore('memory', { historyWindow: 3 });
  assert.ok(m instanceof MemoryStore);
  for (let i = 0; i < 5; i++) await m.create(`/k${i}`, '1');
  assert.throws(() => m.watch('/', 0, () => {}), /older than the retained history/);
  await m.close();
  const dir = mkdtempSync(join(tmpdir(), 'netsim-index-'));
  try {
    const f = await openStore('file', { dir: join(dir, 's') });
    assert.ok(f instanceof FileStore);
    await f.create('/a', '1');
    await f.close();
    assert.ok(existsSync(join(dir, 's', 'wal-0000000000000001.jsonl')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(openStore('etcd', {}), /needs an endpoint/);
});

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from './file-store.ts';
import { runWriterAndKill, verifyAcks } from './crash-harness.ts';
import type { Ack, CrashStoreSpec } from './crash-harness.ts';

const root = mkdtempSync(join(tmpdir(), 'netsim-crash-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('FileStore survives SIGKILL of its writer: every acknowledged write is there, revisions keep increasing', { timeout: 90_000 }, async () => {
  const dir = join(root, 'store');
  // Small snapshot interval so some kills land during rotation/snapshot writing.
  const spec: CrashStoreSpec = { kind: 'file', dir, snapshotEveryRecords: 150, concurrency: 8 };
  const all: Ack[] = [];
  for (const [round, killAfter] of [[1, 25], [2, 400], [3, 1100], [4, 7]] as const) {
    const acks = await runWriterAndKill(spec, `r${round}`, killAfter);
    all.push(...acks);
    const store = await FileStore.open({ dir, onWarning: () => {} });
    try {
      assert.ok(store.openReport.staleLockPid !== undefined, 'the dead writer\'s lock was taken over');
      await verifyAcks(store, all);
      const maxAcked = Math.max(...all.map((a) => a.rev));
      const next = await store.create(`/crash/after-r${round}`, '{}');
      assert.ok(next.modRevision > maxAcked, `new write got ${next.modRevision}, acknowledged max ${maxAcked}`);
      assert.equal(next.modRevision, store.revision());
      all.push({ key: next.key, rev: next.modRevision, value: next.value });
    } finally {
      await store.close();
    }
  }
});

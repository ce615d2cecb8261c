/**
 * Shared by the crash tests of every durable store: run `crash-writer.ts` in a child
 * process, SIGKILL it after some acknowledged writes, and check that a reopened store
 * has every acknowledged write. Test support only (imports node:assert).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { ObjectStore } from './object-store.ts';
import { FileStore } from './file-store.ts';

export type CrashStoreSpec =
  | { readonly kind: 'file'; readonly dir: string; readonly snapshotEveryRecords?: number; readonly concurrency?: number }
  | { readonly kind: 'etcd'; readonly endpoint: string; readonly namespace: string; readonly concurrency?: number };

export async function openStoreForCrashTest(spec: CrashStoreSpec): Promise<ObjectStore> {
  if (spec.kind === 'file') {
    return FileStore.open({ dir: spec.dir, onWarning: () => {}, ...(spec.snapshotEveryRecords !== undefined ? { snapshotEveryRecords: spec.snapshotEveryRecords } : {}) });
  }
  const { EtcdStore } = await import('./etcd-store.ts');
  return EtcdStore.connect({ endpoint: spec.endpoint, namespace: spec.namespace });
}

export interface Ack { readonly key: string; readonly rev: number; readonly value: string }

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

/** Start the writer, SIGKILL it once `killAfter` writes were acknowledged, return the acks. */
export async function runWriterAndKill(spec: CrashStoreSpec, run: string, killAfter: number, timeoutMs = 20_000): Promise<Ack[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, JSON.stringify(spec), run], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: Ack[] = [];
  let buf = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const msg = JSON.parse(line) as Partial<Ack> & { ready?: boolean };
      if (msg.ready === true) continue;
      acks.push(msg as Ack);
      if (acks.length === killAfter) child.kill('SIGKILL');
    }
  });
  const { code, signal } = await exited;
  clearTimeout(timer);
  assert.equal(signal, 'SIGKILL', `writer should die by SIGKILL, exited with code ${code}; stderr: ${stderr}`);
  assert.ok(acks.length >= killAfter, `writer acknowledged only ${acks.length} writes before the timeout; stderr: ${stderr}`);
  return acks;
}

/**
 * Every acknowledged write is there: the key exists with modRevision >= the acked one,
 * and with exactly the acked value when nothing later touched it. Revisions of acked
 * writes are unique.
 */
export async function verifyAcks(store: ObjectStore, acks: readonly Ack[]): Promise<void> {
  const last = new Map<string, Ack>();
  const revs = new Set<number>();
  for (const a of acks) {
    assert.ok(!revs.has(a.rev), `revision ${a.rev} acknowledged twice`);
    revs.add(a.rev);
    const prev = last.get(a.key);
    assert.ok(prev === undefined || prev.rev < a.rev, `acks for ${a.key} out of order`);
    last.set(a.key, a);
  }
  let maxRev = 0;
  for (const a of last.values()) {
    const kv = await store.get(a.key);
    assert.ok(kv !== undefined, `acknowledged write lost: ${a.key}@${a.rev}`);
    assert.ok(kv.modRevision >= a.rev, `${a.key}: modRevision ${kv.modRevision} < acknowledged ${a.rev}`);
    if (kv.modRevision === a.rev) assert.equal(kv.value, a.value, `${a.key}@${a.rev}: value differs`);
    maxRev = Math.max(maxRev, a.rev);
  }
  assert.ok(store.revision() >= maxRev, `store revision ${store.revision()} < highest acknowledged ${maxRev}`);
}

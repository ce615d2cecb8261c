/**
 * Store write throughput (issue 4: "writes per second").
 *
 * - MemoryStore, sequential creates: the baseline with no I/O.
 * - FileStore, sequential creates: each write waits for its own append + fsync.
 * - FileStore, 64 writers in flight: group commit folds concurrent writes into one
 *   append + one fsync; the note reports the average batch size.
 *
 * Values are a ~700-byte Pod-shaped JSON. Each case runs for a fixed wall-clock budget
 * after a short warm-up; the whole module takes about 10 s. The file store writes in a
 * temporary directory under os.tmpdir() (so the numbers are that disk's fsync cost).
 *
 * Run alone: node --import tsx bench/store.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MemoryStore } from '../control/store/memory-store.ts';
import { FileStore } from '../control/store/file-store.ts';
import type { ObjectStore } from '../control/store/object-store.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const BUDGET_MS = 2000;
const WARMUP_MS = 200;

function podJson(i: number): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `nginx-deployment-7c79c4bf97-${i.toString(36).padStart(5, '0')}`, namespace: 'default', uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, labels: { app: 'nginx', 'pod-template-hash': '7c79c4bf97' }, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { nodeName: `node-${i % 3}`, containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: `10.244.${i % 3}.${(i % 250) + 2}`, hostIP: `192.168.50.${11 + (i % 3)}`, conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

/** Keep `inFlight` creates outstanding for `ms`; returns completed writes per second. */
async function drive(store: ObjectStore, tag: string, inFlight: number, ms: number): Promise<number> {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = next++;
      await store.create(`/registry/pods/default/${tag}-${i}`, podJson(i));
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - t0) / 1000);
}

async function measure(store: ObjectStore, tag: string, inFlight: number): Promise<number> {
  await drive(store, `${tag}-warm`, inFlight, WARMUP_MS);
  return drive(store, tag, inFlight, BUDGET_MS);
}

export async function benchStore(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const mem = new MemoryStore();
  const memSeq = await measure(mem, 'mem', 1);
  await mem.close();
  rows.push({ name: 'store: MemoryStore create, sequential (baseline, no I/O)', value: memSeq, unit: 'writes/s' });

  const dir = mkdtempSync(join(tmpdir(), 'netsim-bench-store-'));
  try {
    const seqStore = await FileStore.open({ dir: join(dir, 'seq'), onWarning: () => {} });
    const fileSeq = await measure(seqStore, 'seq', 1);
    const seqStats = seqStore.stats();
    await seqStore.close();
    rows.push({
      name: 'store: FileStore create, sequential (append + fsync per write)',
      value: fileSeq,
      unit: 'writes/s',
      note: `${(seqStats.records / seqStats.batches).toFixed(2)} writes/fsync; ${(memSeq / fileSeq).toFixed(0)}× slower than memory`,
    });

    const grpStore = await FileStore.open({ dir: join(dir, 'group'), onWarning: () => {} });
    const fileGroup = await measure(grpStore, 'grp', 64);
    const grpStats = grpStore.stats();
    await grpStore.close();
    rows.push({
      name: 'store: FileStore create, 64 in flight (group commit)',
      value: fileGroup,
      unit: 'writes/s',
      note: `${(grpStats.records / grpStats.batches).toFixed(1)} writes/fsync; ${(fileGroup / fileSeq).toFixed(1)}× sequential`,
    });

    // Reopen cost: replaying what the group run wrote.
    const t0 = performance.now();
    const reopened = await FileStore.open({ dir: join(dir, 'group'), onWarning: () => {} });
    const ms = performance.now() - t0;
    rows.push({ name: 'store: FileStore open, replay of the 64-in-flight run\'s WAL', value: ms, unit: 'ms', note: `${reopened.openReport.replayedRecords} records` });
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchStore();
  for (const r of rows) {
    const v = r.value >= 100 ? Math.round(r.value).toLocaleString('en-US') : r.value.toFixed(2);
    console.log(`${r.name.padEnd(68)} ${v.padStart(12)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
  }
}

/**
 * Child process for the crash tests (not a test itself): opens a store, writes objects
 * from several concurrent loops until it is killed, and prints one JSON line per
 * ACKNOWLEDGED write on stdout (`{"key","rev","value"}`), only after the write's
 * promise resolved. Stdout to a pipe is synchronous on Linux, so a printed line is
 * in the parent's pipe before the next instruction runs.
 *
 *   node --import tsx control/store/crash-writer.ts '<StoreSpec JSON>' <run-id>
 */
import { openStoreForCrashTest } from './crash-harness.ts';
import type { CrashStoreSpec } from './crash-harness.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as CrashStoreSpec;
const run = process.argv[3] ?? 'r';
const store = await openStoreForCrashTest(spec);
process.stdout.write(`${JSON.stringify({ ready: true, revision: store.revision() })}\n`);

async function worker(w: number): Promise<never> {
  for (let i = 0; ; i++) {
    const key = `/crash/${run}/w${w}/${String(i).padStart(6, '0')}`;
    const value = JSON.stringify({ run, w, i, pad: 'x'.repeat(i % 200) });
    const kv = await store.create(key, value);
    process.stdout.write(`${JSON.stringify({ key, rev: kv.modRevision, value })}\n`);
    if (i % 3 === 2) {
      const v2 = JSON.stringify({ run, w, i, updated: true });
      const u = await store.update(key, v2, kv.modRevision);
      process.stdout.write(`${JSON.stringify({ key, rev: u.modRevision, value: v2 })}\n`);
    }
  }
}

await Promise.all(Array.from({ length: spec.concurrency ?? 8 }, (_, w) => worker(w)));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneSidedOutcomes } from './one-sided.ts';

const none = { emu: new Set<string>(), kernel: new Set<string>() };
const A = 'pod-a: syn';
const B = 'sink: syn';
const X = 'pod-a: syn (no rst)';

test('a kernel-only outcome that does not show again in a fresh draw of the group is not counted; one that does is', () => {
  const first = { emu: [A, B, A, B], kernel: [A, X, B, A] };
  const gone = oneSidedOutcomes(first, none, { emu: [A, B, B, A], kernel: [B, A, A, B] });
  assert.deepEqual([...gone.kernelOnly], []);
  assert.deepEqual([...gone.unconfirmed], [X]);
  const again = oneSidedOutcomes(first, none, { emu: [A, B, B, A], kernel: [B, X, A, B] });
  assert.deepEqual([...again.kernelOnly], [X]);
  assert.deepEqual([...again.unconfirmed], []);
});

test('an emulator-only outcome likewise; an outcome the other side showed when asked again or in the second draw is no disagreement at all', () => {
  const first = { emu: [A, X, B], kernel: [A, B, B] };
  assert.deepEqual([...oneSidedOutcomes(first, none, { emu: [X, A, A], kernel: [A, B, A] }).emuOnly], [X]);
  assert.deepEqual([...oneSidedOutcomes(first, none, { emu: [B, A, A], kernel: [A, B, A] }).unconfirmed], [X]);
  const asked = oneSidedOutcomes(first, { emu: new Set(), kernel: new Set([X]) }, { emu: [X, A, A], kernel: [A, B, A] });
  assert.deepEqual([asked.emuOnly.size, asked.kernelOnly.size, asked.unconfirmed.size], [0, 0, 0]);
  const seenInSecond = oneSidedOutcomes(first, none, { emu: [X, A, A], kernel: [A, X, A] });
  assert.deepEqual([seenInSecond.emuOnly.size, seenInSecond.unconfirmed.size], [0, 0]);
});

test('an outcome only the second draw showed is shown once: not counted; without a second draw every one-sided outcome counts', () => {
  const first = { emu: [A, B], kernel: [A, B] };
  const o = oneSidedOutcomes(first, none, { emu: [A, B], kernel: [A, X] });
  assert.deepEqual([o.kernelOnly.size, o.emuOnly.size, o.unconfirmed.size], [0, 0, 0]);
  const noSecond = oneSidedOutcomes({ emu: [A, B], kernel: [A, X] }, none);
  assert.deepEqual([...noSecond.kernelOnly], [X]);
});

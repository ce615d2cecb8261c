import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SortedKeys } from './sorted-keys.ts';

test('SortedKeys: random inserts/removes across many chunk splits match a sorted Set', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { minLength: 2000, maxLength: 6000 }), fc.integer({ min: 0, max: 3000 }), (ops, probe) => {
    const s = new SortedKeys();
    const model = new Set<string>();
    for (const [add, n] of ops) {
      const k = `/k/${n}`;
      if (add) {
        assert.equal(s.insert(k), !model.has(k));
        model.add(k);
      } else {
        assert.equal(s.remove(k), model.delete(k));
      }
    }
    const sorted = [...model].sort();
    assert.equal(s.size, sorted.length);
    assert.deepEqual([...s], sorted);
    const from = `/k/${probe}`;
    assert.deepEqual([...s.from(from)], sorted.filter((k) => k >= from));
    assert.deepEqual([...s.from(from, true)], sorted.filter((k) => k > from));
  }), { numRuns: 20 });
});

test('SortedKeys.from(sorted) builds the same set', () => {
  const keys = Array.from({ length: 2000 }, (_, i) => `/p/${String(i).padStart(5, '0')}`);
  const s = SortedKeys.from(keys);
  assert.equal(s.insert('/p/00000'), false);
  assert.equal(s.insert('/p/00000a'), true);
  assert.deepEqual([...s.from('/p/00000', true)].slice(0, 2), ['/p/00000a', '/p/00001']);
  assert.equal(s.size, 2001);
});

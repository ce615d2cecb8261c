import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blockPartition, PartitionError } from './partition.ts';

test('blockPartition: contiguous blocks in spec order', () => {
  const nodes = ['node01', 'node02', 'node03', 'node04', 'node05'];
  const owned = (i: number): string[] => nodes.filter((n) => blockPartition(nodes, i, 2).owns(n));
  assert.deepEqual(owned(0), ['node01', 'node02', 'node03']);
  assert.deepEqual(owned(1), ['node04', 'node05']);
  assert.equal(blockPartition(nodes, 0, 1).owns('node05'), true);
  assert.equal(blockPartition(nodes, 0, 1).owns('node09'), false);
});

test('blockPartition: every node has exactly one owner, every partition at least one node', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }), (n, count) => {
    fc.pre(count <= n);
    const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
    const parts = Array.from({ length: count }, (_, i) => blockPartition(nodes, i, count));
    for (const node of nodes) assert.equal(parts.filter((p) => p.owns(node)).length, 1);
    for (const p of parts) assert.ok(nodes.some((x) => p.owns(x)));
  }));
});

test('blockPartition: bad index or count is a PartitionError', () => {
  for (const [i, c] of [[2, 2], [-1, 2], [0, 0], [0.5, 2], [0, 3]] as const) {
    assert.throws(() => blockPartition(['a', 'b'], i, c), PartitionError);
  }
});

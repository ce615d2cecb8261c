/**
 * Neighbour entries are keyed by the address as an int32: addresses on both sides of
 * 2^31 are found, replaced and removed as themselves, and the entry keeps the address
 * as given (uint32), which is what `ip neigh` prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NeighborTable, formatNeigh } from './neighbor-table.ts';

test('entries for any address (below and above 2^31) are found, listed with their address and removed', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }), (addrs) => {
    const t = new NeighborTable();
    for (const a of addrs) t.create('eth0', a, 'REACHABLE', undefined, 0);
    for (const a of addrs) {
      assert.equal(t.get('eth0', a)?.ip, a);
      assert.equal(t.get('eth1', a), undefined);
    }
    assert.deepEqual(t.entries(0).map((e) => e.ip), addrs);
    const [first, ...rest] = addrs as [number, ...number[]];
    assert.equal(t.remove('eth0', first)?.ip, first);
    assert.equal(t.get('eth0', first), undefined);
    for (const a of rest) assert.equal(t.get('eth0', a)?.ip, a);
  }));
});

test('an address above 2^31 prints as a dotted quad', () => {
  const t = new NeighborTable();
  const e = t.create('eth0', 0xc0a80102, 'PERMANENT', undefined, 0);
  assert.equal(formatNeigh(e), '192.168.1.2 dev eth0 PERMANENT');
});

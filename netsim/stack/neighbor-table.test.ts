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

test('lookups through the remembered last entry agree with a plain map under any mix of adds, removals and flushes (property)', () => {
  const devs = ['eth0', 'docker0', 'flannel.1'];
  const op = fc.oneof(
    fc.record({ k: fc.constant('create' as const), dev: fc.constantFrom(...devs), ip: fc.integer({ min: 0, max: 5 }).map((i) => 0xc0a80100 + i) }),
    fc.record({ k: fc.constant('remove' as const), dev: fc.constantFrom(...devs), ip: fc.integer({ min: 0, max: 5 }).map((i) => 0xc0a80100 + i) }),
    fc.record({ k: fc.constant('flush' as const), dev: fc.constantFrom(...devs), ip: fc.constant(0) }),
    fc.record({ k: fc.constant('get' as const), dev: fc.constantFrom(...devs), ip: fc.integer({ min: 0, max: 5 }).map((i) => 0xc0a80100 + i) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
    const t = new NeighborTable();
    const model = new Map<string, unknown>();
    for (const o of ops) {
      const key = `${o.dev} ${o.ip}`;
      if (o.k === 'create') model.set(key, t.create(o.dev, o.ip, 'REACHABLE', undefined, 0));
      else if (o.k === 'remove') {
        assert.equal(t.remove(o.dev, o.ip), model.get(key));
        model.delete(key);
      } else if (o.k === 'flush') {
        t.flushDev(o.dev);
        for (const k of [...model.keys()]) if (k.startsWith(`${o.dev} `)) model.delete(k);
      }
      // After every step, the entry of each address is the one the model holds.
      for (const d of devs) for (let i = 0; i <= 5; i++) assert.equal(t.get(d, 0xc0a80100 + i), model.get(`${d} ${0xc0a80100 + i}`));
    }
  }));
});

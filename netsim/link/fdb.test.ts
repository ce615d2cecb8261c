/**
 * The bridge FDB remembers its last two entries found; under any mix of learning,
 * moves, local and static entries, deletions, port flushes and ageing it must answer
 * exactly as a plain map of the kernel's rules (br_fdb.c) does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ForwardingDatabase } from './fdb.ts';
import type { NetDevice } from './net-device.ts';

interface ModelEntry { port: string; local: boolean; isStatic: boolean; updated: number }

/** The FDB's rules over a plain Map, without anything remembered between calls. */
class ModelFdb {
  readonly m = new Map<number, ModelEntry>();
  constructor(readonly ageing: number) {}
  lookup(mac: number, now: number): ModelEntry | undefined {
    const e = this.m.get(mac);
    if (e === undefined) return undefined;
    if (!e.local && !e.isStatic && now - e.updated > this.ageing) {
      this.m.delete(mac);
      return undefined;
    }
    return e;
  }
  learn(mac: number, port: string, now: number): string {
    const e = this.lookup(mac, now);
    if (e === undefined) {
      this.m.set(mac, { port, local: false, isStatic: false, updated: now });
      return 'new';
    }
    if (e.local || e.isStatic) return 'ignored';
    e.updated = now;
    if (e.port !== port) {
      e.port = port;
      return 'moved';
    }
    return 'refreshed';
  }
}

test('lookups through the two remembered entries agree with a plain map under any mix of operations (property)', () => {
  const ports = ['p0', 'p1', 'p2'];
  // MACs above 2^32 as bridges see them (48-bit numbers, heap numbers to a Map).
  const mac = fc.integer({ min: 0, max: 4 }).map((i) => 0x02_42_0a_f4_01_00 + i);
  const op = fc.oneof(
    fc.record({ k: fc.constant('learn' as const), mac, port: fc.constantFrom(...ports), dt: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ k: fc.constant('lookup' as const), mac, port: fc.constant('p0'), dt: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ k: fc.constant('local' as const), mac, port: fc.constantFrom(...ports), dt: fc.constant(0) }),
    fc.record({ k: fc.constant('static' as const), mac, port: fc.constantFrom(...ports), dt: fc.constant(0) }),
    fc.record({ k: fc.constant('delete' as const), mac, port: fc.constant('p0'), dt: fc.constant(0) }),
    fc.record({ k: fc.constant('flush' as const), mac, port: fc.constantFrom(...ports), dt: fc.constant(0) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 100 }), (ops) => {
    const dev = new Map(ports.map((p) => [p, { name: p } as unknown as NetDevice]));
    const fdb = new ForwardingDatabase(50);
    const model = new ModelFdb(50);
    let now = 0;
    const same = (got: ReturnType<ForwardingDatabase['lookup']>, want: ModelEntry | undefined, what: string): void => {
      assert.equal(got === undefined ? undefined : `${got.port.name} ${got.local} ${got.isStatic} ${got.updated}`,
        want === undefined ? undefined : `${want.port} ${want.local} ${want.isStatic} ${want.updated}`, what);
    };
    for (const o of ops) {
      now += o.dt;
      const port = dev.get(o.port) as NetDevice;
      if (o.k === 'learn') assert.equal(fdb.learn(o.mac, port, now), model.learn(o.mac, o.port, now));
      else if (o.k === 'lookup') same(fdb.lookup(o.mac, now), model.lookup(o.mac, now), 'lookup');
      else if (o.k === 'local') {
        fdb.addLocal(o.mac, port, now);
        model.m.set(o.mac, { port: o.port, local: true, isStatic: false, updated: now });
      } else if (o.k === 'static') {
        fdb.addStatic(o.mac, port, now);
        model.m.set(o.mac, { port: o.port, local: false, isStatic: true, updated: now });
      } else if (o.k === 'delete') assert.equal(fdb.delete(o.mac), model.m.delete(o.mac));
      else {
        fdb.flushPort(port);
        for (const [m, e] of model.m) if (e.port === o.port) model.m.delete(m);
      }
      assert.deepEqual(fdb.list(now).map((e) => `${e.mac} ${e.port.name} ${e.local} ${e.isStatic} ${e.updated}`),
        [...model.m].filter(([, e]) => e.local || e.isStatic || now - e.updated <= 50).map(([m, e]) => `${m} ${e.port} ${e.local} ${e.isStatic} ${e.updated}`));
    }
  }));
});

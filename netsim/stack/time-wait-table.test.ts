/**
 * The TIME_WAIT table's hash index finds what a plain map from tuple to the latest
 * record would find, through adds of the same and other tuples, expiry, resets
 * (unindex), drops by id, sweeps and the ring's and the hash's growth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TimeWaitTable } from './time-wait-table.ts';

const TTL = 100;

/** The contract, plainly: records in arrival order, a map from tuple to the record it finds. */
class Model {
  readonly recs: Array<{ id: number; key: string; until: number }> = [];
  readonly index = new Map<string, number>();
  find(key: string, now: number): number {
    const id = this.index.get(key);
    const r = this.recs.find((x) => x.id === id);
    return r === undefined || r.until <= now ? -1 : r.id;
  }
  unindex(id: number): void {
    const r = this.recs.find((x) => x.id === id);
    if (r === undefined) return;
    if (this.index.get(r.key) === id) this.index.delete(r.key);
    r.until = 0;
  }
  sweep(now: number): number {
    while (this.recs.length > 0) {
      const r = this.recs[0] as { id: number; key: string; until: number };
      if (r.until > now) return r.until;
      if (r.until !== 0) this.unindex(r.id);
      this.recs.shift();
    }
    return 0;
  }
}

test('property: TIME_WAIT lookups, resets, drops by id and sweeps agree with a map from tuple to latest record', () => {
  const tuple = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom(1, 0x0af40102, 0x80000000, 0xffffffff), fc.integer({ min: 1, max: 3 }));
  const op = fc.oneof(
    fc.record({ k: fc.constant('add' as const), t: tuple, dt: fc.integer({ min: 0, max: 30 }) }),
    fc.record({ k: fc.constant('find' as const), t: tuple }),
    fc.record({ k: fc.constant('reset' as const), t: tuple }),
    fc.record({ k: fc.constant('drop' as const), pick: fc.nat() }),
    fc.record({ k: fc.constant('sweep' as const), dt: fc.integer({ min: 0, max: 60 }) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
    const tw = new TimeWaitTable();
    const m = new Model();
    const added: Array<{ id: number; t: [number, number, number] }> = [];
    let now = 0;
    // The record's id travels in its `snd` column, so a slot found maps back to a record.
    const idAt = (k: number): number => (k < 0 ? -1 : tw.sndOf(k));
    for (const o of ops) {
      if (o.k === 'add') {
        now += o.dt;
        const [lport, raddr, rport] = o.t;
        const snd = added.length + 1;
        const id = tw.add(7, lport, raddr, rport, snd, 0, now + TTL);
        assert.equal(id, snd);
        added.push({ id, t: o.t });
        m.recs.push({ id, key: o.t.join(), until: now + TTL });
        m.index.set(o.t.join(), id);
      } else if (o.k === 'find') {
        assert.equal(idAt(tw.find(o.t[0], o.t[1], o.t[2], now)), m.find(o.t.join(), now));
      } else if (o.k === 'reset') {
        const k = tw.find(o.t[0], o.t[1], o.t[2], now);
        const id = m.find(o.t.join(), now);
        assert.equal(idAt(k), id);
        if (k >= 0) {
          tw.unindex(k);
          m.unindex(id);
        }
      } else if (o.k === 'drop') {
        const a = added[o.pick % Math.max(1, added.length)];
        if (a === undefined) continue;
        const k = tw.slotOf(a.id, a.t[0], a.t[1], a.t[2]);
        const live = m.recs.some((r) => r.id === a.id) && m.index.get(a.t.join()) === a.id;
        assert.equal(idAt(k), live ? a.id : -1);
        if (k >= 0) {
          tw.unindex(k);
          m.unindex(a.id);
        }
      } else {
        now += o.dt;
        assert.equal(tw.sweep(now), m.sweep(now));
        assert.equal(tw.size, m.recs.length);
      }
    }
  }), { numRuns: 300 });
});

test('a thousand records of distinct tuples: each found until it expires, then swept', () => {
  const tw = new TimeWaitTable();
  for (let i = 0; i < 1000; i++) tw.add(1, 40000 + (i % 50), 0x0af40000 + i, 80, i, 0, 1000 + i);
  for (let i = 0; i < 1000; i++) assert.equal(tw.sndOf(tw.find(40000 + (i % 50), 0x0af40000 + i, 80, 999)), i);
  assert.equal(tw.find(40000, 0x0af40000 + 1, 80, 999), -1, 'another local port');
  assert.equal(tw.sweep(1499), 1500);
  assert.equal(tw.size, 500);
  assert.equal(tw.find(40000, 0x0af40000, 80, 1499), -1);
  assert.equal(tw.sndOf(tw.find(40000 + (999 % 50), 0x0af40000 + 999, 80, 1499)), 999);
});

test('the ring grows while its head is not at slot 0, with reset and superseded records: each tuple finds its latest live record', () => {
  const tw = new TimeWaitTable();
  const addr = (i: number): number => 0x0af40000 + i;
  for (let i = 0; i < 60; i++) tw.add(1, 40000, addr(i), 80, i, 0, 100 + i);
  assert.equal(tw.sweep(129), 130);
  tw.unindex(tw.find(40000, addr(40), 80, 129)); // an RST ended record 40
  tw.add(1, 40000, addr(50), 80, 1050, 0, 1000); // tuple 50 in TIME_WAIT again: the new record wins
  for (let i = 60; i < 600; i++) tw.add(1, 40000, addr(i), 80, i, 0, 100 + i);
  for (let i = 0; i < 600; i++) {
    const k = tw.find(40000, addr(i), 80, 129);
    if (i < 30 || i === 40) assert.equal(k, -1, `record ${i} is gone`);
    else assert.equal(tw.sndOf(k), i === 50 ? 1050 : i);
  }
});

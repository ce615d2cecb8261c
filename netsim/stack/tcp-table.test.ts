/**
 * The TCP layer's connection table: a port with one connection holds it directly, a
 * port with several a Map by remote end. Lookups find the connection of every live
 * four-tuple, and `connections()` (what `ss` lists) keeps the order of nested Maps by
 * local port, then remote end, in insertion order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MS } from '../time/scheduler.ts';
import type { TcpConnection } from './tcp.ts';
import { ip, segmentPair } from '../../tests/support/net.ts';

test('property: after random opens and aborts, every live connection gets its data and connections() lists in nested-Map order', () => {
  const op = fc.record({ open: fc.boolean(), lport: fc.constantFrom(80, 81), sport: fc.constantFrom(40000, 40001, 40002), pick: fc.nat(), bySide: fc.boolean() });
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
    const { sim, a, b } = segmentPair({ latencyNs: 100_000 });
    const got = new Map<string, string>();
    const server = new Map<string, TcpConnection>();
    for (const port of [80, 81]) {
      a.tcp.listen(port, (c) => {
        const k = `${c.localPort}<${c.remotePort}`;
        server.set(k, c);
        c.onData = (d) => got.set(k, (got.get(k) ?? '') + String.fromCharCode(...d));
      });
    }
    // The model: the table as nested Maps, local port → remote port → tuple.
    const model = new Map<number, Map<number, string>>();
    const clients = new Map<string, TcpConnection>();
    for (const o of ops) {
      const k = `${o.lport}<${o.sport}`;
      if (o.open && !clients.has(k)) {
        clients.set(k, b.tcp.connect(ip('192.168.0.1'), o.lport, { sport: o.sport }));
        let m = model.get(o.lport);
        if (m === undefined) model.set(o.lport, m = new Map());
        m.set(o.sport, k);
      } else if (!o.open && clients.size > 0) {
        const key = [...clients.keys()][o.pick % clients.size] as string;
        if (o.bySide) (clients.get(key) as TcpConnection).abort();
        else server.get(key)?.abort();
        clients.delete(key);
        server.delete(key);
        const [lport, sport] = key.split('<').map(Number) as [number, number];
        const m = model.get(lport) as Map<number, string>;
        m.delete(sport);
        if (m.size === 0) model.delete(lport);
      }
      sim.clock.runFor(2 * MS);
      const want = [...model.values()].flatMap((m) => [...m.values()]);
      assert.deepEqual(a.tcp.connections().map((c) => `${c.localPort}<${c.remotePort}`), want);
    }
    for (const [k, c] of clients) c.send(k);
    sim.clock.runFor(2 * MS);
    for (const k of clients.keys()) assert.equal(got.get(k), k, `data of ${k}`);
    assert.equal(got.size, clients.size);
  }), { numRuns: 60 });
});

/**
 * Socket lookup (__udp4_lib_lookup): a socket bound to the datagram's address wins over
 * a wildcard one on the port. The layer remembers its last answer; under any mix of
 * binds and unbinds it must answer as a scan of the bound sockets does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sim } from '../sim.ts';
import { NetNamespace } from './net-namespace.ts';
import type { UdpSocket } from './udp.ts';

type Lookup = { lookup(dst: number, dport: number): UdpSocket | undefined };

test('lookups through the remembered last socket agree with a scan of the bound sockets under any binds and unbinds (property)', () => {
  const addrs = [0, 0x0af40105, 0xc0a8320b];
  const op = fc.oneof(
    fc.record({ k: fc.constant('bind' as const), addr: fc.constantFrom(...addrs), port: fc.integer({ min: 8285, max: 8287 }) }),
    fc.record({ k: fc.constant('unbind' as const), addr: fc.nat(20), port: fc.constant(0) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
    const ns = new NetNamespace(new Sim({ seed: 3 }), 'n1', 'n1');
    const bound: UdpSocket[] = [];
    for (const o of ops) {
      if (o.k === 'bind') {
        try {
          bound.push(ns.udp.bind(o.port, o.addr));
        } catch {
          // EADDRINUSE: nothing bound.
        }
      } else if (bound.length > 0) {
        const [s] = bound.splice(o.addr % bound.length, 1) as [UdpSocket];
        ns.udp.unbind(s);
      }
      for (const dst of addrs.slice(1)) {
        for (let port = 8285; port <= 8287; port++) {
          const want = bound.find((s) => s.localPort === port && s.localAddr === dst) ?? bound.find((s) => s.localPort === port && s.localAddr === 0);
          assert.equal((ns.udp as unknown as Lookup).lookup(dst, port), want);
        }
      }
    }
  }));
});

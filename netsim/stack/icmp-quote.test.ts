/**
 * ICMP errors quote as much of the offending datagram as fits in 576 bytes, as
 * Linux's icmp_send does (found by `netsim verify` against the real kernel: it
 * quoted the whole 44-byte probe where the emulator quoted 28 bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../sim.ts';
import { NetNamespace } from './net-namespace.ts';
import { createBridge, attachPod } from '../topology.ts';
import { udpRequest } from '../apps/echo.ts';
import { parseIpv4 } from '../wire/addr.ts';
import { SECOND } from '../time/scheduler.ts';

function pair() {
  const sim = new Sim({ seed: 3 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const br = createBridge(host, 'docker0', '10.244.1.1/24');
  const a = attachPod(host, br, { name: 'a', cidr: '10.244.1.2/24', gateway: '10.244.1.1' });
  const b = attachPod(host, br, { name: 'b', cidr: '10.244.1.3/24', gateway: '10.244.1.1' });
  return { sim, a, b };
}

test('port unreachable quotes the whole short datagram (IP header + UDP header + payload)', () => {
  const { sim, a } = pair();
  const ex = udpRequest(a.ns, parseIpv4('10.244.1.3'), 53, new Uint8Array(100));
  sim.clock.runFor(SECOND);
  assert.ok(ex.error !== undefined, 'no ICMP error came back');
  assert.equal(ex.error.quote.length, 20 + 8 + 100);
});

test('a long datagram is quoted up to 576 − 28 bytes', () => {
  const { sim, a } = pair();
  const ex = udpRequest(a.ns, parseIpv4('10.244.1.3'), 53, new Uint8Array(1000));
  sim.clock.runFor(SECOND);
  assert.ok(ex.error !== undefined, 'no ICMP error came back');
  assert.equal(ex.error.quote.length, 576 - 20 - 8);
});

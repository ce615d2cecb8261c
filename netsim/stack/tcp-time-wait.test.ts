/**
 * TIME_WAIT is a compact record in the TCP layer, not the connection object: the
 * 4-tuple stays reserved for TIME_WAIT_NS, a retransmitted FIN is acknowledged
 * again, the object leaves the socket table and reads CLOSED when the time is up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../sim.ts';
import { NetNamespace } from './net-namespace.ts';
import { createBridge, attachPod } from '../topology.ts';
import { TIME_WAIT_NS } from './tcp.ts';
import type { TcpConnection } from './tcp.ts';
import { TcpFlags } from '../wire/tcp.ts';
import { MS, SECOND } from '../time/scheduler.ts';
import { parseIpv4 } from '../wire/addr.ts';

function twoPods() {
  const sim = new Sim({ seed: 3 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const br = createBridge(host, 'br0', '10.244.1.1/24');
  const a = attachPod(host, br, { name: 'default/a', cidr: '10.244.1.2/24', gateway: '10.244.1.1', hostVeth: 'veth-a' });
  const b = attachPod(host, br, { name: 'default/b', cidr: '10.244.1.3/24', gateway: '10.244.1.1', hostVeth: 'veth-b' });
  return { sim, a, b };
}

function closeFirst() {
  const { sim, a, b } = twoPods();
  let server: TcpConnection | undefined;
  b.ns.tcp.listen(80, (c) => {
    server = c;
    c.onEnd = () => c.end();
  });
  const client = a.ns.tcp.connect(parseIpv4('10.244.1.3'), 80);
  let closed = '';
  client.onConnect = () => client.end(); // the client closes first: it holds TIME_WAIT
  client.onClose = (r, d) => { closed = `${r}: ${d}`; };
  sim.clock.runFor(100 * MS);
  assert.equal(closed, 'closed: closed (TIME_WAIT)');
  assert.equal(client.state, 'TIME_WAIT');
  assert.equal(server?.state, 'CLOSED');
  assert.equal(a.ns.tcp.connections().length, 0, 'the object left the socket table');
  assert.equal(a.ns.tcp.timeWaitCount(), 1);
  return { sim, a, b, client, server: server as TcpConnection };
}

test('TIME_WAIT: a compact record holds the tuple for 60 s, then the object reads CLOSED', () => {
  const { sim, a, client } = closeFirst();
  sim.clock.runFor(TIME_WAIT_NS - SECOND);
  assert.equal(a.ns.tcp.timeWaitCount(), 1);
  assert.equal(client.state, 'TIME_WAIT');
  sim.clock.runFor(2 * SECOND);
  assert.equal(a.ns.tcp.timeWaitCount(), 0);
  assert.equal(client.state, 'CLOSED');
});

test('TIME_WAIT: a retransmitted FIN is ACKed again; the closed peer\'s RST ends TIME_WAIT (tcp_rfc1337=0)', () => {
  const { sim, a, b, client, server } = closeFirst();
  const sent: number[] = [];
  const emit = a.ns.tcp.emitSegment.bind(a.ns.tcp);
  a.ns.tcp.emitSegment = (src, dst, sport, dport, seq, ack, flags, window, data, options, ident) => {
    sent.push(flags);
    return emit(src, dst, sport, dport, seq, ack, flags, window, data, options, ident);
  };
  // b's FIN again (as if our last ACK had been lost): one below what the record expects.
  const finSeq = ((server as unknown as { sndNxt: number }).sndNxt - 1) >>> 0;
  b.ns.tcp.emitSegment(server.localAddr, server.remoteAddr, 80, client.localPort, finSeq, 0, TcpFlags.FIN | TcpFlags.ACK, 1000, new Uint8Array(0), undefined);
  sim.clock.runFor(10 * MS);
  assert.deepEqual(sent, [TcpFlags.ACK], 'TIME_WAIT re-ACKs the FIN');
  // b has no socket any more: it answers that ACK with an in-window RST, which ends TIME_WAIT.
  assert.equal(a.ns.tcp.timeWaitCount(), 0);
});

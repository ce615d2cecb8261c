import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../sim.ts';
import { NetNamespace } from '../stack/net-namespace.ts';
import { Segment } from './segment.ts';
import { RemotePort, UPLINK } from './remote-port.ts';
import { attachNic } from '../topology.ts';
import { startUdpEcho, udpRequest } from '../apps/echo.ts';
import { parseIpv4 } from '../wire/addr.ts';
import type { TraceEvent } from '../trace/trace-event.ts';

/** One host per Sim, each segment's uplink handing frames to a queue the test carries to the other. */
function twoHalves() {
  const halves = ['node01', 'node02'].map((name, i) => {
    const sim = new Sim({ seed: 1 });
    const segment = new Segment(sim, 'underlay', { latencyNs: 1000, bandwidthBps: 0, loss: 0, queueLimit: 1000 });
    const ns = new NetNamespace(sim, name, name);
    attachNic(ns, segment, 'eth0', `192.168.50.${11 + i}/24`);
    const out: Uint8Array[] = [];
    const port = new RemotePort(sim, segment, (f) => out.push(new Uint8Array(f)));
    return { sim, ns, port, out };
  });
  const [a, b] = halves as [typeof halves[0], typeof halves[0]];
  /** Carry what each side sent to the other until both are quiet; returns the frames carried. */
  const exchange = (): number => {
    let carried = 0;
    for (let round = 0; round < 20; round++) {
      a.sim.clock.runFor(1_000_000);
      b.sim.clock.runFor(1_000_000);
      const ab = a.out.splice(0);
      const ba = b.out.splice(0);
      if (ab.length + ba.length === 0) break;
      carried += ab.length + ba.length;
      for (const f of ab) b.port.inject(f);
      for (const f of ba) a.port.inject(f);
    }
    return carried;
  };
  return { a, b, exchange };
}

test('remote port: a UDP exchange between hosts in two Sims crosses as frames (ARP, request, reply), learned per MAC', () => {
  const { a, b, exchange } = twoHalves();
  startUdpEcho(b.ns, 7);
  const ex = udpRequest(a.ns, parseIpv4('192.168.50.12'), 7, new TextEncoder().encode('hi'));
  // ARP request (broadcast), ARP reply, the datagram, the echo: four frames.
  assert.equal(exchange(), 4);
  assert.equal(new TextDecoder().decode(ex.reply?.data), 'hi');
  assert.equal(a.port.stats.txPackets, 2);
  assert.equal(a.port.stats.rxPackets, 2);
  // Learned: a second exchange needs no ARP.
  const again = udpRequest(a.ns, parseIpv4('192.168.50.12'), 7, new TextEncoder().encode('again'));
  assert.equal(exchange(), 2);
  assert.ok(again.reply !== undefined);
});

test('remote port: split horizon — a frame that came in on the uplink never goes back out of it', () => {
  const { b } = twoHalves();
  // A broadcast and a frame for a MAC nobody here has, both from the uplink.
  const frame = (dst: string): Uint8Array => new Uint8Array([...dst.split(':').map((x) => parseInt(x, 16)), 0x52, 0x54, 0xc0, 0xa8, 0x32, 0x0b, 0x88, 0xb5, 0, 0]);
  b.port.inject(frame('ff:ff:ff:ff:ff:ff'));
  b.port.inject(frame('02:00:00:00:00:99'));
  b.sim.clock.runFor(1_000_000);
  assert.deepEqual(b.out, []);
});

test('remote port: a frame leaving for another partition ends this side\'s story in the trace as delivered to the uplink', () => {
  const { a, exchange } = twoHalves();
  const events: TraceEvent[] = [];
  a.sim.tracer.subscribe((e) => events.push(e));
  udpRequest(a.ns, parseIpv4('192.168.50.12'), 7, new Uint8Array(4));
  exchange();
  const out = events.filter((e) => e.kind === 'deliver' && e.to === UPLINK);
  assert.equal(out.length, 2, 'the ARP request and the datagram');
  assert.equal(out[0]?.netns, 'uplink');
});

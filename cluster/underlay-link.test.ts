import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import fc from 'fast-check';
import { UdpUnderlayLink } from './underlay-link.ts';
import { emitUnderlayDatagram } from '../netsim/wire/underlay-datagram.ts';
import { hex } from '../netsim/wire/test-support.ts';

/** Two links on loopback, ports picked by the system, each the other's peer. */
async function pair(key0?: Uint8Array, key1?: Uint8Array): Promise<[UdpUnderlayLink, UdpUnderlayLink]> {
  // Bind both first (port 0), then connect their peer tables: open() needs the peers, so bind twice.
  const probe0 = await UdpUnderlayLink.open({ index: 0, listen: { host: '127.0.0.1', port: 0 }, peers: new Map() });
  const probe1 = await UdpUnderlayLink.open({ index: 1, listen: { host: '127.0.0.1', port: 0 }, peers: new Map() });
  const [a0, a1] = [probe0.address, probe1.address];
  await probe0.close();
  await probe1.close();
  const l0 = await UdpUnderlayLink.open({ index: 0, listen: a0, peers: new Map([[1, a1]]), ...(key0 !== undefined ? { key: key0 } : {}) });
  const l1 = await UdpUnderlayLink.open({ index: 1, listen: a1, peers: new Map([[0, a0]]), ...(key1 !== undefined ? { key: key1 } : {}) });
  return [l0, l1];
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A broadcast ARP-like frame from MAC 52:54:c0:a8:32:0b. */
const FRAME = hex('ff ff ff ff ff ff 52 54 c0 a8 32 0b 08 06 00 01 08 00 06 04 00 01');

test('underlay link: frames cross real loopback UDP both ways; the reply goes to the peer that sent the MAC', async () => {
  const [l0, l1] = await pair();
  try {
    const got1: Uint8Array[] = [];
    const got0: Uint8Array[] = [];
    l1.onFrame((f) => got1.push(new Uint8Array(f)));
    l0.onFrame((f) => got0.push(new Uint8Array(f)));
    l0.send(FRAME);
    await wait(100);
    assert.deepEqual(got1, [FRAME]);
    // Unicast back to the MAC l1 learned from l0's frame.
    const reply = hex('52 54 c0 a8 32 0b 52 54 c0 a8 32 0c 08 06 00 02');
    l1.send(reply);
    await wait(100);
    assert.deepEqual(got0, [reply]);
    assert.equal(l0.stats.sent, 1);
    assert.equal(l1.stats.received, 1);
  } finally {
    await l0.close();
    await l1.close();
  }
});

test('underlay link: malformed, spoofed and stray datagrams are dropped and counted; the link keeps working', async () => {
  const [l0, l1] = await pair();
  const stray = createSocket('udp4');
  try {
    const got: Uint8Array[] = [];
    l1.onFrame((f) => got.push(new Uint8Array(f)));
    // From l0's own socket (a configured peer): garbage, a truncated datagram, a datagram claiming partition 5.
    const raw = (l0 as unknown as { socket: Socket }).socket;
    const send = (b: Uint8Array, s = raw): Promise<void> => new Promise((r) => s.send(b, l1.address.port, l1.address.host, () => r()));
    const samples = fc.sample(fc.uint8Array({ maxLength: 100 }), { numRuns: 50, seed: 24 });
    for (const b of samples) await send(b);
    const good = emitUnderlayDatagram(0, FRAME, false).bytes;
    await send(good.subarray(0, good.length - 3));
    await send(emitUnderlayDatagram(5, FRAME, false).bytes);
    // From an address that is no peer at all.
    await new Promise<void>((r) => stray.bind(0, '127.0.0.1', () => r()));
    await send(good, stray);
    await wait(150);
    assert.deepEqual(got, []);
    assert.equal(l1.stats.received, 0);
    assert.equal(l1.stats.dropped.malformed, samples.length + 1);
    assert.equal(l1.stats.dropped['unknown-peer'], 2);
    assert.match(l1.stats.lastError ?? '', /^underlay: /);
    // Still working.
    l0.send(FRAME);
    await wait(100);
    assert.deepEqual(got, [FRAME]);
  } finally {
    stray.close();
    await l0.close();
    await l1.close();
  }
});

test('underlay link: with a shared key frames carry an HMAC tag; a wrong key or a missing tag is dropped', async () => {
  const key = new TextEncoder().encode('0123456789abcdef0123456789abcdef');
  const other = new TextEncoder().encode('fedcba9876543210fedcba9876543210');
  for (const [k0, k1, want] of [[key, key, 'delivered'], [other, key, 'bad-tag'], [undefined, key, 'unauthenticated'], [key, undefined, 'unauthenticated']] as const) {
    const [l0, l1] = await pair(k0, k1);
    try {
      const got: Uint8Array[] = [];
      l1.onFrame((f) => got.push(f));
      l0.send(FRAME);
      await wait(100);
      if (want === 'delivered') assert.equal(got.length, 1);
      else {
        assert.equal(got.length, 0);
        assert.equal(l1.stats.dropped[want], 1, want);
      }
    } finally {
      await l0.close();
      await l1.close();
    }
  }
});

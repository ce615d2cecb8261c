/**
 * TCP receive parses every segment's header into one record per layer (netsim/stack/tcp.ts
 * `tcpRxRecord`) — an exact optimisation: with it on and off, HTTP over lossy links
 * (retransmissions, duplicate and late segments, TIME_WAIT answers, resets) gives the
 * same trace events with their bytes, the same replies and the same end of time, and an
 * experiment the same results, by hash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpRxRecord } from '../../netsim/stack/tcp.ts';
import { experimentDigest, lossyHttpRuns } from '../support/exact-switch.ts';

async function withRecord<T>(reuse: boolean, f: () => T | Promise<T>): Promise<T> {
  const before = tcpRxRecord.reuse;
  tcpRxRecord.reuse = reuse;
  try {
    return await f();
  } finally {
    tcpRxRecord.reuse = before;
  }
}

test('HTTP over lossy links: traces with bytes, replies and the end of time identical with the reused receive record on and off', async () => {
  const on = await withRecord(true, () => lossyHttpRuns(24, false));
  const off = await withRecord(false, () => lossyHttpRuns(24, false));
  assert.ok(on.events > 1000 && on.drops > 50, `traced ${on.events} events, ${on.drops} drops`);
  assert.equal(on.events, off.events);
  assert.equal(on.hash, off.hash);
});

test('experiment iptables-vs-ipvs-rr.yaml: results identical with the reused receive record on and off', async () => {
  const run = (): Promise<string> => experimentDigest('iptables-vs-ipvs-rr.yaml');
  assert.equal(await withRecord(true, run), await withRecord(false, run));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keptInSecondDraw, oneSidedOutcomes } from './one-sided.ts';
import { outcomeSignature } from './compare.ts';
import { probeBytes } from './probe.ts';
import type { Probe } from './probe.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';

const none = { emu: new Set<string>(), kernel: new Set<string>() };
const A = 'pod-a: syn';
const B = 'sink: syn';
const X = 'pod-a: syn (no rst)';

test('a kernel-only outcome that does not show again in a fresh draw of the group is not counted; one that does is', () => {
  const first = { emu: [A, B, A, B], kernel: [A, X, B, A] };
  const gone = oneSidedOutcomes(first, none, { emu: [A, B, B, A], kernel: [B, A, A, B] });
  assert.deepEqual([...gone.kernelOnly], []);
  assert.deepEqual([...gone.unconfirmed], [X]);
  const again = oneSidedOutcomes(first, none, { emu: [A, B, B, A], kernel: [B, X, A, B] });
  assert.deepEqual([...again.kernelOnly], [X]);
  assert.deepEqual([...again.unconfirmed], []);
});

test('an emulator-only outcome likewise; an outcome the other side showed when asked again or in the second draw is no disagreement at all', () => {
  const first = { emu: [A, X, B], kernel: [A, B, B] };
  assert.deepEqual([...oneSidedOutcomes(first, none, { emu: [X, A, A], kernel: [A, B, A] }).emuOnly], [X]);
  assert.deepEqual([...oneSidedOutcomes(first, none, { emu: [B, A, A], kernel: [A, B, A] }).unconfirmed], [X]);
  const asked = oneSidedOutcomes(first, { emu: new Set(), kernel: new Set([X]) }, { emu: [X, A, A], kernel: [A, B, A] });
  assert.deepEqual([asked.emuOnly.size, asked.kernelOnly.size, asked.unconfirmed.size], [0, 0, 0]);
  const seenInSecond = oneSidedOutcomes(first, none, { emu: [X, A, A], kernel: [A, X, A] });
  assert.deepEqual([seenInSecond.emuOnly.size, seenInSecond.unconfirmed.size], [0, 0]);
});

test('an outcome only the second draw showed is shown once: not counted; without a second draw every one-sided outcome counts', () => {
  const first = { emu: [A, B], kernel: [A, B] };
  const o = oneSidedOutcomes(first, none, { emu: [A, B], kernel: [A, X] });
  assert.deepEqual([o.kernelOnly.size, o.emuOnly.size, o.unconfirmed.size], [0, 0, 0]);
  const noSecond = oneSidedOutcomes({ emu: [A, B], kernel: [A, X] }, none);
  assert.deepEqual([...noSecond.kernelOnly], [X]);
});

test('why a second draw is needed: a masquerade with --random-fully that draws the probe\'s own source port (one in 65 536) reads as no NAT at all — a one-sided outcome no fix of the signature can tell apart', () => {
  // node01 → kube-dns 10.96.0.10:53 leaves eth0 from the node's own address, DNATed; --random-fully draws the port.
  const probe: Probe = { suite: 'node-clusterip', group: 'g', description: 'd', from: 'node', src: parseIpv4('192.168.50.11'), dst: parseIpv4('10.96.0.10'), proto: 'udp', dport: 53, ttl: 64, index: 7, sport: 20007, ipId: 0xa007 };
  const left = (sport: number): string => outcomeSignature([{ where: 'egress:eth0', bytes: probeBytes({ ...probe, dst: parseIpv4('10.244.58.4'), sport }) }], probe, new Set([53]));
  const drawn = left(41234);
  const own = left(probe.sport);
  assert.match(drawn, /udp rnd-high>53/);
  assert.match(own, /udp \$sport>53/);
  // Seen once by the kernel, never by the emulator (which always showed the drawn port), and not again: not counted.
  const o = oneSidedOutcomes({ emu: [drawn, drawn, drawn], kernel: [drawn, own, drawn] }, none, { emu: [drawn, drawn, drawn], kernel: [drawn, drawn, drawn] });
  assert.deepEqual([o.kernelOnly.size, [...o.unconfirmed]], [0, [own]]);
});

test('ClientIP affinity broken once in a first draw and kept in a second by the same client is a one-off; broken again, or kept on another outcome, it is not', () => {
  const first = { emu: [A, A, A, A, A, A], kernel: [A, A, X, A, A, A] };
  assert.deepEqual(keptInSecondDraw(first, { emu: [A, A, A, A, A, A], kernel: [A, A, A, A, A, A] }), { emu: A, kernel: A });
  assert.equal(keptInSecondDraw(first, { emu: [A, A, A, A, A, A], kernel: [A, B, A, A, A, A] }), undefined, 'the kernel picks again: affinity broken');
  assert.equal(keptInSecondDraw(first, { emu: [A, B, A, A, A, A], kernel: [A, A, A, A, A, A] }), undefined, 'the emulator picks again');
  assert.equal(keptInSecondDraw(first, { emu: [A, A, A, A, A, A], kernel: [X, X, X, X, X, X] }), undefined, 'kept on the odd outcome: the majority moved');
  assert.equal(keptInSecondDraw({ emu: [A, B, A, B], kernel: [A, A, A, A] }, { emu: [A, A, A, A], kernel: [A, A, A, A] }), undefined, 'half and half is no majority to keep');
  assert.equal(keptInSecondDraw(first, { emu: [], kernel: [] }), undefined);
});

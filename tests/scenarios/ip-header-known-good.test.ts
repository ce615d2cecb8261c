/**
 * IP receives skip the header checksum of a header already known right (Packet.ipHdrOk:
 * verified by an earlier receive or emitted whole by the stack, and since written only by
 * the checksum-keeping rewrites of NAT and the forwarding TTL) — an exact optimisation:
 * the same clusters and experiments run with it on and off give identical outputs by
 * hash (trace events with their bytes, pcapng captures, counters, conntrack, device
 * statistics, replies, experiment results). That the rewrites keep a right checksum
 * right is netsim/wire/properties.test.ts ("in-place helpers … keep the IP checksum
 * valid", "incremental rewrites equal a full recompute");
 * that a bad header is still dropped is netsim/stack/checksum-offload.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipHeaderKnownGood } from '../../netsim/packet/packet.ts';
import { EXPERIMENT_FILES, SEED_VARIANTS, driveSeed, experimentDigest, seedVariant, withSwitch } from '../support/exact-switch.ts';

for (const [backend, mode] of SEED_VARIANTS) {
  test(`seed cluster (flannel ${backend}, kube-proxy ${mode}): traces, captures, counters and replies identical with known-good IP headers on and off`, async () => {
    const on = await withSwitch(ipHeaderKnownGood, true, () => driveSeed(seedVariant(backend, mode)));
    const off = await withSwitch(ipHeaderKnownGood, false, () => driveSeed(seedVariant(backend, mode)));
    assert.equal(on.flows, off.flows);
    assert.equal(on.rest, off.rest);
  });
}

for (const file of EXPERIMENT_FILES) {
  test(`experiment ${file}: results identical with known-good IP headers on and off`, async () => {
    assert.equal(await withSwitch(ipHeaderKnownGood, true, () => experimentDigest(file)), await withSwitch(ipHeaderKnownGood, false, () => experimentDigest(file)));
  });
}

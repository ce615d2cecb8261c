/**
 * Tunnels encapsulate in the packet's headroom and decapsulate by a pull
 * (netsim/stack/udp.ts `sendPacketFrom` / `onEncap`, used by flanneld's UDP proxy and
 * the VXLAN device) — an exact optimisation: the same clusters driven the same way
 * with it on and off (off: every datagram copied out and into a new packet, as before,
 * its outer UDP checksum summed over every byte where on takes the inner packet's sum by
 * local checksum offload, netsim/wire/lco.ts)
 * give identical outputs by hash — trace events with their bytes, pcapng captures,
 * counters, the conntrack table, what the clients got, and experiment results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encapInHeadroom } from '../../netsim/stack/udp.ts';
import { EXPERIMENT_FILES, SEED_VARIANTS, driveSeed, experimentDigest, seedVariant, withSwitch } from '../support/exact-switch.ts';

for (const [backend, mode] of SEED_VARIANTS) {
  test(`seed cluster (flannel ${backend}, kube-proxy ${mode}): traces, captures, counters and replies identical with headroom encapsulation on and off`, async () => {
    const on = await withSwitch(encapInHeadroom, true, () => driveSeed(seedVariant(backend, mode)));
    const off = await withSwitch(encapInHeadroom, false, () => driveSeed(seedVariant(backend, mode)));
    assert.equal(on.flows, off.flows);
    assert.equal(on.rest, off.rest);
  });
}

for (const file of EXPERIMENT_FILES) {
  test(`experiment ${file}: results identical with headroom encapsulation on and off`, async () => {
    assert.equal(await withSwitch(encapInHeadroom, true, () => experimentDigest(file)), await withSwitch(encapInHeadroom, false, () => experimentDigest(file)));
  });
}

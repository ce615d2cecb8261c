/**
 * The emulator's half of verify waits, in virtual time, for what a probe causes: a
 * neighbour resolution that fails answers the probe's packet with host unreachable
 * after the kernel's 3 probes of 1 s, past the 1 s window, and that answer belongs to
 * this probe — not to the next one, which would then disagree with the kernel side.
 * Pure emulation: no root needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../cluster.ts';
import { demoSpec } from '../demo-flows.ts';
import { planTwin } from './twin.ts';
import { EmulatorSide } from './emulator-side.ts';
import { probeBytes, type Probe } from './probe.ts';
import { Ipv4 } from '../../netsim/wire/ipv4.ts';
import { IcmpUnreachCode, parseIcmpv4 } from '../../netsim/wire/icmpv4.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';

test('a probe to an address nobody answers ARP for gets its own host unreachable, ~3 s on, in its own window', async () => {
  const c = await Cluster.build({ ...demoSpec(), runtime: 'cni' }, { apps: false });
  const plan = planTwin(c, 'node01');
  const side = new EmulatorSide(plan);
  try {
    const node = plan.stacks.find((s) => s.label === 'node');
    const cni0 = node?.ns.addrs.find((a) => a.dev === 'cni0');
    assert.ok(cni0 !== undefined, 'node01 has cni0');
    const probe = (i: number, dst: number): Probe => ({
      suite: 'random', group: `g${i}`, description: 'no pod there', from: 'node', src: cni0.addr, dst, proto: 'icmp',
      dport: 0, ttl: 64, index: i, sport: 7000 + i, ipId: 0x4000 + i,
    });
    const t0 = c.sim.clock.now();
    for (let i = 0; i < 3; i++) {
      const p = probe(i, (cni0.addr & ~0xff) + 250 + i);
      const seen = side.run(p, probeBytes(p)).obs;
      assert.equal(seen.length, 1, `probe ${i}: ${seen.length} packets`);
      const b = (seen[0] as { bytes: Uint8Array }).bytes;
      const icmp = parseIcmpv4(b.subarray(Ipv4.headerLen(b, 0)));
      assert.ok(icmp.type === 'dest-unreachable' && icmp.code === IcmpUnreachCode.HOST, `probe ${i}: ${icmp.type}`);
      assert.equal(Ipv4.ident(icmp.original, 0), p.ipId, `probe ${i}: the error quotes its own probe`);
    }
    assert.ok(c.sim.clock.now() - t0 >= 9 * SECOND, 'each window ran on until its resolution failed');
  } finally {
    side.dispose();
    await c.close();
  }
});

/**
 * Two exact shortcuts in how packets become scheduler work, proved by running the same
 * clusters and hosts with them on and off and comparing every output by hash:
 *
 * - the held head of the immediate queue (netsim/time/scheduler.ts `heldSoonest`): the
 *   receive backlog's drain that a timed event starts runs as soon as that event
 *   returns, not through the immediate queue;
 * - the underlay's frame as the scheduler entry's argument (netsim/link/segment.ts
 *   `frameAsArgument`), not captured in a closure per frame.
 *
 * Compared: the demo's printed flows and written traces and pcapng captures; the seed
 * cluster (flannel udp and vxlan, kube-proxy iptables and ipvs) — traced flows with
 * bytes, untraced UDP to a Service, counters, conntrack, device stats, events run and
 * the end of time; HTTP over lossy, rate-limited links (retransmissions, queue
 * overflows); and two experiments' results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../../cli/commands/demo.ts';
import { frameAsArgument } from '../../netsim/link/segment.ts';
import { heldSoonest } from '../../netsim/time/scheduler.ts';
import { driveSeed, experimentDigest, EXPERIMENT_FILES, lossyHttpRuns, SEED_VARIANTS, seedVariant, sha } from '../support/exact-switch.ts';


async function withShortcuts<T>(on: boolean, f: () => T | Promise<T>): Promise<T> {
  const held = heldSoonest.on;
  const arg = frameAsArgument.on;
  heldSoonest.on = on;
  frameAsArgument.on = on;
  try {
    return await f();
  } finally {
    heldSoonest.on = held;
    frameAsArgument.on = arg;
  }
}

async function bothWays<T>(f: () => T | Promise<T>): Promise<{ on: T; off: T }> {
  const on = await withShortcuts(true, f);
  const off = await withShortcuts(false, f);
  return { on, off };
}

test('demo: printed flows, trace files and pcapng captures identical with the event shortcuts on and off', async () => {
  const demo = async (): Promise<string> => {
    const dir = mkdtempSync(join(tmpdir(), 'netsim-pev-demo-'));
    try {
      let printed = '';
      const code = await runDemo({ out: dir, quiet: false }, (s) => void (printed += s));
      assert.equal(code, 0);
      const files = readdirSync(dir).sort().map((f) => `${f} ${sha(readFileSync(join(dir, f)))}`);
      assert.ok(files.some((f) => f.includes('.pcapng')), files.join('\n'));
      return sha(printed.split(dir).join('<out>')) + '\n' + files.join('\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const { on, off } = await bothWays(demo);
  assert.equal(on, off);
});

for (const [backend, mode] of SEED_VARIANTS) {
  test(`seed cluster (flannel ${backend}, kube-proxy ${mode}): traces, captures, counters, replies and events run identical with the event shortcuts on and off`, async () => {
    const { on, off } = await bothWays(() => driveSeed(seedVariant(backend, mode)));
    assert.equal(on.flows, off.flows);
    assert.equal(on.rest, off.rest);
  });
}

test('HTTP over lossy, rate-limited links: traces with bytes, replies, events run and the end of time identical with the event shortcuts on and off', async () => {
  const { on, off } = await bothWays(() => lossyHttpRuns(16, true));
  assert.ok(on.events > 1000 && on.drops > 50, `traced ${on.events} events, ${on.drops} drops`);
  assert.equal(on.events, off.events);
  assert.equal(on.hash, off.hash);
});

for (const file of EXPERIMENT_FILES) {
  test(`experiment ${file}: results identical with the event shortcuts on and off`, async () => {
    const { on, off } = await bothWays(() => experimentDigest(file));
    assert.equal(on, off);
  });
}

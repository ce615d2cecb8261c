/**
 * TCP receive parses every segment's header into one record per layer (netsim/stack/tcp.ts
 * `tcpRxRecord`) — an exact optimisation: with it on and off, HTTP over lossy links
 * (retransmissions, duplicate and late segments, TIME_WAIT answers, resets) gives the
 * same trace events with their bytes, the same replies and the same end of time, and an
 * experiment the same results, by hash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { segmentPair, ip } from '../support/net.ts';
import { httpGet, startHttpServer } from '../../netsim/apps/http.ts';
import { tcpRxRecord } from '../../netsim/stack/tcp.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import { runExperiment } from '../../experiments/runner/index.ts';
import { experimentFromArgs } from '../../cli/commands/experiment.ts';

const bytesAsHex = (_k: string, v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);

async function withRecord<T>(reuse: boolean, f: () => T | Promise<T>): Promise<T> {
  const before = tcpRxRecord.reuse;
  tcpRxRecord.reuse = reuse;
  try {
    return await f();
  } finally {
    tcpRxRecord.reuse = before;
  }
}

/** 24 pairs of hosts over links losing 5–50 % of frames, 8 HTTP clients each: one hash of everything seen, the events and drops. */
function lossyRuns(): { hash: string; events: number; drops: number } {
  const all = createHash('sha256');
  let events = 0;
  let drops = 0;
  for (let seed = 1; seed <= 24; seed++) {
    const loss = [0.05, 0.2, 0.35, 0.5][seed % 4] as number;
    const { sim, a, b } = segmentPair({ loss, latencyNs: ((seed % 3) + 1) * MS }, seed);
    startHttpServer(b, { podName: 'b' });
    const h = createHash('sha256');
    sim.tracer.subscribe((e) => {
      events++;
      if (e.kind === 'drop') drops++;
      h.update(JSON.stringify(e, bytesAsHex));
    }, { bytes: true });
    const sessions = Array.from({ length: 8 }, (_, i) => httpGet(a, ip('192.168.0.2'), 80, { requests: 1 + (i % 3) }));
    sim.clock.run(sim.clock.now() + 20 * MS);
    sim.clock.run();
    h.update(JSON.stringify(sessions.map((s) => [s.error, s.results.map((r) => [r.status, r.body, r.doneAt])])));
    h.update(String(sim.clock.now()));
    all.update(h.digest());
  }
  return { hash: all.digest('hex'), events, drops };
}

test('HTTP over lossy links: traces with bytes, replies and the end of time identical with the reused receive record on and off', async () => {
  const on = await withRecord(true, lossyRuns);
  const off = await withRecord(false, lossyRuns);
  assert.ok(on.events > 1000 && on.drops > 50, `traced ${on.events} events, ${on.drops} drops`);
  assert.equal(on.events, off.events);
  assert.equal(on.hash, off.hash);
});

const EXAMPLES = fileURLToPath(new URL('../../examples/experiments/', import.meta.url));

test('experiment iptables-vs-ipvs-rr.yaml: results identical with the reused receive record on and off', async () => {
  const exp = experimentFromArgs({ file: `${EXAMPLES}iptables-vs-ipvs-rr.yaml`, connections: 1500, output: 'json', progress: false });
  const run = async (): Promise<string> => {
    const r = await runExperiment(exp, {});
    return createHash('sha256').update(JSON.stringify(r, (k, v: unknown) => (/^(wall|elapsed|cpu)/i.test(k) ? undefined : v))).digest('hex');
  };
  assert.equal(await withRecord(true, run), await withRecord(false, run));
});

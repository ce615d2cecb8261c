import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sim } from '../netsim/sim.ts';
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { Segment } from '../netsim/link/segment.ts';
import { attachNic } from '../netsim/topology.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import { MS, US } from '../netsim/time/scheduler.ts';
import { Tracer } from '../netsim/trace/tracer.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { startUdpEcho, udpRequest } from '../netsim/apps/echo.ts';
import { httpGet, startHttpServer } from '../netsim/apps/http.ts';
import { ping } from '../netsim/apps/ping.ts';
import { Capture } from '../pcaps/capture.ts';
import { parseClusterSpec } from './spec.ts';
import { LockstepPartition, lockstepRefusal, lookaheadNs, runLockstepInProcess } from './lockstep.ts';
import { blockPartition } from './partition.ts';
import { CodedError } from '../netsim/errors.ts';

const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const LATENCY = 50 * US;
const addr = (i: number): string => `10.0.0.${i + 1}`;

/**
 * Four hosts on one underlay (with bandwidth and loss, so the per-port streams and
 * serialisation count) whose traffic runs on the hosts themselves: pings, UDP echoes
 * and HTTP GETs at the same instants from every host (ties across hosts).
 */
function world(seed: number, loss: number): { sim: Sim; segment: Segment; events: Array<{ ev: TraceEvent; key: number; idx: number }> } {
  const sim = new Sim({ seed });
  const segment = new Segment(sim, 'underlay', { latencyNs: LATENCY, bandwidthBps: 1e9, loss, queueLimit: 1000 });
  const nss = HOSTS.map((h, i) => {
    const ns = new NetNamespace(sim, h, h);
    attachNic(ns, segment, 'eth0', `${addr(i)}/24`);
    startUdpEcho(ns, 7);
    startHttpServer(ns, { podName: h, port: 80 });
    return ns;
  });
  const events: Array<{ ev: TraceEvent; key: number; idx: number }> = [];
  let lastKey = Number.NaN;
  let idx = 0;
  sim.tracer.subscribe((ev) => {
    const key = sim.clock.currentKey();
    if (key !== lastKey || ev.t !== events[events.length - 1]?.ev.t) idx = 0;
    lastKey = key;
    events.push({ ev, key, idx: idx++ });
  }, { bytes: true });
  const clock = sim.clock;
  nss.forEach((ns, i) => {
    const host = clock.hostKey(ns.node);
    // Every host pings a neighbour first: ARP broadcasts, floods and the switch learning every port across the split.
    clock.atOn(0, host, () => ping(ns, parseIpv4(addr((i + 1) % HOSTS.length)), { count: 1 }));
    for (let k = 0; k < 6; k++) {
      const peer = parseIpv4(addr((i + k + 1) % HOSTS.length));
      clock.atOn(5 * MS + k * 3 * MS, host, () => udpRequest(ns, peer, 7, new Uint8Array([i, k, 1, 2, 3])));
      clock.atOn(5 * MS + k * 3 * MS, host, () => httpGet(ns, peer, 80, { requests: 2 }));
      clock.atOn(6 * MS + k * 2 * MS + i * 7, host, () => ping(ns, peer, { count: 3, intervalNs: 1 * MS }));
    }
  });
  return { sim, segment, events };
}

/** The replicated prefix ends here: from 0, so the first frames (floods, learnings) cross the split too. */
const SPLIT_AT = 0;
const END = 200 * MS;

function serial(seed: number, loss: number): Array<{ ev: TraceEvent; key: number; idx: number }> {
  const w = world(seed, loss);
  w.sim.clock.run(END);
  return w.events;
}

/** The same world as `workers` replicas in one thread, split after the warm-up, stepped in lower-bound time windows. */
function partitioned(seed: number, loss: number, workers: number): Array<{ ev: TraceEvent; key: number; idx: number }> {
  const replicas = Array.from({ length: workers }, () => world(seed, loss));
  // Warm-up on every replica alike (the replicated phase), then the split.
  for (const r of replicas) r.sim.clock.run(SPLIT_AT - 1);
  const cut = replicas.map((r) => r.events.length);
  const parts = replicas.map((r, i) => {
    const p = new LockstepPartition(blockPartition(HOSTS, i, workers), new Set(HOSTS), r.sim);
    p.enter([r.segment], LATENCY);
    return p;
  });
  runLockstepInProcess(replicas.map((r, i) => ({ sim: r.sim, partition: parts[i] as LockstepPartition })), END, LATENCY);
  const owned = replicas.flatMap((r, i) => r.events.slice(cut[i]).filter((e) => parts[i]?.owns(e.ev.node)));
  owned.sort((a, b) => a.ev.t - b.ev.t || a.key - b.key || a.idx - b.idx);
  return [...(replicas[0] as { events: Array<{ ev: TraceEvent; key: number; idx: number }> }).events.slice(0, cut[0]), ...owned];
}

const hex = (d: Uint8Array | undefined): string => (d === undefined ? '' : Buffer.from(d).toString('hex'));
const sha = (events: ReadonlyArray<{ ev: TraceEvent }>): string => createHash('sha256').update(JSON.stringify(events.map((e) => ({ ...e.ev, data: hex((e.ev as { data?: Uint8Array }).data) })))).digest('hex');

function pcapng(events: ReadonlyArray<{ ev: TraceEvent }>): string {
  const tracer = new Tracer();
  const cap = new Capture(tracer);
  for (const e of events) tracer.emit(e.ev);
  cap.stop();
  return createHash('sha256').update(cap.bytes()).digest('hex');
}

test('a partitioned run (2 and 4 workers, lower-bound windows of the underlay latency) gives the serial run\'s trace and pcapng bytes', () => {
  for (const loss of [0, 0.05]) {
    const ref = serial(7, loss);
    assert.ok(ref.length > 1000, `the world does something (${ref.length} events)`);
    assert.ok(new Set(ref.map((e) => e.ev.node)).size === HOSTS.length);
    if (loss > 0) assert.ok(ref.some((e) => e.ev.kind === 'drop' && e.ev.reason === 'link-loss'), 'loss is drawn');
    for (const workers of [2, 4]) {
      const par = partitioned(7, loss, workers);
      assert.equal(par.length, ref.length, `${workers} workers, loss ${loss}: as many events`);
      assert.equal(sha(par), sha(ref), `${workers} workers, loss ${loss}: identical trace by hash`);
      assert.equal(pcapng(par), pcapng(ref), `${workers} workers, loss ${loss}: identical pcapng by hash`);
    }
  }
  // Another seed is another run: the hash says something.
  assert.notEqual(sha(serial(8, 0.05)), sha(serial(7, 0.05)));
});

test('lockstep refusals and lookahead', () => {
  const spec = parseClusterSpec(`
nodes:
  - { name: n1, address: 192.168.50.11 }
  - { name: n2, address: 192.168.50.12 }
`, 'test.yaml');
  assert.equal(lookaheadNs(spec), spec.underlay.latencyNs);
  assert.equal(lockstepRefusal(spec), undefined);
  assert.match(lockstepRefusal({ ...spec, underlay: { ...spec.underlay, latencyNs: 0 } }) ?? '', /latency is 0/);
});

test('a port whose link is faster than the lookahead is refused at the split (NETSIM_ERR_PARTITION), naming the port', () => {
  const sim = new Sim({ seed: 1 });
  const segment = new Segment(sim, 'underlay', { latencyNs: LATENCY, bandwidthBps: 0, loss: 0, queueLimit: 1000 });
  attachNic(new NetNamespace(sim, 'h1', 'h1'), segment, 'eth0', '10.0.0.1/24');
  const fast = new NetNamespace(sim, 'h2', 'h2');
  attachNic(fast, segment, 'eth0', '10.0.0.2/24');
  // Equal to the lookahead is exact: accepted.
  new LockstepPartition(blockPartition(['h1', 'h2'], 0, 2), new Set(['h1', 'h2']), sim).enter([segment], LATENCY);
  const nic = segment.portList().find((p) => p.owner?.node === 'h2');
  assert.ok(nic !== undefined);
  nic.link = { latencyNs: LATENCY / 2 };
  const p = new LockstepPartition(blockPartition(['h1', 'h2'], 0, 2), new Set(['h1', 'h2']), sim);
  assert.throws(() => p.enter([segment], LATENCY), (e: unknown) => e instanceof CodedError && e.code === 'NETSIM_ERR_PARTITION'
    && /port h2\/eth0 on underlay has a latency of 25000 ns, below the lookahead of 50000 ns/.test(e.message));
});

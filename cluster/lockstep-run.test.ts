import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { parseClusterSpec } from './spec.ts';
import { runLockstep } from './lockstep-run.ts';
import type { LockstepRunResult } from './lockstep-run.ts';
import { PartitionError } from './partition.ts';
import { Tracer } from '../netsim/trace/tracer.ts';
import { Capture } from '../pcaps/capture.ts';
import { SECOND } from '../netsim/time/scheduler.ts';

/** The seed scenario with declared clients on both nodes and outside: pod → pod, pod → Service, outside → NodePort, pod → outside, ping. */
function specWithClients(seed: number) {
  const doc = parse(readFileSync(new URL('../examples/seed-cluster.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
  doc['seed'] = seed;
  doc['clients'] = [
    { name: 'web-backend', from: 'pod:default/webapp01', to: 'pod:default/backend', proto: 'tcp', port: 80, every: '50ms', requests: 2 },
    { name: 'web-svc', from: 'pod:default/webapp02', to: 'service:default/nginx-service', proto: 'tcp', every: '30ms' },
    { name: 'nodeport', from: 'external:client', to: 'node:node02', proto: 'tcp', port: 30000, every: '70ms' },
    { name: 'out', from: 'pod:default/webapp03', to: 'external:client', proto: 'tcp', port: 80, every: '40ms' },
    { name: 'ping', from: 'pod:default/backend', to: 'pod:default/webapp01', proto: 'icmp', every: '25ms' },
  ];
  return parseClusterSpec(stringify(doc), 'lockstep-test.yaml');
}

const hex = (d: Uint8Array | undefined): string => (d === undefined ? '' : Buffer.from(d).toString('hex'));
function digest(r: LockstepRunResult): { trace: string; pcapng: string; clients: string } {
  const events = r.events ?? [];
  const tracer = new Tracer();
  const cap = new Capture(tracer);
  for (const e of events) tracer.emit(e);
  cap.stop();
  const sha = (x: string | Uint8Array): string => createHash('sha256').update(x).digest('hex');
  return {
    trace: sha(JSON.stringify(events.map((e) => ({ ...e, data: hex((e as { data?: Uint8Array }).data) })))),
    pcapng: sha(cap.bytes()),
    clients: sha(JSON.stringify(r.clients)),
  };
}

test('the seed cluster with declared clients: 2 worker threads in lockstep give the serial run\'s trace, pcapng bytes and client counts by hash', async () => {
  const spec = specWithClients(5);
  const serial = await runLockstep({ spec, durationNs: SECOND / 2, trace: true });
  assert.ok((serial.events?.length ?? 0) > 2000, `traffic ran (${serial.events?.length} events)`);
  assert.equal(serial.clients.length, 5);
  // (ping counts its answer a second after sending: in half a second it only sends.)
  for (const c of serial.clients) assert.ok(c.name === 'ping' ? c.sent > 10 : c.answered > 3 && c.failed === 0, `${c.name}: ${JSON.stringify(c)}`);
  assert.ok(new Set((serial.events ?? []).map((e) => e.node)).size >= 3, 'events on both nodes and outside');
  const par = await runLockstep({ spec, durationNs: SECOND / 2, trace: true, workers: 2 });
  assert.ok(par.windows > 100, `stepped in windows (${par.windows})`);
  assert.deepEqual(par.clients, serial.clients);
  assert.equal(par.events?.length, serial.events?.length);
  assert.deepEqual(digest(par), digest(serial));
  // The hash says something: another seed is another run.
  const other = await runLockstep({ spec: specWithClients(6), durationNs: SECOND / 2, trace: true });
  assert.notEqual(digest(other).trace, digest(serial).trace);
});

test('lockstep refusals: zero underlay latency, more workers than nodes', async () => {
  const spec = specWithClients(5);
  await assert.rejects(runLockstep({ spec: { ...spec, underlay: { ...spec.underlay, latencyNs: 0 } }, durationNs: SECOND, workers: 2 }), (e: unknown) => e instanceof PartitionError && /latency is 0/.test(e.message));
  await assert.rejects(runLockstep({ spec, durationNs: SECOND, workers: 3 }), (e: unknown) => e instanceof PartitionError && /3 workers for 2 node/.test(e.message));
});

// client-go's EventCorrelator: a repeat of the same event is one Event with a count, a different message is another Event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory-store.ts';
import { Registry } from '../server/registry.ts';
import { RegistryControlApi } from './registry-api.ts';
import { EventRecorder } from './event-recorder.ts';
import type { Event } from '../api/index.ts';

test('event recorder: repeats aggregate into count and lastTimestamp; names are object.hexnanos; source and reporting component set', async () => {
  let ms = Date.UTC(2026, 11, 7, 6, 0, 0);
  let n = 0;
  const api = new RegistryControlApi(new Registry({ store: new MemoryStore(), clock: () => new Date(ms), uid: () => `u${++n}` }));
  await api.create('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rec = new EventRecorder(api, 'kubelet', () => new Date(ms), 'node01');
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid: 'u1' } };
  assert.equal(await rec.record(pod, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503', 'spec.containers{nginx}'), 1);
  ms += 10_000;
  await rec.record(pod, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503', 'spec.containers{nginx}');
  await rec.record(pod, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 500', 'spec.containers{nginx}');
  const events = await api.list<Event>('events', 'default');
  assert.equal(events.length, 2);
  const first = events.find((e) => e.message?.endsWith('503'))!;
  assert.equal(first.count, 2);
  assert.equal(first.firstTimestamp, '2026-12-07T06:00:00Z');
  assert.equal(first.lastTimestamp, '2026-12-07T06:00:10Z');
  assert.match(first.metadata.name ?? '', /^web\.[0-9a-f]{16}$/);
  assert.deepEqual(first.source, { component: 'kubelet', host: 'node01' });
  assert.deepEqual(first.involvedObject, { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u1', apiVersion: 'v1', fieldPath: 'spec.containers{nginx}' });
  // Queued events are written in order at flush.
  rec.queue(pod, 'Normal', 'Killing', 'Stopping container nginx');
  assert.ok(rec.hasPending);
  assert.equal(await rec.flush(), 1);
  assert.equal((await api.list<Event>('events', 'default')).length, 3);
});

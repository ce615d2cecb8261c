// client-go's EventCorrelator: a repeat of the same event is one Event with a count, a different message is another Event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/memory-store.ts';
import { Registry } from '../server/registry.ts';
import { RegistryControlApi } from './registry-api.ts';
import { EventRecorder, MAX_LRU_CACHE_ENTRIES } from './event-recorder.ts';
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

// events_cache.go: the eventLogger's LRU holds maxLruCacheEntries keys; a key it dropped starts a new Event.
test('event recorder: the correlator remembers the last 4096 keys, least recently used dropped first', async () => {
  let n = 0;
  const api = new RegistryControlApi(new Registry({ store: new MemoryStore(), clock: () => new Date(Date.UTC(2026, 11, 7)), uid: () => `u${++n}` }));
  await api.create('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rec = new EventRecorder(api, 'default-scheduler', () => new Date(Date.UTC(2026, 11, 7)));
  const pod = (i: number) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'default', uid: `pu${i}` } });
  for (let i = 0; i < MAX_LRU_CACHE_ENTRIES; i++) await rec.record(pod(i), 'Normal', 'Scheduled', `assigned p${i}`);
  // p0 used again: now the most recent; p1 is the least recently used.
  await rec.record(pod(0), 'Normal', 'Scheduled', 'assigned p0');
  await rec.record(pod(MAX_LRU_CACHE_ENTRIES), 'Normal', 'Scheduled', 'a new key drops p1');
  await rec.record(pod(0), 'Normal', 'Scheduled', 'assigned p0');
  await rec.record(pod(1), 'Normal', 'Scheduled', 'assigned p1');
  await rec.record(pod(2), 'Normal', 'Scheduled', 'assigned p2');
  const events = await api.list<Event>('events', 'default');
  const of = (name: string) => events.filter((e) => e.involvedObject.name === name).map((e) => e.count).sort();
  assert.deepEqual(of('p0'), [3]);
  assert.deepEqual(of('p1'), [1, 1], 'p1 was dropped from the cache: its repeat is a new Event');
  // p2 was the least recently used when p1's new Event went in: dropped too, so its repeat is a new Event as well.
  assert.deepEqual(of('p2'), [1, 1]);
  assert.deepEqual(of('p3'), [1]);
  assert.equal(events.length, MAX_LRU_CACHE_ENTRIES + 3);
});

test('event recorder: a repeat of an Event someone else changed or deleted meanwhile is lost, and the next starts anew', async () => {
  let ms = Date.UTC(2026, 11, 7, 6, 0, 0);
  let n = 0;
  const api = new RegistryControlApi(new Registry({ store: new MemoryStore(), clock: () => new Date(ms), uid: () => `u${++n}` }));
  await api.create('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rec = new EventRecorder(api, 'kubelet', () => new Date(ms), 'node01');
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid: 'u1' } };
  const probe = () => rec.record(pod, 'Warning', 'Unhealthy', 'Readiness probe failed', 'spec.containers{nginx}');
  assert.equal(await probe(), 1);
  const [first] = await api.list<Event>('events', 'default');
  await api.update<Event>('events', 'default', first!.metadata.name!, { ...first!, message: 'edited' });
  ms += 1000;
  assert.equal(await probe(), 0, 'the Event changed since this recorder wrote it: the repeat is lost (409)');
  assert.equal(await probe(), 1);
  let events = await api.list<Event>('events', 'default');
  assert.deepEqual(events.map((e) => [e.message, e.count]).sort(), [['Readiness probe failed', 1], ['edited', 1]]);
  const fresh = events.find((e) => e.message !== 'edited')!;
  assert.equal(await probe(), 1);
  assert.equal((await api.get<Event>('events', 'default', fresh.metadata.name!))?.count, 2);
  await api.delete('events', 'default', fresh.metadata.name!);
  assert.equal(await probe(), 0, 'deleted meanwhile: lost (404)');
  assert.equal(await probe(), 1);
  events = await api.list<Event>('events', 'default');
  assert.equal(events.length, 2);
});

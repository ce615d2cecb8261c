// Container logs: bounded like the kubelet's rotation, tail and since as kubectl asks, followers see new lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ContainerLog, nginxTime } from './pod-logs.ts';

test('container log: keeps the newest lines within its bound, tail and since select as kubectl logs does', () => {
  const log = new ContainerLog(10);
  for (let i = 1; i <= 25; i++) log.append(i * 1000, `line ${i}`);
  const all = log.read();
  assert.ok(all.length <= 10 && all.length >= 9, `bounded: ${all.length}`);
  assert.equal(all.at(-1)?.text, 'line 25');
  assert.deepEqual(log.read({ tail: 2 }).map((l) => l.text), ['line 24', 'line 25']);
  assert.deepEqual(log.read({ tail: 0 }), []);
  assert.deepEqual(log.read({ sinceMs: 24_000 }).map((l) => l.text), ['line 24', 'line 25']);
  const seen: string[] = [];
  const stop = log.follow((l) => seen.push(l.text));
  log.append(26_000, 'line 26');
  stop();
  log.append(27_000, 'line 27');
  assert.deepEqual(seen, ['line 26']);
});

test('container log: a line given as a function of its time is written when first read, with the text it gives for that time, once', () => {
  const lazy = new ContainerLog(10);
  const eager = new ContainerLog(10);
  const calls: number[] = [];
  const render = (ms: number): string => {
    calls.push(ms);
    return `at ${ms}`;
  };
  for (let i = 1; i <= 25; i++) {
    lazy.append(i * 1000, i % 3 === 0 ? `plain ${i}` : render);
    eager.append(i * 1000, i % 3 === 0 ? `plain ${i}` : render(i * 1000));
  }
  calls.length = 0;
  assert.deepEqual(lazy.read({ tail: 3 }), eager.read({ tail: 3 }));
  assert.deepEqual(calls, [23_000, 25_000], 'only the lines read, not the dropped ones');
  assert.deepEqual(lazy.read(), eager.read());
  assert.deepEqual(lazy.read({ sinceMs: 20_000 }), eager.read({ sinceMs: 20_000 }));
  assert.equal(calls.length, lazy.read().filter((l) => l.text.startsWith('at ')).length, 'each line written once');
  const seen: string[] = [];
  const stop = lazy.follow((l) => seen.push(`${l.ms} ${l.text}`));
  lazy.append(26_000, render);
  stop();
  assert.deepEqual(seen, ['26000 at 26000'], 'a follower gets the written text');
});

test('nginx $time_local in UTC', () => {
  assert.equal(nginxTime(Date.UTC(2026, 11, 7, 6, 5, 9)), '07/Dec/2026:06:05:09 +0000');
});

test('property: nginx $time_local formatted once a second gives what formatting every line gives (any order of instants)', () => {
  const fresh = (ms: number): string => {
    const [, mon, day, year, time] = /^\w+, (\d+) (\w+) (-?\d+) (\S+) GMT$/.exec(new Date(ms).toUTCString())?.slice(0, 5) ?? [];
    return `${String(mon).padStart(2, '0')}/${day}/${year}:${time} +0000`;
  };
  const base = Date.UTC(2026, 11, 7, 23, 59, 58);
  fc.assert(fc.property(fc.array(fc.oneof(fc.double({ min: -3000, max: 3000, noNaN: true }), fc.integer({ min: -3000, max: 3000 })), { minLength: 1, maxLength: 50 }), (offs) => {
    for (const o of offs) assert.equal(nginxTime(base + o), fresh(base + o));
    for (const o of offs) assert.equal(nginxTime(o), fresh(o), 'around the epoch');
  }), { numRuns: 300 });
});

// The flows table's sampling: everything below the limit, one in k above it (k from
// the last second's rate), spread evenly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateSampler } from './rate-sampler.ts';

/** Feed `perSecond` flows a second for `seconds`; how many the last second kept. */
function run(s: RateSampler, perSecond: number, seconds: number): number {
  let kept = 0;
  for (let sec = 0; sec < seconds; sec++) {
    kept = 0;
    for (let i = 0; i < perSecond; i++) if (s.keep(sec * 1000 + (i * 1000) / perSecond)) kept++;
  }
  return kept;
}

test('below the limit every flow is shown', () => {
  const s = new RateSampler(200);
  assert.equal(run(s, 150, 3), 150);
  assert.equal(s.every(), 1);
});

test('at ten times the limit one flow in ten is shown, and the rate is reported', () => {
  const s = new RateSampler(200);
  const kept = run(s, 2000, 3);
  assert.equal(s.every(), 10);
  assert.ok(kept >= 190 && kept <= 210, `kept ${kept}`);
  assert.equal(Math.round(s.rate()), 2000);
});

test('when the flood stops, sampling stops', () => {
  const s = new RateSampler(200);
  run(s, 2000, 2);
  let kept = 0;
  for (let i = 0; i < 50; i++) if (s.keep(5000 + i * 20)) kept++;
  assert.equal(kept, 50);
});

// The trace route's body parser takes untrusted JSON: it never throws, and what it accepts is exactly a well-formed request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_CAPTURE_MS, parseCaptureQuery, parseTraceRequest } from './live-routes.ts';

test('parseTraceRequest never throws on any JSON value, and accepts only well-formed requests', () => {
  fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.record({ from: fc.jsonValue(), to: fc.jsonValue(), proto: fc.jsonValue(), port: fc.jsonValue(), filter: fc.jsonValue() }, { requiredKeys: [] })), (v) => {
    const r = parseTraceRequest(v);
    if (typeof r === 'string') return;
    assert.ok(typeof r.from === 'string' && r.from !== '' && typeof r.to === 'string' && r.to !== '');
    assert.ok(r.proto === undefined || ['icmp', 'udp', 'tcp'].includes(r.proto));
    assert.ok(r.port === undefined || (Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535));
    for (const x of Object.values(r.filter ?? {})) assert.equal(typeof x, 'string');
  }), { numRuns: 2000 });
});

test('a well-formed request is taken as it is; each kind of mistake names its field', () => {
  const ok = { from: 'webapp01', to: 'service:default/nginx-service', proto: 'tcp', port: 80, filter: { node: 'node01', type: 'nat' } };
  assert.deepEqual(parseTraceRequest(ok), ok);
  assert.deepEqual(parseTraceRequest({ from: 'a', to: 'b' }), { from: 'a', to: 'b' });
  assert.match(parseTraceRequest({ from: 'a' }) as string, /^to: Required value/);
  assert.match(parseTraceRequest({ from: 'a', to: 'b', proto: 'sctp' }) as string, /^proto: Unsupported value: "sctp"/);
  assert.match(parseTraceRequest({ from: 'a', to: 'b', port: 0 }) as string, /^port: Invalid value: 0/);
  assert.match(parseTraceRequest({ from: 'a', to: 'b', port: 8.5 }) as string, /^port: Invalid value: 8.5/);
  assert.match(parseTraceRequest({ from: 'a', to: 'b', filter: { nod: 'x' } }) as string, /^filter: unknown field "nod"/);
  assert.match(parseTraceRequest({ from: 'a', to: 'b', filter: { node: 1 } }) as string, /^filter\.node: must be a string/);
  assert.match(parseTraceRequest('x') as string, /must be a JSON object/);
});

test('parseCaptureQuery never throws on any query, and what it accepts is bounded', () => {
  const key = fc.constantFrom('duration-ms', 'count', 'node', 'interface', 'host', 'bogus');
  fc.assert(fc.property(fc.array(fc.tuple(key, fc.oneof(fc.string(), fc.integer().map(String)))), (pairs) => {
    const r = parseCaptureQuery(new URLSearchParams(pairs));
    if (typeof r === 'string') return;
    assert.ok(r.durationMs >= 1 && r.durationMs <= MAX_CAPTURE_MS);
    assert.ok(r.count >= 1);
    assert.ok(pairs.some(([k]) => k === 'duration-ms' || k === 'count'));
  }), { numRuns: 2000 });
  assert.deepEqual(parseCaptureQuery(new URLSearchParams('count=5&interface=a/*&interface=b/eth0')), { durationMs: MAX_CAPTURE_MS, count: 5, nodes: [], interfaces: ['a/*', 'b/eth0'] });
  assert.match(parseCaptureQuery(new URLSearchParams('duration-ms=0')) as string, /^duration-ms: Invalid value: "0"/);
  assert.match(parseCaptureQuery(new URLSearchParams('duration-ms=600001')) as string, /must be between 1 and 600000/);
  assert.match(parseCaptureQuery(new URLSearchParams('')) as string, /give duration-ms, count, or both/);
  assert.match(parseCaptureQuery(new URLSearchParams('count=1&bogus=1')) as string, /unknown parameter "bogus"/);
});

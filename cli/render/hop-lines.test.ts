/* eslint-disable no-control-regex -- the assertions are about ANSI escape sequences */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hopLines } from './hop-lines.ts';
import { renderTraceReportText } from './trace-report-text.ts';
import type { Hop } from '../../netsim/trace/report.ts';

const hop = (detail: string, over: Partial<Hop> = {}): Hop => ({ t: 3_000_000_000, node: 'node01', netns: 'default/webapp01', component: 'route', action: 'lookup', detail, ...over });

test('wrapped to the terminal width: no line longer than the width, the detail complete and in order', () => {
  fc.assert(fc.property(fc.integer({ min: 40, max: 200 }), fc.array(fc.stringMatching(/^[a-z0-9.:]{1,12}$/), { minLength: 1, maxLength: 40 }), (width, words) => {
    const detail = words.join(' ');
    const lines = hopLines([hop(detail)], { width });
    for (const l of lines) assert.ok(l.length <= width, `${l.length} > ${width}: ${l}`);
    const text = lines.map((l, i) => (i === 0 ? l.slice(l.indexOf('lookup') + 'lookup'.length) : l)).join(' ').split(/\s+/).filter((w) => w !== '');
    assert.deepEqual(text.slice(-words.length), words);
  }));
});

test('without a width one line per hop; netfilter hops name table, chain, rule and target', () => {
  const lines = hopLines([hop('x '.repeat(200)), hop('-j DNAT', { component: 'netfilter', action: 'PREROUTING', rule: 'nat KUBE-SEP-ABC:2', netns: 'node01' })]);
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /node01\s+netfilter PREROUTING\s+nat KUBE-SEP-ABC:2 -j DNAT$/);
});

test('colour only when asked: verdicts green/red, ICMP errors yellow; nothing escaped otherwise', () => {
  const r = { verdict: 'rejected' as const, hops: [hop('no socket', { component: 'drop', action: 'no-socket' })], reply: { verdict: 'delivered' as const, hops: [], icmpError: 'ICMP port unreachable from 10.244.58.2' } };
  const plain = renderTraceReportText('t', r);
  assert.doesNotMatch(plain, /\x1b\[/);
  assert.match(plain, /^reply: ICMP port unreachable from 10\.244\.58\.2$/m);
  const coloured = renderTraceReportText('t', r, { colour: true });
  assert.match(coloured, /request: \x1b\[31mREJECTED\x1b\[0m/);
  assert.match(coloured, /\x1b\[31m.*no socket\x1b\[0m/);
  assert.match(coloured, /reply: \x1b\[33mICMP port unreachable/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceReport } from '../netsim/trace/report.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { filterEvents, filterReport, parseTraceFilter } from './trace-filter.ts';
import { CliError } from './cli-error.ts';

const pkt = (src: string, dst: string) => ({ src, dst, proto: 'tcp', sport: 40000, dport: 80, ttl: 64, len: 60 });
const report: TraceReport = {
  verdict: 'dropped',
  hops: [
    { t: 1, node: 'node01', netns: 'default/webapp01', component: 'device', action: 'tx', device: 'eth0', packet: pkt('10.244.1.2', '10.96.0.10'), detail: 'tx' },
    { t: 2, node: 'node01', netns: 'node01', component: 'netfilter', action: 'PREROUTING', rule: 'nat KUBE-SEP-X:2', detail: '-j DNAT' },
    { t: 3, node: 'node01', netns: 'node01', component: 'flannel0', action: 'encap', device: 'flannel0', packet: pkt('10.244.1.2', '10.244.2.5'), detail: 'udp' },
    { t: 4, node: 'node02', netns: 'node02', component: 'drop', action: 'nf-drop', packet: pkt('10.244.1.2', '10.244.2.5'), detail: 'DROP' },
  ],
  drop: { reason: 'nf-drop', node: 'node02', netns: 'node02', detail: 'DROP' },
};

test('trace filters narrow the hops shown, never the verdict', () => {
  const byNode = filterReport(report, parseTraceFilter({ node: 'node02' }));
  assert.deepEqual(byNode.hops.map((h) => h.t), [4]);
  assert.equal(byNode.verdict, 'dropped');
  assert.deepEqual(filterReport(report, parseTraceFilter({ pod: 'webapp01' })).hops.map((h) => h.t), [1], 'a bare pod name means default/');
  assert.deepEqual(filterReport(report, parseTraceFilter({ ip: '10.244.2.5' })).hops.map((h) => h.t), [3, 4]);
  assert.deepEqual(filterReport(report, parseTraceFilter({ type: 'nf,encap' })).hops.map((h) => h.t), [2, 3], 'nf is netfilter; encap matches the action');
  assert.deepEqual(filterReport(report, parseTraceFilter({ verdict: 'dropped' })).hops.map((h) => h.t), [4]);
  assert.deepEqual(filterReport(report, parseTraceFilter({ verdict: 'forwarded', node: 'node01' })).hops.map((h) => h.t), [1, 2, 3]);
});

test('event filters: node, kind, ip mentioned as a whole address', () => {
  const ev = (over: Partial<TraceEvent> & { kind: TraceEvent['kind'] }): TraceEvent => ({ t: 0, node: 'node01', netns: 'node01', pkt: 1, ...over } as TraceEvent);
  const events = [
    ev({ kind: 'route', dst: '10.244.2.5', table: 'main', result: 'via flannel0' }),
    ev({ kind: 'route', dst: '10.244.2.50', table: 'main', result: 'via flannel0' }),
    ev({ kind: 'drop', node: 'node02', netns: 'node02', reason: 'nf-drop', detail: 'x' } as Partial<TraceEvent> & { kind: 'drop' }),
  ];
  assert.equal(filterEvents(events, parseTraceFilter({ ip: '10.244.2.5' })).length, 1, '10.244.2.50 is another address');
  assert.equal(filterEvents(events, parseTraceFilter({ type: 'drop' }))[0]?.node, 'node02');
  assert.equal(filterEvents(events, parseTraceFilter({ verdict: 'forwarded', node: 'node01' })).length, 2);
});

test('bad filter values are CLI errors with a stable code', () => {
  assert.throws(() => parseTraceFilter({ ip: '10.0.0' }), (e: unknown) => e instanceof CliError && e.code === 'NETSIM_ERR_FILTER');
  assert.throws(() => parseTraceFilter({ verdict: 'lost' }), /--verdict must be dropped or forwarded/);
});

/**
 * Churn events count the connections across them: in progress at the event (opened
 * before, finished after) and opened from it until the next event, each with how many
 * were served — what shows established connections outliving a deny policy. Only
 * connections that report their end are counted; the table prints one line per event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExperimentAccumulator, renderTable } from './results.ts';

test('events tally the connections across them and after them', () => {
  const acc = new ExperimentAccumulator({ experiment: 'e', seed: 1, windowNs: 1e9 });
  acc.declareRun('iptables');
  acc.setEndpoints('iptables', 0, [{ ip: '10.0.0.1', pod: 'web-1' }]);
  const ok = (t: number, end: number): void => acc.recordConnection({ mode: 'iptables', node: 'n1', endpointIp: '10.0.0.1', t, end });
  const refused = (t: number, end: number): void => acc.recordConnection({ mode: 'iptables', node: 'n1', failed: true, t, end });
  ok(100, 900); // before the first event, over before it
  acc.recordEvent('iptables', 1000, 'deny');
  ok(500, 1500); // across the deny, served
  refused(1000, 1001); // opened at the deny: after it
  refused(1200, 1300);
  acc.recordEvent('iptables', 2000, 'allow');
  ok(990, 2500); // across both events (recorded when it ends, as the runner does)
  ok(2100, 2200);
  acc.recordConnection({ mode: 'iptables', node: 'n1', endpointIp: '10.0.0.1', t: 2300 }); // no end: not tallied
  const r = acc.result().runs[0]!;
  assert.deepEqual(r.events, [
    { t: 1000, label: 'deny', across: { connections: 2, served: 2 }, since: { connections: 2, served: 0 } },
    { t: 2000, label: 'allow', across: { connections: 1, served: 1 }, since: { connections: 1, served: 1 } },
  ]);
  const text = renderTable(acc.result());
  assert.match(text, /^ {2}at 1 µs deny: 2 of 2 connections in progress served to the end; 0 of 2 opened after it served$/m);
  assert.match(text, /^ {2}at 2 µs allow: 1 of 1 connection in progress served to the end; 1 of 1 opened after it served$/m);
});

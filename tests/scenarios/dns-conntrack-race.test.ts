/**
 * The conntrack insertion race at the cluster level: lookups from a pod on a
 * two-CPU node, the drops glibc waits 5 s for, and the node's `conntrack -S`
 * counting them — the same on every run with the same seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import { lookup } from '../../apps/dns/stub-resolver.ts';
import type { LookupResult } from '../../apps/dns/stub-resolver.ts';
import { MS, SECOND } from '../../netsim/time/scheduler.ts';
import { nodeCommand } from '../../cli/commands/node.ts';

const specFile = fileURLToPath(new URL('../../examples/experiments/dns-race-cluster.yaml', import.meta.url));
const CLIENT = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'node01', containers: [{ name: 'c', image: 'netsim/http-client' }] } };

/**
 * 120 lookups of `web` from a pod on node01, 50 ms apart; the stalls, and node01's counters afterwards.
 * The cluster runs NodeLocal DNSCache: the pod's resolv.conf names 169.254.20.10; `direct` asks kube-dns's ClusterIP instead.
 */
async function lookups(options: readonly string[] = [], direct = true): Promise<{ stalled: number; drops: number; insertFailed: number; stats: string; view: string; results: LookupResult[] }> {
  const c = await Cluster.build(parseClusterSpec(readFileSync(specFile, 'utf8'), specFile), { manifests: [CLIENT] });
  try {
    const p = c.pods.get('default/client')!;
    const results: LookupResult[] = [];
    for (let i = 0; i < 120; i++) {
      c.sim.clock.after(i * 50 * MS, () => lookup(p.ns, 'web', { resolvConf: { ...p.resolvConf!, ...(direct ? { nameservers: ['10.96.0.10'] } : {}), options: [...p.resolvConf!.options, ...options] }, hosts: '' }, (r) => results.push(r)));
    }
    await c.runFor(6 * SECOND + 30 * SECOND);
    assert.equal(results.length, 120);
    assert.ok(results.every((r) => r.ok), `every lookup resolves in the end (${results.filter((r) => !r.ok).length} failed)`);
    const ct = c.clusterNodes.get('node01')!.netfilter.conntrack;
    let view = '';
    nodeCommand(c, 'node01', 'conntrack-stats', (s) => { view += s; });
    return {
      stalled: results.filter((r) => r.doneAt - r.startedAt >= 5 * SECOND).length,
      drops: ct.stats().reduce((s, x) => s + x.drop, 0),
      insertFailed: ct.stats().reduce((s, x) => s + x.insert_failed, 0),
      stats: ct.statsText(),
      view,
      results,
    };
  } finally {
    await c.close();
  }
}

test('each lookup that stalls 5 s is one drop in the node\'s conntrack -S; resolved clashes count insert_failed only; the same seed, the same run; single-request-reopen ends the stalls', async () => {
  const a = await lookups();
  assert.ok(a.stalled > 0, 'the race happened');
  assert.equal(a.drops, a.stalled, 'one dropped query per stalled lookup');
  assert.ok(a.insertFailed > a.drops, `some clashes were resolved (same CoreDNS pod): insert_failed ${a.insertFailed}, drop ${a.drops}`);
  assert.equal(a.view, a.stats, 'netsim node node01 conntrack -S');
  assert.match(a.view, /^cpu=0 {3}\tfound=\d+ invalid=\d+ ignore=\d+ insert=\d+ insert_failed=\d+ drop=\d+ early_drop=0 error=0 search_restart=0 \ncpu=1 {3}\t/);
  const stalledAt = (x: typeof a): string => x.results.filter((r) => r.doneAt - r.startedAt >= 5 * SECOND).map((r) => r.startedAt).join(',');
  const b = await lookups();
  assert.equal(b.stats, a.stats, 'same seed, same counters');
  assert.equal(stalledAt(b), stalledAt(a), 'same seed, the same lookups stall');
  const reopen = await lookups(['single-request-reopen']);
  assert.equal(reopen.stalled, 0);
  assert.equal(reopen.insertFailed, 0, 'A and AAAA on separate sockets: separate tuples, nothing to race');
});

test('NodeLocal DNSCache: the same lookups through the node\'s cache never stall and never clash — the pod\'s queries are NOTRACKed, the cache asks kube-dns over TCP', async () => {
  const local = await lookups([], false);
  assert.equal(local.results[0]!.queries[0]!.server, '169.254.20.10');
  assert.equal(local.stalled, 0);
  assert.equal(local.insertFailed, 0, 'nothing to race on');
  assert.equal(local.drops, 0);
  assert.ok(local.results.every((r) => r.doneAt - r.startedAt < 50 * MS), 'no lookup waits');
});

/**
 * kube-proxy's periodic syncs with nothing to do skip the rebuild (iptables and IPVS
 * modes: proxy/iptables/proxier.ts and proxy/ipvs/proxier.ts quietSync). The skip must be
 * unobservable: the same cluster run with it off gives, by hash, the same iptables-save
 * with counters (a real restore zeroes the counters of the chains it rewrites; the skip
 * zeroes the same ones), ipvsadm, ipsets and conntrack on every node, and the same trace
 * of a connection — across idle periods, traffic, a Service change and a deletion in
 * between (which leave the quiet path and come back to it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Cluster } from '../../cluster/cluster.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import type { ProxyMode } from '../../cluster/spec.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { fetchFrom, seedSpec } from '../support/spec-cluster.ts';

const VIEWS = ['iptables-save-c', 'ipvsadm', 'ipset', 'conntrack'] as const;

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/** Everything observable after a scripted run, one line per node and view, plus the trace. */
async function run(mode: ProxyMode, quiet: boolean): Promise<{ digest: string[]; quietSyncs: number }> {
  const c = await Cluster.build(seedSpec({ mode }), { quietProxySyncs: quiet });
  try {
    const out: string[] = [];
    const snapshot = (label: string): void => {
      for (const [name, cn] of c.clusterNodes) {
        for (const v of VIEWS) {
          const text = v === 'iptables-save-c' ? cn.netfilter.iptables.save({ counters: true }) : c.nodeView(name, v) ?? '';
          out.push(`${label} ${name} ${v} ${sha(text)}`);
        }
      }
    };
    const webapp = c.pods.get('default/webapp01');
    const nginx = c.services.get('default/nginx-service');
    assert.ok(webapp !== undefined && nginx !== undefined);
    // Traffic moves the counters, then three idle periodic syncs (30 s each).
    out.push(`fetch ${await fetchFrom(c, webapp.ns, nginx.clusterIP, 80)}`);
    await c.runFor(95 * SECOND);
    snapshot('idle');
    // A Service change leaves the quiet path; the next idle sync returns to it.
    await c.apply([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'extra', namespace: 'default' }, spec: { selector: { app: 'nginx' }, ports: [{ port: 8080, targetPort: 80 }] } }]);
    out.push(`fetch ${await fetchFrom(c, webapp.ns, nginx.clusterIP, 80)}`);
    await c.runFor(65 * SECOND);
    snapshot('changed');
    await c.control.api.delete('services', 'default', 'extra');
    await c.runFor(65 * SECOND);
    snapshot('deleted');
    const trace = runTrace(c, resolveEndpoint('pod:default/webapp01', c), resolveEndpoint('service:default/nginx-service:80', c), { proto: 'tcp' });
    out.push(`trace ${sha(JSON.stringify(trace.report))}`);
    let quietSyncs = 0;
    for (const cn of c.clusterNodes.values()) quietSyncs += cn.kubeProxy.syncs.filter((r) => r.quiet === true).length;
    return { digest: out, quietSyncs };
  } finally {
    await c.close();
  }
}

for (const mode of ['iptables', 'ipvs'] as const) {
  test(`${mode} mode: syncs with nothing to do are skipped, and nothing shows it (same views and trace by hash as without the skip)`, async () => {
    const on = await run(mode, true);
    const off = await run(mode, false);
    assert.deepEqual(on.digest, off.digest);
    assert.ok(on.digest.some((l) => l.startsWith('fetch ') && !l.includes('failed')), 'traffic reached nginx');
    // Not vacuous: the run with the skip did take the quiet path, the other never.
    assert.ok(on.quietSyncs >= 4, `${mode}: quiet syncs happened (${on.quietSyncs})`);
    assert.equal(off.quietSyncs, 0);
  });
}

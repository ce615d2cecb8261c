/**
 * kube-proxy's IPVS mode reconciles only the changed service ports (proxy/ipvs/proxier.ts
 * partialSync). It must be unobservable: the same cluster driven through Service and
 * endpoint churn with it on and off gives, by hash after every step, the same views of
 * every node (ipvsadm, ipsets, addresses, routes, iptables-save, conntrack, …),
 * `iptables-save -c` with its counters, and the same trace of a connection. The churn
 * covers what the partial sync's bookkeeping must get right: a multi-port Service with
 * NodePorts, external IPs and LoadBalancer source ranges added, changed (a port removed,
 * affinity timeout changed, Local policy) and deleted; two Services sharing an external
 * IP (the address stays bound while either wants it); endpoints added and removed with
 * connections open (graceful deletion); Local internal policy; ClientIP affinity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec, parseManifests } from '../../cluster/spec.ts';
import { nodeViewNames } from '../../cluster/node-views.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import type { Service } from '../../control/api/service.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import { formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';
import { fetchFrom, seedSpecText } from '../support/spec-cluster.ts';
import { SOLO_LOCAL_LB } from '../support/solo-local-lb.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);

const STICKY = parseManifests(`
apiVersion: v1
kind: Service
metadata: {name: nginx-sticky}
spec:
  selector: {app: nginx}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
  ports: [{port: 80}]
`);

function service(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec };
}

function nginxReplicas(n: number): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx-deployment', namespace: 'default', labels: { app: 'nginx' } },
    spec: { replicas: n, selector: { matchLabels: { app: 'nginx' } }, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.7.9', ports: [{ containerPort: 80 }] }] } } },
  };
}

const EXTRA = service('extra', {
  type: 'LoadBalancer', selector: { app: 'nginx' }, externalIPs: ['198.51.100.200'], loadBalancerSourceRanges: ['203.0.113.0/24', '192.168.50.0/24'],
  sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
  ports: [{ name: 'http', port: 8080, targetPort: 80 }, { name: 'alt', port: 8081, targetPort: 80 }, { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' }],
});
const EXTRA_CHANGED = service('extra', {
  type: 'LoadBalancer', selector: { app: 'nginx' }, externalIPs: ['198.51.100.200'], externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['203.0.113.0/24'],
  sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 900 } },
  ports: [{ name: 'http', port: 8080, targetPort: 80 }, { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' }],
});
/** Shares extra's external IP on another port. */
const NEIGHBOUR = service('neighbour', { selector: { app: 'backend' }, externalIPs: ['198.51.100.200'], internalTrafficPolicy: 'Local', ports: [{ port: 9090, targetPort: 80 }] });

async function run(partial: boolean): Promise<{ digest: string[]; partialSyncs: number }> {
  const t = seedSpecText({ mode: 'ipvs', networkExtra: '  loadBalancerPool: [198.51.100.0/28]' });
  const c = await Cluster.build(parseClusterSpec(t, 'ipvs-partial.yaml'), { manifests: [...SOLO_LOCAL_LB, ...STICKY], partialProxySyncs: partial });
  try {
    const out: string[] = [];
    const snapshot = (label: string): void => {
      for (const [name, cn] of c.clusterNodes) {
        for (const v of nodeViewNames()) out.push(`${label} ${name} ${v} ${sha(c.nodeView(name, v) ?? '')}`);
        out.push(`${label} ${name} iptables-save-c ${sha(cn.netfilter.iptables.save({ counters: true }))}`);
      }
    };
    const webapp = c.pods.get('default/webapp01');
    const nginx = c.services.get('default/nginx-service');
    assert.ok(webapp !== undefined && nginx !== undefined);
    const fetch = async (ip: string | Ipv4Addr, port: number): Promise<void> => {
      const a = typeof ip === 'string' ? parseIpv4(ip) : ip;
      out.push(`fetch ${formatIpv4(a)}:${port} ${await fetchFrom(c, webapp.ns, a, port)}`);
    };
    await fetch(nginx.clusterIP, 80);
    snapshot('built');

    await c.apply([EXTRA]);
    const extra = (await c.control.api.list<Service>('services')).find((s) => s.metadata.name === 'extra');
    assert.ok(extra?.spec.clusterIP !== undefined);
    await fetch(extra.spec.clusterIP, 8080);
    await fetch(extra.spec.clusterIP, 8081);
    snapshot('extra added');

    await c.apply([NEIGHBOUR]);
    await fetch('198.51.100.200', 9090);
    snapshot('neighbour added');

    await c.apply([EXTRA_CHANGED]);
    await fetch(extra.spec.clusterIP, 8080);
    snapshot('extra changed');

    // Endpoints come and go with connections open: the drained real servers wait for housekeeping.
    await c.apply([nginxReplicas(4)], 10 * SECOND);
    await fetch(nginx.clusterIP, 80);
    await fetch(extra.spec.clusterIP, 8080);
    snapshot('scaled up');
    await c.apply([nginxReplicas(1)], 5 * SECOND);
    snapshot('scaled down');
    await c.runFor(130 * SECOND);
    snapshot('drained');

    await c.control.api.delete('services', 'default', 'extra');
    await c.runFor(5 * SECOND);
    await fetch('198.51.100.200', 9090);
    snapshot('extra deleted');
    await c.control.api.delete('services', 'default', 'neighbour');
    await c.runFor(5 * SECOND);
    snapshot('neighbour deleted');

    const trace = runTrace(c, resolveEndpoint('pod:default/webapp01', c), resolveEndpoint('service:default/nginx-sticky:80', c), { proto: 'tcp' });
    out.push(`trace ${sha(JSON.stringify(trace.report))}`);
    let partialSyncs = 0;
    for (const cn of c.clusterNodes.values()) partialSyncs += cn.kubeProxy.syncs.filter((r) => !r.full && r.quiet !== true).length;
    return { digest: out, partialSyncs };
  } finally {
    await c.close();
  }
}

test('IPVS mode: syncs reconcile only the changed service ports, and nothing shows it (same views, counters and trace by hash as full syncs)', async () => {
  const on = await run(true);
  const off = await run(false);
  assert.deepEqual(on.digest, off.digest);
  assert.ok(on.digest.some((l) => l.startsWith('fetch 198.51.100.200:9090 ') && !l.includes('failed')), 'the shared external IP answered');
  assert.ok(on.digest.filter((l) => l.startsWith('fetch ') && !l.includes('failed')).length >= 5, `traffic flowed: ${on.digest.filter((l) => l.startsWith('fetch ')).join('; ')}`);
  // Not vacuous: the run with partial syncs took them, the other never.
  assert.ok(on.partialSyncs >= 8, `partial syncs happened (${on.partialSyncs})`);
  assert.equal(off.partialSyncs, 0);
});
